using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using BenchmarkDotNet.Attributes;

namespace KeyedLock.Benchmarks;

/// <summary>
/// Scenario (a): uncontended acquire + release over 1024 rotating keys; each operation takes the next key.
/// One invocation is one pass over all keys, reported per operation (OperationsPerInvoke).
/// </summary>
[Config(typeof(QuickConfig))]
[MemoryDiagnoser]
public class UncontendedBenchmarks : ICoreScenario
{
    public const int KeyCount = 1024;

    private readonly string[] _keys = Enumerable.Range(0, KeyCount).Select(i => $"tenant-{i:D4}").ToArray();
    private readonly SemaphoreSlim _semaphore = new(1, 1);
    private ContenderSet _contenders = null!;

    [GlobalSetup]
    public void Setup() => _contenders = new ContenderSet();

    [GlobalCleanup]
    public void Cleanup() => _contenders.Dispose();

    /// <summary>The floor: one bare SemaphoreSlim, WaitAsync() + Release(), no key lookup at all.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = KeyCount, Description = "SemaphoreSlim (bare, floor)")]
    public async Task BareSemaphoreSlim()
    {
        var semaphore = _semaphore;
        for (var i = 0; i < KeyCount; i++)
        {
            await semaphore.WaitAsync();
            semaphore.Release();
        }
    }

    [Benchmark(OperationsPerInvoke = KeyCount, Description = "ConcurrentDictionary<string,SemaphoreSlim> (naive, leaks)")]
    public async Task NaiveDictionary()
    {
        var keys = _keys;
        for (var i = 0; i < keys.Length; i++)
        {
            var semaphore = Contenders.GetNaive(_contenders.Naive, keys[i]);
            await semaphore.WaitAsync();
            semaphore.Release();
        }
    }

    [Benchmark(OperationsPerInvoke = KeyCount, Description = "PartitionedRateLimiter + ConcurrencyLimiter")]
    public async Task RateLimiter()
    {
        var keys = _keys;
        for (var i = 0; i < keys.Length; i++)
        {
            var lease = await _contenders.RateLimiter.AcquireAsync(keys[i]);
            if (!lease.IsAcquired)
            {
                throw new InvalidOperationException("The rate limiter rejected an uncontended request.");
            }

            lease.Dispose();
        }
    }

    [Benchmark(OperationsPerInvoke = KeyCount, Description = "ConcurrentDictionary<string,ConcurrencyLimiter> (per key, leaks)")]
    public async Task LimiterPerKey()
    {
        var keys = _keys;
        for (var i = 0; i < keys.Length; i++)
        {
            var lease = await Contenders.GetLimiter(_contenders.Limiters, keys[i]).AcquireAsync();
            if (!lease.IsAcquired)
            {
                throw new InvalidOperationException("The limiter rejected an uncontended request.");
            }

            lease.Dispose();
        }
    }

    [Benchmark(OperationsPerInvoke = KeyCount, Description = "KeyedLockRegistry (default)")]
    public async Task Registry()
    {
        var keys = _keys;
        for (var i = 0; i < keys.Length; i++)
        {
            var lease = await _contenders.Registry.AcquireAsync(keys[i]);
            lease.Dispose();
        }
    }

    [Benchmark(OperationsPerInvoke = KeyCount, Description = "KeyedLockRegistry (DetectReentrancy=true, opt-in)")]
    public async Task RegistryDetecting()
    {
        var keys = _keys;
        for (var i = 0; i < keys.Length; i++)
        {
            var lease = await _contenders.RegistryDetecting.AcquireAsync(keys[i]);
            lease.Dispose();
        }
    }
}
