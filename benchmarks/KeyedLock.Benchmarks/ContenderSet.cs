using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace KeyedLock.Benchmarks;

/// <summary>One instance of every keyed contender, created in a benchmark's setup and checked and disposed in its cleanup.</summary>
internal sealed class ContenderSet : IDisposable
{
    public ConcurrentDictionary<string, SemaphoreSlim> Naive { get; } = Contenders.CreateNaiveDictionary();

    public PartitionedRateLimiter<string> RateLimiter { get; } = Contenders.CreateRateLimiter();

    public ConcurrentDictionary<string, ConcurrencyLimiter> Limiters { get; } = Contenders.CreateLimiterDictionary();

    public KeyedLockRegistry Registry { get; } = Contenders.CreateRegistry();

    public KeyedLockRegistry RegistryDetecting { get; } = Contenders.CreateDetectingRegistry();

    /// <summary>Fails the run if a registry still holds keys (a leak), then disposes everything.</summary>
    public void Dispose()
    {
        if (Registry.Count != 0 || RegistryDetecting.Count != 0)
        {
            throw new InvalidOperationException("A registry still holds keys after the benchmark.");
        }

        RateLimiter.Dispose();
        foreach (var limiter in Limiters.Values)
        {
            limiter.Dispose();
        }

        Registry.Dispose();
        RegistryDetecting.Dispose();
    }
}
