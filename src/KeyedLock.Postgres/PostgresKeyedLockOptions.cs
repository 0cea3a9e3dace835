using System.Text.RegularExpressions;

namespace KeyedLock.Postgres;

/// <summary>Options of a <see cref="PostgresKeyedLockProvider"/>.</summary>
public sealed partial class PostgresKeyedLockOptions
{
    /// <summary>The default <see cref="KeyNamespace"/>: <c>keyedlock</c>.</summary>
    public const string DefaultKeyNamespace = "keyedlock";

    /// <summary>The default <see cref="FencingSequenceName"/>: <c>keyedlock_fencing</c>.</summary>
    public const string DefaultFencingSequenceName = "keyedlock_fencing";

    /// <summary>
    /// Mixed into every key's advisory lock id, so that applications (or environments) sharing one database do not
    /// lock each other's keys. Instances that must exclude each other need the same namespace. Default
    /// <c>keyedlock</c>.
    /// </summary>
    public string KeyNamespace { get; set; } = DefaultKeyNamespace;

    /// <summary>
    /// Whether every grant takes <c>nextval</c> from a <c>CACHE 1</c> sequence after the advisory lock was granted,
    /// exposed as <see cref="KeyedLockLease.FencingToken"/>: strictly increasing across all instances that share
    /// the database. When off (the default), the fencing token only increases within one provider instance.
    /// </summary>
    public bool UseFencingTokens { get; set; }

    /// <summary>
    /// The sequence behind <see cref="UseFencingTokens"/>, optionally schema-qualified (<c>schema.name</c>, plain
    /// identifiers only). It is created with <c>CREATE SEQUENCE IF NOT EXISTS ... CACHE 1</c> on first use.
    /// </summary>
    public string FencingSequenceName { get; set; } = DefaultFencingSequenceName;

    /// <summary>
    /// How often each held lease probes its connection (a <c>SELECT 1</c>). When a probe fails (the backend was
    /// terminated, the server restarted, the network broke), the lease's <see cref="KeyedLockLease.LostToken"/>
    /// fires. Loss is therefore noticed within this interval plus <see cref="ProbeTimeout"/>.
    /// <see cref="Timeout.InfiniteTimeSpan"/> turns probing off. Default 5 seconds.
    /// </summary>
    public TimeSpan LostLockCheckInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long one lost-lock probe may take before the lease counts as lost. Default 5 seconds.</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How many waiters may queue on one key in this app instance (the in-process tier; only the head of that
    /// queue waits in PostgreSQL). 0 means "never wait". Default: unbounded.
    /// </summary>
    public int MaxQueueLengthPerKey { get; set; } = int.MaxValue;

    /// <summary>
    /// Whether acquiring a key that the current async flow already holds throws
    /// <see cref="KeyedLockRecursionException"/> instead of deadlocking. Default <see langword="true"/>.
    /// </summary>
    public bool DetectReentrancy { get; set; } = true;

    /// <summary>Throws when an option is out of range.</summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(KeyNamespace, nameof(KeyNamespace));
        if (!SequenceNamePattern().IsMatch(FencingSequenceName ?? string.Empty))
        {
            throw new ArgumentException($"FencingSequenceName '{FencingSequenceName}' must be an identifier or schema.identifier made of letters, digits and underscores.", nameof(FencingSequenceName));
        }

        if (LostLockCheckInterval != Timeout.InfiniteTimeSpan && (LostLockCheckInterval <= TimeSpan.Zero || LostLockCheckInterval > TimeSpan.FromDays(1)))
        {
            throw new ArgumentOutOfRangeException(nameof(LostLockCheckInterval), LostLockCheckInterval, "LostLockCheckInterval must be positive (at most a day) or Timeout.InfiniteTimeSpan.");
        }

        if (ProbeTimeout <= TimeSpan.Zero || ProbeTimeout > TimeSpan.FromHours(1))
        {
            throw new ArgumentOutOfRangeException(nameof(ProbeTimeout), ProbeTimeout, "ProbeTimeout must be positive (at most an hour).");
        }

        if (MaxQueueLengthPerKey < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxQueueLengthPerKey), MaxQueueLengthPerKey, "MaxQueueLengthPerKey must be 0 or more.");
        }
    }

    internal PostgresKeyedLockOptions Clone() => (PostgresKeyedLockOptions)MemberwiseClone();

    [GeneratedRegex("^([A-Za-z_][A-Za-z0-9_]{0,62}\\.)?[A-Za-z_][A-Za-z0-9_]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex SequenceNamePattern();
}
