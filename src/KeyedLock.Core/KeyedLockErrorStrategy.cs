namespace KeyedLock;

/// <summary>What the run helpers do with the queue of a key when the code running under the lock fails.</summary>
public enum KeyedLockErrorStrategy
{
    /// <summary>The failure reaches only its caller; queued waiters run normally. The default.</summary>
    Continue = 0,

    /// <summary>
    /// Waiters queued on the key at the moment of the failure are rejected with
    /// <see cref="KeyedLockAbortedException"/> carrying the failure; later arrivals run normally.
    /// </summary>
    Stop = 1,
}
