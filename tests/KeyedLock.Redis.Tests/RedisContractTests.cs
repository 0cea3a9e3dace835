using KeyedLock.Testing;

namespace KeyedLock.Redis.Tests;

/// <summary>The Core contract scenarios, against one Redis-backed instance.</summary>
public sealed class RedisContractTests : RedisTestBase
{
    [RedisFact]
    public async Task SameKey_IsMutuallyExclusive()
    {
        var provider = await CreateInstanceAsync();
        var inside = 0;
        var maxInside = 0;
        var runs = 0;
        var tasks = Enumerable.Range(0, 20).Select(_ => provider.RunAsync("k", async Task (CancellationToken ct) =>
        {
            var now = Interlocked.Increment(ref inside);
            InterlockedMax(ref maxInside, now);
            await Task.Yield();
            Interlocked.Increment(ref runs);
            Interlocked.Decrement(ref inside);
        })).ToArray();

        await Task.WhenAll(tasks).Bounded();

        Assert.Equal(20, runs);
        Assert.Equal(1, maxInside);
        Assert.Equal(0, provider.ActiveLeases);
        Assert.Equal(0, provider.WaitingKeys);
        await AssertOnlyTheFenceKeyIsLeftAsync();
    }

    [RedisFact]
    public async Task DifferentKeys_AreHeldAtTheSameTime()
    {
        var provider = await CreateInstanceAsync();

        await using var a = await provider.AcquireAsync("a").Bounded();
        await using var b = await provider.AcquireAsync("b").Bounded();

        Assert.True(a.IsHeld);
        Assert.True(b.IsHeld);
        Assert.Equal(1, await HolderCountAsync("a"));
        Assert.Equal(1, await HolderCountAsync("b"));
    }

    [RedisFact]
    public async Task Waiters_AreGrantedInArrivalOrder()
    {
        var provider = await CreateInstanceAsync();
        var holder = await provider.AcquireAsync("k").Bounded();
        var order = new List<int>();
        var waiters = new List<Task>();
        for (var i = 0; i < 10; i++)
        {
            var n = i;
            var acquire = provider.AcquireAsync("k").AsTask(); // queued synchronously, in call order
            waiters.Add(acquire.ContinueWith(
                async t =>
                {
                    lock (order)
                    {
                        order.Add(n);
                    }

                    await t.Result.DisposeAsync();
                },
                TaskScheduler.Default).Unwrap());
        }

        await TestWait.UntilAsync(() => QueueLengthAsync("k"), 1, "the head waiter queues in Redis");
        Assert.Empty(order);

        await holder.DisposeAsync();
        await Task.WhenAll(waiters).Bounded();

        Assert.Equal(Enumerable.Range(0, 10), order);
    }

    [RedisFact]
    public async Task WaitInRedis_TimesOut_AndLeavesNothingBehind()
    {
        var provider = await CreateInstanceAsync();
        var holder = await provider.AcquireAsync("k").Bounded();

        var ex = await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => provider.AcquireAsync("k", TimeSpan.FromMilliseconds(200)).Bounded());

