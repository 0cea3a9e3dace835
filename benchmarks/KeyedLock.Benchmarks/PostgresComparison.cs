using System.Diagnostics;
using KeyedLock;
using KeyedLock.Postgres;
using Medallion.Threading;
using Medallion.Threading.Postgres;
using Npgsql;

namespace KeyedLock.Benchmarks;

/// <summary>
/// <c>--postgres-compare</c>: KeyedLock.Postgres and DistributedLock.Postgres side by side in one run, on one
/// PostgreSQL (KEYEDLOCK_PG_CONNECTION), each on its own data source: uncontended acquire + release latency (mean,
/// p50, p99 of single operations), throughput of 16 workers on distinct keys, and one hot key with 64 waiters in one
/// process (throughput, peak connections of the contender, grants out of arrival order). The percentiles and the
/// connection and order counts need per-operation data, which BenchmarkDotNet does not report; the means are
/// cross-checked by <see cref="PostgresBenchmarks"/>.
/// </summary>
internal static class PostgresComparison
{
    private const int Warmup = 300;
    private const int Samples = 3000;
    private const int Workers = 16;
    private const int HotWaiters = 64;
    private const int HotRounds = 20;
    private static readonly TimeSpan ThroughputDuration = TimeSpan.FromSeconds(3);

    public static async Task<int> RunAsync()
    {
        var connectionString = Environment.GetEnvironmentVariable("KEYEDLOCK_PG_CONNECTION")
            ?? throw new InvalidOperationException("Set KEYEDLOCK_PG_CONNECTION to run the PostgreSQL comparison.");
        await using var monitor = NpgsqlDataSource.Create(connectionString);
        var contenders = new List<Contender>();
        try
        {
            contenders.Add(KeyedLockContender(connectionString));
            contenders.Add(DistributedLockContender(connectionString));
            Console.WriteLine("| contender | uncontended mean | p50 | p99 | 16 workers, distinct keys | hot key (64 waiters) | peak connections (hot key) | grants out of arrival order |");
            Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
            // Interleaved, one operation of each in turn, so that both see the same machine load.
            var latencies = await UncontendedAsync(contenders);
            foreach (var contender in contenders)
            {
                var (mean, p50, p99) = latencies[contender];
                var throughput = await DistinctKeysAsync(contender);
                var (hotThroughput, peak, outOfOrder) = await HotKeyAsync(contender, monitor);
                Console.WriteLine($"| {contender.Name} | {mean:0} µs | {p50:0} µs | {p99:0} µs | {throughput:N0} /s | {hotThroughput:N0} grants/s | {peak} | {outOfOrder} of {HotWaiters * HotRounds} |");
            }
        }
        finally
        {
            foreach (var contender in contenders)
            {
                await contender.DisposeAsync();
            }
        }

        return 0;
    }

    private static Contender KeyedLockContender(string connectionString)
    {
        var app = "bench-keyedlock-" + Guid.NewGuid().ToString("N")[..8];
        // As UsePostgres(connectionString) builds its own pool: No Reset On Close (the provider leaves no session state).
        var dataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = app, MaxPoolSize = 100, NoResetOnClose = true });
        var provider = new PostgresKeyedLockProvider(dataSource, new PostgresKeyedLockOptions { KeyNamespace = app });
        return new Contender("KeyedLock.Postgres", app, dataSource, async key => await provider.AcquireAsync(key), async () =>
        {
            await provider.DisposeAsync();
            await dataSource.DisposeAsync();
        });
    }

    private static Contender DistributedLockContender(string connectionString)
    {
        var app = "bench-distributedlock-" + Guid.NewGuid().ToString("N")[..8];
        var dataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = app, MaxPoolSize = 100 });
        var provider = new PostgresDistributedSynchronizationProvider(dataSource);
        return new Contender("DistributedLock.Postgres 1.3.1", app, dataSource, async key => await provider.AcquireLockAsync(app + key), async () => await dataSource.DisposeAsync());
    }

    private static async Task<Dictionary<Contender, (double Mean, double P50, double P99)>> UncontendedAsync(List<Contender> contenders)
    {
        var stats = await Interleaved.MeasureAsync(
            contenders.Select(c => (Func<Task>)(async () => await (await c.Acquire("single")).DisposeAsync())).ToList(), Warmup, Samples);
        return contenders.Select((c, i) => (c, stats[i])).ToDictionary(p => p.c, p => (p.Item2.Mean, p.Item2.P50, p.Item2.P99));
    }

    private static async Task<double> DistinctKeysAsync(Contender contender)
    {
        long operations = 0;
        var stopAt = Stopwatch.GetTimestamp() + (long)(ThroughputDuration.TotalSeconds * Stopwatch.Frequency);
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, Workers).Select(w => Task.Run(async () =>
        {
            var key = "worker-" + w;
            while (Stopwatch.GetTimestamp() < stopAt)
            {
                await (await contender.Acquire(key)).DisposeAsync();
                Interlocked.Increment(ref operations);
            }
        })));
        return operations / Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    private static async Task<(double Throughput, long PeakConnections, int OutOfOrder)> HotKeyAsync(Contender contender, NpgsqlDataSource monitor)
    {
        // Connections opened by the earlier scenarios stay in the pool: close the idle ones, so that the peak counts
        // what the hot key needs (the pool keeps every connection it opens during the run).
        contender.DataSource.Clear();
        var gate = new object();
        var waiting = new SortedSet<long>();
        long nextArrival = 0;
        var outOfOrder = 0;
        using var stop = new CancellationTokenSource();
        long peak = 0;
        var sampling = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await using var command = monitor.CreateCommand("SELECT count(*) FROM pg_stat_activity WHERE application_name = @app");
                command.Parameters.AddWithValue("app", contender.ApplicationName);
                peak = Math.Max(peak, (long)(await command.ExecuteScalarAsync())!);
                await Task.Delay(2);
            }
        });

        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, HotWaiters).Select(_ => Task.Run(async () =>
        {
            for (var round = 0; round < HotRounds; round++)
            {
                long arrival;
                ValueTask<IAsyncDisposable> pending;
                lock (gate)
                {
                    arrival = nextArrival++;
                    waiting.Add(arrival);
                    pending = contender.Acquire("hot");
                }

                var lease = await pending;
                lock (gate)
                {
                    if (waiting.Min != arrival)
                    {
                        outOfOrder++;
                    }

                    waiting.Remove(arrival);
                }

                await lease.DisposeAsync();
            }
        })));
        var elapsed = Stopwatch.GetElapsedTime(started);
        await stop.CancelAsync();
        await sampling;
        return (HotWaiters * HotRounds / elapsed.TotalSeconds, peak, outOfOrder);
    }

    private sealed record Contender(string Name, string ApplicationName, NpgsqlDataSource DataSource, Func<string, ValueTask<IAsyncDisposable>> Acquire, Func<ValueTask> Dispose)
    {
        public ValueTask DisposeAsync() => Dispose();
    }
}
