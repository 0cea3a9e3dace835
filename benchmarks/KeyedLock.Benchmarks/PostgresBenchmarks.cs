using BenchmarkDotNet.Attributes;
using KeyedLock;
using KeyedLock.Postgres;
using Npgsql;

/// <summary>
/// PostgreSQL provider on loopback: acquire + release latency (one key, no contention), throughput with many keys
/// in parallel, and a hand-off under contention between two instances. Needs KEYEDLOCK_PG_CONNECTION.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class PostgresBenchmarks
{
    private const int ParallelKeys = 16;
    private const int ContendedOps = 32;

    private NpgsqlDataSource? _dataSourceA;
    private NpgsqlDataSource? _dataSourceB;
    private PostgresKeyedLockProvider _a = null!;
    private PostgresKeyedLockProvider _b = null!;
    private string[] _keys = null!;

    [GlobalSetup]
    public void Setup()
    {
        var connectionString = Environment.GetEnvironmentVariable("KEYEDLOCK_PG_CONNECTION")
            ?? throw new InvalidOperationException("Set KEYEDLOCK_PG_CONNECTION (e.g. Host=127.0.0.1;Port=5432;Username=postgres) to run the PostgreSQL benchmarks.");
        var options = new PostgresKeyedLockOptions { KeyNamespace = "bench-" + Guid.NewGuid().ToString("N") };
        _dataSourceA = NpgsqlDataSource.Create(connectionString);
        _dataSourceB = NpgsqlDataSource.Create(connectionString);
        _a = new PostgresKeyedLockProvider(_dataSourceA, options);
        _b = new PostgresKeyedLockProvider(_dataSourceB, options);
        _keys = Enumerable.Range(0, ParallelKeys).Select(i => "key-" + i).ToArray();
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        await _dataSourceA!.DisposeAsync();
        await _dataSourceB!.DisposeAsync();
    }

    /// <summary>One acquire + release of a free key: open (pooled) connection, pg_advisory_lock, unlock, return.</summary>
    [Benchmark(Baseline = true)]
    public async Task Uncontended_AcquireRelease()
    {
        var lease = await _a.AcquireAsync("single");
        await lease.DisposeAsync();
    }

    /// <summary>16 different keys at once (one connection each): per-operation cost under parallel load.</summary>
    [Benchmark(OperationsPerInvoke = ParallelKeys)]
    public Task Parallel16Keys_AcquireRelease()
    {
        var tasks = new Task[ParallelKeys];
        for (var i = 0; i < tasks.Length; i++)
        {
            tasks[i] = AcquireRelease(_a, _keys[i]);
        }

        return Task.WhenAll(tasks);
    }

    /// <summary>32 requests for one key spread over two instances: the cost of one hand-off through PostgreSQL.</summary>
    [Benchmark(OperationsPerInvoke = ContendedOps)]
    public Task Contended_OneKey_TwoInstances()
    {
        var tasks = new Task[ContendedOps];
        for (var i = 0; i < tasks.Length; i++)
        {
            tasks[i] = AcquireRelease(i % 2 == 0 ? _a : _b, "contended");
        }

        return Task.WhenAll(tasks);
    }

    private static async Task AcquireRelease(IKeyedLockProvider provider, string key)
    {
        var lease = await provider.AcquireAsync(key);
        await lease.DisposeAsync();
    }
}
