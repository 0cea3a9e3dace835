using KeyedLock.Testing;
using Npgsql;

namespace KeyedLock.Postgres.Tests;

/// <summary>
/// Every option value that validates works at its first use: extreme values are either refused when the provider
/// (or store) is created, or serve requests.
/// </summary>
public sealed class OptionLimitsTests : PostgresTestBase
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    [PostgresFact]
    public async Task AFencingSequenceNamedLikeAnSqlKeyword_ServesAcquisitions()
    {
        await using var schema = await TempSchema.CreateAsync(Monitor);
        var provider = CreateInstance(o => o.FencingSequenceName = schema.Name + ".order");
        var plain = CreateInstance(o => o.FencingSequenceName = "user");

        try
        {
            await using var first = await provider.AcquireAsync("k", TimeSpan.FromSeconds(5)).Bounded();
            await using var second = await plain.AcquireAsync("k2", TimeSpan.FromSeconds(5)).Bounded();
            Assert.True(first.FencingToken > 0);
            Assert.True(second.FencingToken > 0);
        }
        finally
        {
            await using var drop = Monitor.CreateCommand("DROP SEQUENCE IF EXISTS public.\"user\"");
            await drop.ExecuteNonQueryAsync().Bounded();
        }

        await using var next = await provider.AcquireAsync("k", TimeSpan.FromSeconds(5)).Bounded();
        Assert.True(next.FencingToken > 0);
    }

    [PostgresFact]
    public async Task AMixedCaseFencingSequenceName_IsStillTheFoldedUnquotedSequence()
    {
        // Names were sent unquoted (folded to lower case): the same setting must keep using the same sequence.
        await using var schema = await TempSchema.CreateAsync(Monitor);
        await using (var create = Monitor.CreateCommand($"CREATE SEQUENCE {schema.Name}.fencing CACHE 1 START 1000"))
        {
            await create.ExecuteNonQueryAsync().Bounded();
        }

        var provider = CreateInstance(o => o.FencingSequenceName = schema.Name.ToUpperInvariant() + ".Fencing");
        await using var lease = await provider.AcquireAsync("k", TimeSpan.FromSeconds(5)).Bounded();

        Assert.True(lease.FencingToken >= 1000, $"token {lease.FencingToken} came from another sequence");
    }

    [PostgresFact]
    public async Task AnIdempotencyTableNamedLikeAnSqlKeyword_StoresAndReplays()
    {
        await using var schema = await TempSchema.CreateAsync(Monitor);
        var store = Track(new PostgresIdempotencyStore(Track(TestDatabase.CreateDataSource(TestDatabase.UniqueName("idem"))), new PostgresIdempotencyStoreOptions { TableName = schema.Name + ".user" }));

        var plain = Track(new PostgresIdempotencyStore(Track(TestDatabase.CreateDataSource(TestDatabase.UniqueName("idem"))), new PostgresIdempotencyStoreOptions { TableName = "order" }));

        try
        {
            foreach (var s in new[] { store, plain })
            {
                Assert.True(await s.TryAddAsync("k", new byte[] { 1, 2, 3 }, Now.AddHours(1), Now).Bounded());
                Assert.Equal(new byte[] { 1, 2, 3 }, await s.GetAsync("k", Now).Bounded());
                Assert.Equal(0, await s.RemoveExpiredAsync(Now).Bounded());
            }
        }
        finally
        {
            await using var drop = Monitor.CreateCommand("DROP TABLE IF EXISTS public.\"order\"");
            await drop.ExecuteNonQueryAsync().Bounded();
        }
    }

    [PostgresFact]
    public async Task AnIdempotencyCleanupIntervalNearTheEndOfTime_DoesNotFailTheWriteThatStored()
    {
        var table = "idem_" + Guid.NewGuid().ToString("N");
        await using var schema = await TempSchema.CreateAsync(Monitor);
        var store = Track(new PostgresIdempotencyStore(Track(TestDatabase.CreateDataSource(TestDatabase.UniqueName("idem"))), new PostgresIdempotencyStoreOptions { TableName = schema.Name + "." + table, CleanupInterval = TimeSpan.MaxValue }));

        Assert.True(await store.TryAddAsync("k", new byte[] { 1 }, Now.AddHours(1), Now).Bounded());
        Assert.True(await store.TryAddAsync("k2", new byte[] { 2 }, Now.AddHours(1), Now).Bounded());
    }

    [Theory]
    [InlineData(1)] // one tick: a Timer rounds it to 0 ms and fires once, so every lease held longer was taken for lost
    [InlineData(9_999)]
    public void SubMillisecondLostLockCheckIntervalOrProbeTimeout_IsRefused(long ticks)
    {
        using var dataSource = NpgsqlDataSource.Create("Host=127.0.0.1");
        Assert.Throws<ArgumentOutOfRangeException>(() => new PostgresKeyedLockProvider(dataSource, new PostgresKeyedLockOptions { LostLockCheckInterval = TimeSpan.FromTicks(ticks) }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PostgresKeyedLockProvider(dataSource, new PostgresKeyedLockOptions { ProbeTimeout = TimeSpan.FromTicks(ticks) }));
        using var ok = new PostgresKeyedLockProvider(dataSource, new PostgresKeyedLockOptions { LostLockCheckInterval = TimeSpan.FromMilliseconds(1), ProbeTimeout = TimeSpan.FromMilliseconds(1) });
    }

    [Fact]
    public void ANamespaceWithANul_IsRefused_SoThatItCannotShareTheSlotLocksOfAnotherNamespace()
    {
        // The second slot of a keyed semaphore in namespace N is the lock of the same key in namespace "N\0slot1"
        // (its turnstile: "N\0turnstile"): a provider there would share those locks with N's semaphore.
        using var dataSource = NpgsqlDataSource.Create("Host=127.0.0.1");
        foreach (var suffix in new[] { "\0slot1", "\0turnstile", "\0" })
        {
            var ex = Assert.Throws<ArgumentException>(() => new PostgresKeyedLockProvider(dataSource, new PostgresKeyedLockOptions { KeyNamespace = "n" + suffix }));
            Assert.Equal("KeyNamespace", ex.ParamName);
        }
    }

    [PostgresFact]
    public async Task TheLargestKeyedSemaphore_ServesAcquisitions()
    {
        var provider = CreateInstance(o => o.MaxConcurrencyPerKey = 1024);
        await using var first = await provider.AcquireAsync("k", TimeSpan.FromSeconds(10)).Bounded();
        await using var second = await provider.AcquireAsync("k", TimeSpan.FromSeconds(10)).Bounded();
        Assert.True(second.FencingToken > first.FencingToken);
    }

    /// <summary>A schema of its own, dropped with everything in it.</summary>
    private sealed class TempSchema : IAsyncDisposable
    {
        private readonly NpgsqlDataSource _monitor;

        private TempSchema(NpgsqlDataSource monitor, string name)
        {
            _monitor = monitor;
            Name = name;
        }

        public string Name { get; }

        public static async Task<TempSchema> CreateAsync(NpgsqlDataSource monitor)
        {
            var name = "kl_" + Guid.NewGuid().ToString("N")[..12];
            await using var create = monitor.CreateCommand($"CREATE SCHEMA {name}");
            await create.ExecuteNonQueryAsync().Bounded();
            return new TempSchema(monitor, name);
        }

        public async ValueTask DisposeAsync()
        {
            await using var drop = _monitor.CreateCommand($"DROP SCHEMA {Name} CASCADE");
            await drop.ExecuteNonQueryAsync().Bounded();
        }
    }
}
