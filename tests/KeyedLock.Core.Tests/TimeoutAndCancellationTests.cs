namespace KeyedLock.Tests;

public sealed class TimeoutAndCancellationTests
{
    [Fact]
    public async Task Timeout_RemovesTheWaiterAtOnce_AndTheNextWaiterIsStillGrantedInOrder()
    {
        var time = new ManualTimeProvider();
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxQueueLengthPerKey = 2 }, time);
        var holder = await registry.HoldAsync("k");
        var timesOut = registry.AcquireAsync("k", TimeSpan.FromSeconds(5));
        var patient = registry.AcquireAsync("k", TimeSpan.FromSeconds(60));

        time.Advance(TimeSpan.FromSeconds(4.9));
        Assert.False(timesOut.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(0.1));

        var ex = await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => timesOut.AsTask()).Bounded();
        Assert.Equal("k", ex.Key);
        Assert.Equal(TimeSpan.FromSeconds(5), ex.Timeout);
        Assert.False(patient.IsCompleted);
        Assert.Equal(1, registry.Count);

        // The timed-out waiter no longer counts toward the queue limit: one more fits (limit 2), the next does not.
        var late = registry.AcquireAsync("k");
        Assert.False(late.IsCompleted);
        var rejected = await registry.TryAcquireAsync("k", TimeSpan.FromSeconds(1)).Bounded();
        Assert.Equal(KeyedLockFailureReason.QueueFull, rejected.FailureReason);

        // Queue position: the patient waiter (queued before the timeout) goes first, then the late one.
        holder.Dispose();
        Assert.True(patient.IsCompletedSuccessfully);
        Assert.False(late.IsCompleted);
        (await patient).Dispose();
        (await late).Dispose();
        Assert.Equal(0, registry.Count);
        Assert.Equal(0, time.ActiveTimers);
    }

    [Fact]
    public async Task Timeout_OfTheOnlyWaiter_LeavesOnlyTheHolder_AndCountReturnsToZero()
    {
        var time = new ManualTimeProvider();
        using var registry = new KeyedLockRegistry(null, time);
        var holder = await registry.HoldAsync("k");
        var attempt = registry.TryAcquireAsync("k", TimeSpan.FromMilliseconds(100));
        time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.True(attempt.IsCompleted);
        var result = await attempt.Bounded();
        Assert.False(result.Succeeded);
        Assert.Equal(KeyedLockFailureReason.TimedOut, result.FailureReason);
        Assert.False(result.Lease.IsHeld);
        result.Dispose(); // disposing a failed attempt is harmless

        Assert.Equal(1, registry.Count);
        holder.Dispose();
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task TimedOutWaiter_WhoseHolderLeaves_DoesNotKeepTheEntryAlive()
    {
        var time = new ManualTimeProvider();
        using var registry = new KeyedLockRegistry(null, time);
        var holder = await registry.HoldAsync("k");
        var waiter = registry.AcquireAsync("k", TimeSpan.FromSeconds(1));
        holder.Dispose();

        // Granted before the timer fired: the later timer does nothing and the lease stays valid.
        Assert.True(waiter.IsCompletedSuccessfully);
        Assert.Equal(0, time.ActiveTimers);
        time.Advance(TimeSpan.FromSeconds(2));
        var lease = await waiter.Bounded();
        Assert.True(lease.IsHeld);
        lease.Dispose();
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task Cancellation_RemovesTheWaiterAtOnce_AndTheNextWaiterIsGranted()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxQueueLengthPerKey = 2 });
        using var cts = new CancellationTokenSource();
        var holder = await registry.HoldAsync("k");
        var canceled = registry.AcquireAsync("k", cts.Token);
        var next = registry.AcquireAsync("k");

        cts.Cancel();

        Assert.True(canceled.IsCanceled);
        var oce = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => canceled.AsTask()).Bounded();
        Assert.Equal(cts.Token, oce.CancellationToken);

        // Gone from the queue at once: one more waiter fits under the limit of 2.
        var late = registry.AcquireAsync("k");
        Assert.False(late.IsCompleted);
        Assert.Equal(KeyedLockFailureReason.QueueFull, (await registry.TryAcquireAsync("k", TimeSpan.FromSeconds(1)).Bounded()).FailureReason);

        holder.Dispose();
        Assert.True(next.IsCompletedSuccessfully);
        (await next.Bounded()).Dispose();
        Assert.True(late.IsCompletedSuccessfully);
        (await late).Dispose();
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task Cancellation_OfTheOnlyWaiterAfterTheHolderLeft_RemovesTheEntry()
    {
        using var registry = new KeyedLockRegistry();
        using var cts = new CancellationTokenSource();
        var holder = await registry.HoldAsync("k");
        var waiter = registry.TryAcquireAsync("k", Timeout.InfiniteTimeSpan, cts.Token);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiter.AsTask()).Bounded();
        Assert.Equal(1, registry.Count);
        holder.Dispose();
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task CancellationOfAMiddleWaiter_KeepsTheOthersInOrder()
    {
        using var registry = new KeyedLockRegistry();
        using var cts = new CancellationTokenSource();
        var holder = await registry.HoldAsync("k");
        var first = registry.AcquireAsync("k");
        var middle = registry.AcquireAsync("k", cts.Token);
        var last = registry.AcquireAsync("k");
        cts.Cancel();
        Assert.True(middle.IsCanceled);

        holder.Dispose();
        Assert.True(first.IsCompletedSuccessfully);
        Assert.False(last.IsCompleted);
        (await first.Bounded()).Dispose();
        Assert.True(last.IsCompletedSuccessfully);
        (await last).Dispose();
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task AlreadyCancelledToken_FailsAtOnce_EvenWhenTheKeyIsFree_AndLeavesNothing()
    {
        using var registry = new KeyedLockRegistry();
        using var cts = new CancellationTokenSource();
        cts.Cancel();

        var acquire = registry.AcquireAsync("k", cts.Token);
        Assert.True(acquire.IsCanceled);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => acquire.AsTask()).Bounded();
        var timed = registry.AcquireAsync("k", TimeSpan.FromSeconds(1), cts.Token);
        Assert.True(timed.IsCanceled);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => timed.AsTask()).Bounded();
        var attempt = registry.TryAcquireAsync("k", TimeSpan.Zero, cts.Token);
        Assert.True(attempt.IsCanceled);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => attempt.AsTask()).Bounded();
        var multi = registry.AcquireAsync(["a", "b"], TimeSpan.FromSeconds(1), cts.Token);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => multi.AsTask()).Bounded();

        Assert.Equal(0, registry.Count);
        using var free = await registry.HoldAsync("k");
    }

    [Fact]
    public async Task TimeoutAndCancelTogether_FirstOneWins_AndTheOtherIsHarmless()
    {
        var time = new ManualTimeProvider();
        using var registry = new KeyedLockRegistry(null, time);
        using var cts = new CancellationTokenSource();
        var holder = await registry.HoldAsync("k");
        var waiter = registry.AcquireAsync("k", TimeSpan.FromSeconds(1), cts.Token);
        time.Advance(TimeSpan.FromSeconds(1));
        cts.Cancel();
        await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => waiter.AsTask()).Bounded();
        Assert.Equal(0, time.ActiveTimers);
        holder.Dispose();
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task TimedOutAcquire_ReportsAFaultedValueTask()
    {
        var time = new ManualTimeProvider();
        using var registry = new KeyedLockRegistry(null, time);
        var holder = await registry.HoldAsync("k");
        var waiter = registry.AcquireAsync("k", TimeSpan.FromSeconds(1));
        time.Advance(TimeSpan.FromSeconds(1));

        // ValueTask's status must agree with what awaiting it does (it throws), like SemaphoreSlim's tasks.
        Assert.True(waiter.IsFaulted, "a timed-out AcquireAsync must not report IsCompletedSuccessfully");
        await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => waiter.AsTask()).Bounded();
        holder.Dispose();
    }
}
