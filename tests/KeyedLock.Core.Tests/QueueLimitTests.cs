namespace KeyedLock.Tests;

public sealed class QueueLimitTests
{
    [Fact]
    public async Task QueueLimit_RejectsTheWaiterThatWouldExceedIt_Immediately_WithTypedOutcomes()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxQueueLengthPerKey = 2 });
        Assert.Equal(2, registry.MaxQueueLengthPerKey);
        var holder = await registry.HoldAsync("k");
        var w1 = registry.AcquireAsync("k");
        var w2 = registry.AcquireAsync("k");

        var attempt = registry.TryAcquireAsync("k", Timeout.InfiniteTimeSpan);
        Assert.True(attempt.IsCompletedSuccessfully, "a full queue answers at once, without waiting");
        var result = await attempt.Bounded();
        Assert.False(result.Succeeded);
        Assert.Equal(KeyedLockFailureReason.QueueFull, result.FailureReason);

        var acquire = registry.AcquireAsync("k", TimeSpan.FromMinutes(1));
        Assert.True(acquire.IsFaulted);
        var ex = await Assert.ThrowsAsync<KeyedLockQueueFullException>(() => acquire.AsTask()).Bounded();
        Assert.Equal("k", ex.Key);
        Assert.Equal(2, ex.QueueLimit);
        Assert.IsAssignableFrom<KeyedLockException>(ex);

        // The rejections did not queue: exactly w1 and w2 follow the holder.
        holder.Dispose();
        (await w1.Bounded()).Dispose();
        (await w2.Bounded()).Dispose();
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task QueueLimit_ReportsQueueFullBeforeTimedOut_ForZeroTimeout()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxQueueLengthPerKey = 1 });
        var holder = await registry.HoldAsync("k");
        Assert.Equal(KeyedLockFailureReason.TimedOut, (await registry.TryAcquireAsync("k", TimeSpan.Zero).Bounded()).FailureReason);
        var waiter = registry.AcquireAsync("k");
        Assert.Equal(KeyedLockFailureReason.QueueFull, (await registry.TryAcquireAsync("k", TimeSpan.Zero).Bounded()).FailureReason);
        holder.Dispose();
        (await waiter.Bounded()).Dispose();
    }

    [Fact]
    public async Task QueueLimitZero_NeverWaits_ButStillGrantsAFreeKey()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxQueueLengthPerKey = 0, MaxConcurrencyPerKey = 2 });
        var a = await registry.HoldAsync("k");
        var b = await registry.HoldAsync("k");
        await Assert.ThrowsAsync<KeyedLockQueueFullException>(() => registry.AcquireAsync("k").AsTask()).Bounded();
        a.Dispose();
        var c = await registry.HoldAsync("k");
        b.Dispose();
        c.Dispose();
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task QueueLimit_IsPerKey()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxQueueLengthPerKey = 1 });
        var a = await registry.HoldAsync("a");
        var b = await registry.HoldAsync("b");
        var wa = registry.AcquireAsync("a");
        var wb = registry.AcquireAsync("b");
        Assert.False(wa.IsCompleted);
        Assert.False(wb.IsCompleted);
        a.Dispose();
        b.Dispose();
        (await wa.Bounded()).Dispose();
        (await wb.Bounded()).Dispose();
    }
}
