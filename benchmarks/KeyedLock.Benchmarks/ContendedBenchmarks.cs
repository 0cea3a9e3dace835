using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using BenchmarkDotNet.Attributes;

namespace KeyedLock.Benchmarks;

/// <summary>
/// Scenario (b): 32 tasks on one key, each doing <see cref="Rounds"/> (200) times: acquire, <c>await Task.Yield()</c> inside
/// the lock, release. Every hand-off goes through the thread pool. Reported per acquisition
/// (OperationsPerInvoke = Tasks x Rounds); the 32 task state machines and the WhenAll of one invocation are included,
/// which adds the same ~1-2 B/op to every contender.
/// </summary>
[Config(typeof(QuickConfig))]
[MemoryDiagnoser]
public class ContendedBenchmarks : ICoreScenario
{
    public const int Tasks = 32;
    public const int Rounds = 200;
    private const int Operations = Tasks * Rounds;
    private const string Key = "order-42";

    private readonly Task[] _tasks = new Task[Tasks];
    private readonly SemaphoreSlim _semaphore = new(1, 1);
    private ContenderSet _contenders = null!;
    private int _inside;

    [GlobalSetup]
    public void Setup() => _contenders = new ContenderSet();

    [GlobalCleanup]
    public void Cleanup() => _contenders.Dispose();

    [Benchmark(Baseline = true, OperationsPerInvoke = Operations, Description = "SemaphoreSlim (bare, floor)")]
    public Task BareSemaphoreSlim() => RunAll(static self => self.SemaphoreWorker());

    [Benchmark(OperationsPerInvoke = Operations, Description = "ConcurrentDictionary<string,SemaphoreSlim> (naive, leaks)")]
    public Task NaiveDictionary() => RunAll(static self => self.NaiveWorker());

    [Benchmark(OperationsPerInvoke = Operations, Description = "PartitionedRateLimiter + ConcurrencyLimiter")]
    public Task RateLimiter() => RunAll(static self => self.LeaseWorker(static self => self._contenders.RateLimiter.AcquireAsync(Key)));

    [Benchmark(OperationsPerInvoke = Operations, Description = "ConcurrentDictionary<string,ConcurrencyLimiter> (per key, leaks)")]
    public Task LimiterPerKey() => RunAll(static self => self.LeaseWorker(static self => Contenders.GetLimiter(self._contenders.Limiters, Key).AcquireAsync()));

    [Benchmark(OperationsPerInvoke = Operations, Description = "KeyedLockRegistry (default)")]
    public Task Registry() => RunAll(static self => self.RegistryWorker(self._contenders.Registry));

    [Benchmark(OperationsPerInvoke = Operations, Description = "KeyedLockRegistry (DetectReentrancy=true, opt-in)")]
    public Task RegistryDetecting() => RunAll(static self => self.RegistryWorker(self._contenders.RegistryDetecting));

    /// <summary>Starts the workers one after the other on this thread: the first takes the key and yields, the rest queue.</summary>
    private Task RunAll(Func<ContendedBenchmarks, Task> worker)
    {
        for (var i = 0; i < _tasks.Length; i++)
        {
            _tasks[i] = worker(this);
        }

        return Task.WhenAll(_tasks);
    }

    private async Task SemaphoreWorker()
    {
        for (var round = 0; round < Rounds; round++)
        {
            await _semaphore.WaitAsync();
            Enter();
            await Task.Yield();
            Exit();
            _semaphore.Release();
        }
    }

    private async Task NaiveWorker()
    {
        for (var round = 0; round < Rounds; round++)
        {
            var semaphore = Contenders.GetNaive(_contenders.Naive, Key);
            await semaphore.WaitAsync();
            Enter();
            await Task.Yield();
            Exit();
            semaphore.Release();
        }
    }

    /// <summary>The worker of both System.Threading.RateLimiting contenders: acquire a lease, yield inside, release.</summary>
    private async Task LeaseWorker(Func<ContendedBenchmarks, ValueTask<RateLimitLease>> acquire)
    {
        for (var round = 0; round < Rounds; round++)
        {
            var lease = await acquire(this);
            if (!lease.IsAcquired)
            {
                throw new InvalidOperationException("The limiter rejected a queued request.");
            }

            Enter();
            await Task.Yield();
            Exit();
            lease.Dispose();
        }
    }

    private async Task RegistryWorker(KeyedLockRegistry registry)
    {
        for (var round = 0; round < Rounds; round++)
        {
            var lease = await registry.AcquireAsync(Key);
            Enter();
            await Task.Yield();
            Exit();
            lease.Dispose();
        }
    }

    /// <summary>Entering the critical section (which yields to the thread pool): checks that nobody else is inside.</summary>
    private void Enter()
    {
        if (Interlocked.Increment(ref _inside) != 1)
        {
            throw new InvalidOperationException("Two holders inside the lock at once.");
        }
    }

    private void Exit() => Interlocked.Decrement(ref _inside);
}
