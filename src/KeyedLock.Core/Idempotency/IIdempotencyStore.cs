namespace KeyedLock.Idempotency;

/// <summary>
/// Keeps completed responses by idempotency key so that a duplicate request receives the first response instead of
/// running again. Requests with the same key are serialized by the app's <see cref="IKeyedLockProvider"/>; the store
/// only keeps records, it does not lock.
/// </summary>
/// <remarks>
/// Time is passed in by the caller (from its <see cref="TimeProvider"/>), so every store agrees with the app's clock
/// and tests can move it. A record whose <see cref="IdempotencyRecord.ExpiresAt"/> is at or before <c>now</c> counts
/// as absent: it is never returned and a new record may replace it.
/// </remarks>
public interface IIdempotencyStore
{
    /// <summary>Finds the live record of <paramref name="key"/>.</summary>
    /// <param name="key">The idempotency key (ordinal).</param>
    /// <param name="now">The current time.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>The record, or null when there is none or it expired.</returns>
    ValueTask<IdempotencyRecord?> GetAsync(string key, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores <paramref name="record"/> unless a live record of <paramref name="key"/> exists already (first writer
    /// wins: a stored response is never overwritten while it is live, even if two writers race).
    /// </summary>
    /// <param name="key">The idempotency key (ordinal).</param>
    /// <param name="record">The completed response.</param>
    /// <param name="now">The current time.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>True when the record was stored; false when a live record was there already, or a bounded store declined it.</returns>
    ValueTask<bool> TryAddAsync(string key, IdempotencyRecord record, DateTimeOffset now, CancellationToken cancellationToken = default);
}
