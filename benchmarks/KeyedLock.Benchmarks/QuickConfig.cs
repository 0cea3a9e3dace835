using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using Perfolizer.Horology;

namespace KeyedLock.Benchmarks;

/// <summary>
/// The job every benchmark here runs with: one process, 6 warm-up and 8 measured iterations of about 250 ms each.
/// Enough to compare contenders that differ by 2x or more within a few minutes; not enough to resolve a few percent.
/// </summary>
public sealed class QuickConfig : ManualConfig
{
    public QuickConfig()
    {
        AddJob(Job.Default
            .WithId("Quick")
            .WithLaunchCount(1)
            .WithWarmupCount(6)
            .WithIterationCount(8)
            .WithIterationTime(TimeInterval.FromMilliseconds(250)));
        AddDiagnoser(MemoryDiagnoser.Default);
        AddColumn(StatisticColumn.Min, StatisticColumn.Median);
        WithOrderer(new BenchmarkDotNet.Order.DefaultOrderer(BenchmarkDotNet.Order.SummaryOrderPolicy.Declared));

        // Building the generated project takes minutes on a loaded 2-core machine; the default 2-minute limit
        // killed whole runs there.
        WithBuildTimeout(TimeSpan.FromMinutes(15));
    }
}
