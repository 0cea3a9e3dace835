using System.Net;
using System.Net.Sockets;
using KeyedLock.Testing;
using Npgsql;

namespace KeyedLock.Postgres.Tests;

/// <summary>Fail closed: the typed error, never a lease, when the database cannot serve the lock.</summary>
public sealed class UnavailableTests : PostgresTestBase
{
    [Fact]
    public async Task UnreachableDatabase_FailsClosedWithTheTypedError()
    {
        await using var dataSource = NpgsqlDataSource.Create($"Host=127.0.0.1;Port={ClosedPort()};Username=postgres;Timeout=5");
        await using var provider = new PostgresKeyedLockProvider(dataSource);

        var ex = await Assert.ThrowsAsync<KeyedLockUnavailableException>(() => provider.AcquireAsync("k", TimeSpan.FromSeconds(5)).Bounded());
        var attempt = Assert.ThrowsAsync<KeyedLockUnavailableException>(() => provider.TryAcquireAsync("k", TimeSpan.Zero).Bounded());

        Assert.Equal("k", ex.Key);
        await attempt;
        Assert.Equal(0, provider.WaitingKeys);
        Assert.Equal(0, provider.ActiveLeases);
    }

    [PostgresFact]
    public async Task ExhaustedPool_FailsClosedWithTheTypedError()
    {
        // One connection for the heartbeat, one for the holder: the pool is full.
        var provider = CreateInstance(connection: c => { c.MaxPoolSize = 2; c.Timeout = 1; });
        await using var holder = await provider.AcquireAsync("a").Bounded();

        var ex = await Assert.ThrowsAsync<KeyedLockUnavailableException>(() => provider.AcquireAsync("b").Bounded());

        Assert.Equal("b", ex.Key);
        Assert.Equal(0, await TestDatabase.CountHoldersAsync(Monitor, provider.GetAdvisoryLockId("b")));
        Assert.True(holder.IsHeld);
    }

    private static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