        Assert.Equal("k", ex.Key);
        Assert.Equal(TimeSpan.FromMilliseconds(200), ex.Timeout);
        Assert.Equal(0, await QueueLengthAsync("k"));
        Assert.Equal(0, provider.WaitingKeys);
        await holder.DisposeAsync();
        var attempt = await provider.TryAcquireAsync("k", TimeSpan.Zero).Bounded();
        Assert.True(attempt.Succeeded);
        await attempt.DisposeAsync();
        await AssertOnlyTheFenceKeyIsLeftAsync();
    }

    [RedisFact]
    public async Task TryAcquire_ReportsTimeoutAsAFailedAttempt()
    {
        var provider = await CreateInstanceAsync();
        await using var holder = await provider.AcquireAsync("k").Bounded();

        var zero = await provider.TryAcquireAsync("k", TimeSpan.Zero).Bounded();
        var bounded = await provider.TryAcquireAsync("k", TimeSpan.FromMilliseconds(100)).Bounded();

        Assert.Equal(KeyedLockFailureReason.TimedOut, zero.FailureReason);
        Assert.Equal(KeyedLockFailureReason.TimedOut, bounded.FailureReason);
        Assert.False(zero.Lease.IsHeld);
        Assert.Equal(0, await QueueLengthAsync("k"));
    }

    [RedisFact]
    public async Task CancelWhileWaitingInRedis_ThrowsWithTheCallersToken_AndLeavesTheQueue()
    {
        var provider = await CreateInstanceAsync();
        var holder = await provider.AcquireAsync("k").Bounded();
        using var cts = new CancellationTokenSource();
        var waiter = provider.AcquireAsync("k", cts.Token).AsTask();
        var second = provider.AcquireAsync("k").AsTask(); // queued locally behind the canceled one
        await TestWait.UntilAsync(() => QueueLengthAsync("k"), 1, "the first waiter waits in Redis");

        await cts.CancelAsync();

        var ex = await Assert.ThrowsAsync<TaskCanceledException>(() => waiter.Bounded());
        Assert.Equal(cts.Token, ex.CancellationToken);

        // The second waiter moves up into Redis and gets the key once the holder releases.
        await TestWait.UntilAsync(() => QueueLengthAsync("k"), 1, "the second waiter waits in Redis");
        await holder.DisposeAsync();
        var lease = await second.Bounded();
        Assert.True(lease.IsHeld);
        await lease.DisposeAsync();
        Assert.Equal(0, await HolderCountAsync("k"));
        Assert.Equal(0, await QueueLengthAsync("k"));
    }

    [RedisFact]
    public async Task CancelWhileQueuedLocally_LeavesTheQueue()
    {
        var provider = await CreateInstanceAsync();
        var holder = await provider.AcquireAsync("k").Bounded();
        var head = provider.AcquireAsync("k").AsTask();
        using var cts = new CancellationTokenSource();
        var queued = provider.AcquireAsync("k", cts.Token).AsTask();

        await cts.CancelAsync();

        var ex = await Assert.ThrowsAsync<TaskCanceledException>(() => queued.Bounded());
        Assert.Equal(cts.Token, ex.CancellationToken);
        await holder.DisposeAsync();
        await (await head.Bounded()).DisposeAsync();
        Assert.Equal(0, provider.WaitingKeys);
        Assert.Equal(0, provider.ActiveLeases);
    }

    [RedisFact]
    public async Task AlreadyCanceledToken_ThrowsWithoutTouchingRedis()
    {
        var provider = await CreateInstanceAsync();
        var token = new CancellationToken(true);

        var ex = await Assert.ThrowsAsync<TaskCanceledException>(() => provider.AcquireAsync("k", token).AsTask());

        Assert.Equal(token, ex.CancellationToken);
        Assert.Equal(0, provider.WaitingKeys);
        Assert.Empty(await ScanAsync());
    }

    [RedisFact]
    public async Task QueueLimit_RejectsTheWaiterBeyondIt()
    {
        var provider = await CreateInstanceAsync(o => o.MaxQueueLengthPerKey = 1);
        await using var holder = await provider.AcquireAsync("k").Bounded();
        var head = provider.AcquireAsync("k").AsTask(); // waits in Redis, holds the instance's waiting slot
        await TestWait.UntilAsync(() => QueueLengthAsync("k"), 1, "the head waits in Redis");
        var queued = provider.AcquireAsync("k").AsTask(); // the one allowed local waiter

        var ex = await Assert.ThrowsAsync<KeyedLockQueueFullException>(() => provider.AcquireAsync("k").Bounded());
        var attempt = await provider.TryAcquireAsync("k", TimeSpan.FromSeconds(5)).Bounded();

        Assert.Equal(1, ex.QueueLimit);
        Assert.Equal(KeyedLockFailureReason.QueueFull, attempt.FailureReason);
        await holder.DisposeAsync();
        await (await head.Bounded()).DisposeAsync();
        await (await queued.Bounded()).DisposeAsync();
    }

    [RedisFact]
    public async Task MultiKey_AcquiresAllWithoutDeadlock_AndReleasesAll()
    {
        var instanceA = await CreateInstanceAsync();
        var instanceB = await CreateInstanceAsync();
        var tasks = new List<Task>();
        for (var i = 0; i < 10; i++)
        {
            tasks.Add(Task.Run(async () => await (await instanceA.AcquireAsync(["a", "b"], Timeout.InfiniteTimeSpan)).DisposeAsync()));
            tasks.Add(Task.Run(async () => await (await instanceB.AcquireAsync(["b", "a"], Timeout.InfiniteTimeSpan)).DisposeAsync()));
        }

        await Task.WhenAll(tasks).Bounded();

        var both = await instanceA.AcquireAsync(["b", "a", "b"], TimeSpan.FromSeconds(10)).Bounded();
        Assert.Equal("a,b", both.Key);
        Assert.False((await instanceB.TryAcquireAsync("a", TimeSpan.Zero).Bounded()).Succeeded);
        Assert.False((await instanceB.TryAcquireAsync("b", TimeSpan.Zero).Bounded()).Succeeded);
        await both.DisposeAsync();
        await using var a = await instanceB.AcquireAsync("a", TimeSpan.Zero).Bounded();
        await using var b = await instanceB.AcquireAsync("b", TimeSpan.Zero).Bounded();
        Assert.Equal(0, instanceA.ActiveLeases);
    }

    [RedisFact]
    public async Task MultiKey_FailureReleasesTheKeysAlreadyTaken()
    {
        var provider = await CreateInstanceAsync();
        var other = await CreateInstanceAsync();
        await using var blocker = await other.AcquireAsync("b").Bounded();

        await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => provider.AcquireAsync(["a", "b"], TimeSpan.FromMilliseconds(200)).Bounded());

        Assert.Equal(0, provider.ActiveLeases);
        Assert.Equal(0, await HolderCountAsync("a"));
    }

    [RedisFact]
    public async Task ReentrantAcquire_Throws_WhenDetectionIsOn()
    {
        var provider = await CreateInstanceAsync(o => o.DetectReentrancy = true);
        var lease = await provider.AcquireAsync("k");

        await Assert.ThrowsAsync<KeyedLockRecursionException>(async () => await provider.AcquireAsync("k", TimeSpan.FromSeconds(5)));
        await Assert.ThrowsAsync<KeyedLockRecursionException>(async () => await provider.TryAcquireAsync("k", TimeSpan.Zero));

        await using (var other = await provider.AcquireAsync("other"))
        {
            Assert.True(other.IsHeld);
        }

        await lease.DisposeAsync();
        await using var again = await provider.AcquireAsync("k", TimeSpan.FromSeconds(5));
        Assert.True(again.IsHeld);
    }

    [RedisFact]
    public async Task ReentrancyDetection_IsOffByDefault_SoAProbeOfTheOwnKeyTimesOut()
    {
        var provider = await CreateInstanceAsync();
        await using var lease = await provider.AcquireAsync("k").Bounded();

        var probe = await provider.TryAcquireAsync("k", TimeSpan.Zero).Bounded();

        Assert.Equal(KeyedLockFailureReason.TimedOut, probe.FailureReason);
    }

    [RedisFact]
    public async Task ReleasingTwice_IsHarmless()
    {
        var provider = await CreateInstanceAsync();
        var lease = await provider.AcquireAsync("k").Bounded();
        var copy = lease;

        await lease.DisposeAsync();
        await lease.DisposeAsync();
        copy.Dispose();

        Assert.False(lease.IsHeld);
        Assert.False(lease.LostToken.IsCancellationRequested);
        await using var next = await provider.AcquireAsync("k", TimeSpan.Zero).Bounded();
        Assert.True(next.IsHeld);
        Assert.Equal(1, await HolderCountAsync("k"));
    }

    [RedisFact]
    public async Task SynchronousDispose_ReleasesTheLock()
    {
        var provider = await CreateInstanceAsync();
        var lease = await provider.AcquireAsync("k").Bounded();

        lease.Dispose();

        Assert.Equal(0, await HolderCountAsync("k"));
        Assert.Equal(0, provider.ActiveLeases);
    }

    [RedisFact]
    public async Task FencingTokens_IncreaseWithEveryGrant()
    {
        var provider = await CreateInstanceAsync();
        var tokens = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            await using var lease = await provider.AcquireAsync(i % 2 == 0 ? "a" : "b").Bounded();
            tokens.Add(lease.FencingToken);
        }

        Assert.Equal(tokens.Order(), tokens);
        Assert.Equal(3, tokens.Distinct().Count());
    }

    [RedisFact]
    public async Task InvalidArguments_AreRejected()
    {
        var provider = await CreateInstanceAsync();

        Assert.Throws<ArgumentNullException>(() => provider.AcquireAsync(null!));
        Assert.Throws<ArgumentException>(() => provider.AcquireAsync(string.Empty));
        Assert.Throws<ArgumentOutOfRangeException>(() => provider.AcquireAsync("k", TimeSpan.FromSeconds(-2)));
        await Assert.ThrowsAsync<ArgumentException>(() => provider.AcquireAsync([], TimeSpan.Zero).AsTask());
    }

    [RedisFact]
    public async Task Disposal_ReleasesHeldLocks_FiresLostTokens_AndRejectsNewRequests()
    {
        var provider = await CreateInstanceAsync();
        var lease = await provider.AcquireAsync("k").Bounded();

        await provider.DisposeAsync();

        Assert.True(lease.LostToken.IsCancellationRequested);
        Assert.False(lease.IsHeld);
        Assert.Equal(0, await HolderCountAsync("k"));
        Assert.Throws<ObjectDisposedException>(() => provider.AcquireAsync("k"));
        await lease.DisposeAsync();
    }

    [RedisFact]
    public async Task MaxConcurrencyPerKey_GrantsNHoldersAcrossInstances_ThenQueues()
    {
        var a = await CreateInstanceAsync(o => o.MaxConcurrencyPerKey = 2);
        var b = await CreateInstanceAsync(o => o.MaxConcurrencyPerKey = 2);
        var first = await a.AcquireAsync("k", TimeSpan.Zero).Bounded();
        var second = await b.AcquireAsync("k", TimeSpan.Zero).Bounded();
        var third = a.AcquireAsync("k").AsTask();
        await TestWait.UntilAsync(() => QueueLengthAsync("k"), 1, "the third waits in Redis");

        Assert.False((await b.TryAcquireAsync("k", TimeSpan.Zero).Bounded()).Succeeded);
        Assert.Equal(2, await HolderCountAsync("k"));
        await second.DisposeAsync();
        var lease = await third.Bounded();
        Assert.True(lease.FencingToken > first.FencingToken);
        await lease.DisposeAsync();
        await first.DisposeAsync();
        await AssertOnlyTheFenceKeyIsLeftAsync();
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
