namespace KeyedLock;

/// <summary>
/// The object behind a <see cref="KeyedLockLease"/>. Lock providers derive from it; applications never need to.
/// </summary>
/// <remarks>
/// A lease is a small struct of (owner, key, id). Every call below receives the lease's key and id so that one
/// owner object can serve many grants, and so that releasing a stale copy of a lease (a second release, or a
/// release after the owner was reused) is recognised by its id and ignored.
/// </remarks>
public abstract class KeyedLockLeaseOwner
{
    /// <summary>Releases the grant identified by <paramref name="id"/>. Must be a no-op when it was already released.</summary>
    /// <param name="key">The lease's key.</param>
    /// <param name="id">The lease's id.</param>
    protected internal abstract void Release(string key, long id);

    /// <summary>Releases asynchronously. Defaults to <see cref="Release"/>.</summary>
    /// <param name="key">The lease's key.</param>
    /// <param name="id">The lease's id.</param>
    /// <returns>A task that completes when the grant is released.</returns>
    protected internal virtual ValueTask ReleaseAsync(string key, long id)
    {
        Release(key, id);
        return default;
    }

    /// <summary>Whether the grant identified by <paramref name="id"/> is still held.</summary>
    /// <param name="key">The lease's key.</param>
    /// <param name="id">The lease's id.</param>
    /// <returns><see langword="true"/> while the grant has not been released (or lost).</returns>
    protected internal abstract bool IsHeld(string key, long id);

    /// <summary>
    /// Whether the holder has not released the grant yet, for re-entrancy detection (a lost but unreleased lock is
    /// still the holder's to release). Defaults to <see cref="IsHeld"/>.
    /// </summary>
    internal virtual bool IsUnreleased(string key, long id) => IsHeld(key, id);

    /// <summary>The fencing token of the grant. Defaults to the id.</summary>
    /// <param name="key">The lease's key.</param>
    /// <param name="id">The lease's id.</param>
    /// <returns>A number that increases with every grant.</returns>
    protected internal virtual long GetFencingToken(string key, long id) => id;

    /// <summary>A token that fires if the provider loses the lock while the lease is held. Defaults to none.</summary>
    /// <param name="key">The lease's key.</param>
    /// <param name="id">The lease's id.</param>
    /// <returns>The token.</returns>
    protected internal virtual CancellationToken GetLostToken(string key, long id) => CancellationToken.None;

    /// <summary>
    /// Rejects every waiter queued on the lease's key right now with a <see cref="KeyedLockAbortedException"/>
    /// carrying <paramref name="reason"/>. Used by <see cref="KeyedLockErrorStrategy.Stop"/>. Defaults to none.
    /// </summary>
    /// <param name="key">The lease's key.</param>
    /// <param name="id">The lease's id; only a holder may abort the queue.</param>
    /// <param name="reason">The failure that aborts the queue.</param>
    /// <returns>How many waiters were rejected.</returns>
    protected internal virtual int AbortWaiters(string key, long id, Exception reason) => 0;
}
