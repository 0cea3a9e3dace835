namespace KeyedLock.Tests;

public sealed class MultiKeyTests
{
    [Fact]
    public async Task MultiKey_SortsOrdinal_DeDuplicates_AndHoldsEveryKey()
    {
        using var registry = new KeyedLockRegistry();
        var lease = await registry.AcquireAsync(["b", "a", "B", "b", "a"], TimeSpan.FromSeconds(1)).Bounded();
        Assert.Equal("B,a,b", lease.Key); // ordinal: 'B' (0x42) < 'a' (0x61)
        Assert.True(lease.IsHeld);
        Assert.Equal(3, registry.Count);
        foreach (var key in new[] { "a", "b", "B" })
        {
            Assert.False(await registry.IsFreeForOthersAsync(key), key);
        }

        lease.Dispose();
        lease.Dispose();
        Assert.False(lease.IsHeld);
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task MultiKey_WithOneDistinctKey_IsAPlainLease()
    {
        using var registry = new KeyedLockRegistry();
        var lease = await registry.AcquireAsync(["a", "a"], TimeSpan.Zero).Bounded();
        Assert.Equal("a", lease.Key);
        Assert.Equal(1, registry.Count);
        lease.Dispose();
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task MultiKey_AcquiresInSortedOrder()
    {
        // Hold "b": a request for {c, b, a} takes "a" first, then queues on "b" and has not touched "c" yet.
        using var registry = new KeyedLockRegistry();
        var b = await registry.HoldAsync("b");
        var multi = registry.AcquireAsync(["c", "b", "a"], Timeout.InfiniteTimeSpan).AsTask();
        Assert.False((await registry.TryAcquireAsync("a", TimeSpan.Zero).Bounded()).Succeeded);
        var c = await registry.TryAcquireAsync("c", TimeSpan.Zero).Bounded();
        Assert.True(c.Succeeded, "'c' is after 'b' in order, so it must not be taken yet");
        c.Dispose();

        b.Dispose();
        var lease = await multi.Bounded();
        Assert.Equal("a,b,c", lease.Key);
        lease.Dispose();
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task MultiKey_Timeout_ReleasesPartialAcquisitionsInReverse_AllOrNone()
    {
        var time = new ManualTimeProvider();
        using var registry = new KeyedLockRegistry(null, time);
        var c = await registry.HoldAsync("c");
        var multi = registry.AcquireAsync(["a", "b", "c"], TimeSpan.FromSeconds(5)).AsTask();

        // "a" and "b" are taken; waiters queue behind them to observe the release order by their fencing tokens.
        var waitA = registry.AcquireAsync("a").AsTask();
        var waitB = registry.AcquireAsync("b").AsTask();
        Assert.False(multi.IsCompleted);

        time.Advance(TimeSpan.FromSeconds(5));
        var ex = await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => multi).Bounded();
        Assert.Equal("c", ex.Key);
        Assert.Equal(TimeSpan.FromSeconds(5), ex.Timeout);

        var a = await waitA.Bounded();
        var b = await waitB.Bounded();
        Assert.True(b.FencingToken < a.FencingToken, "partial acquisitions are released in reverse order (b before a)");
        a.Dispose();
        b.Dispose();
        c.Dispose();
        Assert.Equal(0, registry.Count);
        Assert.Equal(0, time.ActiveTimers);
    }

    [Fact]
    public async Task MultiKey_TimeoutIsTheTotal_NotPerKey()
    {
        var time = new ManualTimeProvider();
        using var registry = new KeyedLockRegistry(null, time);
        var a = await registry.HoldAsync("a");
        var b = await registry.HoldAsync("b");
        var multi = registry.AcquireAsync(["a", "b"], TimeSpan.FromSeconds(10)).AsTask();
        time.Advance(TimeSpan.FromSeconds(6));
        a.Dispose(); // "a" granted after 6 s; 4 s remain for "b"
        await TestWait.UntilAsync(() => time.ActiveTimers == 1, "the request holds 'a' and waits on 'b' with its own timer");
        time.Advance(TimeSpan.FromSeconds(4));
        var ex = await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => multi).Bounded();
        Assert.Equal("b", ex.Key);
        Assert.Equal(TimeSpan.FromSeconds(10), ex.Timeout);
        b.Dispose();
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task MultiKey_Cancellation_ReleasesPartialAcquisitionsInReverse()
    {
        using var registry = new KeyedLockRegistry();
        using var cts = new CancellationTokenSource();
        var c = await registry.HoldAsync("c");
        var multi = registry.AcquireAsync(["a", "b", "c"], Timeout.InfiniteTimeSpan, cts.Token).AsTask();
        var waitA = registry.AcquireAsync("a").AsTask();
        var waitB = registry.AcquireAsync("b").AsTask();

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => multi).Bounded();
        var a = await waitA.Bounded();
        var b = await waitB.Bounded();
        Assert.True(b.FencingToken < a.FencingToken, "partial acquisitions are released in reverse order (b before a)");
        a.Dispose();
        b.Dispose();
        c.Dispose();
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task MultiKey_QueueFull_ReleasesPartialAcquisitions()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxQueueLengthPerKey = 0 });
        var b = await registry.HoldAsync("b");
        await Assert.ThrowsAsync<KeyedLockQueueFullException>(() => registry.AcquireAsync(["a", "b"], TimeSpan.FromSeconds(1)).AsTask()).Bounded();
        Assert.Equal(1, registry.Count);
        b.Dispose();
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task MultiKeyLease_ReleasesInReverse_ReportsMaxFencingToken_AndDoubleReleaseIsANoOp()
    {
        using var registry = new KeyedLockRegistry();
        var lease = await registry.HoldAsync(["a", "b"]);
        var waitA = registry.AcquireAsync("a").AsTask();
        var waitB = registry.AcquireAsync("b").AsTask();
        var tokenBeforeRelease = lease.FencingToken;
        Assert.False(lease.LostToken.CanBeCanceled);

        await lease.DisposeAsync();
        lease.Dispose();
        var a = await waitA.Bounded();
        var b = await waitB.Bounded();
        Assert.True(b.FencingToken < a.FencingToken, "a multi-key lease releases its keys in reverse order");
        Assert.True(tokenBeforeRelease < b.FencingToken);
        Assert.False(lease.IsHeld);
        a.Dispose();
        b.Dispose();
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task OppositeOrders_AB_And_BA_NeverDeadlock()
    {
        using var registry = new KeyedLockRegistry();
        var detector = new OverlapDetector();
        async Task RunAsync(string[] keys)
        {
            for (var i = 0; i < 2000; i++)
            {
                await using var lease = await registry.AcquireAsync(keys, Timeout.InfiniteTimeSpan).Bounded();
                foreach (var key in keys)
                {
                    detector.Enter(key);
                }

                await Task.Yield();
                foreach (var key in keys)
                {
                    detector.Exit(key);
                }
            }
        }

        // Bounded: a deadlock fails the test instead of hanging it.
        await Task.WhenAll(
            Task.Run(() => RunAsync(["a", "b"])),
            Task.Run(() => RunAsync(["b", "a"])),
            Task.Run(() => RunAsync(["b", "c", "a"])),
            Task.Run(() => RunAsync(["c", "a"]))).Bounded(TimeSpan.FromSeconds(60));
        detector.AssertNoViolations();
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task MultiKey_WorksOnAnyProvider_ThroughKeyedLockMultiKey()
    {
        using var registry = new KeyedLockRegistry();
        var lease = await KeyedLockMultiKey.AcquireAllAsync(registry, ["y", "x"], TimeSpan.FromSeconds(1), null, CancellationToken.None).Bounded();
        Assert.Equal("x,y", lease.Key);
        Assert.Equal(2, registry.Count);
        lease.Dispose();
        Assert.Equal(0, registry.Count);
        Assert.Throws<ArgumentNullException>("provider", () => KeyedLockMultiKey.AcquireAllAsync(null!, ["a"], TimeSpan.Zero, null, default));
    }
}
