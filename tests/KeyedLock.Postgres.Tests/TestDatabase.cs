using Npgsql;

namespace KeyedLock.Postgres.Tests;

/// <summary>The PostgreSQL the tests run against, and helpers to look into it.</summary>
internal static class TestDatabase
{
    internal static string? RawConnectionString => Environment.GetEnvironmentVariable("KEYEDLOCK_PG_CONNECTION");

    internal static bool IsConfigured => !string.IsNullOrWhiteSpace(RawConnectionString);

    internal static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    internal static string ConnectionString => IsConfigured
        ? RawConnectionString!
        : throw new InvalidOperationException("KEYEDLOCK_PG_CONNECTION is not set but CI=true: the PostgreSQL tests must run in CI. Run them through ./build.sh test.");

    /// <summary>A data source whose connections carry <paramref name="applicationName"/> (visible in pg_stat_activity).</summary>
    internal static NpgsqlDataSource CreateDataSource(string applicationName, Action<NpgsqlConnectionStringBuilder>? configure = null)
    {
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString) { ApplicationName = applicationName };
        configure?.Invoke(builder);
        return NpgsqlDataSource.Create(builder);
    }

    internal static string UniqueName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(60, prefix.Length + 33)];

    /// <summary>Sessions waiting (not granted) for the advisory lock <paramref name="lockId"/>.</summary>
    internal static Task<long> CountWaitersAsync(NpgsqlDataSource monitor, long lockId) => CountLocksAsync(monitor, lockId, granted: false);

    /// <summary>Sessions holding the advisory lock <paramref name="lockId"/>.</summary>
    internal static Task<long> CountHoldersAsync(NpgsqlDataSource monitor, long lockId) => CountLocksAsync(monitor, lockId, granted: true);

    internal static async Task<long> CountLocksAsync(NpgsqlDataSource monitor, long lockId, bool granted)
    {
        await using var command = monitor.CreateCommand(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND granted = @granted " +
            "AND ((classid::bigint << 32) | objid::bigint) = @id");
        command.Parameters.AddWithValue("granted", granted);
        command.Parameters.AddWithValue("id", lockId);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>The backend pid holding the advisory lock <paramref name="lockId"/>.</summary>
    internal static async Task<int> HolderPidAsync(NpgsqlDataSource monitor, long lockId)
    {
        await using var command = monitor.CreateCommand(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND granted " +
            "AND ((classid::bigint << 32) | objid::bigint) = @id");
        command.Parameters.AddWithValue("id", lockId);
        return (int)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>The backend pid of <paramref name="applicationName"/> that holds an advisory lock.</summary>
    internal static async Task<int> HolderPidOfApplicationAsync(NpgsqlDataSource monitor, string applicationName)
    {
        await using var command = monitor.CreateCommand(
            "SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid " +
            "WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = @app");
        command.Parameters.AddWithValue("app", applicationName);
        return (int)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Backends of <paramref name="applicationName"/> that hold or wait for any advisory lock.</summary>
    internal static async Task<long> CountLockingSessionsAsync(NpgsqlDataSource monitor, string applicationName)
    {
        await using var command = monitor.CreateCommand(
            "SELECT count(DISTINCT l.pid) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid " +
            "WHERE l.locktype = 'advisory' AND a.application_name = @app");
        command.Parameters.AddWithValue("app", applicationName);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>All connections of <paramref name="applicationName"/> to the server (busy or idle in the pool).</summary>
    internal static async Task<long> CountConnectionsAsync(NpgsqlDataSource monitor, string applicationName)
    {
        await using var command = monitor.CreateCommand("SELECT count(*) FROM pg_stat_activity WHERE application_name = @app");
        command.Parameters.AddWithValue("app", applicationName);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
