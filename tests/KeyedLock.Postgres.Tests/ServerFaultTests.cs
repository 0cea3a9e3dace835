using KeyedLock.Testing;

namespace KeyedLock.Postgres.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ServerFaultCollection
{
    public const string Name = "PostgreSQL server faults (stops the server; runs alone)";
}

/// <summary>Stops and restarts the shared test server, so it runs alone (not in parallel with other tests).</summary>
[Collection(ServerFaultCollection.Name)]
public sealed class ServerFaultTests : PostgresTestBase
{
    [PostgresFact]
    public async Task ServerStops_WaitersFailClosed_NothingIsLeftBehind_AndRestartRecovers()
    {
        var provider = CreateInstance();
        var other = CreateInstance();
        var lockId = provider.GetAdvisoryLockId("k");
        var holder = await provider.AcquireAsync("k").Bounded();
        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = holder.LostToken.Register(() => lost.TrySetResult());
        var waiters = Enumerable.Range(0, 3).Select(_ => provider.AcquireAsync("k").AsTask()).ToList();
        waiters.Add(other.AcquireAsync("k", TimeSpan.FromMinutes(5)).AsTask());
        await TestWait.UntilAsync(() => TestDatabase.CountWaitersAsync(Monitor, lockId), 2, "one waiter of each instance waits in PostgreSQL");

        try
        {
            await PgCtl.StopAsync();

            // Fail closed: every waiter gets the typed error, none of them is granted.
            foreach (var waiter in waiters)
            {
                var ex = await Assert.ThrowsAsync<KeyedLockUnavailableException>(() => waiter.Bounded());
                Assert.Equal("k", ex.Key);
                Assert.NotNull(ex.InnerException);
            }

            await lost.Task.Bounded();
            Assert.False(holder.IsHeld);
            await Assert.ThrowsAsync<KeyedLockUnavailableException>(() => provider.AcquireAsync("other-key", TimeSpan.FromSeconds(5)).Bounded());
            await holder.DisposeAsync();
            Assert.Equal(0, provider.WaitingKeys);
            Assert.Equal(0, provider.ActiveLeases);
            Assert.Equal(0, other.WaitingKeys);
        }
        finally
        {
            await PgCtl.StartAsync();
            Monitor.Clear(); // the test's own observer pool holds connections to the stopped server
        }

        // The same providers work again without a restart of the app (stale pooled connections are dropped).
        await using (var lease = await provider.AcquireAsync("k", TimeSpan.FromSeconds(10)).Bounded())
        {
            Assert.True(lease.IsHeld);
            Assert.False((await other.TryAcquireAsync("k", TimeSpan.Zero).Bounded()).Succeeded);
        }

        await using var afterwards = await other.AcquireAsync("k", TimeSpan.FromSeconds(10)).Bounded();
        Assert.True(afterwards.IsHeld);
        Assert.Equal(1, await TestDatabase.CountHoldersAsync(Monitor, lockId));
    }

    [PostgresFact]
    public async Task ServerDown_HealthCheckIsUnhealthy_ThenHealthyAfterRestart()
    {
        var provider = CreateInstance();
        var check = new PostgresKeyedLockHealthCheck(provider);
        var context = new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext();
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, (await check.CheckHealthAsync(context).Bounded()).Status);

        try
        {
            await PgCtl.StopAsync();
            var result = await check.CheckHealthAsync(context).Bounded();
            Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy, result.Status);
            Assert.NotNull(result.Exception);
        }
        finally
        {
            await PgCtl.StartAsync();
        }

        // The first check after the restart already succeeds: the stale pooled connection is dropped and retried.
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, (await check.CheckHealthAsync(context).Bounded()).Status);
    }
}
