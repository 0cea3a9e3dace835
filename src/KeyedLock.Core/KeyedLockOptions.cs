namespace KeyedLock;

/// <summary>Options of a <see cref="KeyedLockRegistry"/>.</summary>
public sealed class KeyedLockOptions
{
    /// <summary>Unbounded queue length: the default of <see cref="MaxQueueLengthPerKey"/>.</summary>
    public const int UnboundedQueue = int.MaxValue;

    /// <summary>How many holders one key may have at once (a keyed semaphore). 1, the default, is a mutex.</summary>
    public int MaxConcurrencyPerKey { get; set; } = 1;

    /// <summary>
    /// How many waiters may queue on one key (holders not counted). A waiter that would exceed it is rejected at
    /// once with <see cref="KeyedLockFailureReason.QueueFull"/>. 0 means "never wait". Default: unbounded.
    /// </summary>
    public int MaxQueueLengthPerKey { get; set; } = UnboundedQueue;

    /// <summary>
    /// Whether acquiring a key that the current async flow already holds throws
    /// <see cref="KeyedLockRecursionException"/> (default <see langword="true"/>). Detection tracks held keys in an
    /// <see cref="AsyncLocal{T}"/>, which costs one small allocation per acquisition; turn it off only on hot paths
    /// whose code cannot re-enter.
    /// </summary>
    public bool DetectReentrancy { get; set; } = true;

    /// <summary>Throws when an option is out of range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public void Validate()
    {
        if (MaxConcurrencyPerKey < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConcurrencyPerKey), MaxConcurrencyPerKey, "MaxConcurrencyPerKey must be at least 1.");
        }

        if (MaxQueueLengthPerKey < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxQueueLengthPerKey), MaxQueueLengthPerKey, "MaxQueueLengthPerKey must be 0 or more.");
        }
    }

    internal KeyedLockOptions Clone() => new()
    {
        MaxConcurrencyPerKey = MaxConcurrencyPerKey,
        MaxQueueLengthPerKey = MaxQueueLengthPerKey,
        DetectReentrancy = DetectReentrancy,
    };
}
