using KeyedLock.Idempotency;
using Microsoft.Extensions.Caching.Memory;

namespace KeyedLock.AspNetCore;

/// <summary>
/// The default <see cref="IIdempotencyStore"/>: values in a private, size-limited <see cref="MemoryCache"/> of this
/// process. Replay holds within one app instance; use a shared store (PostgreSQL, Redis) when several instances serve
/// the same clients.
/// </summary>
/// <remarks>
/// Each value counts its bytes and its key against the size limit. When the cache is full it evicts values early, and
/// a value larger than the limit is not stored: the store is bounded, not durable. Expiry follows the <c>now</c> passed
/// by the caller; the cache also drops values after the same lifetime on its own clock so that memory is reclaimed.
/// </remarks>
public sealed class MemoryIdempotencyStore : IIdempotencyStore, IDisposable
{
    private const int EntryOverhead = 64;

    private readonly MemoryCache _cache;
    private readonly Lock _gate = new();

    /// <summary>Creates a store.</summary>
    /// <param name="sizeLimit">The size limit in bytes (at least 1).</param>
    public MemoryIdempotencyStore(long sizeLimit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sizeLimit, 1);
        _cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = sizeLimit });
    }

    /// <summary>The number of values held (live or not yet reclaimed).</summary>
    public int Count => _cache.Count;

    /// <inheritdoc />
    public ValueTask<byte[]?> GetAsync(string key, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        return new(Live(key, now)?.Value);
    }

    /// <inheritdoc />
    public ValueTask<bool> TryAddAsync(string key, ReadOnlyMemory<byte> value, DateTimeOffset expiresAt, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        var lifetime = expiresAt - now;
        if (lifetime <= TimeSpan.Zero)
        {
            return new(false);
        }

        var entry = new Entry(value.ToArray(), expiresAt);
        lock (_gate)
        {
            if (Live(key, now) is not null)
            {
                return new(false);
            }

            using (var cacheEntry = _cache.CreateEntry(key))
            {
                cacheEntry.Value = entry;
                cacheEntry.Size = EntryOverhead + (2L * key.Length) + entry.Value.Length;
                cacheEntry.AbsoluteExpirationRelativeToNow = lifetime;
            }

            // A full cache declines the entry (and compacts).
            return new(ReferenceEquals(_cache.Get(key), entry));
        }
    }

    /// <inheritdoc />
    public void Dispose() => _cache.Dispose();

    private Entry? Live(string key, DateTimeOffset now)
    {
        if (_cache.Get(key) is not Entry entry)
        {
            return null;
        }

        if (entry.ExpiresAt > now)
        {
            return entry;
        }

        lock (_gate)
        {
            if (ReferenceEquals(_cache.Get(key), entry))
            {
                _cache.Remove(key);
            }
        }

        return null;
    }

    private sealed record Entry(byte[] Value, DateTimeOffset ExpiresAt);
}
