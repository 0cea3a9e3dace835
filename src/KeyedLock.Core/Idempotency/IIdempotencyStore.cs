namespace KeyedLock.Idempotency;

/// <summary>
/// Keeps opaque values (completed responses, encoded by the caller) by idempotency key, so that a duplicate request
/// receives the first response instead of running again. Requests with the same key are serialized by the app's
/// <see cref="IKeyedLockProvider"/>; the store only keeps values, it does not lock, and it never looks inside them.
/// </summary>
/// <remarks>
/// Time is passed in by the caller (from its <see cref="TimeProvider"/>), so every store agrees with the app's clock
/// and tests can move it. A value whose expiry is at or before <c>now</c> counts as absent: it is never returned and a
/// new value may replace it.
/// </remarks>
public interface IIdempotencyStore
{
    /// <summary>Finds the live value of <paramref name="key"/>.</summary>
    /// <param name="key">The idempotency key (ordinal).</param>
    /// <param name="now">The current time.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>The stored value (callers must not modify it), or null when there is none or it expired at <paramref name="now"/>.</returns>
    ValueTask<byte[]?> GetAsync(string key, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores <paramref name="value"/> until <paramref name="expiresAt"/> unless a live value of <paramref name="key"/>
    /// exists already (first writer wins: a stored value is never overwritten while it is live, even if two writers
    /// race).
    /// </summary>
    /// <param name="key">The idempotency key (ordinal).</param>
    /// <param name="value">The value (copied by the store).</param>
    /// <param name="expiresAt">When the value stops being returned.</param>
    /// <param name="now">The current time.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>
    /// True when the value was stored; false when a live value was there already, <paramref name="expiresAt"/> is not
    /// after <paramref name="now"/>, or a bounded store declined it.
    /// </returns>
    ValueTask<bool> TryAddAsync(string key, ReadOnlyMemory<byte> value, DateTimeOffset expiresAt, DateTimeOffset now, CancellationToken cancellationToken = default);
}
