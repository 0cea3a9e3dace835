using System.Buffers;
using System.Buffers.Text;
using KeyedLock.Idempotency;
using KeyedLock.Redis.Internal;
using StackExchange.Redis;

namespace KeyedLock.Redis;

/// <summary>
/// Keeps idempotent responses in Redis, so that every app instance on the server replays the responses of the
/// others. Pair it with the Redis lock provider, which serializes requests with the same idempotency key across the
/// instances.
/// </summary>
/// <remarks>
/// <para>
/// One string per record: the expiry (Unix milliseconds of the caller's clock, 16 ASCII digits) followed by the
/// opaque value. A record is added by a script: the first writer wins, an expired record is replaced, a live one
/// never is. Redis drops the key after the record's lifetime (a relative TTL, so the clocks of app and server need
/// not agree); reads also compare the stored expiry with the caller's <c>now</c>.
/// </para>
/// </remarks>
public sealed class RedisIdempotencyStore : IIdempotencyStore
{
    private const int ExpiryDigits = 16;

    private const string AddScript = """
        local cur = redis.call('GET', KEYS[1])
        if cur and tonumber(string.sub(cur, 1, 16)) > tonumber(ARGV[3]) then return 0 end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        return 1
        """;

    private readonly IDatabaseAsync _database;
    private readonly RedisIdempotencyStoreOptions _options;

    /// <summary>Creates a store on <paramref name="connection"/> (which the caller keeps owning and disposing).</summary>
    /// <param name="connection">The multiplexer.</param>
    /// <param name="options">The options (validated and copied); defaults when null.</param>
    public RedisIdempotencyStore(IConnectionMultiplexer connection, RedisIdempotencyStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _options = (options ?? new RedisIdempotencyStoreOptions()).Clone();
        _options.Validate();
        _database = connection.GetDatabase();
    }

    /// <summary>The multiplexer the store sends its commands on.</summary>
    internal IConnectionMultiplexer Connection => _database.Multiplexer;

    /// <summary>The value stored for <paramref name="key"/> if it is present and not expired at <paramref name="now"/>.</summary>
    /// <param name="key">The idempotency key (ordinal).</param>
    /// <param name="now">The current time (the caller's clock).</param>
    /// <param name="cancellationToken">Stops waiting for the reply.</param>
    /// <returns>The value, or null.</returns>
    public async ValueTask<byte[]?> GetAsync(string key, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        var stored = (byte[]?)await _database.StringGetAsync(RedisKeys.Lossless(_options.KeyPrefix + key)).WaitAsync(_options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        if (stored is null || stored.Length < ExpiryDigits
            || !Utf8Parser.TryParse(stored.AsSpan(0, ExpiryDigits), out long expiresAtMs, out var consumed) || consumed != ExpiryDigits
            || expiresAtMs <= now.ToUnixTimeMilliseconds())
        {
            return null;
        }

        return stored[ExpiryDigits..];
    }

    /// <summary>Stores <paramref name="value"/> for <paramref name="key"/> unless a live record exists: the first writer wins.</summary>
    /// <param name="key">The idempotency key (ordinal).</param>
    /// <param name="value">The opaque value.</param>
    /// <param name="expiresAt">When the record expires (the caller's clock).</param>
    /// <param name="now">The current time (the caller's clock).</param>
    /// <param name="cancellationToken">Stops waiting for the reply.</param>
    /// <returns>Whether the value was stored.</returns>
    public async ValueTask<bool> TryAddAsync(string key, ReadOnlyMemory<byte> value, DateTimeOffset expiresAt, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        var lifetimeMs = (long)Math.Ceiling((expiresAt - now).TotalMilliseconds);
        if (lifetimeMs <= 0)
        {
            return false;
        }

        var expiresAtMs = expiresAt.ToUnixTimeMilliseconds();
        var record = new byte[ExpiryDigits + value.Length];
        if (expiresAtMs < 0 || !Utf8Formatter.TryFormat(expiresAtMs, record, out _, new StandardFormat('D', ExpiryDigits)))
        {
            throw new ArgumentOutOfRangeException(nameof(expiresAt), expiresAt, "The expiry must be after 1970.");
        }

        value.Span.CopyTo(record.AsSpan(ExpiryDigits));
        var added = await _database.ScriptEvaluateAsync(AddScript, [RedisKeys.Lossless(_options.KeyPrefix + key)], [record, lifetimeMs, now.ToUnixTimeMilliseconds()])
            .WaitAsync(_options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        return (long)added == 1;
    }
}
