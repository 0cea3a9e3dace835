using KeyedLock.Testing;

namespace KeyedLock.Postgres.Tests;

/// <summary>The Core contract scenarios, against one PostgreSQL-backed instance.</summary>
public sealed class PostgresContractTests : PostgresTestBase
{
    [PostgresFact]
    public async Task SameKey_IsMutuallyExclusive()
    {
        var provider = CreateInstance();
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
    }

    [PostgresFact]
    public async Task DifferentKeys_AreHeldAtTheSameTime()
    {
        var provider = CreateInstance();

        await using var a = await provider.AcquireAsync("a").Bounded();
        await using var b = await provider.AcquireAsync("b").Bounded();

        Assert.True(a.IsHeld);
        Assert.True(b.IsHeld);
        Assert.Equal(1, await TestDatabase.CountHoldersAsync(Monitor, provider.GetAdvisoryLockId("a")));
        Assert.Equal(1, await TestDatabase.CountHoldersAsync(Monitor, provider.GetAdvisoryLockId("b")));
    }

    [PostgresFact]
    public async Task Waiters_AreGrantedInArrivalOrder()
    {
        var provider = CreateInstance();
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

        await TestWait.UntilAsync(() => TestDatabase.CountWaitersAsync(Monitor, provider.GetAdvisoryLockId("k")), 1, "the head waiter queues in PostgreSQL");
        Assert.Empty(order);

        await holder.DisposeAsync();
        await Task.WhenAll(waiters).Bounded();

        Assert.Equal(Enumerable.Range(0, 10), order);
    }

    [PostgresFact]
    public async Task WaitInPostgres_TimesOut_AndLeavesNothingBehind()
    {
        var provider = CreateInstance();
        var lockId = provider.GetAdvisoryLockId("k");
        var holder = await provider.AcquireAsync("k").Bounded();

        var ex = await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => provider.AcquireAsync("k", TimeSpan.FromMilliseconds(200)).Bounded());

