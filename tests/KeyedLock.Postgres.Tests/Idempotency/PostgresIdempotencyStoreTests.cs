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

    private static IdempotencyRecord Record(string body, DateTimeOffset? expires = null, string fingerprint = "fp") => new(
        fingerprint,
        201,
        [new("Content-Type", "application/json"), new("Link", "</a>"), new("Link", "</b>")],
        Encoding.UTF8.GetBytes(body),
        Now,
        expires ?? Now.AddHours(24));

    [PostgresFact]
    public async Task Record_RoundTrips_WithEveryField()
    {
        var store = CreateStore();
        var record = Record("""{"id":"é✓"}""");

        Assert.True(await store.TryAddAsync("k1", record, Now).Bounded());
        var read = await store.GetAsync("k1", Now.AddHours(1)).Bounded();

        Assert.NotNull(read);
        Assert.Equal(record.Fingerprint, read.Fingerprint);
        Assert.Equal(record.StatusCode, read.StatusCode);
        Assert.Equal(record.Headers, read.Headers);
        Assert.Equal(record.Body.ToArray(), read.Body.ToArray());
        Assert.Equal(record.CreatedAt, read.CreatedAt);
        Assert.Equal(record.ExpiresAt, read.ExpiresAt);
        Assert.Null(await store.GetAsync("other", Now).Bounded());
    }

    [PostgresFact]
    public async Task TryAdd_FirstWriterWins_WhileTheRecordIsLive()
    {
        var store = CreateStore();

        Assert.True(await store.TryAddAsync("k1", Record("first"), Now).Bounded());
        Assert.False(await store.TryAddAsync("k1", Record("second"), Now.AddHours(1)).Bounded());

        Assert.Equal("first", Encoding.UTF8.GetString((await store.GetAsync("k1", Now).Bounded())!.Body.Span));
    }

    [PostgresFact]
    public async Task ConcurrentWriters_OnTwoInstances_ExactlyOneWins()
    {
        var a = CreateStore();
        var b = CreateStore();
        await a.EnsureTableAsync().AsTask().Bounded();

        var results = await Task.WhenAll(
            Enumerable.Range(0, 8).Select(i => (i % 2 == 0 ? a : b).TryAddAsync("k1", Record($"writer {i}"), Now).AsTask())).Bounded();

        Assert.Single(results, r => r);
    }

    [PostgresFact]
    public async Task ExpiredRecord_IsNotReturned_AndCanBeReplaced()
    {
        var store = CreateStore();
        await store.TryAddAsync("k1", Record("old", Now.AddMinutes(10)), Now).Bounded();

        Assert.NotNull(await store.GetAsync("k1", Now.AddMinutes(10).AddTicks(-1)).Bounded());
        Assert.Null(await store.GetAsync("k1", Now.AddMinutes(10)).Bounded());
        var later = Now.AddMinutes(10);
        Assert.True(await store.TryAddAsync("k1", new IdempotencyRecord("fp", 200, [], Encoding.UTF8.GetBytes("new"), later, later.AddHours(1)), later).Bounded());
        Assert.Equal("new", Encoding.UTF8.GetString((await store.GetAsync("k1", later).Bounded())!.Body.Span));
    }

    [PostgresFact]
    public async Task RemoveExpired_DeletesOnlyExpiredRecords()
    {
        var store = CreateStore(o => o.CleanupInterval = Timeout.InfiniteTimeSpan);
        await store.TryAddAsync("short", Record("s", Now.AddMinutes(1)), Now).Bounded();
        await store.TryAddAsync("long", Record("l", Now.AddHours(1)), Now).Bounded();

        Assert.Equal(0, await store.RemoveExpiredAsync(Now).Bounded());
        Assert.Equal(1, await store.RemoveExpiredAsync(Now.AddMinutes(1)).Bounded());

        Assert.Equal(1L, await CountRowsAsync());
        Assert.NotNull(await store.GetAsync("long", Now.AddMinutes(1)).Bounded());
    }

    [PostgresFact]
    public async Task Writes_CleanUpExpiredRecords_AtMostOncePerInterval()
    {
        var store = CreateStore(o => o.CleanupInterval = TimeSpan.FromMinutes(5));
        await store.TryAddAsync("a", Record("a", Now.AddMinutes(1)), Now).Bounded(); // first write cleans up (nothing yet)
        await store.TryAddAsync("b", Record("b", Now.AddMinutes(1)), Now).Bounded();

        var t1 = Now.AddMinutes(2);
        await store.TryAddAsync("c", new IdempotencyRecord("fp", 200, [], default, t1, t1.AddHours(1)), t1).Bounded();
        Assert.Equal(3L, await CountRowsAsync()); // within the interval: no cleanup

        var t2 = Now.AddMinutes(5);
        await store.TryAddAsync("d", new IdempotencyRecord("fp", 200, [], default, t2, t2.AddHours(1)), t2).Bounded();
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

            Assert.True(await stores[3].TryAddAsync("k", Record("x"), Now).Bounded());
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
