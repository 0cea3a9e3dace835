using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;

namespace KeyedLock.Benchmarks;

/// <summary>
/// The Redis locks side by side in one run on one loopback redis-server: (1) acquire + release of a free key;
/// (2) one hot key, 64 waiters in one process (per acquisition). Hand-off latency and Redis commands per acquisition
/// are measured by <see cref="RedisReport"/> (<c>--redis-report</c>). Needs KEYEDLOCK_REDIS_CONNECTION.
/// </summary>
[Config(typeof(InProcessQuickConfig))]
public class RedisBenchmarks
{
    private const int HotKeyWaiters = 64;

    private RedisContenders _contenders = null!;

    // Synchronous: the in-process toolchain does not await an async GlobalSetup.
    [GlobalSetup]
    public void Setup() => _contenders = RedisContenders.CreateAsync().GetAwaiter().GetResult();

    [GlobalCleanup]
    public void Cleanup() => _contenders.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(Baseline = true, Description = "KeyedLock.Redis uncontended")]
    public Task KeyedLockRedis_Uncontended() => _contenders.KeyedAsync(_contenders.KeyedA, "free");

    [Benchmark(Description = "DistributedLock.Redis uncontended")]
    public Task DistributedLockRedis_Uncontended() => _contenders.DistributedLockAsync("free");

    [Benchmark(Description = "RedLock.net uncontended")]
    public Task RedLockNet_Uncontended() => _contenders.RedLockAsync("free");

    [Benchmark(OperationsPerInvoke = HotKeyWaiters, Description = "KeyedLock.Redis hot key, 64 waiters")]
    public Task KeyedLockRedis_HotKey64() => HotKey(() => _contenders.KeyedAsync(_contenders.KeyedA, "hot"));

    [Benchmark(OperationsPerInvoke = HotKeyWaiters, Description = "DistributedLock.Redis hot key, 64 waiters")]
    public Task DistributedLockRedis_HotKey64() => HotKey(() => _contenders.DistributedLockAsync("hot"));

    [Benchmark(OperationsPerInvoke = HotKeyWaiters, Description = "RedLock.net hot key, 64 waiters")]
    public Task RedLockNet_HotKey64() => HotKey(() => _contenders.RedLockAsync("hot"));

    private static Task HotKey(Func<Task> acquireRelease)
    {
        var tasks = new Task[HotKeyWaiters];
        for (var i = 0; i < tasks.Length; i++)
        {
            tasks[i] = Task.Run(acquireRelease);
        }

        return Task.WhenAll(tasks);
    }
}

/// <summary>
/// <see cref="QuickConfig"/>'s job (1 launch, 6 warm-ups, 8 iterations of 250 ms), run in process: on the shared
/// machine BenchmarkDotNet's build of its boilerplate project ran past its 2-minute timeout. Network-bound
/// benchmarks lose nothing to the in-process toolchain.
/// </summary>
public sealed class InProcessQuickConfig : ManualConfig
{
    public InProcessQuickConfig()
    {
        AddJob(Job.Default
            .WithId("QuickInProcess")
            .WithLaunchCount(1)
            .WithWarmupCount(6)
            .WithIterationCount(8)
            .WithIterationTime(TimeInterval.FromMilliseconds(250))
            .WithToolchain(InProcessEmitToolchain.Instance));
        AddDiagnoser(MemoryDiagnoser.Default);
        AddColumn(StatisticColumn.Min, StatisticColumn.Median);
        WithOrderer(new BenchmarkDotNet.Order.DefaultOrderer(BenchmarkDotNet.Order.SummaryOrderPolicy.Declared));
    }
}
