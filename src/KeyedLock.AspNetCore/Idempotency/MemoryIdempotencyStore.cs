using KeyedLock.Idempotency;
using Microsoft.Extensions.Caching.Memory;

namespace KeyedLock.AspNetCore;

/// <summary>
/// The default <see cref="IIdempotencyStore"/>: records in a private, size-limited <see cref="MemoryCache"/> of this
/// process. Replay holds within one app instance; use a shared store (PostgreSQL) when several instances serve the
/// same clients.
/// </summary>
/// <remarks>
/// Each record counts its body, headers and key (in bytes, roughly) against the size limit. When the cache is full
/// it evicts records early, and a record larger than the limit is not stored: the store is bounded, not durable.
/// Expiry follows the <c>now</c> passed by the caller; the cache also drops records after the same window on its own
/// clock so that memory is reclaimed.
/// </remarks>
public sealed class MemoryIdempotencyStore : IIdempotencyStore, IDisposable
{
    private const int RecordOverhead = 128;

    private readonly MemoryCache _cache;
    private readonly Lock _gate = new();

    /// <summary>Creates a store.</summary>
    /// <param name="sizeLimit">The size limit in bytes (at least 1).</param>
    public MemoryIdempotencyStore(long sizeLimit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sizeLimit, 1);
        _cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = sizeLimit });
    }

    /// <summary>The number of records held (live or not yet reclaimed).</summary>
    public int Count => _cache.Count;

    /// <inheritdoc />
    public ValueTask<IdempotencyRecord?> GetAsync(string key, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        return new(Live(key, now));
    }

    /// <inheritdoc />
    public ValueTask<bool> TryAddAsync(string key, IdempotencyRecord record, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(record);
        var lifetime = record.ExpiresAt - now;
        if (lifetime <= TimeSpan.Zero)
        {
            return new(false);
        }

        lock (_gate)
        {
            if (Live(key, now) is not null)
            {
                return new(false);
            }

            using (var entry = _cache.CreateEntry(key))
            {
                entry.Value = record;
                entry.Size = Size(key, record);
                entry.AbsoluteExpirationRelativeToNow = lifetime;
            }

            // A full cache declines the entry (and compacts).
            return new(ReferenceEquals(_cache.Get(key), record));
        }
    }

    /// <inheritdoc />
    public void Dispose() => _cache.Dispose();

    private IdempotencyRecord? Live(string key, DateTimeOffset now)
    {
        if (_cache.Get(key) is not IdempotencyRecord record)
        {
            return null;
        }

        if (record.ExpiresAt > now)
        {
            return record;
        }

        lock (_gate)
        {
            if (ReferenceEquals(_cache.Get(key), record))
            {
                _cache.Remove(key);
            }
        }

        return null;
    }

    private static long Size(string key, IdempotencyRecord record)
    {
        long size = RecordOverhead + (2L * key.Length) + (2L * record.Fingerprint.Length) + record.Body.Length;
        foreach (var (name, value) in record.Headers)
        {
            size += 2L * (name.Length + value.Length);
        }

        return size;
    }
}
