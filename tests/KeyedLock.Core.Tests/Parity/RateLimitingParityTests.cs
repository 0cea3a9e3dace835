// Ported by hand from the tests of System.Threading.RateLimiting in dotnet/runtime
// (src/libraries/System.Threading.RateLimiting/tests: ConcurrencyLimiterTests, PartitionedRateLimiterTests) to
// KeyedLockRegistry with its default options. One key plays one ConcurrencyLimiter with QueueProcessingOrder.OldestFirst:
// PermitLimit is MaxConcurrencyPerKey, QueueLimit is MaxQueueLengthPerKey (set only where the original test is about
// them), AttemptAcquire is TryAcquireAsync with TimeSpan.Zero, and a failed RateLimitLease is a failed KeyedLockAttempt.
//
// Skipped (no counterpart here):
// - QueueProcessingOrder.NewestFirst (QueuesAndGrabsNewest, DropsOldest..., DropsMultipleOldest..., CanAcquireResources...IfNewestFirst, CanFillQueueWithNewestFirst...): the registry is FIFO only.
// - Permit counts other than one (AcquireZero..., AcquireAsyncZero..., ThrowsWhenAcquiringMoreThanLimit, ThrowsWhen...LessThanZero, CanDequeueMultipleResourcesAtOnce, DropsRequestedLeaseIfPermitCountGreaterThanQueueLimit...): a holder always takes one slot.
// - Lease metadata names and the ReasonPhrase string (MetadataNamesContainsAllMetadata): the reason is the typed FailureReason (ported).
// - IdleDuration, GetStatistics...ReturnsNewInstances and the statistics counters: no such API; the queue length and Count are checked instead.
// - Throwing after disposal (ObjectDisposedException): the registry's Dispose only releases its meter (its documented contract).
// - PartitionedRateLimiter factories, comparers, replenishment, chained limiters and timers: one registry is the partitioning.
namespace KeyedLock.Tests.Parity;

public sealed class RateLimitingParityTests
{
    // ConcurrencyLimiterTests.CanAcquireResource.
    [Fact]
    public async Task AttemptAcquire_SucceedsOnce_FailsWhileHeld_AndSucceedsAgainAfterTheRelease()
    {
        using var registry = new KeyedLockRegistry();

        var lease = await registry.TryAcquireAsync("k", TimeSpan.Zero).Bounded();
        Assert.True(lease.Succeeded);
        var refused = await registry.TryAcquireAsync("k", TimeSpan.Zero).Bounded();
        Assert.False(refused.Succeeded);
        Assert.Equal(KeyedLockFailureReason.TimedOut, refused.FailureReason);

        lease.Dispose();

        var again = await registry.TryAcquireAsync("k", TimeSpan.Zero).Bounded();
        Assert.True(again.Succeeded);
        again.Dispose();
        Assert.Equal(0, registry.Count);
    }

    // ConcurrencyLimiterTests.CanAcquireResourceAsync.
    [Fact]
    public async Task AcquireAsync_WaitsWhileHeld_AndIsGrantedByTheRelease()
    {
        using var registry = new KeyedLockRegistry();
        var lease = await registry.AcquireAsync("k").Bounded();

        var wait = registry.AcquireAsync("k");
        Assert.False(wait.IsCompleted);

        lease.Dispose();

        var granted = await wait.Bounded();
        Assert.True(granted.IsHeld);
        granted.Dispose();
        Assert.Equal(0, registry.Count);
    }

    // ConcurrencyLimiterTests.CanAcquireResourceAsync_QueuesAndGrabsOldest.
    [Fact]
    public async Task QueuedAcquisitions_AreGrantedOldestFirst()
    {
        using var registry = new KeyedLockRegistry();
        var lease = await registry.AcquireAsync("k").Bounded();

        var wait1 = registry.AcquireAsync("k");
        var wait2 = registry.AcquireAsync("k");
        Assert.False(wait1.IsCompleted);
        Assert.False(wait2.IsCompleted);

        lease = await ReleaseToAsync(lease, wait1);
        Assert.False(wait2.IsCompleted);

        lease = await ReleaseToAsync(lease, wait2);
        lease.Dispose();
        Assert.Equal(0, registry.Count);
    }

