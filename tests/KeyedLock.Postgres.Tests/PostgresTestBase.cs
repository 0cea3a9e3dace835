using System.Diagnostics.Metrics;
using Npgsql;

namespace KeyedLock.Postgres.Tests;

/// <summary>
/// Creates providers ("app instances") on their own data sources, all in one fresh key namespace so that tests
/// running in parallel never share a lock, and disposes everything afterwards.
/// </summary>
public abstract class PostgresTestBase : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _disposables = [];
    private NpgsqlDataSource? _monitor;

    protected string Namespace { get; } = $"test-{Guid.NewGuid():N}";

    /// <summary>A separate connection pool to observe the server (pg_locks, pg_stat_activity).</summary>
    protected NpgsqlDataSource Monitor => _monitor ??= Track(TestDatabase.CreateDataSource("keyedlock-tests-monitor"));

    /// <summary>One app instance: a provider on its own data source (its own pool and application name).</summary>
    protected PostgresKeyedLockProvider CreateInstance(Action<PostgresKeyedLockOptions>? configure = null, string? applicationName = null, Action<NpgsqlConnectionStringBuilder>? connection = null, IMeterFactory? meterFactory = null)
    {
        var options = new PostgresKeyedLockOptions { KeyNamespace = Namespace };
        configure?.Invoke(options);
        var dataSource = Track(TestDatabase.CreateDataSource(applicationName ?? TestDatabase.UniqueName("kl"), connection));
        return Track(new PostgresKeyedLockProvider(dataSource, options, meterFactory: meterFactory));
    }

    protected T Track<T>(T disposable)
        where T : IAsyncDisposable
    {
        _disposables.Add(disposable);
        return disposable;
    }

    // TestDatabase.ConnectionString fails clearly (in CI) when a test needs PostgreSQL and it is missing.
    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        for (var i = _disposables.Count - 1; i >= 0; i--)
        {
            await _disposables[i].DisposeAsync();
        }
    }
}
