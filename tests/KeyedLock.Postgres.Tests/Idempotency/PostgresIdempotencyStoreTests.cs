using System.Text;
using KeyedLock.Idempotency;
using KeyedLock.Testing;
using Npgsql;

namespace KeyedLock.Postgres.Tests.Idempotency;

public sealed class PostgresIdempotencyStoreTests : PostgresTestBase
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly string _table = "idem_" + Guid.NewGuid().ToString("N");

    private bool _dropsTable;

    private PostgresIdempotencyStore CreateStore(Action<PostgresIdempotencyStoreOptions>? configure = null)
    {
        if (!_dropsTable)
        {
            // Disposed in reverse order: the table is dropped before the monitor pool goes.
            _dropsTable = true;
            Track(new DropTable(Monitor, _table));
        }

        var options = new PostgresIdempotencyStoreOptions { TableName = _table };
        configure?.Invoke(options);
        return Track(new PostgresIdempotencyStore(Track(TestDatabase.CreateDataSource(TestDatabase.UniqueName("idem"))), options));
    }

    private static byte[] Value(string text) => Encoding.UTF8.GetBytes(text);

    private static string Text(byte[]? value) => Encoding.UTF8.GetString(Assert.IsType<byte[]>(value));

    [PostgresFact]
    public async Task Value_RoundTrips_ByteForByte()
    {
        var store = CreateStore();
        byte[] value = [0x01, 0x00, 0xFF, .. Value("""{"id":"é✓"}""")];

        Assert.True(await store.TryAddAsync("k1", value, Now.AddHours(24), Now).Bounded());
        var read = await store.GetAsync("k1", Now.AddHours(1)).Bounded();

        Assert.Equal(value, read);
        Assert.Null(await store.GetAsync("other", Now).Bounded());
    }

    [PostgresFact]
    public async Task TableOfAnEarlierLayout_IsRefused_NotMisread()
    {
        await using (var create = Monitor.CreateCommand($"CREATE TABLE {_table} (key text PRIMARY KEY, fingerprint text NOT NULL, body bytea NOT NULL, expires_at timestamptz NOT NULL)"))
        {
            await create.ExecuteNonQueryAsync().Bounded();
        }

        var store = CreateStore();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => store.GetAsync("k1", Now).AsTask().Bounded());
        Assert.Contains(_table, error.Message);
    }

    [PostgresFact]
    public async Task TryAdd_FirstWriterWins_WhileTheRecordIsLive()
    {
        var store = CreateStore();

        Assert.True(await store.TryAddAsync("k1", Value("first"), Now.AddHours(24), Now).Bounded());
        Assert.False(await store.TryAddAsync("k1", Value("second"), Now.AddHours(24), Now.AddHours(1)).Bounded());

        Assert.Equal("first", Text(await store.GetAsync("k1", Now).Bounded()));
    }

    [PostgresFact]
    public async Task ConcurrentWriters_OnTwoInstances_ExactlyOneWins()
    {
        var a = CreateStore();
        var b = CreateStore();
        await a.EnsureTableAsync().AsTask().Bounded();

        var results = await Task.WhenAll(
            Enumerable.Range(0, 8).Select(i => (i % 2 == 0 ? a : b).TryAddAsync("k1", Value($"writer {i}"), Now.AddHours(24), Now).AsTask())).Bounded();

        Assert.Single(results, r => r);
    }

    [PostgresFact]
    public async Task ExpiredRecord_IsNotReturned_AndCanBeReplaced()
    {
        var store = CreateStore();
        await store.TryAddAsync("k1", Value("old"), Now.AddMinutes(10), Now).Bounded();

        Assert.NotNull(await store.GetAsync("k1", Now.AddMinutes(10).AddTicks(-1)).Bounded());
        Assert.Null(await store.GetAsync("k1", Now.AddMinutes(10)).Bounded());
        var later = Now.AddMinutes(10);
        Assert.True(await store.TryAddAsync("k1", Value("new"), later.AddHours(1), later).Bounded());
        Assert.Equal("new", Text(await store.GetAsync("k1", later).Bounded()));
    }

    [PostgresFact]
    public async Task RemoveExpired_DeletesOnlyExpiredRecords()
    {
        var store = CreateStore(o => o.CleanupInterval = Timeout.InfiniteTimeSpan);
        await store.TryAddAsync("short", Value("s"), Now.AddMinutes(1), Now).Bounded();
        await store.TryAddAsync("long", Value("l"), Now.AddHours(1), Now).Bounded();

        Assert.Equal(0, await store.RemoveExpiredAsync(Now).Bounded());
        Assert.Equal(1, await store.RemoveExpiredAsync(Now.AddMinutes(1)).Bounded());

        Assert.Equal(1L, await CountRowsAsync());
        Assert.NotNull(await store.GetAsync("long", Now.AddMinutes(1)).Bounded());
    }

    [PostgresFact]
    public async Task Writes_CleanUpExpiredRecords_AtMostOncePerInterval()
    {
        var store = CreateStore(o => o.CleanupInterval = TimeSpan.FromMinutes(5));
        await store.TryAddAsync("a", Value("a"), Now.AddMinutes(1), Now).Bounded(); // first write cleans up (nothing yet)
        await store.TryAddAsync("b", Value("b"), Now.AddMinutes(1), Now).Bounded();

        var t1 = Now.AddMinutes(2);
        await store.TryAddAsync("c", ReadOnlyMemory<byte>.Empty, t1.AddHours(1), t1).Bounded();
        Assert.Equal(3L, await CountRowsAsync()); // within the interval: no cleanup

        var t2 = Now.AddMinutes(5);
        await store.TryAddAsync("d", ReadOnlyMemory<byte>.Empty, t2.AddHours(1), t2).Bounded();
        Assert.Equal(2L, await CountRowsAsync()); // a and b are gone
    }

    [PostgresFact]
    public async Task Table_IsCreatedOnDemand_ByInstancesStartingTogether_InASchema()
    {
        var schema = "idem_schema_" + Guid.NewGuid().ToString("N")[..8];
        await using (var create = Monitor.CreateCommand($"CREATE SCHEMA {schema}"))
        {
            await create.ExecuteNonQueryAsync().Bounded();
        }

        try
        {
            var stores = Enumerable.Range(0, 4).Select(_ => CreateStore(o => o.TableName = schema + ".records")).ToArray();
            await Task.WhenAll(stores.Select(s => s.EnsureTableAsync().AsTask())).Bounded();

            Assert.True(await stores[3].TryAddAsync("k", Value("x"), Now.AddHours(1), Now).Bounded());
            Assert.NotNull(await stores[0].GetAsync("k", Now).Bounded());
        }
        finally
        {
            await using var drop = Monitor.CreateCommand($"DROP SCHEMA {schema} CASCADE");
            await drop.ExecuteNonQueryAsync().Bounded();
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("bad name")]
    [InlineData("x; DROP TABLE y")]
    [InlineData("a.b.c")]
    public void InvalidTableName_IsRejected(string table)
    {
        var options = new PostgresIdempotencyStoreOptions { TableName = table };

        Assert.Throws<ArgumentException>(options.Validate);
        using var source = NpgsqlDataSource.Create("Host=localhost");
        Assert.ThrowsAny<ArgumentException>(() => new PostgresIdempotencyStore(source, options));
    }

    private async Task<long> CountRowsAsync()
    {
        await using var count = Monitor.CreateCommand($"SELECT count(*) FROM {_table}");
        return (long)(await count.ExecuteScalarAsync().Bounded())!;
    }

    private sealed class DropTable(NpgsqlDataSource monitor, string table) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await using var drop = monitor.CreateCommand($"DROP TABLE IF EXISTS {table}");
            await drop.ExecuteNonQueryAsync();
        }
    }
}