    // ConcurrencyLimiterTests.FailsWhenQueuingMoreThanLimit_OldestFirst (QueueLimit = 1).
    [Fact]
    public async Task QueueingBeyondTheLimit_FailsAtOnce_WithoutDisturbingTheQueuedWaiter()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxQueueLengthPerKey = 1 });
        var lease = await registry.AcquireAsync("k").Bounded();
        var wait = registry.AcquireAsync("k");

        var failed = registry.TryAcquireAsync("k", Timeout.InfiniteTimeSpan);
        var thrown = registry.AcquireAsync("k");

        Assert.True(failed.IsCompletedSuccessfully, "a full queue answers at once");
        Assert.Equal(KeyedLockFailureReason.QueueFull, (await failed.Bounded()).FailureReason);
        Assert.True(thrown.IsFaulted);
        await Assert.ThrowsAsync<KeyedLockQueueFullException>(() => thrown.AsTask()).Bounded();
        Assert.False(wait.IsCompleted);
        lease.Dispose();
        (await wait.Bounded()).Dispose();
        Assert.Equal(0, registry.Count);
    }

    // ConcurrencyLimiterTests.QueueAvailableAfterQueueLimitHitAndResources_BecomeAvailable.
    [Fact]
    public async Task AfterTheQueueLimitWasHit_TheQueueIsUsableAgainOnceTheWaiterIsGranted()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxQueueLengthPerKey = 1 });
        var lease = await registry.AcquireAsync("k").Bounded();
        var wait = registry.AcquireAsync("k");

        var failed = await registry.TryAcquireAsync("k", Timeout.InfiniteTimeSpan).Bounded();
        Assert.Equal(KeyedLockFailureReason.QueueFull, failed.FailureReason);

        lease = await ReleaseToAsync(lease, wait);

        wait = registry.AcquireAsync("k");
        Assert.False(wait.IsCompleted);

        lease = await ReleaseToAsync(lease, wait);
        lease.Dispose();
        Assert.Equal(0, registry.Count);
    }

    // ConcurrencyLimiterTests.CannotAcquireResourcesWithAcquireAsyncWithQueuedItemsIfOldestFirst (PermitLimit = 2; one
    // slot per holder instead of weighted permits).
    [Fact]
    public async Task WithTwoSlots_AFreedSlotGoesToTheOldestWaiter_TheNextOneWaitsForTheNextRelease()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = 2 });
        var a = await registry.AcquireAsync("k").Bounded();
        var b = await registry.AcquireAsync("k").Bounded();
        var wait1 = registry.AcquireAsync("k");
        var wait2 = registry.AcquireAsync("k");
        Assert.False(wait1.IsCompleted);
        Assert.False(wait2.IsCompleted);

        a.Dispose();

        Assert.True(wait1.IsCompletedSuccessfully);
        Assert.False(wait2.IsCompleted);
        var lease1 = await wait1.Bounded();
        lease1.Dispose();
        Assert.True(wait2.IsCompletedSuccessfully);
        (await wait2.Bounded()).Dispose();
        b.Dispose();
        Assert.Equal(0, registry.Count);
    }

    // ConcurrencyLimiterTests.CannotAcquireResourcesWithAcquireWithQueuedItemsIfOldestFirst: an attempt does not take
    // a slot ahead of a queued waiter, not even at the moment a slot is released.
    [Fact]
    public async Task WithTwoSlots_AnAttemptDoesNotTakeTheFreedSlotAheadOfTheQueuedWaiter()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = 2 });
        var a = await registry.AcquireAsync("k").Bounded();
        var b = await registry.AcquireAsync("k").Bounded();
        var wait1 = registry.AcquireAsync("k");

        var whileQueued = await registry.TryAcquireAsync("k", TimeSpan.Zero).Bounded();
        a.Dispose();
        var afterRelease = await registry.TryAcquireAsync("k", TimeSpan.Zero).Bounded();

        Assert.False(whileQueued.Succeeded);
        Assert.False(afterRelease.Succeeded);
        Assert.True(wait1.IsCompletedSuccessfully, "the freed slot went to the queued waiter");
        (await wait1.Bounded()).Dispose();
        b.Dispose();
        Assert.Equal(0, registry.Count);
    }

    // ConcurrencyLimiterTests.CanCancelAcquireAsyncAfterQueuing; PartitionedRateLimiterTests.Create_CancellationTokenPassedToUnderlyingLimiter.
    [Fact]
    public async Task CancellingAQueuedAcquisition_ThrowsTaskCanceledWithTheToken_AndAllSlotsComeBack()
    {
        using var registry = new KeyedLockRegistry();
        using var cts = new CancellationTokenSource();
        var lease = await registry.AcquireAsync("k").Bounded();
        var wait = registry.AcquireAsync("k", cts.Token);
        Assert.False(wait.IsCompleted);

        cts.Cancel();

        var ex = await Assert.ThrowsAsync<TaskCanceledException>(() => wait.AsTask()).Bounded();
        Assert.Equal(cts.Token, ex.CancellationToken);
        lease.Dispose();
        Assert.Equal(0, registry.Count);
        Assert.True(await registry.IsFreeForOthersAsync("k"));
    }

    // ConcurrencyLimiterTests.CanCancelAcquireAsyncBeforeQueuing; PartitionedRateLimiterTests.WaitAsyncThrowsWhenPassedACanceledToken.
    [Fact]
    public async Task AcquiringWithAnAlreadyCancelledToken_ThrowsTaskCanceledWithTheToken_AndAllSlotsComeBack()
    {
        using var registry = new KeyedLockRegistry();
        using var cts = new CancellationTokenSource();
        var lease = await registry.AcquireAsync("k").Bounded();
        cts.Cancel();

        var ex = await Assert.ThrowsAsync<TaskCanceledException>(() => registry.AcquireAsync("k", cts.Token).AsTask()).Bounded();

        Assert.Equal(cts.Token, ex.CancellationToken);
        Assert.Equal(0, registry.QueueLength("k"));
        lease.Dispose();
        Assert.Equal(0, registry.Count);
        Assert.True(await registry.IsFreeForOthersAsync("k"));
    }

    // ConcurrencyLimiterTests.CancelUpdatesQueueLimit (QueueLimit = 1).
    [Fact]
    public async Task CancellingTheQueuedWaiter_FreesItsPlaceUnderTheQueueLimit()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxQueueLengthPerKey = 1 });
        using var cts = new CancellationTokenSource();
        var lease = await registry.AcquireAsync("k").Bounded();
        var cancelled = registry.AcquireAsync("k", cts.Token);

        cts.Cancel();
        var ex = await Assert.ThrowsAsync<TaskCanceledException>(() => cancelled.AsTask()).Bounded();
        Assert.Equal(cts.Token, ex.CancellationToken);

        var wait = registry.AcquireAsync("k");
        Assert.False(wait.IsCompleted, "the new waiter queues instead of being refused");
        lease = await ReleaseToAsync(lease, wait);
        lease.Dispose();
        Assert.Equal(0, registry.Count);
    }

    // ConcurrencyLimiterTests.CanDisposeAfterCancelingQueuedRequest.
    [Fact]
    public async Task DisposingTheRegistryAfterACancelledWaiter_HasNoSideEffects()
    {
        var registry = new KeyedLockRegistry();
        using var cts = new CancellationTokenSource();
        var lease = await registry.AcquireAsync("k").Bounded();
        var wait = registry.AcquireAsync("k", cts.Token);
        cts.Cancel();
        await Assert.ThrowsAsync<TaskCanceledException>(() => wait.AsTask()).Bounded();

        registry.Dispose();

        Assert.True(lease.IsHeld);
        lease.Dispose();
        Assert.Equal(0, registry.Count);
    }

    // ConcurrencyLimiterTests.DisposeReleasesQueuedAcquires / DisposeAsyncReleasesQueuedAcquires. Adapted: a limiter's
    // Dispose fails its queued requests; the registry's Dispose only releases its meter and held leases stay valid
    // (documented on KeyedLockRegistry.Dispose), so the queued waiters are still granted in order by the releases.
    [Fact]
    public async Task DisposingTheRegistry_LeavesTheQueue_ToBeGrantedInOrderByTheReleases()
    {
        var registry = new KeyedLockRegistry();
        var lease = await registry.AcquireAsync("k").Bounded();
        var waits = Enumerable.Range(0, 3).Select(_ => registry.AcquireAsync("k")).ToArray();
        Assert.All(waits, w => Assert.False(w.IsCompleted));

        registry.Dispose();

        Assert.All(waits, w => Assert.False(w.IsCompleted));
        lease.Dispose();
        foreach (var wait in waits)
        {
            Assert.True(wait.IsCompletedSuccessfully);
            (await wait.Bounded()).Dispose();
        }

        Assert.Equal(0, registry.Count);
    }

    // ConcurrencyLimiterTests.ReasonMetadataOnFailedWaitAsync ("Queue limit reached").
    [Fact]
    public async Task AFailedAttempt_CarriesItsReason_AndNoLease()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxQueueLengthPerKey = 0 });
        using var lease = await registry.AcquireAsync("k").Bounded();

        var failed = await registry.TryAcquireAsync("k", Timeout.InfiniteTimeSpan).Bounded();

        Assert.False(failed.Succeeded);
        Assert.Equal(KeyedLockFailureReason.QueueFull, failed.FailureReason);
        Assert.Equal(default, failed.Lease);
        Assert.False(failed.Lease.IsHeld);
    }

    // ConcurrencyLimiterTests.NoMetadataOnAcquiredLease.
    [Fact]
    public async Task ASuccessfulAttempt_HasNoFailureReason()
    {
        using var registry = new KeyedLockRegistry();

        await using var attempt = await registry.TryAcquireAsync("k", TimeSpan.Zero).Bounded();

        Assert.True(attempt.Succeeded);
        Assert.Equal(KeyedLockFailureReason.None, attempt.FailureReason);
        Assert.Equal("k", attempt.Lease.Key);
    }

    // ConcurrencyLimiterTests.LargeAcquiresAndQueuesDoNotIntegerOverflow (PermitLimit = QueueLimit = int.MaxValue):
    // the largest limits the options accept must work like any other.
    [Fact]
    public async Task TheLargestLimits_WorkLikeAnyOther()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = int.MaxValue, MaxQueueLengthPerKey = int.MaxValue });

        var first = registry.AcquireAsync("k");
        var second = registry.AcquireAsync("k");

        Assert.True(first.IsCompletedSuccessfully && second.IsCompletedSuccessfully, "far below the limit: granted at once");
        (await first.Bounded()).Dispose();
        (await second.Bounded()).Dispose();
        Assert.Equal(0, registry.Count);
    }

    // ConcurrencyLimiterTests.InvalidOptionsThrows.
    [Fact]
    public void NegativeLimits_AreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new KeyedLockRegistry(new KeyedLockOptions { MaxQueueLengthPerKey = -1 }));
    }

    // ConcurrencyLimiterTests.GetStatisticsHasCorrectValues (the queued count; failures and successes are the meter's,
    // see MetricsTests): holders are not queued, a refused attempt is not queued, a grant leaves the queue.
    [Fact]
    public async Task TheQueueLength_CountsOnlyWaiters()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxQueueLengthPerKey = 1 });
        Assert.Equal(0, registry.QueueLength("k"));

        var lease = await registry.AcquireAsync("k").Bounded();
        Assert.Equal(0, registry.QueueLength("k"));
        var wait = registry.AcquireAsync("k");
        Assert.Equal(1, registry.QueueLength("k"));
        Assert.Equal(KeyedLockFailureReason.QueueFull, (await registry.TryAcquireAsync("k", TimeSpan.FromMinutes(1)).Bounded()).FailureReason);
        Assert.Equal(1, registry.QueueLength("k"));

        lease.Dispose();
        Assert.Equal(0, registry.QueueLength("k"));
        (await wait.Bounded()).Dispose();
        Assert.Equal(0, registry.Count);
    }

    // PartitionedRateLimiterTests.Create_BlockingWaitDoesNotBlockOtherPartitions.
    [Fact]
    public async Task AWaitOnOneKey_DoesNotBlockAnotherKey()
    {
        using var registry = new KeyedLockRegistry();
        var lease = await registry.AcquireAsync("2").Bounded();
        var wait = registry.AcquireAsync("2");
        Assert.False(wait.IsCompleted);

        var other = registry.AcquireAsync("1");

        Assert.True(other.IsCompletedSuccessfully, "a different key is granted at once");
        (await other.Bounded()).Dispose();
        lease.Dispose();
        (await wait.Bounded()).Dispose();
        Assert.Equal(0, registry.Count);
    }

    // PartitionedRateLimiterTests.IdleLimiterIsCleanedUp / NoopLimiterPartitionIsCleanedUp: here nothing waits for an
    // idle timer, a key's state goes as soon as it has neither holder nor waiter, and comes back on the next use.
    [Fact]
    public async Task AnIdleKey_LeavesNoStateBehind_AndIsUsableAgain()
    {
        using var registry = new KeyedLockRegistry();
        var lease = await registry.AcquireAsync("k").Bounded();
        Assert.Equal(1, registry.Count);

        lease.Dispose();
        Assert.Equal(0, registry.Count);

        var again = await registry.TryAcquireAsync("k", TimeSpan.Zero).Bounded();
        Assert.True(again.Succeeded);
        Assert.Equal(1, registry.Count);
        again.Dispose();
        Assert.Equal(0, registry.Count);
    }

    /// <summary>Releases <paramref name="held"/> and returns the lease that release grants to <paramref name="next"/>.</summary>
    private static async Task<KeyedLockLease> ReleaseToAsync(KeyedLockLease held, ValueTask<KeyedLockLease> next)
    {
        held.Dispose();
        var lease = await next.Bounded();
        Assert.True(lease.IsHeld);
        return lease;
    }
}
