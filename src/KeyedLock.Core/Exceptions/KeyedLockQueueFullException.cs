namespace KeyedLock;

/// <summary>The key's wait queue was full, so the request was rejected without waiting.</summary>
public sealed class KeyedLockQueueFullException : KeyedLockException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="key">The key.</param>
    /// <param name="queueLimit">The per-key queue limit that was reached.</param>
    public KeyedLockQueueFullException(string key, int queueLimit)
        : base(key, $"The wait queue of the keyed lock '{key}' is full ({queueLimit} waiting).")
    {
        QueueLimit = queueLimit;
    }

    /// <summary>The per-key queue limit that was reached.</summary>
    public int QueueLimit { get; }
}