        Assert.Equal("k", ex.Key);
        Assert.Equal(TimeSpan.FromMilliseconds(200), ex.Timeout);
        Assert.Equal(0, await TestDatabase.CountWaitersAsync(Monitor, lockId));
        Assert.Equal(0, provider.WaitingKeys);
        await holder.DisposeAsync();
        var attempt = await provider.TryAcquireAsync("k", TimeSpan.Zero).Bounded();
        Assert.True(attempt.Succeeded);
        await attempt.DisposeAsync();
        Assert.Equal(0, await TestDatabase.CountHoldersAsync(Monitor, lockId));
    }

    [PostgresFact]
    public async Task TryAcquire_ReportsTimeoutAsAFailedAttempt()
    {
        var provider = CreateInstance();
        await using var holder = await provider.AcquireAsync("k").Bounded();

        var zero = await provider.TryAcquireAsync("k", TimeSpan.Zero).Bounded();
        var bounded = await provider.TryAcquireAsync("k", TimeSpan.FromMilliseconds(100)).Bounded();

        Assert.Equal(KeyedLockFailureReason.TimedOut, zero.FailureReason);
        Assert.Equal(KeyedLockFailureReason.TimedOut, bounded.FailureReason);
        Assert.False(zero.Lease.IsHeld);
    }

    [PostgresFact]
    public async Task CancelWhileWaitingInPostgres_StopsWaiting_AndNoLockIsLeftBehind()
    {
        var provider = CreateInstance();
        var lockId = provider.GetAdvisoryLockId("k");
        var holder = await provider.AcquireAsync("k").Bounded();
        using var cts = new CancellationTokenSource();
        var waiter = provider.AcquireAsync("k", cts.Token).AsTask();
        var second = provider.AcquireAsync("k").AsTask(); // queued locally behind the canceled one
        await TestWait.UntilAsync(() => TestDatabase.CountWaitersAsync(Monitor, lockId), 1, "the first waiter waits in PostgreSQL");

        await cts.CancelAsync();

        var ex = await Assert.ThrowsAsync<TaskCanceledException>(() => waiter.Bounded());
        Assert.Equal(cts.Token, ex.CancellationToken);

        // The second waiter moves up into PostgreSQL and gets the key once the holder releases.
        await TestWait.UntilAsync(() => TestDatabase.CountWaitersAsync(Monitor, lockId), 1, "the second waiter waits in PostgreSQL");
        await holder.DisposeAsync();
        var lease = await second.Bounded();
        Assert.True(lease.IsHeld);
        await lease.DisposeAsync();
        Assert.Equal(0, await TestDatabase.CountHoldersAsync(Monitor, lockId));
        Assert.Equal(0, await TestDatabase.CountWaitersAsync(Monitor, lockId));
    }

    [PostgresFact]
    public async Task CancelWhileQueuedLocally_LeavesTheQueue()
    {
        var provider = CreateInstance();
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

    [PostgresFact]
    public async Task AlreadyCanceledToken_ThrowsWithoutTouchingTheDatabase()
    {
        var provider = CreateInstance();

        var canceled = new CancellationToken(true);
        var ex = await Assert.ThrowsAsync<TaskCanceledException>(() => provider.AcquireAsync("k", canceled).AsTask());
        Assert.Equal(canceled, ex.CancellationToken);

        Assert.Equal(0, provider.WaitingKeys);
    }

    [PostgresFact]
    public async Task QueueLimit_RejectsTheWaiterBeyondIt()
    {
        var provider = CreateInstance(o => o.MaxQueueLengthPerKey = 1);
        var lockId = provider.GetAdvisoryLockId("k");
        await using var holder = await provider.AcquireAsync("k").Bounded();
        var head = provider.AcquireAsync("k").AsTask(); // waits in PostgreSQL, holds the instance's waiting slot
        await TestWait.UntilAsync(() => TestDatabase.CountWaitersAsync(Monitor, lockId), 1, "the head waits in PostgreSQL");
        var queued = provider.AcquireAsync("k").AsTask(); // the one allowed local waiter

        var ex = await Assert.ThrowsAsync<KeyedLockQueueFullException>(() => provider.AcquireAsync("k").Bounded());
        var attempt = await provider.TryAcquireAsync("k", TimeSpan.FromSeconds(5)).Bounded();

        Assert.Equal(1, ex.QueueLimit);
        Assert.Equal(KeyedLockFailureReason.QueueFull, attempt.FailureReason);
        await holder.DisposeAsync();
        await (await head.Bounded()).DisposeAsync();
        await (await queued.Bounded()).DisposeAsync();
    }

    [PostgresFact]
    public async Task MultiKey_AcquiresAllWithoutDeadlock_AndReleasesAll()
    {
        var instanceA = CreateInstance();
        var instanceB = CreateInstance();
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

    [PostgresFact]
    public async Task MultiKey_FailureReleasesTheKeysAlreadyTaken()
    {
        var provider = CreateInstance();
        var other = CreateInstance();
        await using var blocker = await other.AcquireAsync("b").Bounded();

        await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => provider.AcquireAsync(["a", "b"], TimeSpan.FromMilliseconds(200)).Bounded());

        Assert.Equal(0, provider.ActiveLeases);
        Assert.Equal(0, await TestDatabase.CountHoldersAsync(Monitor, provider.GetAdvisoryLockId("a")));
    }

    [PostgresFact]
    public async Task ReentrantAcquire_WithDetectionOptedIn_Throws_InsteadOfDeadlocking()
    {
        var provider = CreateInstance(o => o.DetectReentrancy = true);
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

    [PostgresFact]
    public async Task ReleasingTwice_IsHarmless()
    {
        var provider = CreateInstance();
        var lease = await provider.AcquireAsync("k").Bounded();
        var copy = lease;

        await lease.DisposeAsync();
        await lease.DisposeAsync();
        copy.Dispose();

        Assert.False(lease.IsHeld);
        Assert.False(lease.LostToken.IsCancellationRequested);
        await using var next = await provider.AcquireAsync("k", TimeSpan.Zero).Bounded();
        Assert.True(next.IsHeld);
        Assert.Equal(1, await TestDatabase.CountHoldersAsync(Monitor, provider.GetAdvisoryLockId("k")));
    }

    [PostgresFact]
    public async Task SynchronousDispose_ReleasesTheLock()
    {
        var provider = CreateInstance();
        var lease = await provider.AcquireAsync("k").Bounded();

        lease.Dispose();

        Assert.Equal(0, await TestDatabase.CountHoldersAsync(Monitor, provider.GetAdvisoryLockId("k")));
        Assert.Equal(0, provider.ActiveLeases);
    }

    [PostgresFact]
    public async Task FencingTokens_IncreaseWithEveryGrant()
    {
        var provider = CreateInstance();
        var tokens = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            await using var lease = await provider.AcquireAsync(i % 2 == 0 ? "a" : "b").Bounded();
            tokens.Add(lease.FencingToken);
        }

        Assert.Equal(tokens.Order(), tokens);
        Assert.Equal(3, tokens.Distinct().Count());
    }

    [PostgresFact]
    public async Task InvalidArguments_AreRejected()
    {
        var provider = CreateInstance();

        Assert.Throws<ArgumentNullException>(() => provider.AcquireAsync(null!));
        Assert.Throws<ArgumentException>(() => provider.AcquireAsync(string.Empty));
        Assert.Throws<ArgumentOutOfRangeException>(() => provider.AcquireAsync("k", TimeSpan.FromSeconds(-2)));
        await Assert.ThrowsAsync<ArgumentException>(() => provider.AcquireAsync([], TimeSpan.Zero).AsTask());
    }

    [PostgresFact]
    public async Task Disposal_ReleasesHeldLocks_FiresLostTokens_AndRejectsNewRequests()
    {
        var provider = CreateInstance();
        var lease = await provider.AcquireAsync("k").Bounded();
        var lockId = provider.GetAdvisoryLockId("k");

        await provider.DisposeAsync();

        Assert.True(lease.LostToken.IsCancellationRequested);
        Assert.False(lease.IsHeld);
        Assert.Equal(0, await TestDatabase.CountHoldersAsync(Monitor, lockId));
        Assert.Throws<ObjectDisposedException>(() => provider.AcquireAsync("k"));
        await lease.DisposeAsync();
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
