namespace KeyedLock;

/// <summary>Why a <see cref="KeyedLockAttempt"/> did not produce a lease.</summary>
public enum KeyedLockFailureReason
{
    /// <summary>The attempt succeeded.</summary>
    None = 0,

    /// <summary>The wait timed out before the key was granted.</summary>
    TimedOut = 1,

    /// <summary>The key's wait queue was full (<see cref="KeyedLockOptions.MaxQueueLengthPerKey"/>).</summary>
    QueueFull = 2,
}
