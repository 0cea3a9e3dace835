using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace KeyedLock.Benchmarks;

/// <summary>One instance of every keyed contender, created in a benchmark's setup and checked and disposed in its cleanup.</summary>
internal sealed class ContenderSet : IDisposable
{
    public ConcurrentDictionary<string, SemaphoreSlim> Naive { get; } = Contenders.CreateNaiveDictionary();

    public PartitionedRateLimiter<string> RateLimiter { get; } = Contenders.CreateRateLimiter();

    public KeyedLockRegistry Registry { get; } = Contenders.CreateRegistry(detectReentrancy: true);

    public KeyedLockRegistry RegistryNoReentrancy { get; } = Contenders.CreateRegistry(detectReentrancy: false);

    /// <summary>Fails the run if a registry still holds keys (a leak), then disposes everything.</summary>
    public void Dispose()
    {
        if (Registry.Count != 0 || RegistryNoReentrancy.Count != 0)
        {
            throw new InvalidOperationException("A registry still holds keys after the benchmark.");
        }

        RateLimiter.Dispose();
        Registry.Dispose();
        RegistryNoReentrancy.Dispose();
    }
}
