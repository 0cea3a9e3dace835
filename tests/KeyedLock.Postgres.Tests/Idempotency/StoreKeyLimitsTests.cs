using KeyedLock.Testing;

namespace KeyedLock.Postgres.Tests.Idempotency;

/// <summary>
/// Keys the PostgreSQL store cannot keep (a NUL, a lone surrogate, more than it can index) are refused by the lookup
/// as well as by the write, with an <see cref="ArgumentException"/> before any round trip: a caller fails closed
/// before it runs the request, never after (when its response could not be stored and a duplicate would run again).
/// </summary>
public sealed class StoreKeyLimitsTests : PostgresTestBase
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    // By index: xunit would serialize a lone surrogate into U+FFFD.
    private static readonly string[] s_unstorable =
    [
        "a\0b",
        "a\uD800",
        "\uDC00a",
        new string('€', (PostgresIdempotencyStore.MaxKeyBytes / 3) + 1), // 3 bytes each in UTF-8
        Incompressible(PostgresIdempotencyStore.MaxKeyBytes + 1),
    ];

    [PostgresTheory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task AKeyTheStoreCannotKeep_IsRefusedByTheLookupToo_WithAClearError(int index)
    {
        var key = s_unstorable[index];
        await using var table = new Table(Monitor);
        var store = Track(new PostgresIdempotencyStore(Track(TestDatabase.CreateDataSource(TestDatabase.UniqueName("idem"), b => b.MaxPoolSize = 1)), new PostgresIdempotencyStoreOptions { TableName = table.Name }));

        var lookup = await Assert.ThrowsAsync<ArgumentException>(() => store.GetAsync(key, Now).AsTask()).Bounded();
        var write = await Assert.ThrowsAsync<ArgumentException>(() => store.TryAddAsync(key, new byte[] { 1 }, Now.AddHours(1), Now).AsTask()).Bounded();
        Assert.Equal("key", lookup.ParamName);
        Assert.Equal("key", write.ParamName);

        // The one pooled connection is still fine.
        Assert.True(await store.TryAddAsync("k", new byte[] { 1 }, Now.AddHours(1), Now).Bounded());
    }

    [PostgresFact]
    public async Task AKeyAtTheLimit_IsStoredAndFound()
    {
        await using var table = new Table(Monitor);
        var store = Track(new PostgresIdempotencyStore(Track(TestDatabase.CreateDataSource(TestDatabase.UniqueName("idem"))), new PostgresIdempotencyStoreOptions { TableName = table.Name }));
        var key = Incompressible(PostgresIdempotencyStore.MaxKeyBytes);

        Assert.True(await store.TryAddAsync(key, new byte[] { 7 }, Now.AddHours(1), Now).Bounded());
        Assert.Equal(new byte[] { 7 }, await store.GetAsync(key, Now).Bounded());
    }

    /// <summary>Base64 of random bytes: PostgreSQL's compression cannot shrink it, so its length is what gets indexed.</summary>
    private static string Incompressible(int length) => Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(length))[..length];

    private sealed class Table(Npgsql.NpgsqlDataSource monitor) : IAsyncDisposable
    {
        public string Name { get; } = "idem_" + Guid.NewGuid().ToString("N");

        public async ValueTask DisposeAsync()
        {
            await using var drop = monitor.CreateCommand($"DROP TABLE IF EXISTS {Name}");
            await drop.ExecuteNonQueryAsync().Bounded();
        }
    }
}
