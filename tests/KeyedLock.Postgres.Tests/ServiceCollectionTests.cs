using KeyedLock.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace KeyedLock.Postgres.Tests;

public sealed class ServiceCollectionTests : PostgresTestBase
{
    [PostgresFact]
    public async Task UsePostgres_ReplacesTheInProcessProvider_InOneCall()
    {
        var services = new ServiceCollection();
        services.AddKeyedLock(o => o.MaxQueueLengthPerKey = 7).UsePostgres(TestDatabase.ConnectionString, o => o.KeyNamespace = Namespace);
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });

        var lockProvider = provider.GetRequiredService<IKeyedLockProvider>();
        var postgres = Assert.IsType<PostgresKeyedLockProvider>(lockProvider);
        Assert.Same(postgres, provider.GetRequiredService<PostgresKeyedLockProvider>());
        Assert.Equal(7, provider.GetRequiredService<IOptions<PostgresKeyedLockOptions>>().Value.MaxQueueLengthPerKey);

        await using (var lease = await lockProvider.AcquireAsync("k", TimeSpan.FromSeconds(10)).Bounded())
        {
            Assert.Equal(1, await TestDatabase.CountHoldersAsync(Monitor, postgres.GetAdvisoryLockId("k")));
        }

        var health = await provider.GetRequiredService<PostgresKeyedLockHealthCheck>().CheckHealthAsync(new HealthCheckContext()).Bounded();
        Assert.Equal(HealthStatus.Healthy, health.Status);
    }

    [PostgresFact]
    public async Task UsePostgres_WithAConnectionString_PoolsWithoutReset_AndReleasedConnectionsCarryNoLockState()
    {
        var services = new ServiceCollection();
        services.AddKeyedLock().UsePostgres(TestDatabase.ConnectionString + ";Maximum Pool Size=4", o => o.KeyNamespace = Namespace);
        await using var provider = services.BuildServiceProvider();
        var postgres = provider.GetRequiredService<PostgresKeyedLockProvider>();
        Assert.True(new Npgsql.NpgsqlConnectionStringBuilder(postgres.DataSource.ConnectionString).NoResetOnClose);

        var a = await postgres.AcquireAsync("a", TimeSpan.FromSeconds(10)).Bounded();
        var b = await postgres.AcquireAsync("b", TimeSpan.FromSeconds(10)).Bounded();
        Assert.Equal(1, await TestDatabase.CountHoldersAsync(Monitor, postgres.GetAdvisoryLockId("a")));
        await a.DisposeAsync();
        await b.DisposeAsync();

        // Every connection the pool can hand out now (the heartbeat's own stays open): no advisory lock, no LISTEN.
        var connections = new List<Npgsql.NpgsqlConnection>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                connections.Add(await postgres.DataSource.OpenConnectionAsync().Bounded());
            }

            foreach (var connection in connections)
            {
                await using var command = new Npgsql.NpgsqlCommand(
                    "SELECT (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()) + (SELECT count(*) FROM pg_listening_channels())",
                    connection);
                Assert.Equal(0L, (long)(await command.ExecuteScalarAsync().Bounded())!);
            }
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }
    }

    [Fact]
    public void AConnectionStringThatSetsNoResetOnClose_IsRespected()
    {
        using var reset = PostgresKeyedLockBuilderExtensions.CreateOwnedDataSource("Host=127.0.0.1;No Reset On Close=false");
        Assert.False(new Npgsql.NpgsqlConnectionStringBuilder(reset.ConnectionString).NoResetOnClose);
        using var defaulted = PostgresKeyedLockBuilderExtensions.CreateOwnedDataSource("Host=127.0.0.1");
        Assert.True(new Npgsql.NpgsqlConnectionStringBuilder(defaulted.ConnectionString).NoResetOnClose);
    }

    [PostgresFact]
    public async Task UsePostgres_WithADataSource_LeavesItToTheCaller()
    {
        var dataSource = Track(TestDatabase.CreateDataSource(TestDatabase.UniqueName("kl-di")));
        var services = new ServiceCollection();
        services.AddKeyedLock().UsePostgres(dataSource, o => o.KeyNamespace = Namespace);

        await using (var provider = services.BuildServiceProvider())
        {
            await using var lease = await provider.GetRequiredService<IKeyedLockProvider>().AcquireAsync("k", TimeSpan.FromSeconds(10)).Bounded();
            Assert.True(lease.IsHeld);
        }

        // Disposing the container disposed the provider (releasing its locks) but not the caller's data source.
        await using var connection = await dataSource.OpenConnectionAsync().Bounded();
        Assert.Equal(System.Data.ConnectionState.Open, connection.State);
    }

    [Fact]
    public void InvalidOptions_FailAtStartup()
    {
        var services = new ServiceCollection();
        services.AddKeyedLock().UsePostgres("Host=127.0.0.1", o => o.MaxConcurrencyPerKey = 0);
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<PostgresKeyedLockOptions>>().Value);

        Assert.Contains(ex.Failures, f => f.Contains("MaxConcurrencyPerKey", StringComparison.Ordinal));
    }

    [Fact]
    public void InProcessPerKeyConcurrency_AppliesToThePostgresProvider()
    {
        var services = new ServiceCollection();
        services.AddKeyedLock(o => o.MaxConcurrencyPerKey = 3).UsePostgres("Host=127.0.0.1");
        using var provider = services.BuildServiceProvider();

        Assert.Equal(3, provider.GetRequiredService<IOptions<PostgresKeyedLockOptions>>().Value.MaxConcurrencyPerKey);
    }

    [Fact]
    public void AdvisoryLockIds_AreStable_AndDependOnTheNamespace()
    {
        using var dataSource = Npgsql.NpgsqlDataSource.Create("Host=127.0.0.1");
        var first = new PostgresKeyedLockProvider(dataSource);
        var second = new PostgresKeyedLockProvider(dataSource);
        var other = new PostgresKeyedLockProvider(dataSource, new PostgresKeyedLockOptions { KeyNamespace = "other" });

        // Golden value: the id must never change between versions, or two versions of an app would not exclude each other.
        Assert.Equal(first.GetAdvisoryLockId("user:42"), second.GetAdvisoryLockId("user:42"));
        Assert.Equal(GoldenId, first.GetAdvisoryLockId("user:42"));
        Assert.NotEqual(first.GetAdvisoryLockId("user:42"), other.GetAdvisoryLockId("user:42"));
        Assert.NotEqual(first.GetAdvisoryLockId("user:42"), first.GetAdvisoryLockId("user:43"));
        Assert.NotEqual(first.GetAdvisoryLockId(new string('x', 2000)), first.GetAdvisoryLockId(new string('x', 2001)));
    }

    [Fact]
    public void KeysThatDifferOnlyInLoneSurrogates_HaveDifferentIds_AndValidKeysKeepTheirPlainUtf8Ids()
    {
        using var dataSource = Npgsql.NpgsqlDataSource.Create("Host=127.0.0.1");
        var provider = new PostgresKeyedLockProvider(dataSource);

        // Plain UTF-8 turns every lone surrogate into U+FFFD: these would all be one advisory lock.
        string[] keys = ["a\uD800", "a\uDC00", "a\uFFFD", "a\uDBFF", "a\uD800\uD800", "a\uFFFD\uFFFD"];
        Assert.Equal(keys.Length, keys.Select(provider.GetAdvisoryLockId).Distinct().Count());

        // Keys of valid UTF-16 (surrogate pairs included) keep the id of their plain UTF-8, so no deployed id changes.
        foreach (var key in new[] { "user:42", "a\uFFFD", "\U0001F600x", "\uDBFF\uDFFF", "é" })
        {
            Assert.Equal(PlainUtf8Id("keyedlock", key), provider.GetAdvisoryLockId(key));
        }

        // The namespace too: two that differ only in a lone surrogate do not share ids.
        var other = new PostgresKeyedLockProvider(dataSource, new PostgresKeyedLockOptions { KeyNamespace = "ns\uD800" });
        var replaced = new PostgresKeyedLockProvider(dataSource, new PostgresKeyedLockOptions { KeyNamespace = "ns\uFFFD" });
        Assert.NotEqual(other.GetAdvisoryLockId("k"), replaced.GetAdvisoryLockId("k"));
    }

    [PostgresFact]
    public async Task AMultiKeyAcquisitionOfKeysThatDifferOnlyInLoneSurrogates_DoesNotWaitForItself()
    {
        var provider = CreateInstance();
        await using var all = await provider.AcquireAsync(["a\uD800", "a\uDC00", "a\uFFFD"], TimeSpan.FromSeconds(5)).Bounded();
        Assert.True(all.IsHeld);
    }

    private static long PlainUtf8Id(string keyNamespace, string key)
    {
        var ns = System.Text.Encoding.UTF8.GetBytes(keyNamespace);
        var bytes = new byte[4 + ns.Length].AsSpan();
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(bytes, ns.Length);
        ns.CopyTo(bytes[4..]);
        var hash = System.Security.Cryptography.SHA256.HashData([.. bytes, .. System.Text.Encoding.UTF8.GetBytes(key)]);
        return System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(hash);
    }

    private const long GoldenId = 889104831526460322; // first 8 bytes of SHA-256(int32be(9) "keyedlock" "user:42"), computed independently
}
