namespace KeyedLock.Tests;

/// <remarks>
/// Acquisitions here are awaited directly (not through <c>Bounded()</c>, whose <c>AsTask()</c> reads the result on
/// another flow): they are of free keys and complete synchronously, so they cannot hang.
/// </remarks>
public sealed class ReentrancyTests
{
    [Fact]
    public async Task AcquiringAHeldKey_InTheSameFlow_ThrowsAtOnce()
    {
        using var registry = new KeyedLockRegistry();
        using var lease = await registry.AcquireAsync("k");

        var ex = Assert.Throws<KeyedLockRecursionException>(() => registry.AcquireAsync("k"));
        Assert.Equal("k", ex.Key);
        Assert.IsAssignableFrom<KeyedLockException>(ex);
        Assert.Throws<KeyedLockRecursionException>(() => registry.AcquireAsync("k", TimeSpan.FromSeconds(1)));
        Assert.Throws<KeyedLockRecursionException>(() => registry.TryAcquireAsync("k", TimeSpan.Zero));
        await Assert.ThrowsAsync<KeyedLockRecursionException>(async () => await registry.AcquireAsync(["j", "k"], TimeSpan.FromSeconds(1))).Bounded();

        // Nothing was queued or left behind by the rejected attempts (and "j" was released again).
        Assert.Equal(1, registry.Count);
    }

    [Fact]
    public async Task AcquiringAHeldKey_InANestedAsyncMethod_Throws()
    {
        using var registry = new KeyedLockRegistry();
        using var lease = await registry.AcquireAsync("k");
        await Assert.ThrowsAsync<KeyedLockRecursionException>(() => NestedAsync()).Bounded();

        async Task NestedAsync()
        {
            await Task.Yield();
            using var inner = await registry.AcquireAsync("k");
        }
    }

    [Fact]
    public async Task KeyGrantedAfterQueueing_IsTrackedToo()
    {
        using var registry = new KeyedLockRegistry();
        var other = await OtherFlowAsync(registry).Bounded();
        var queued = registry.AcquireAsync("k");
        other.Dispose();
        Assert.True(queued.IsCompletedSuccessfully);
        using var lease = await queued; // awaited directly: the grant is recorded in this flow
        Assert.Throws<KeyedLockRecursionException>(() => registry.AcquireAsync("k"));
    }

    [Fact]
    public async Task MultiKeyLease_IsTrackedForEachKey()
    {
        using var registry = new KeyedLockRegistry();
        using var lease = await registry.AcquireAsync(["a", "b"], TimeSpan.FromSeconds(1));
        Assert.Throws<KeyedLockRecursionException>(() => registry.AcquireAsync("a"));
        Assert.Throws<KeyedLockRecursionException>(() => registry.AcquireAsync("b"));
        using var c = await registry.AcquireAsync("c");
    }

    [Fact]
    public async Task DifferentKey_DifferentRegistry_OrAfterRelease_DoesNotThrow()
    {
        using var registry = new KeyedLockRegistry();
        using var otherRegistry = new KeyedLockRegistry();
        var lease = await registry.AcquireAsync("k");

        var different = await registry.AcquireAsync("other");
        var elsewhere = await otherRegistry.AcquireAsync("k");
        different.Dispose();
        elsewhere.Dispose();

        lease.Dispose();
        var again = await registry.AcquireAsync("k");
        again.Dispose();

        // Released out of order (the older lease last) leaves no stale record either.
        var x = await registry.AcquireAsync("x");
        var y = await registry.AcquireAsync("y");
        x.Dispose();
        using var x2 = await registry.AcquireAsync("x");
        y.Dispose();
        using var y2 = await registry.AcquireAsync("y");
    }

    [Fact]
    public async Task LeaseReleasedByAnotherFlow_NoLongerCountsAsHeld()
    {
        using var registry = new KeyedLockRegistry();
        var lease = await registry.AcquireAsync("k");
        await Task.Run(() => lease.Dispose()).Bounded();
        using var again = await registry.AcquireAsync("k");
        Assert.True(again.IsHeld);
    }

    [Fact]
    public async Task RunAsyncBody_ReacquiringItsKey_Throws()
    {
        using var registry = new KeyedLockRegistry();
        var ex = await Assert.ThrowsAsync<KeyedLockRecursionException>(() => registry.RunAsync("k", async ct =>
        {
            await Task.Yield();
            await registry.RunAsync("k", _ => { }, cancellationToken: ct);
        })).Bounded();
        Assert.Equal("k", ex.Key);
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task DetectionOff_ReacquiringWaitsInsteadOfThrowing()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { DetectReentrancy = false });
        var lease = await registry.AcquireAsync("k");
        var second = registry.AcquireAsync("k");
        Assert.False(second.IsCompleted);
        lease.Dispose();
        (await second).Dispose();
    }

    [Fact]
    public async Task TaskStartedWhileHolding_InheritsTheHeldKey_Documented()
    {
        // Documented limit (docs/decisions.md): a child task inherits the holding flow, so it cannot wait for
        // its parent's key; it gets KeyedLockRecursionException instead.
        using var registry = new KeyedLockRegistry();
        using var lease = await registry.AcquireAsync("k");
        await Assert.ThrowsAsync<KeyedLockRecursionException>(() => Task.Run(async () => await registry.AcquireAsync("k"))).Bounded();
    }

    private static async Task<KeyedLockLease> OtherFlowAsync(KeyedLockRegistry registry)
        => await Task.Run(async () => await registry.AcquireAsync("k"));
}
