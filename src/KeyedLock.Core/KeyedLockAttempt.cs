namespace KeyedLock;

/// <summary>
/// The outcome of <see cref="IKeyedLockProvider.TryAcquireAsync"/>: either a <see cref="Lease"/> or a typed
/// <see cref="FailureReason"/>. Disposing a successful attempt releases its lease.
/// </summary>
public readonly struct KeyedLockAttempt : IDisposable, IAsyncDisposable
{
    private KeyedLockAttempt(KeyedLockLease lease, KeyedLockFailureReason reason)
    {
        Lease = lease;
        FailureReason = reason;
    }

    /// <summary>Whether the key was granted.</summary>
    public bool Succeeded => FailureReason == KeyedLockFailureReason.None;

    /// <summary>The lease when <see cref="Succeeded"/>; otherwise <c>default</c>.</summary>
    public KeyedLockLease Lease { get; }

    /// <summary>Why the attempt failed, or <see cref="KeyedLockFailureReason.None"/>.</summary>
    public KeyedLockFailureReason FailureReason { get; }

    /// <summary>Creates a successful attempt.</summary>
    /// <param name="lease">The granted lease.</param>
    /// <returns>The attempt.</returns>
    public static KeyedLockAttempt Success(KeyedLockLease lease) => new(lease, KeyedLockFailureReason.None);

    /// <summary>Creates a failed attempt.</summary>
    /// <param name="reason">Why it failed; must not be <see cref="KeyedLockFailureReason.None"/>.</param>
    /// <returns>The attempt.</returns>
    public static KeyedLockAttempt Failure(KeyedLockFailureReason reason)
    {
        if (reason == KeyedLockFailureReason.None)
        {
            throw new ArgumentOutOfRangeException(nameof(reason), reason, "A failed attempt needs a failure reason.");
        }

        return new(default, reason);
    }

    /// <summary>Releases the lease if the attempt succeeded.</summary>
    public void Dispose() => Lease.Dispose();

    /// <summary>Releases the lease if the attempt succeeded.</summary>
    /// <returns>A task that completes when the lease is released.</returns>
    public ValueTask DisposeAsync() => Lease.DisposeAsync();
}
