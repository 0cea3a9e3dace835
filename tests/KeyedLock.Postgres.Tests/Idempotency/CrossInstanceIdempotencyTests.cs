using KeyedLock.AspNetCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace KeyedLock.Postgres.Tests.Idempotency;

/// <summary>
/// Two app instances (two hosts, each with its own data source, lock provider and store) on one database: a duplicate
/// sent to the other instance is serialized by the advisory lock and answered from the shared table.
/// </summary>
public sealed class CrossInstanceIdempotencyTests : PostgresTestBase
{
    private readonly string _table = "idem_" + Guid.NewGuid().ToString("N");
    private readonly CrossInstanceIdempotency _scenarios;
    private bool _dropsTable;

    public CrossInstanceIdempotencyTests() => _scenarios = new(d => Track(d));

    [PostgresFact]
    public async Task ResponseCompletedOnOneInstance_IsReplayedByteForByte_ByTheOther()
        => await _scenarios.ReplayedByteForByteAsync((await StartInstanceAsync("a")).Instance, (await StartInstanceAsync("b")).Instance);

    [PostgresFact]
    public async Task DuplicateOnTheOtherInstance_WhileTheOriginalRuns_WaitsForItAndGetsTheReplay()
    {
        var a = await StartInstanceAsync("a");
        var b = await StartInstanceAsync("b");

        // b waits in PostgreSQL for the advisory lock that a holds.
        await _scenarios.DuplicateWaitsForTheOriginalAsync(
            a.Instance,
            b.Instance,
            () => TestWait.UntilAsync(() => TestDatabase.CountLockingSessionsAsync(Monitor, b.ApplicationName), 1, "instance b waits for the idempotency key"));
    }

    [PostgresFact]
    public async Task SameKey_DifferentRequest_OnTheOtherInstance_Gets422()
        => await _scenarios.DifferentRequestGets422Async((await StartInstanceAsync("a")).Instance, (await StartInstanceAsync("b")).Instance);

    [PostgresFact]
    public async Task ProviderDisposedWhileRequestsWait_TheyGet503_NotA500()
        => await _scenarios.DisposedWhileRequestsWaitAsync(
            (await StartInstanceAsync("a")).Instance,
            services => services.GetRequiredService<PostgresKeyedLockProvider>().WaitingKeys);

    private async Task<(CrossInstanceIdempotency.Instance Instance, string ApplicationName)> StartInstanceAsync(string name)
    {
        var applicationName = TestDatabase.UniqueName("idem-" + name);
        var dataSource = Track(TestDatabase.CreateDataSource(applicationName));
        if (!_dropsTable)
        {
            // Disposed in reverse order: the instances stop, then the table is dropped, then the monitor pool goes.
            _dropsTable = true;
            Track(new DropTable(Monitor, _table));
        }

        var instance = await _scenarios.StartInstanceAsync(name, services => services.AddKeyedSerialization()
            .UsePostgres(dataSource, o => o.KeyNamespace = Namespace)
            .UsePostgresIdempotencyStore(dataSource, o => o.TableName = _table));

        // Create the table now, so that its DDL advisory lock never shows up while a test watches pg_locks.
        await instance.App.Services.GetRequiredService<PostgresIdempotencyStore>().EnsureTableAsync().AsTask().Bounded();
        return (instance, applicationName);
    }

    private sealed class DropTable(NpgsqlDataSource monitor, string table) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await using var drop = monitor.CreateCommand($"DROP TABLE IF EXISTS {table}");
            await drop.ExecuteNonQueryAsync();
        }
    }
}
