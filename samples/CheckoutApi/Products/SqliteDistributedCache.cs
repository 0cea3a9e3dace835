using CheckoutApi.Data;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Caching.Distributed;

namespace CheckoutApi.Products;

/// <summary>
/// An <see cref="IDistributedCache"/> in the sample's SQLite file: instances started from one folder share it, so
/// it is the second level of their <c>HybridCache</c> in multi-instance mode (no cache server needed for the demo).
/// Absolute and sliding expirations are honoured; expired entries are deleted when read.
/// </summary>
internal sealed class SqliteDistributedCache(CheckoutDatabase database, TimeProvider timeProvider) : IDistributedCache
{
    private volatile bool _schemaReady;

    public async Task<byte[]?> GetAsync(string key, CancellationToken token = default)
    {
        await using var connection = await OpenAsync(token);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT value, expires_at, sliding_ms, absolute_expires_at FROM cache_entries WHERE cache_key = $key";
        command.Parameters.AddWithValue("$key", key);
        byte[] value;
        long? slidingMs;
        long? absolute;
        await using (var reader = await command.ExecuteReaderAsync(token))
        {
            if (!await reader.ReadAsync(token))
            {
                return null;
            }

            var now = Now();
            if (!reader.IsDBNull(1) && reader.GetInt64(1) <= now)
            {
                await reader.DisposeAsync();
                await DeleteAsync(connection, key, token);
                return null;
            }

            value = (byte[])reader.GetValue(0);
            slidingMs = reader.IsDBNull(2) ? null : reader.GetInt64(2);
            absolute = reader.IsDBNull(3) ? null : reader.GetInt64(3);
        }

        if (slidingMs is { } sliding)
        {
            await TouchAsync(connection, key, sliding, absolute, token);
        }

        return value;
    }

    public async Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default)
    {
        var now = Now();
        long? absolute = options.AbsoluteExpiration is { } at ? at.ToUnixTimeMilliseconds()
            : options.AbsoluteExpirationRelativeToNow is { } relative ? now + (long)relative.TotalMilliseconds
            : null;
        long? sliding = options.SlidingExpiration is { } slide ? (long)slide.TotalMilliseconds : null;

        await using var connection = await OpenAsync(token);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO cache_entries (cache_key, value, expires_at, sliding_ms, absolute_expires_at)
            VALUES ($key, $value, $expires, $sliding, $absolute)
            ON CONFLICT (cache_key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at,
                sliding_ms = excluded.sliding_ms, absolute_expires_at = excluded.absolute_expires_at
            """;
        command.Parameters.AddWithValue("$key", key);
        command.Parameters.AddWithValue("$value", value);
        command.Parameters.AddWithValue("$expires", (object?)ExpiresAt(now, sliding, absolute) ?? DBNull.Value);
        command.Parameters.AddWithValue("$sliding", (object?)sliding ?? DBNull.Value);
        command.Parameters.AddWithValue("$absolute", (object?)absolute ?? DBNull.Value);
        await command.ExecuteNonQueryAsync(token);
    }

    public async Task RefreshAsync(string key, CancellationToken token = default) => await GetAsync(key, token);

    public async Task RemoveAsync(string key, CancellationToken token = default)
    {
        await using var connection = await OpenAsync(token);
        await DeleteAsync(connection, key, token);
    }

    // Microsoft.Data.Sqlite runs its async methods synchronously, so the synchronous members just wait for them.
    public byte[]? Get(string key) => GetAsync(key).GetAwaiter().GetResult();

    public void Set(string key, byte[] value, DistributedCacheEntryOptions options) => SetAsync(key, value, options).GetAwaiter().GetResult();

    public void Refresh(string key) => RefreshAsync(key).GetAwaiter().GetResult();

    public void Remove(string key) => RemoveAsync(key).GetAwaiter().GetResult();

    private long Now() => timeProvider.GetUtcNow().ToUnixTimeMilliseconds();

    private static long? ExpiresAt(long now, long? sliding, long? absolute) =>
        sliding is { } s ? Math.Min(now + s, absolute ?? long.MaxValue) : absolute;

    private async Task<SqliteConnection> OpenAsync(CancellationToken token)
    {
        var connection = await database.OpenAsync(token);
        if (!_schemaReady)
        {
            // Idempotent, so instances racing to create it on first use are fine.
            await using var command = connection.CreateCommand();
            command.CommandText = """
                CREATE TABLE IF NOT EXISTS cache_entries (
                    cache_key           TEXT    NOT NULL PRIMARY KEY,
                    value               BLOB    NOT NULL,
                    expires_at          INTEGER NULL,
                    sliding_ms          INTEGER NULL,
                    absolute_expires_at INTEGER NULL
                );
                """;
            await command.ExecuteNonQueryAsync(token);
            _schemaReady = true;
        }

        return connection;
    }

    private async Task TouchAsync(SqliteConnection connection, string key, long sliding, long? absolute, CancellationToken token)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE cache_entries SET expires_at = $expires WHERE cache_key = $key";
        command.Parameters.AddWithValue("$key", key);
        command.Parameters.AddWithValue("$expires", ExpiresAt(Now(), sliding, absolute));
        await command.ExecuteNonQueryAsync(token);
    }

    private static async Task DeleteAsync(SqliteConnection connection, string key, CancellationToken token)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM cache_entries WHERE cache_key = $key";
        command.Parameters.AddWithValue("$key", key);
        await command.ExecuteNonQueryAsync(token);
    }
}
