namespace KeyedLock.Tests;

/// <summary>
/// Waiters without a timeout and without a cancellable token are pooled. The pool grows to the deepest such queue
/// (up to a cap), so a steady queue deeper than any fixed pool allocates nothing per operation.
/// </summary>
public sealed class WaiterPoolTests
{
    [Theory]
    [InlineData(40)]
    [InlineData(200)]
    public async Task QueueDeeperThanTheInitialPool_IsServedFromThePoolTheSecondTime(int depth)
    {
        using var registry = new KeyedLockRegistry();
        Assert.Equal(0, registry.PooledWaiters);

        await PassQueueAsync(registry, depth);
        Assert.Equal(depth, registry.PooledWaiters); // every waiter came back, none was dropped

        // The same depth again takes every waiter from the pool (none is created) and returns them all.
        var holder = await registry.HoldAsync("k");
        var waiters = Enumerable.Range(0, depth).Select(_ => registry.AcquireAsync("k")).ToArray();
        Assert.Equal(0, registry.PooledWaiters);
        Assert.Equal(depth, registry.QueueLength("k"));
        await ReleaseChainAsync(holder, waiters);
        Assert.Equal(depth, registry.PooledWaiters);
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task AHotKeysWaiter_GoesBackToItsStripesSpare_AndTheNextWaiterTakesItFromThere()
    {
        using var registry = new KeyedLockRegistry();
        var stripe = registry.StripeOf("k");
        await PassQueueAsync(registry, 1);
        var spare = stripe.SpareWaiter;
        Assert.NotNull(spare);
        Assert.Equal(1, registry.PooledWaiters);

        var holder = await registry.HoldAsync("k");
        var waiter = registry.AcquireAsync("k");
        Assert.Null(stripe.SpareWaiter); // rented from the spare, not from the registry's pool
        Assert.Equal(0, registry.PooledWaiters);
        await ReleaseChainAsync(holder, [waiter]);

        Assert.Same(spare, stripe.SpareWaiter);
        Assert.Equal(1, registry.PooledWaiters);
    }

    [Fact]
    public async Task AGrantedWaiter_ComesBackWhenItsGrantIsReleased_AndOnlyOnce()
    {
        using var registry = new KeyedLockRegistry();
        var holder = await registry.HoldAsync("k");
        var waiter = registry.AcquireAsync("k");
        holder.Dispose();
        var lease = await waiter.Bounded();
        Assert.Equal(0, registry.PooledWaiters); // the waiter belongs to the held grant until its release

        lease.Dispose();
        Assert.Equal(1, registry.PooledWaiters);
        lease.Dispose(); // a second release of the same lease returns nothing again
        await lease.DisposeAsync();
        Assert.Equal(1, registry.PooledWaiters);
        Assert.Equal(0, registry.Count);

        // The recycled waiter is reused, and serves its next grant like a new one.
        holder = await registry.HoldAsync("k");
        var again = registry.AcquireAsync("k");
        Assert.Equal(0, registry.PooledWaiters);
        holder.Dispose();
        var second = await again.Bounded();
        Assert.True(second.IsHeld);
        Assert.NotEqual(lease, second);
        second.Dispose();
        Assert.Equal(1, registry.PooledWaiters);
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task AnAbortedWaiter_ComesBackWhenItsResultIsRead_AlsoAfterItServedAGrant()
    {
        using var registry = new KeyedLockRegistry();

        // The waiter serves one grant and is recycled by that grant's release.
        await PassQueueAsync(registry, 1);
        Assert.Equal(1, registry.PooledWaiters);

        // Reused by a TryAcquireAsync that is aborted, then by an AcquireAsync: reading the result puts it back.
        var holder = await registry.HoldAsync("k");
        await AbortAndReadAsync(registry.TryAcquireAsync("k", Timeout.InfiniteTimeSpan).AsTask);
        await AbortAndReadAsync(registry.AcquireAsync("k").AsTask);
        holder.Dispose();
        Assert.Equal(0, registry.Count);

        // The queued waiter holds the pooled one until the holder aborts it and its result is read.
        async Task AbortAndReadAsync(Func<Task> readResult)
        {
            Assert.Equal(0, registry.PooledWaiters);
            Assert.Equal(1, holder.AbortWaiters(new InvalidOperationException("stop")));
            await Assert.ThrowsAsync<KeyedLockAbortedException>(readResult).Bounded();
            Assert.Equal(1, registry.PooledWaiters);
        }
    }

    [Fact]
    public async Task WithTwoHoldersPerKey_AWaiterComesBackWhenItsResultIsRead()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = 2 });
        var first = await registry.HoldAsync("k");
        var other = await registry.HoldAsync("k");
        var waiter = registry.AcquireAsync("k");
        first.Dispose();
        var lease = await waiter.Bounded();
        Assert.Equal(1, registry.PooledWaiters);
        lease.Dispose();
        other.Dispose();
        Assert.Equal(1, registry.PooledWaiters);
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task Pool_IsCappedAt1024Waiters()
    {
        using var registry = new KeyedLockRegistry();
        await PassQueueAsync(registry, 1100);

        // 1024 in the registry's pool, plus the spare that the key's stripe keeps.
        Assert.Equal(1024 + 1, registry.PooledWaiters);
    }

    [Fact]
    public async Task WaitersWithATokenOrATimeout_AreNotPooled()
    {
        using var registry = new KeyedLockRegistry();
        using var cts = new CancellationTokenSource();
        var holder = await registry.HoldAsync("k");
        var withToken = registry.AcquireAsync("k", cts.Token);
        var withTimeout = registry.AcquireAsync("k", TimeSpan.FromMinutes(5));
        var plain = registry.AcquireAsync("k");
        await ReleaseChainAsync(holder, [withToken, withTimeout, plain]);
        Assert.Equal(1, registry.PooledWaiters);
    }

    private static async Task PassQueueAsync(KeyedLockRegistry registry, int depth)
    {
        var holder = await registry.HoldAsync("k");
        var waiters = Enumerable.Range(0, depth).Select(_ => registry.AcquireAsync("k")).ToArray();
        Assert.Equal(depth, registry.QueueLength("k"));
        await ReleaseChainAsync(holder, waiters);
    }

    /// <summary>Releases the holder, then each waiter in turn as it is granted (FIFO: each is granted by the release before).</summary>
    private static async Task ReleaseChainAsync(KeyedLockLease holder, ValueTask<KeyedLockLease>[] waiters)
    {
        holder.Dispose();
        foreach (var waiter in waiters)
        {
            Assert.True(waiter.IsCompletedSuccessfully, "granted by the release just before");
            (await waiter.Bounded()).Dispose();
        }
    }
}
