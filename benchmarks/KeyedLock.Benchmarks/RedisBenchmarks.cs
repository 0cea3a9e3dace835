using BenchmarkDotNet.Attributes;

namespace KeyedLock.Benchmarks;

/// <summary>
/// The Redis locks side by side in one run on one loopback redis-server: (1) acquire + release of a free key;
/// (2) one hot key, 64 waiters in one process (per acquisition). Hand-off latency and Redis commands per acquisition
/// are measured by <see cref="RedisReport"/> (<c>--redis-report</c>). Needs KEYEDLOCK_REDIS_CONNECTION.
/// </summary>
[Config(typeof(QuickConfig))]
public class RedisBenchmarks
{
    private const int HotKeyWaiters = 64;

    private RedisContenders _contenders = null!;

    [GlobalSetup]
    public async Task Setup() => _contenders = await RedisContenders.CreateAsync();

    [GlobalCleanup]
    public async Task Cleanup() => await _contenders.DisposeAsync();

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
