using System.Diagnostics.Metrics;
using KeyedLock.Testing;

namespace KeyedLock.Redis.Tests;

/// <summary>The Core contract scenarios (<see cref="DistributedProviderContract"/>), against Redis-backed instances.</summary>
public sealed class RedisContractTests : RedisTestBase, IDistributedContractHost
{
    private DistributedProviderContract Contract => new(this);

    public string ServerName => "Redis";

    [RedisFact]
    public Task SameKey_IsMutuallyExclusive() => Contract.SameKeyIsMutuallyExclusive();

    [RedisFact]
    public Task Metrics_CountEachAcquisitionOnce_WithItsResult() => Contract.MetricsCountEachAcquisitionOnceWithItsResult();

    [RedisFact]
    public Task DifferentKeys_AreHeldAtTheSameTime() => Contract.DifferentKeysAreHeldAtTheSameTime();

    [RedisFact]
    public Task Waiters_AreGrantedInArrivalOrder() => Contract.WaitersAreGrantedInArrivalOrder();

    [RedisFact]
    public Task WaitInRedis_TimesOut_AndLeavesNothingBehind() => Contract.WaitOnTheServerTimesOutAndLeavesNothingBehind();

    [RedisFact]
    public Task TryAcquire_ReportsTimeoutAsAFailedAttempt() => Contract.TryAcquireReportsTimeoutAsAFailedAttempt();

    [RedisFact]
    public Task CancelWhileWaitingInRedis_ThrowsWithTheCallersToken_AndLeavesTheQueue() => Contract.CancelWhileWaitingOnTheServerThrowsWithTheCallersTokenAndLeavesTheQueue();

    [RedisFact]
    public Task CancelWhileQueuedLocally_LeavesTheQueue() => Contract.CancelWhileQueuedLocallyLeavesTheQueue();

    [RedisFact]
    public Task AlreadyCanceledToken_ThrowsWithoutTouchingRedis() => Contract.AlreadyCanceledTokenThrowsWithoutTouchingTheServer();

    [RedisFact]
    public Task QueueLimit_RejectsTheWaiterBeyondIt() => Contract.QueueLimitRejectsTheWaiterBeyondIt();

    [RedisFact]
    public Task MultiKey_AcquiresAllWithoutDeadlock_AndReleasesAll() => Contract.MultiKeyAcquiresAllWithoutDeadlockAndReleasesAll();

    [RedisFact]
    public Task MultiKey_FailureReleasesTheKeysAlreadyTaken() => Contract.MultiKeyFailureReleasesTheKeysAlreadyTaken();

    [RedisFact]
    public Task ReentrantAcquire_Throws_WhenDetectionIsOn() => Contract.ReentrantAcquireThrowsWhenDetectionIsOptedIn();

    [RedisFact]
    public Task ReentrancyDetection_IsOffByDefault_SoAProbeOfTheOwnKeyTimesOut() => Contract.ReentrancyDetectionIsOffByDefaultSoAProbeOfTheOwnKeyTimesOut();

    [RedisFact]
    public Task ReleasingTwice_IsHarmless() => Contract.ReleasingTwiceIsHarmless();

    [RedisFact]
    public Task SynchronousDispose_ReleasesTheLock() => Contract.SynchronousDisposeReleasesTheLock();

    [RedisFact]
    public Task FencingTokens_IncreaseWithEveryGrant() => Contract.FencingTokensIncreaseWithEveryGrant();

    [RedisFact]
    public Task InvalidArguments_AreRejected() => Contract.InvalidArgumentsAreRejected();

    [RedisFact]
    public Task Disposal_ReleasesHeldLocks_FiresLostTokens_AndRejectsNewRequests() => Contract.DisposalReleasesHeldLocksFiresLostTokensAndRejectsNewRequests();

    /// <summary>With a short <see cref="RedisKeyedLockOptions.WaiterTtl"/>: heartbeats (refreshes, grants they report, waiters they find gone) run every 100 ms between the hand-offs.</summary>
    [RedisFact]
    public Task RandomAcquisitionsAcrossInstances_WithHeartbeatsEvery100ms_KeepExclusion_FinishAndLeaveNothing()
        => Contract.RandomAcquisitionsAcrossInstancesKeepExclusionFinishAndLeaveNothing(
            async () => await CreateInstanceAsync(o => o.WaiterTtl = TimeSpan.FromMilliseconds(300)));

    /// <summary>The same with two holders per key.</summary>
    [RedisFact]
    public Task RandomAcquisitionsAcrossInstances_TwoHoldersPerKey_NeverThree_FinishAndLeaveNothing()
        => Contract.RandomAcquisitionsAcrossInstancesKeepExclusionFinishAndLeaveNothing(
            async () => await CreateInstanceAsync(o =>
            {
                o.MaxConcurrencyPerKey = 2;
                o.WaiterTtl = TimeSpan.FromMilliseconds(300);
            }),
            holdersPerKey: 2);

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

    async Task<IKeyedLockProvider> IDistributedContractHost.NewInstanceAsync(int? maxQueueLengthPerKey, bool detectReentrancy, IMeterFactory? meterFactory)
        => await CreateInstanceAsync(
            o =>
            {
                o.MaxQueueLengthPerKey = maxQueueLengthPerKey ?? o.MaxQueueLengthPerKey;
                o.DetectReentrancy = detectReentrancy;
            },
            meterFactory);

    int IDistributedContractHost.ActiveLeases(IKeyedLockProvider instance) => ((RedisKeyedLockProvider)instance).ActiveLeases;

    int IDistributedContractHost.WaitingKeys(IKeyedLockProvider instance) => ((RedisKeyedLockProvider)instance).WaitingKeys;

    Task<long> IDistributedContractHost.ServerHoldersAsync(IKeyedLockProvider instance, string key) => HolderCountAsync(key);

    Task<long> IDistributedContractHost.ServerWaitersAsync(IKeyedLockProvider instance, string key) => QueueLengthAsync(key);

    Task IDistributedContractHost.AssertNothingLeftAsync(IKeyedLockProvider instance, string key) => AssertOnlyTheFenceKeyIsLeftAsync();

    async Task IDistributedContractHost.AssertServerUntouchedAsync(IKeyedLockProvider instance) => Assert.Empty(await ScanAsync());
}
