using System.Diagnostics.Metrics;
using KeyedLock.Testing;

namespace KeyedLock.Postgres.Tests;

/// <summary>The Core contract scenarios (<see cref="DistributedProviderContract"/>), against PostgreSQL-backed instances.</summary>
public sealed class PostgresContractTests : PostgresTestBase, IDistributedContractHost
{
    private DistributedProviderContract Contract => new(this);

    public string ServerName => "PostgreSQL";

    [PostgresFact]
    public Task SameKey_IsMutuallyExclusive() => Contract.SameKeyIsMutuallyExclusive();

    [PostgresFact]
    public Task RandomAcquisitionsAcrossInstances_KeepExclusion_FinishAndLeaveNothing() => Contract.RandomAcquisitionsAcrossInstancesKeepExclusionFinishAndLeaveNothing();

    [PostgresFact]
    public Task RandomAcquisitionsAcrossInstances_TwoHoldersPerKey_NeverThree_FinishAndLeaveNothing()
        => Contract.RandomAcquisitionsAcrossInstancesKeepExclusionFinishAndLeaveNothing(
            () => Task.FromResult<IKeyedLockProvider>(CreateInstance(o => o.MaxConcurrencyPerKey = 2)),
            holdersPerKey: 2);

    [PostgresFact]
    public Task Metrics_CountEachAcquisitionOnce_WithItsResult() => Contract.MetricsCountEachAcquisitionOnceWithItsResult();

    [PostgresFact]
    public Task DifferentKeys_AreHeldAtTheSameTime() => Contract.DifferentKeysAreHeldAtTheSameTime();

    [PostgresFact]
    public Task Waiters_AreGrantedInArrivalOrder() => Contract.WaitersAreGrantedInArrivalOrder();

    [PostgresFact]
    public Task WaitInPostgres_TimesOut_AndLeavesNothingBehind() => Contract.WaitOnTheServerTimesOutAndLeavesNothingBehind();

    [PostgresFact]
    public Task TryAcquire_ReportsTimeoutAsAFailedAttempt() => Contract.TryAcquireReportsTimeoutAsAFailedAttempt();

    [PostgresFact]
    public Task CancelWhileWaitingInPostgres_StopsWaiting_AndNoLockIsLeftBehind() => Contract.CancelWhileWaitingOnTheServerThrowsWithTheCallersTokenAndLeavesTheQueue();

    [PostgresFact]
    public Task CancelWhileQueuedLocally_LeavesTheQueue() => Contract.CancelWhileQueuedLocallyLeavesTheQueue();

    [PostgresFact]
    public Task AlreadyCanceledToken_ThrowsWithoutTouchingTheDatabase() => Contract.AlreadyCanceledTokenThrowsWithoutTouchingTheServer();

    [PostgresFact]
    public Task QueueLimit_RejectsTheWaiterBeyondIt() => Contract.QueueLimitRejectsTheWaiterBeyondIt();

    [PostgresFact]
    public Task MultiKey_AcquiresAllWithoutDeadlock_AndReleasesAll() => Contract.MultiKeyAcquiresAllWithoutDeadlockAndReleasesAll();

    [PostgresFact]
    public Task MultiKey_FailureReleasesTheKeysAlreadyTaken() => Contract.MultiKeyFailureReleasesTheKeysAlreadyTaken();

    [PostgresFact]
    public Task ReentrantAcquire_WithDetectionOptedIn_Throws_InsteadOfDeadlocking() => Contract.ReentrantAcquireThrowsWhenDetectionIsOptedIn();

    [PostgresFact]
    public Task ReentrancyDetection_IsOffByDefault_SoAProbeOfTheOwnKeyTimesOut() => Contract.ReentrancyDetectionIsOffByDefaultSoAProbeOfTheOwnKeyTimesOut();

    [PostgresFact]
    public Task ReleasingTwice_IsHarmless() => Contract.ReleasingTwiceIsHarmless();

    [PostgresFact]
    public Task SynchronousDispose_ReleasesTheLock() => Contract.SynchronousDisposeReleasesTheLock();

    [PostgresFact]
    public Task FencingTokens_IncreaseWithEveryGrant() => Contract.FencingTokensIncreaseWithEveryGrant();

    [PostgresFact]
    public Task InvalidArguments_AreRejected() => Contract.InvalidArgumentsAreRejected();

    [PostgresFact]
    public Task Disposal_ReleasesHeldLocks_FiresLostTokens_AndRejectsNewRequests() => Contract.DisposalReleasesHeldLocksFiresLostTokensAndRejectsNewRequests();

    Task<IKeyedLockProvider> IDistributedContractHost.NewInstanceAsync(int? maxQueueLengthPerKey, bool detectReentrancy, IMeterFactory? meterFactory)
        => Task.FromResult<IKeyedLockProvider>(CreateInstance(
            o =>
            {
                o.MaxQueueLengthPerKey = maxQueueLengthPerKey ?? o.MaxQueueLengthPerKey;
                o.DetectReentrancy = detectReentrancy;
            },
            meterFactory: meterFactory));

    int IDistributedContractHost.ActiveLeases(IKeyedLockProvider instance) => ((PostgresKeyedLockProvider)instance).ActiveLeases;

    int IDistributedContractHost.WaitingKeys(IKeyedLockProvider instance) => ((PostgresKeyedLockProvider)instance).WaitingKeys;

    Task<long> IDistributedContractHost.ServerHoldersAsync(IKeyedLockProvider instance, string key)
        => TestDatabase.CountHoldersAsync(Monitor, ((PostgresKeyedLockProvider)instance).GetAdvisoryLockId(key));

    Task<long> IDistributedContractHost.ServerWaitersAsync(IKeyedLockProvider instance, string key)
        => TestDatabase.CountWaitersAsync(Monitor, ((PostgresKeyedLockProvider)instance).GetAdvisoryLockId(key));

    async Task IDistributedContractHost.AssertNothingLeftAsync(IKeyedLockProvider instance, string key)
    {
        var host = (IDistributedContractHost)this;
        Assert.Equal(0, await host.ServerHoldersAsync(instance, key));
        Assert.Equal(0, await host.ServerWaitersAsync(instance, key));
    }

    Task IDistributedContractHost.AssertServerUntouchedAsync(IKeyedLockProvider instance) => ((IDistributedContractHost)this).AssertNothingLeftAsync(instance, "k");
}
