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
    /// lock each other's keys. Instances that must exclude each other need the same namespace. No NUL character.
    /// Default <c>keyedlock</c>.
    /// </summary>
    public string KeyNamespace { get; set; } = DefaultKeyNamespace;

    /// <summary>
    /// Whether every grant takes <c>nextval</c> from a <c>CACHE 1</c> sequence in the same statement batch as the
    /// advisory lock (no extra round trip), exposed as <see cref="KeyedLockLease.FencingToken"/>: strictly increasing
    /// per key (and globally) across all instances that share the database, so storage can refuse a stale holder.
    /// Default <see langword="true"/>. When off, the fencing token only increases within one provider instance (and
    /// the database needs no sequence: turn it off only where the role may not create one and no write is fenced).
    /// </summary>
    public bool UseFencingTokens { get; set; } = true;

    /// <summary>
    /// The sequence behind <see cref="UseFencingTokens"/>, optionally schema-qualified (<c>schema.name</c>, plain
    /// identifiers only). It is created with <c>CREATE SEQUENCE IF NOT EXISTS ... CACHE 1</c> on first use.
    /// </summary>
    public string FencingSequenceName { get; set; } = DefaultFencingSequenceName;

    /// <summary>
    /// The heartbeat period of silent-loss detection. Every held lease keeps a read pending on its connection, so a
    /// terminated backend, a stopping server or a closed socket fires <see cref="KeyedLockLease.LostToken"/> at once
    /// (no query). A network path that dies silently (nothing reaches the client) is caught by a heartbeat: while
    /// this instance holds leases, it sends one <c>pg_notify</c> per interval on one connection, and every holding
    /// connection listens for it; a holder that hears nothing for this interval plus <see cref="ProbeTimeout"/>
    /// counts as lost. One statement per instance per interval, whatever the number of leases.
    /// The heartbeat uses one more connection of the pool per instance. <see cref="Timeout.InfiniteTimeSpan"/> turns
    /// the heartbeat off (the pending read stays). Between 1 ms and a day; default 200 ms.
    /// </summary>
    public TimeSpan LostLockCheckInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// How late a heartbeat may be before a holding connection counts as lost (see
    /// <see cref="LostLockCheckInterval"/>): silent loss is noticed within the interval plus this. It must exceed the
    /// round trip to the server and its jitter. Between 1 ms and an hour; default 500 ms (with the default interval:
    /// within 700 ms).
    /// </summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// How many waiters may queue on one key in this app instance (the in-process tier; only the head of that
    /// queue waits in PostgreSQL). 0 means "never wait". Default: unbounded.
    /// </summary>
    public int MaxQueueLengthPerKey { get; set; } = int.MaxValue;

    /// <summary>
    /// How many holders one key may have at once across every instance sharing the database (a distributed keyed
    /// semaphore); 1 (the default) is a mutex. With N &gt; 1 each key has N advisory-lock slots and a turnstile that
    /// queues the waiters of all instances in arrival order; every holder has its own connection and fencing token.
    /// Every instance must use the same value. Between 1 and 1024.
    /// </summary>
    public int MaxConcurrencyPerKey { get; set; } = 1;

    /// <summary>
    /// An opt-in diagnostic: whether acquiring a key that the current async flow already holds throws
    /// <see cref="KeyedLockRecursionException"/> instead of waiting. Default <see langword="false"/>: an
    /// <c>AsyncLocal</c> is inherited by child tasks, so it cannot tell "awaits itself" from "a task it started waits
    /// its turn", and the defaults never reject a correct program.
    /// </summary>
    public bool DetectReentrancy { get; set; }

    /// <summary>Throws when an option is out of range.</summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(KeyNamespace, nameof(KeyNamespace));

        // A keyed semaphore's slot and turnstile locks live in the namespaces "<namespace>\0slot<i>" and
        // "<namespace>\0turnstile": a namespace with a NUL could be one of them, and share their locks.
        if (KeyNamespace.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("KeyNamespace must not contain a NUL character.", nameof(KeyNamespace));
        }
        if (!SequenceNamePattern().IsMatch(FencingSequenceName ?? string.Empty))
        {
            throw new ArgumentException($"FencingSequenceName '{FencingSequenceName}' must be an identifier or schema.identifier made of letters, digits and underscores.", nameof(FencingSequenceName));
        }

        // The timers count whole milliseconds: a shorter interval would round to 0 (a timer that fires once, a grace
        // that is over at once), and every lease held longer than one interval would be taken for lost.
        if (LostLockCheckInterval != Timeout.InfiniteTimeSpan && (LostLockCheckInterval < TimeSpan.FromMilliseconds(1) || LostLockCheckInterval > TimeSpan.FromDays(1)))
        {
            throw new ArgumentOutOfRangeException(nameof(LostLockCheckInterval), LostLockCheckInterval, "LostLockCheckInterval must be between 1 ms and a day, or Timeout.InfiniteTimeSpan.");
        }

        if (ProbeTimeout < TimeSpan.FromMilliseconds(1) || ProbeTimeout > TimeSpan.FromHours(1))
        {
            throw new ArgumentOutOfRangeException(nameof(ProbeTimeout), ProbeTimeout, "ProbeTimeout must be between 1 ms and an hour.");
        }

        if (MaxConcurrencyPerKey is < 1 or > 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConcurrencyPerKey), MaxConcurrencyPerKey, "MaxConcurrencyPerKey must be between 1 and 1024.");
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
