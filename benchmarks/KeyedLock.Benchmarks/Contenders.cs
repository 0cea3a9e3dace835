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

    /// <summary>
    /// The framework's <see cref="ConcurrencyLimiter"/> used directly as a keyed mutex: one limiter per key (PermitLimit 1,
    /// OldestFirst, unbounded queue) in a dictionary, created on first use and never removed (it leaks, like the naive one).
    /// </summary>
    public static ConcurrentDictionary<string, ConcurrencyLimiter> CreateLimiterDictionary() => new(StringComparer.Ordinal);

    public static ConcurrencyLimiter GetLimiter(ConcurrentDictionary<string, ConcurrencyLimiter> dictionary, string key)
        => dictionary.GetOrAdd(key, static _ => new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = 1,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            QueueLimit = int.MaxValue,
        }));

    /// <summary>The naive keyed lock: a semaphore per key, created on first use and never removed (it leaks).</summary>
    public static ConcurrentDictionary<string, SemaphoreSlim> CreateNaiveDictionary() => new(StringComparer.Ordinal);

    public static SemaphoreSlim GetNaive(ConcurrentDictionary<string, SemaphoreSlim> dictionary, string key)
        => dictionary.GetOrAdd(key, static _ => new SemaphoreSlim(1, 1));

    /// <summary>The registry with default options: what <c>new KeyedLockRegistry()</c> and <c>AddKeyedLock()</c> give.</summary>
    public static KeyedLockRegistry CreateRegistry() => new();

    /// <summary>The registry with the opt-in re-entrancy diagnostic, for reference.</summary>
    public static KeyedLockRegistry CreateDetectingRegistry() => new(new KeyedLockOptions { DetectReentrancy = true });
}
