namespace KeyedLock.Postgres.Internal;

/// <summary>The SQL the provider sends. Every statement is parameterized except the validated sequence name.</summary>
internal static class PostgresSql
{
    /// <summary>Sets the lock wait bound for the implicit transaction of the batch (<c>SET LOCAL</c>).</summary>
    internal const string SetTimeouts = "SELECT pg_catalog.set_config('lock_timeout', @lock_timeout, true), pg_catalog.set_config('statement_timeout', '0', true)";

    internal const string Lock = "SELECT pg_catalog.pg_advisory_lock(@key)";

    /// <summary>Releases every session-level advisory lock of the connection: also one granted in a race with a timeout or a cancellation.</summary>
    internal const string UnlockAll = "SELECT pg_catalog.pg_advisory_unlock_all()";

    internal const string Probe = "SELECT 1";

    internal static string NextFencingToken(string sequence) => $"SELECT pg_catalog.nextval('{sequence}')";

    /// <summary>Zero timeout: never waits, and (like every other request) never barges past queued waiters. 0 = not granted.</summary>
    internal static string TryLock(string? sequence) => sequence is null
        ? "SELECT CASE WHEN pg_catalog.pg_try_advisory_lock(@key) THEN 1::bigint ELSE 0::bigint END"
        : $"SELECT CASE WHEN pg_catalog.pg_try_advisory_lock(@key) THEN pg_catalog.nextval('{sequence}') ELSE 0::bigint END";

    internal static string CreateSequence(string sequence) => $"CREATE SEQUENCE IF NOT EXISTS {sequence} CACHE 1";
}
