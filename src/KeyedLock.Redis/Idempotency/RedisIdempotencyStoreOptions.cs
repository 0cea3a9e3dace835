namespace KeyedLock.Redis;

/// <summary>Options of a <see cref="RedisIdempotencyStore"/>.</summary>
public sealed class RedisIdempotencyStoreOptions
{
    /// <summary>The default <see cref="KeyPrefix"/>: <c>keyedlock:idem:</c>.</summary>
    public const string DefaultKeyPrefix = "keyedlock:idem:";

    /// <summary>
    /// Prepended to every idempotency key to form the Redis key. App instances that replay each other's responses need
    /// the same prefix. Default <c>keyedlock:idem:</c>.
    /// </summary>
    public string KeyPrefix { get; set; } = DefaultKeyPrefix;

    /// <summary>The longest time one Redis command may take. Default 5 seconds.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Throws when an option is out of range.</summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(KeyPrefix, nameof(KeyPrefix));
        if (CommandTimeout <= TimeSpan.Zero || CommandTimeout > TimeSpan.FromMinutes(10))
        {
            throw new ArgumentOutOfRangeException(nameof(CommandTimeout), CommandTimeout, "CommandTimeout must be positive (at most 10 minutes).");
        }
    }

    internal RedisIdempotencyStoreOptions Clone() => (RedisIdempotencyStoreOptions)MemberwiseClone();
}
