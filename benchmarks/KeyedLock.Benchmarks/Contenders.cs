using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace KeyedLock.Benchmarks;

/// <summary>Builds the contenders compared in every scenario, configured the same way everywhere.</summary>
internal static class Contenders
{
    /// <summary>ASP.NET Core's partitioned rate limiter used as a keyed mutex: one FIFO ConcurrencyLimiter (1 permit) per key.</summary>
    public static PartitionedRateLimiter<string> CreateRateLimiter()
        => PartitionedRateLimiter.Create<string, string>(static key => RateLimitPartition.GetConcurrencyLimiter(
            key,
            static _ => new ConcurrencyLimiterOptions
            {
                PermitLimit = 1,
                QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                QueueLimit = int.MaxValue,
            }));

    /// <summary>The naive keyed lock: a semaphore per key, created on first use and never removed (it leaks).</summary>
    public static ConcurrentDictionary<string, SemaphoreSlim> CreateNaiveDictionary() => new(StringComparer.Ordinal);

    public static SemaphoreSlim GetNaive(ConcurrentDictionary<string, SemaphoreSlim> dictionary, string key)
        => dictionary.GetOrAdd(key, static _ => new SemaphoreSlim(1, 1));

    public static KeyedLockRegistry CreateRegistry(bool detectReentrancy)
        => new(new KeyedLockOptions { DetectReentrancy = detectReentrancy });
}
