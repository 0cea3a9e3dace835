using KeyedLock.Testing;

namespace KeyedLock.Postgres.Tests;

public sealed class ConnectionUseTests : PostgresTestBase
{
    [PostgresFact]
    public async Task FiftySameKeyWaiters_InOneInstance_UseAtMostTwoLockConnections()
    {
        var app = TestDatabase.UniqueName("kl-conn");
        var provider = CreateInstance(applicationName: app);
        var lockId = provider.GetAdvisoryLockId("k");
        var holder = await provider.AcquireAsync("k").Bounded();
        var samples = new List<long>();
        var waiters = Enumerable.Range(0, 49).Select(_ => Hold()).ToArray();

        await TestWait.UntilAsync(() => TestDatabase.CountWaitersAsync(Monitor, lockId), 1, "the head waiter waits in PostgreSQL");

        // Everybody is queued: the holder's and the head waiter's connections are the only lock connections this app
        // opened; the third is the instance's heartbeat (one per instance, whatever the number of keys).
        Assert.Equal(3, await TestDatabase.CountConnectionsAsync(Monitor, app));
        Assert.Equal(2, await TestDatabase.CountLockingSessionsAsync(Monitor, app));
        Assert.Equal(1, provider.WaitingKeys);

        await holder.DisposeAsync();
        await Task.WhenAll(waiters).Bounded(TimeSpan.FromSeconds(60));

        Assert.Equal(49, samples.Count);
        Assert.All(samples, sessions => Assert.InRange(sessions, 1, 2));
        Assert.Equal(0, await TestDatabase.CountLockingSessionsAsync(Monitor, app));

        async Task Hold()
        {
            await using var lease = await provider.AcquireAsync("k");
            var sessions = await TestDatabase.CountLockingSessionsAsync(Monitor, app);
            lock (samples)
            {
                samples.Add(sessions);
            }
        }
    }
}
