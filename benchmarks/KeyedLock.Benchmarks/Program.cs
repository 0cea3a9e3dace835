using BenchmarkDotNet.Running;
using KeyedLock.Benchmarks;

// dotnet run -c Release --project benchmarks/KeyedLock.Benchmarks -- --filter '*'   (BenchmarkDotNet; see docs/benchmarks.md)
// dotnet run -c Release --project benchmarks/KeyedLock.Benchmarks -- --leak-check  (1M distinct keys: Count == 0, heap back)
// dotnet run -c Release --project benchmarks/KeyedLock.Benchmarks -- --fifo-check  (grant order of scenario (b) per contender)
// dotnet run -c Release --project benchmarks/KeyedLock.Benchmarks -- --postgres-compare  (KeyedLock.Postgres vs DistributedLock.Postgres)
if (args.Contains("--leak-check"))
{
    return await LeakCheck.RunAsync();
}

if (args.Contains("--postgres-compare"))
{
    return await PostgresComparison.RunAsync();
}

if (args.Contains("--fifo-check"))
{
    return await FifoCheck.RunAsync();
}

var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
