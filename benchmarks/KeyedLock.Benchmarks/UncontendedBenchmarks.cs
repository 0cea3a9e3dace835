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
public class UncontendedBenchmarks
{
    public const int KeyCount = 1024;

    private readonly string[] _keys = Enumerable.Range(0, KeyCount).Select(i => $"tenant-{i:D4}").ToArray();
    private readonly SemaphoreSlim _semaphore = new(1, 1);
    private ConcurrentDictionary<string, SemaphoreSlim> _naive = null!;
    private PartitionedRateLimiter<string> _rateLimiter = null!;
    private KeyedLockRegistry _registry = null!;
    private KeyedLockRegistry _registryNoReentrancy = null!;

    [GlobalSetup]
    public void Setup()
    {
        _naive = Contenders.CreateNaiveDictionary();
        _rateLimiter = Contenders.CreateRateLimiter();
        _registry = Contenders.CreateRegistry(detectReentrancy: true);
        _registryNoReentrancy = Contenders.CreateRegistry(detectReentrancy: false);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        if (_registry.Count != 0 || _registryNoReentrancy.Count != 0)
        {
            throw new InvalidOperationException("A registry still holds keys after the benchmark.");
        }

        _rateLimiter.Dispose();
        _registry.Dispose();
        _registryNoReentrancy.Dispose();
    }

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
            var semaphore = Contenders.GetNaive(_naive, keys[i]);
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
            var lease = await _rateLimiter.AcquireAsync(keys[i]);
            if (!lease.IsAcquired)
            {
                throw new InvalidOperationException("The rate limiter rejected an uncontended request.");
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
            var lease = await _registry.AcquireAsync(keys[i]);
            lease.Dispose();
        }
    }

    [Benchmark(OperationsPerInvoke = KeyCount, Description = "KeyedLockRegistry (DetectReentrancy=false)")]
    public async Task RegistryNoReentrancy()
    {
        var keys = _keys;
        for (var i = 0; i < keys.Length; i++)
        {
            var lease = await _registryNoReentrancy.AcquireAsync(keys[i]);
            lease.Dispose();
        }
    }
}
