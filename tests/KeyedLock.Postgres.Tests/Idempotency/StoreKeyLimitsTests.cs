using KeyedLock.Testing;

namespace KeyedLock.Postgres.Tests.Idempotency;

/// <summary>
/// Keys PostgreSQL <c>text</c> cannot hold as they are (a NUL, a lone surrogate, more than the index keeps) are stored
/// under their hash, by the lookup and the write alike: such a key can come from request input (a JSON string with
/// <c>\u0000</c>), and refusing it would answer 503 for ever, or after the request ran.
/// </summary>
public sealed class StoreKeyLimitsTests : PostgresTestBase
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    // By index: xunit would serialize a lone surrogate into U+FFFD.
    private static readonly string[] s_hashed =
    [
        "a\0b",
        "a\0c",
        "a\uD800",
        "a\uDC00",
        "a\uFFFD", // valid text, stored as itself, apart from "a\uD800"
        new string('€', (PostgresIdempotencyStore.MaxKeyBytes / 3) + 1), // 3 bytes each in UTF-8
        Incompressible(PostgresIdempotencyStore.MaxKeyBytes + 1),
        PostgresIdempotencyStore.HashedKeyPrefix + "00", // stored under its hash too, so it never stands for another key
    ];

    [PostgresFact]
    public async Task KeysTextCannotHold_AreStoredUnderTheirHash_FoundAgain_AndNeverMixedUp()
    {
        await using var table = new Table(Monitor);
        var store = Track(new PostgresIdempotencyStore(Track(TestDatabase.CreateDataSource(TestDatabase.UniqueName("idem"), b => b.MaxPoolSize = 1)), new PostgresIdempotencyStoreOptions { TableName = table.Name }));

        for (var i = 0; i < s_hashed.Length; i++)
        {
            Assert.Null(await store.GetAsync(s_hashed[i], Now).Bounded());
            Assert.True(await store.TryAddAsync(s_hashed[i], new[] { (byte)i }, Now.AddHours(1), Now).Bounded());
        }

        for (var i = 0; i < s_hashed.Length; i++)
        {
            var found = await store.GetAsync(s_hashed[i], Now).Bounded();
            Assert.NotNull(found);
            Assert.Equal([(byte)i], found);
            var stored = PostgresIdempotencyStore.StoredKey(s_hashed[i]);
            if (s_hashed[i] == "a\uFFFD")
            {
                Assert.Equal(s_hashed[i], stored);
                continue;
            }

            Assert.StartsWith(PostgresIdempotencyStore.HashedKeyPrefix, stored, StringComparison.Ordinal);
            Assert.Equal(PostgresIdempotencyStore.HashedKeyPrefix.Length + 64, stored.Length);
        }

        // The hashed form of a key, used as a key, is a key of its own.
        var spoof = PostgresIdempotencyStore.StoredKey(s_hashed[0]);
        Assert.Null(await store.GetAsync(spoof, Now).Bounded());
        Assert.Equal("#idem|k", PostgresIdempotencyStore.StoredKey("#idem|k"));
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
