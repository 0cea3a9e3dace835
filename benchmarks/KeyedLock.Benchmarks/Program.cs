using BenchmarkDotNet.Running;
using KeyedLock.Benchmarks;

// dotnet run -c Release --project benchmarks/KeyedLock.Benchmarks -- --filter '*'   (BenchmarkDotNet; see docs/benchmarks.md)
// dotnet run -c Release --project benchmarks/KeyedLock.Benchmarks -- --leak-check  (1M distinct keys: Count == 0, heap back)
// dotnet run -c Release --project benchmarks/KeyedLock.Benchmarks -- --fifo-check  (grant order of scenario (b) per contender)
// dotnet run -c Release --project benchmarks/KeyedLock.Benchmarks -- --redis-report (Redis hand-off latency, commands per acquisition)
// dotnet run -c Release --project benchmarks/KeyedLock.Benchmarks -- --redis-capacity (acquisitions/s one redis-server sustains)
// dotnet run -c Release --project benchmarks/KeyedLock.Benchmarks -- --redis-split [--with-redlock]  (uncontended Redis time split: round trips, server work, client code)
// dotnet run -c Release --project benchmarks/KeyedLock.Benchmarks -- --postgres-compare  (KeyedLock.Postgres vs DistributedLock.Postgres)
// dotnet run -c Release --project benchmarks/KeyedLock.Benchmarks -- --core-compare  (Core scenarios (a) and (b), contenders interleaved, one process each)
if (args.Contains("--leak-check"))
{
    return await LeakCheck.RunAsync();
}

if (args.Contains("--redis-report"))
{
    return await RedisReport.RunAsync();
}

if (args.Contains("--redis-capacity"))
{
    return await RedisCapacity.RunAsync();
}

if (args.Contains("--postgres-compare"))
{
    return await PostgresComparison.RunAsync();
}

if (args.Contains("--redis-split"))
{
    return await RedisSplit.RunAsync(args.Contains("--with-redlock"));
}

if (args.Contains("--core-compare"))
{
    return await CoreComparison.RunAsync(args);
}

if (args.Contains("--fifo-check"))
{
    return await FifoCheck.RunAsync();
}

var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
