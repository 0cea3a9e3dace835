using KeyedLock.Testing;

namespace KeyedLock.Postgres.Tests;

/// <summary>Two providers on two separate data sources: two app instances sharing one database.</summary>
public sealed class CrossInstanceTests : PostgresTestBase
{
    [PostgresFact]
    public async Task TwoInstances_SameKey_AreMutuallyExclusive()
    {
        var instances = new[] { CreateInstance(), CreateInstance() };
        var inside = 0;
        var overlaps = 0;
        var runs = 0;
        var tasks = Enumerable.Range(0, 30).Select(i => instances[i % 2].RunAsync("k", async Task (CancellationToken ct) =>
        {
            if (Interlocked.Increment(ref inside) != 1)
            {
                Interlocked.Increment(ref overlaps);
            }

            await Task.Yield();
            Interlocked.Increment(ref runs);
            Interlocked.Decrement(ref inside);
        })).ToArray();

        await Task.WhenAll(tasks).Bounded();

        Assert.Equal(30, runs);
        Assert.Equal(0, overlaps);
    }

    [PostgresFact]
    public async Task TwoInstances_AreGrantedInArrivalOrder()
    {
        var a = CreateInstance();
        var b = CreateInstance();
        var lockId = a.GetAdvisoryLockId("k");
        Assert.Equal(lockId, b.GetAdvisoryLockId("k"));

        var a1 = await a.AcquireAsync("k").Bounded();
        var b1 = b.AcquireAsync("k").AsTask();
        await TestWait.UntilAsync(() => TestDatabase.CountWaitersAsync(Monitor, lockId), 1, "b1 waits in PostgreSQL");
        var a2 = a.AcquireAsync("k").AsTask();
        await TestWait.UntilAsync(() => TestDatabase.CountWaitersAsync(Monitor, lockId), 2, "a2 waits in PostgreSQL behind b1");
        var b2 = b.AcquireAsync("k").AsTask(); // queued in b, behind b1
        var a3 = a.AcquireAsync("k").AsTask(); // queued in a, behind a2

        await a1.DisposeAsync();
        var b1Lease = await b1.Bounded();
        Assert.False(a2.IsCompleted);
        await TestWait.UntilAsync(() => TestDatabase.CountWaitersAsync(Monitor, lockId), 2, "b2 moves up into PostgreSQL behind a2");

        await b1Lease.DisposeAsync();
        var a2Lease = await a2.Bounded();
        Assert.False(b2.IsCompleted);
        await TestWait.UntilAsync(() => TestDatabase.CountWaitersAsync(Monitor, lockId), 2, "a3 moves up into PostgreSQL behind b2");

        await a2Lease.DisposeAsync();
        var b2Lease = await b2.Bounded();
        Assert.False(a3.IsCompleted);

        await b2Lease.DisposeAsync();
        await (await a3.Bounded()).DisposeAsync();
        Assert.Equal(0, await TestDatabase.CountHoldersAsync(Monitor, lockId));
        Assert.Equal(0, await TestDatabase.CountWaitersAsync(Monitor, lockId));
    }

    [PostgresFact]
    public async Task ZeroTimeout_DoesNotBargePastAnotherInstancesWaiter()
    {
        var a = CreateInstance();
        var b = CreateInstance();
        var lockId = a.GetAdvisoryLockId("k");
        var holder = await a.AcquireAsync("k").Bounded();
        var waiter = b.AcquireAsync("k").AsTask();
        await TestWait.UntilAsync(() => TestDatabase.CountWaitersAsync(Monitor, lockId), 1, "b waits in PostgreSQL");

        await holder.DisposeAsync();
        var lease = await waiter.Bounded();
        var attempt = await a.TryAcquireAsync("k", TimeSpan.Zero).Bounded();

        Assert.False(attempt.Succeeded);
        await lease.DisposeAsync();
    }

    [PostgresFact]
    public async Task FencingTokens_AreGlobalByDefault_AndStrictlyIncreaseAcrossInstances()
    {
        // Defaults: the shared sequence (other tests take values from it too, so only the order is asserted).
        var a = CreateInstance();
        var b = CreateInstance();
        var tokens = new List<long>();
        for (var i = 0; i < 6; i++)
        {
            var instance = i % 2 == 0 ? a : b;
            if (i == 3)
            {
                await using var attempt = await instance.TryAcquireAsync("k", TimeSpan.Zero).Bounded();
                tokens.Add(attempt.Lease.FencingToken);
                continue;
            }

            await using var lease = await instance.AcquireAsync("k").Bounded();
            tokens.Add(lease.FencingToken);
        }

        Assert.All(tokens.Zip(tokens.Skip(1)), pair => Assert.True(pair.Second > pair.First, $"{pair.Second} follows {pair.First}"));
    }

    [PostgresFact]
    public async Task FencingTokens_IncreaseAcrossInstances()
    {
        var sequence = $"kl_fencing_{Guid.NewGuid():N}";
        var a = CreateInstance(o => { o.UseFencingTokens = true; o.FencingSequenceName = sequence; });
        var b = CreateInstance(o => { o.UseFencingTokens = true; o.FencingSequenceName = sequence; });
        var tokens = new List<long>();
        try
        {
            for (var i = 0; i < 6; i++)
            {
                var instance = i % 2 == 0 ? a : b;
                if (i == 4)
                {
                    var attempt = await instance.TryAcquireAsync("k", TimeSpan.Zero).Bounded(); // the try-lock path
                    tokens.Add(attempt.Lease.FencingToken);
                    await attempt.DisposeAsync();
                    continue;
                }

                await using var lease = await instance.AcquireAsync("k").Bounded();
                tokens.Add(lease.FencingToken);
            }
        }
        finally
        {
            await using var drop = Monitor.CreateCommand($"DROP SEQUENCE IF EXISTS {sequence}");
            await drop.ExecuteNonQueryAsync();
        }

        Assert.Equal([1, 2, 3, 4, 5, 6], tokens);
    }

    [PostgresFact]
    public async Task DifferentNamespaces_DoNotExcludeEachOther()
    {
        var a = CreateInstance(o => o.KeyNamespace = "tenant-a-" + Namespace);
        var b = CreateInstance(o => o.KeyNamespace = "tenant-b-" + Namespace);

        await using var first = await a.AcquireAsync("k", TimeSpan.Zero).Bounded();
        await using var second = await b.AcquireAsync("k", TimeSpan.Zero).Bounded();

        Assert.NotEqual(a.GetAdvisoryLockId("k"), b.GetAdvisoryLockId("k"));
        Assert.True(first.IsHeld && second.IsHeld);
    }
}
