namespace KeyedLock.Redis;

/// <summary>Options of a <see cref="RedisKeyedLockProvider"/>. Every app instance that shares keys must use the same values.</summary>
public sealed class RedisKeyedLockOptions
{
    /// <summary>The default <see cref="KeyNamespace"/>: <c>keyedlock</c>.</summary>
    public const string DefaultKeyNamespace = "keyedlock";

    /// <summary>
    /// The prefix of every Redis key and channel of the provider, so that applications (or environments) sharing one
    /// Redis do not lock each other's keys. Instances that must exclude each other need the same namespace. 1 to 200
    /// characters of valid UTF-16, without <c>:k:</c> and not ending with <c>:k</c> (lock keys are
    /// <c>namespace:k:key:h</c>, so such a namespace would share lock keys with a shorter one). Default
    /// <c>keyedlock</c>.
    /// </summary>
    public string KeyNamespace { get; set; } = DefaultKeyNamespace;

    /// <summary>
    /// How long Redis keeps a lease without hearing from its holder. Held leases are renewed (in one batched script
    /// per instance) every third of it; a holder that dies or loses Redis loses the key after at most this long.
    /// Default 30 seconds.
    /// </summary>
    public TimeSpan LeaseTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long Redis keeps a waiter's place (and an unconfirmed hand-off) without hearing from its instance. Waiters
    /// are refreshed every third of it; a waiter whose instance died is dropped from the queue after at most this
    /// long, and the next one is granted. Default 5 seconds.
    /// </summary>
    public TimeSpan WaiterTtl { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long before the server could expire a lease its <see cref="KeyedLockLease.LostToken"/> fires when renewals
    /// fail: the token fires at the send time of the last confirmed renewal + 99 % of <see cref="LeaseTtl"/> - this
    /// margin, so (barring a process pause) the holder hears of the loss before anyone else can be granted the key.
    /// At most half of <see cref="LeaseTtl"/>. Default 1 second.
    /// </summary>
    public TimeSpan LeaseSafetyMargin { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The longest time one Redis command may take before the acquisition fails closed with
    /// <see cref="KeyedLockUnavailableException"/>. Default 5 seconds.
    /// </summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How many holders one key may have at once across all instances (a distributed keyed semaphore). 1, the
    /// default, is a mutex. Copied from <see cref="KeyedLockOptions.MaxConcurrencyPerKey"/> by <c>UseRedis</c>.
    /// </summary>
    public int MaxConcurrencyPerKey { get; set; } = 1;

    /// <summary>
    /// How many waiters may queue on one key in this app instance (the in-process tier; only the head of that queue
    /// waits in Redis). 0 means "never wait". Default: unbounded.
    /// </summary>
    public int MaxQueueLengthPerKey { get; set; } = int.MaxValue;

    /// <summary>
    /// Whether acquiring a key that the current async flow already holds throws
    /// <see cref="KeyedLockRecursionException"/> instead of deadlocking. A diagnostic, off by default.
    /// </summary>
    public bool DetectReentrancy { get; set; }

    /// <summary>Throws when an option is out of range.</summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(KeyNamespace) || KeyNamespace.Length > 200)
        {
            throw new ArgumentException("KeyNamespace must be 1 to 200 characters, not blank.", nameof(KeyNamespace));
        }

        // The namespace is also in the fencing counter's name and the channels, which are plain UTF-8: a lone
        // surrogate there would become U+FFFD and share them with another namespace.
        if (KeyedLock.Internal.LosslessUtf8.HasLoneSurrogate(KeyNamespace))
        {
            throw new ArgumentException("KeyNamespace must be valid UTF-16 (it has a lone surrogate).", nameof(KeyNamespace));
        }

        // Lock keys are "<namespace>:k:<key>:h": a namespace with ":k:" inside (or ending with ":k") would have the
        // lock keys of a shorter one ("x:k" + ":k:" + "b" is "x" + ":k:" + "k:b").
        if ((KeyNamespace + ":k:").IndexOf(":k:", StringComparison.Ordinal) != KeyNamespace.Length)
        {
            throw new ArgumentException(
                $"KeyNamespace '{KeyNamespace}' must not contain ':k:' or end with ':k': its lock keys would also be lock keys of a shorter namespace.",
                nameof(KeyNamespace));
        }

        if (LeaseTtl < TimeSpan.FromMilliseconds(100) || LeaseTtl > TimeSpan.FromDays(1))
        {
            throw new ArgumentOutOfRangeException(nameof(LeaseTtl), LeaseTtl, "LeaseTtl must be between 100 ms and a day.");
        }

        if (WaiterTtl < TimeSpan.FromMilliseconds(100) || WaiterTtl > TimeSpan.FromDays(1))
        {
            throw new ArgumentOutOfRangeException(nameof(WaiterTtl), WaiterTtl, "WaiterTtl must be between 100 ms and a day.");
        }

        if (LeaseSafetyMargin < TimeSpan.Zero || LeaseSafetyMargin > LeaseTtl / 2)
        {
            throw new ArgumentOutOfRangeException(nameof(LeaseSafetyMargin), LeaseSafetyMargin, "LeaseSafetyMargin must be between 0 and half of LeaseTtl.");
        }

        if (CommandTimeout <= TimeSpan.Zero || CommandTimeout > TimeSpan.FromMinutes(10))
        {
            throw new ArgumentOutOfRangeException(nameof(CommandTimeout), CommandTimeout, "CommandTimeout must be positive (at most 10 minutes).");
        }

        if (MaxConcurrencyPerKey < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConcurrencyPerKey), MaxConcurrencyPerKey, "MaxConcurrencyPerKey must be at least 1.");
        }

        if (MaxQueueLengthPerKey < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxQueueLengthPerKey), MaxQueueLengthPerKey, "MaxQueueLengthPerKey must be 0 or more.");
        }
    }

    internal RedisKeyedLockOptions Clone() => (RedisKeyedLockOptions)MemberwiseClone();
}
