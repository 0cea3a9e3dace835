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
    /// An opt-in diagnostic (default <see langword="false"/>): when on, acquiring a key that the current async flow
    /// already holds throws <see cref="KeyedLockRecursionException"/> instead of waiting forever.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Off by default because it cannot tell a deadlock from a correct program. Held keys are tracked in an
    /// <see cref="AsyncLocal{T}"/>, and an <see cref="AsyncLocal{T}"/> is inherited by every task the holder starts:
    /// with detection on, a <c>Task.Run</c> child or an unawaited acquisition that would simply wait its turn (and be
    /// granted after the holder releases) throws, and so does a holder that probes its own key with
    /// <see cref="TimeSpan.Zero"/> (which would otherwise get <see cref="KeyedLockFailureReason.TimedOut"/>) or takes a
    /// second slot under <see cref="MaxConcurrencyPerKey"/> &gt; 1.
    /// </para>
    /// <para>
    /// It also costs about 128 bytes and tens of nanoseconds per acquisition (an <see cref="ExecutionContext"/> change)
    /// and walks the flow's held keys on every acquisition. Turn it on in development or tests to find code that
    /// awaits its own key; a flow that really re-enters without it waits forever, exactly as on a
    /// <see cref="SemaphoreSlim"/>.
    /// </para>
    /// </remarks>
    public bool DetectReentrancy { get; set; }

    /// <summary>Throws when an option is out of range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    internal void Validate()
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
