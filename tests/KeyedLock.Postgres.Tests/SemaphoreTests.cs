namespace KeyedLock.Postgres.Tests;

/// <summary>
/// <c>MaxConcurrencyPerKey = N</c> on PostgreSQL: at most N holders of a key across instances, FIFO for the rest,
/// each holder with its own fencing token, nothing left behind.
/// </summary>
public sealed class SemaphoreTests : PostgresTestBase
{
    [PostgresFact]
    public async Task TwoSlots_TwoInstances_AtMostTwoHolders_EachWithItsOwnIncreasingToken()
    {
        var (a, appA, b, appB) = TwoSlotInstances();

        var first = await a.AcquireAsync("k").Bounded();
        var second = await b.AcquireAsync("k").Bounded();
        Assert.True(second.FencingToken > first.FencingToken);
        Assert.False((await a.TryAcquireAsync("k", TimeSpan.Zero).Bounded()).Succeeded);
        Assert.False((await b.TryAcquireAsync("k", TimeSpan.FromMilliseconds(100)).Bounded()).Succeeded);

        // A third holder waits until one of the two releases.
        var third = b.AcquireAsync("k").AsTask();
        await TestWait.UntilAsync(() => TestDatabase.CountLockingSessionsAsync(Monitor, appB), 2, "the third request waits in PostgreSQL");
        Assert.False(third.IsCompleted);
        await first.DisposeAsync();
        var granted = await third.Bounded();
        Assert.True(granted.FencingToken > second.FencingToken);
        Assert.True(granted.IsHeld && second.IsHeld);

        await granted.DisposeAsync();
        await second.DisposeAsync();
        Assert.Equal(0, await TestDatabase.CountLockingSessionsAsync(Monitor, appA));
        Assert.Equal(0, await TestDatabase.CountLockingSessionsAsync(Monitor, appB));
    }

    [PostgresFact]
    public async Task ManyWorkersOnTwoInstances_NeverMoreThanNHolders()
    {
        const int slots = 3;
        var a = CreateInstance(o => o.MaxConcurrencyPerKey = slots);
        var b = CreateInstance(o => o.MaxConcurrencyPerKey = slots);
        var overlap = new OverlapDetector(maxInside: slots);
        var tokens = new System.Collections.Concurrent.ConcurrentBag<long>();

        await Task.WhenAll(Enumerable.Range(0, 24).Select(async i =>
        {
            await using var lease = await (i % 2 == 0 ? a : b).AcquireAsync("k").Bounded(TimeSpan.FromSeconds(60));
            tokens.Add(lease.FencingToken);
            overlap.Enter("k");
            await Task.Yield();
            await Task.Delay(5);
            overlap.Exit("k");
        })).Bounded(TimeSpan.FromSeconds(90));

        overlap.AssertNoViolations();
        Assert.InRange(overlap.MaxSeen, 1, slots);
        Assert.Equal(24, tokens.Distinct().Count());
        Assert.Equal(0, a.ActiveLeases + b.ActiveLeases);
    }

    [PostgresFact]
    public async Task WaitersOfTwoInstances_AreGrantedInArrivalOrder()
    {
        var (a, appA, b, appB) = TwoSlotInstances();
        var one = await a.AcquireAsync("k").Bounded();
        var two = await a.AcquireAsync("k").Bounded();

        var firstWaiter = a.AcquireAsync("k").AsTask();
        await TestWait.UntilAsync(() => TestDatabase.CountLockingSessionsAsync(Monitor, appA), 3, "the first waiter holds the turnstile");
        var secondWaiter = b.AcquireAsync("k").AsTask();
        await TestWait.UntilAsync(() => TestDatabase.CountLockingSessionsAsync(Monitor, appB), 1, "the second waiter queues on the turnstile");

        await one.DisposeAsync();
        var granted = await firstWaiter.Bounded();
        Assert.False(secondWaiter.IsCompleted);
        await two.DisposeAsync();
        await (await secondWaiter.Bounded()).DisposeAsync();
        await granted.DisposeAsync();
    }

    [PostgresFact]
    public async Task TimeoutCancellationAndAKilledHolder_LeaveNothingBehind()
    {
        var app = TestDatabase.UniqueName("kl-sem");
        var a = CreateInstance(o => o.MaxConcurrencyPerKey = 2, app);
        var b = CreateInstance(o => o.MaxConcurrencyPerKey = 2);
        var one = await b.AcquireAsync("k").Bounded();
        var two = await b.AcquireAsync("k").Bounded();

        // Timed out while holding the turnstile, and canceled while holding it.
        Assert.False((await a.TryAcquireAsync("k", TimeSpan.FromMilliseconds(200)).Bounded()).Succeeded);
        Assert.Equal(0, await TestDatabase.CountLockingSessionsAsync(Monitor, app));
        using var cts = new CancellationTokenSource();
        var canceled = a.AcquireAsync("k", cts.Token).AsTask();
        await TestWait.UntilAsync(() => TestDatabase.CountLockingSessionsAsync(Monitor, app), 1, "the waiter holds the turnstile");
        await cts.CancelAsync();
        var ex = await Assert.ThrowsAsync<TaskCanceledException>(() => canceled.Bounded());
        Assert.Equal(cts.Token, ex.CancellationToken);
        await TestWait.UntilAsync(() => TestDatabase.CountLockingSessionsAsync(Monitor, app), 0, "the canceled waiter left nothing behind");

        // A holder whose session dies frees its slot without a release notification: the waiter still gets it.
        var waiter = a.AcquireAsync("k", TimeSpan.FromSeconds(30)).AsTask();
        await TestWait.UntilAsync(() => TestDatabase.CountLockingSessionsAsync(Monitor, app), 1, "the waiter holds the turnstile");
        var pid = await TestDatabase.HolderPidAsync(Monitor, b.GetAdvisoryLockId("k")); // slot 0's holder
        await LostLockDetectionTests.TerminateAsync(Monitor, pid);
        var lease = await waiter.Bounded();
        Assert.True(lease.IsHeld);

        await lease.DisposeAsync();
        await one.DisposeAsync();
        await two.DisposeAsync();
        Assert.Equal(0, await TestDatabase.CountLockingSessionsAsync(Monitor, app));
        Assert.Equal(0, a.ActiveLeases + b.ActiveLeases);
    }

    /// <summary>Two providers with two slots per key, each with its own application name (to count its sessions).</summary>
    private (PostgresKeyedLockProvider A, string AppA, PostgresKeyedLockProvider B, string AppB) TwoSlotInstances()
    {
        var appA = TestDatabase.UniqueName("kl-sem-a");
        var appB = TestDatabase.UniqueName("kl-sem-b");
        return (CreateInstance(o => o.MaxConcurrencyPerKey = 2, appA), appA, CreateInstance(o => o.MaxConcurrencyPerKey = 2, appB), appB);
    }
}
