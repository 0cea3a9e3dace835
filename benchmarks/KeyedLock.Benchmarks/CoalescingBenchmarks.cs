using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;

namespace KeyedLock.Benchmarks;

/// <summary>
/// Coalescing (single flight): <see cref="Callers"/> callers of one key while its factory is pending, then the factory
/// completes and every caller reads the shared result. Reported per burst; the cost of one caller that joins is
/// (burst of 100 - burst of 1) / 99. The factory's pending task (a TaskCompletionSource) is the same for every contender.
/// </summary>
[Config(typeof(QuickConfig))]
[MemoryDiagnoser]
public class CoalescingBenchmarks
{
    private const string Key = "product:42";
    private static readonly HybridCacheEntryOptions s_noCaching = new() { Flags = HybridCacheEntryFlags.DisableLocalCache | HybridCacheEntryFlags.DisableDistributedCache };

    private readonly KeyedCoalescer<int> _coalescer = new();
    private readonly ConcurrentDictionary<string, Lazy<Task<int>>> _lazies = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _cancellation = new();
    private ServiceProvider _services = null!;
    private HybridCache _hybridCache = null!;
    private ValueTask<int>[] _calls = null!;

    /// <summary>Callers in one burst: the first starts the factory, the others join it.</summary>
    [Params(1, 100)]
    public int Callers { get; set; }

    /// <summary>Whether each caller passes a cancellable token (a request's RequestAborted), or none.</summary>
    [Params(false, true)]
    public bool Cancellable { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _calls = new ValueTask<int>[Callers];
        _services = new ServiceCollection().AddHybridCache().Services.BuildServiceProvider();
        _hybridCache = _services.GetRequiredService<HybridCache>();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _services.Dispose();
        _cancellation.Dispose();
    }

    private CancellationToken Token => Cancellable ? _cancellation.Token : CancellationToken.None;

    [Benchmark(Baseline = true, Description = "ConcurrentDictionary<string,Lazy<Task<T>>> (removes when done)")]
    public Task<int> LazyTaskDictionary() => BurstAsync(static (self, gate, ct) =>
    {
        var lazy = self._lazies.GetOrAdd(Key, static (key, state) => new Lazy<Task<int>>(() => LoadAndRemoveAsync(state.Self, key, state.Gate)), (Self: self, Gate: gate));
        return new ValueTask<int>(ct.CanBeCanceled ? lazy.Value.WaitAsync(ct) : lazy.Value);
    });

    [Benchmark(Description = "KeyedCoalescer<T>.RunAsync")]
    public Task<int> KeyedCoalescer() => BurstAsync(static (self, gate, ct) =>
        self._coalescer.RunAsync(Key, gate, static (g, _) => new ValueTask<int>(g.Task), ct));

    [Benchmark(Description = "HybridCache.GetOrCreateAsync (no caching flags)")]
    public Task<int> HybridCacheStampede() => BurstAsync(static (self, gate, ct) =>
        self._hybridCache.GetOrCreateAsync(Key, gate, static (g, _) => new ValueTask<int>(g.Task), s_noCaching, cancellationToken: ct));

    private static async Task<int> LoadAndRemoveAsync(CoalescingBenchmarks self, string key, TaskCompletionSource<int> gate)
    {
        try
        {
            return await gate.Task.ConfigureAwait(false);
        }
        finally
        {
            self._lazies.TryRemove(new KeyValuePair<string, Lazy<Task<int>>>(key, self._lazies[key]));
        }
    }

    private async Task<int> BurstAsync(Func<CoalescingBenchmarks, TaskCompletionSource<int>, CancellationToken, ValueTask<int>> call)
    {
        var gate = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var token = Token;
        for (var i = 0; i < _calls.Length; i++)
        {
            _calls[i] = call(this, gate, token);
        }

        gate.SetResult(42);
        var sum = 0;
        for (var i = 0; i < _calls.Length; i++)
        {
            sum += await _calls[i].ConfigureAwait(false);
        }

        return sum;
    }
}
