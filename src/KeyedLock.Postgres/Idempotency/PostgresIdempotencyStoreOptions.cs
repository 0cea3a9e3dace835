using System.Text.RegularExpressions;

namespace KeyedLock.Postgres;

/// <summary>Options of a <see cref="PostgresIdempotencyStore"/>.</summary>
public sealed partial class PostgresIdempotencyStoreOptions
{
    /// <summary>
    /// The default <see cref="TableName"/>: <c>keyedlock_idempotency_v2</c> (opaque values; the <c>keyedlock_idempotency</c>
    /// table of earlier versions had another layout and is left alone).
    /// </summary>
    public const string DefaultTableName = "keyedlock_idempotency_v2";

    /// <summary>
    /// The table that holds the records, optionally schema-qualified (<c>schema.name</c>, plain identifiers only). It is
    /// created with <c>CREATE TABLE IF NOT EXISTS</c> (and an index on its expiry) on first use. App instances that
    /// replay each other's responses need the same table.
    /// </summary>
    public string TableName { get; set; } = DefaultTableName;

    /// <summary>
    /// How often expired records are deleted, at most: the first write after the interval deletes up to
    /// <see cref="CleanupBatchSize"/> of them. <see cref="Timeout.InfiniteTimeSpan"/> turns it off (call
    /// <see cref="PostgresIdempotencyStore.RemoveExpiredAsync"/> yourself). Default 5 minutes.
    /// </summary>
    public TimeSpan CleanupInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The most expired records one cleanup deletes (default 1000).</summary>
    public int CleanupBatchSize { get; set; } = 1000;

    /// <summary>Throws when an option is out of range.</summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    internal void Validate()
    {
        if (!TableNamePattern().IsMatch(TableName ?? string.Empty))
        {
            throw new ArgumentException($"TableName '{TableName}' must be an identifier or schema.identifier made of letters, digits and underscores.", nameof(TableName));
        }

        if (CleanupInterval != Timeout.InfiniteTimeSpan && CleanupInterval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(CleanupInterval), CleanupInterval, "CleanupInterval must be positive or Timeout.InfiniteTimeSpan.");
        }

        if (CleanupBatchSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(CleanupBatchSize), CleanupBatchSize, "CleanupBatchSize must be at least 1.");
        }
    }

    internal PostgresIdempotencyStoreOptions Clone() => (PostgresIdempotencyStoreOptions)MemberwiseClone();

    [GeneratedRegex("^([A-Za-z_][A-Za-z0-9_]{0,62}\\.)?[A-Za-z_][A-Za-z0-9_]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex TableNamePattern();
}
