using KeyedLock.Caching.Tests.Infrastructure;
using Microsoft.Extensions.Caching.Hybrid;

namespace KeyedLock.Caching.Tests;

/// <summary>Two app instances (own HybridCache, own local cache) sharing one distributed cache and one lock provider.</summary>
public sealed class StampedeProtectionTests : IDisposable
{
    private readonly SharedDistributedCache _distributed = new();
    private readonly ObservedLocks _locks = new(new KeyedLockRegistry());
    private readonly CacheInstance _a;
    private readonly CacheInstance _b;

    public StampedeProtectionTests()
    {
        _a = new CacheInstance(_distributed, _locks);
        _b = new CacheInstance(_distributed, _locks);
    }

    [Fact]
    public async Task ColdKeyOnTwoInstances_TheSecondWaitsForTheLockAndReadsTheFirstOnesLoad()
    {
        var loader = new GatedLoader("v1");

        var onA = Enumerable.Range(0, 20).Select(_ => _a.Cache.GetOrCreateAsync("product:1", loader.LoadAsync).AsTask()).ToArray();
        await loader.WaitForLoadsAsync(1);
        var onB = Enumerable.Range(0, 20).Select(_ => _b.Cache.GetOrCreateAsync("product:1", loader.LoadAsync).AsTask()).ToArray();

        // B missed both levels too; its one load (HybridCache shares it among B's callers) waits for A's lock.
        await _locks.Waiting.WaitForAtLeastAsync(1, n => $"Expected instance B to wait for the lock, {n} waiting.");
        loader.Open();

        var results = await Task.WhenAll(onA.Concat(onB)).Bounded();
        Assert.All(results, r => Assert.Equal("v1", r));
        Assert.Equal(1, loader.Loads);
        Assert.Equal(["hybridcache|product:1", "hybridcache|product:1"], _locks.AcquiredKeys);
        Assert.Single(_distributed.Writes);
        Assert.Equal(0, _locks.Registry.Count);
    }

    [Fact]
    public async Task WaitingInstanceWhoseCallersAllCancel_StopsWaitingForTheLock_AndLeavesNothingQueued()
    {
        var loader = new GatedLoader("v");
        var onA = _a.Cache.GetOrCreateAsync("k", loader.LoadAsync).AsTask();
        await loader.WaitForLoadsAsync(1);
        using var leaving = new CancellationTokenSource();
        var onB = _b.Cache.GetOrCreateAsync("k", loader.LoadAsync, cancellationToken: leaving.Token).AsTask();
        await _locks.Waiting.WaitForAtLeastAsync(1, n => $"Expected instance B to wait for the lock, {n} waiting.");

        leaving.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => onB).Bounded();
        await TestWait.UntilAsync(() => _locks.Waiting.Value == 0, "instance B's lock wait has ended");
        loader.Open();
        Assert.Equal("v", await onA.Bounded());
        Assert.Equal(1, loader.Loads);
        Assert.Equal(0, _locks.Registry.Count);
    }

    [Fact]
    public async Task ColdKeyWithManyCallersInOneInstance_TakesTheLockOnce()
    {
        var loader = new GatedLoader("v");

        var calls = Enumerable.Range(0, 50).Select(_ => _a.Cache.GetOrCreateAsync("k", loader.LoadAsync).AsTask()).ToArray();
        await loader.WaitForLoadsAsync(1);
        loader.Open();

        Assert.All(await Task.WhenAll(calls).Bounded(), r => Assert.Equal("v", r));
        Assert.Equal(1, loader.Loads);
        Assert.Single(_locks.AcquiredKeys);
    }

    [Fact]
    public async Task KeyInTheDistributedCache_IsReadByAnotherInstanceWithoutTheLock()
    {
        var loader = new GatedLoader("v");
        loader.Open();
        Assert.Equal("v", await _a.Cache.GetOrCreateAsync("k", loader.LoadAsync).Bounded());

        Assert.Equal("v", await _b.Cache.GetOrCreateAsync("k", loader.LoadAsync).Bounded());
        Assert.Equal("v", await _b.Cache.GetOrCreateAsync("k", loader.LoadAsync).Bounded());

        Assert.Equal(1, loader.Loads);
        Assert.Single(_locks.AcquiredKeys);
    }

    [Fact]
    public async Task LoadFails_WaitingCallersGetTheError_NothingIsCached_AndTheNextCallLoads()
    {
        var failing = new GatedLoader("never") { Failure = new InvalidOperationException("source down") };
        var onA = _a.Cache.GetOrCreateAsync("k", failing.LoadAsync).AsTask();
        await failing.WaitForLoadsAsync(1);
        var onB = _b.Cache.GetOrCreateAsync("k", failing.LoadAsync).AsTask();
        await _locks.Waiting.WaitForAtLeastAsync(1, n => $"Expected instance B to wait for the lock, {n} waiting.");
        failing.Open();

        await Assert.ThrowsAsync<InvalidOperationException>(() => onA).Bounded();
        await Assert.ThrowsAsync<InvalidOperationException>(() => onB).Bounded(); // B found nothing and loaded: it failed too
        Assert.Equal(2, failing.Loads);
        Assert.Empty(_distributed.Writes);
        Assert.Equal(0, _locks.Registry.Count);

        var working = new GatedLoader("v");
        working.Open();
        Assert.Equal("v", await _b.Cache.GetOrCreateAsync("k", working.LoadAsync).Bounded());
    }

    [Fact]
    public async Task EntryExpiration_ReachesTheDistributedCache_WhichIsWrittenOncePerLoad()
    {
        var loader = new GatedLoader("v");
        loader.Open();
        var options = new HybridCacheEntryOptions { Expiration = TimeSpan.FromMinutes(7), LocalCacheExpiration = TimeSpan.FromMinutes(1) };

        Assert.Equal("v", await _a.Cache.GetOrCreateAsync("k", loader.LoadAsync, options).Bounded());
        Assert.Equal("v", await _b.Cache.GetOrCreateAsync("k", loader.LoadAsync, options).Bounded());

        var write = Assert.Single(_distributed.Writes);
        Assert.Equal(TimeSpan.FromMinutes(7), write.AbsoluteExpirationRelativeToNow);
        Assert.Equal(1, loader.Loads);
    }

    [Fact]
    public async Task FlagsThatDisableTheDistributedCache_PassThroughWithoutTheLock()
    {
        var loader = new GatedLoader("v");
        loader.Open();
        var localOnly = new HybridCacheEntryOptions { Flags = HybridCacheEntryFlags.DisableDistributedCache };

        Assert.Equal("v", await _a.Cache.GetOrCreateAsync("k", loader.LoadAsync, localOnly).Bounded());
        Assert.Equal("v", await _b.Cache.GetOrCreateAsync("k", loader.LoadAsync, localOnly).Bounded());

        Assert.Equal(2, loader.Loads);
        Assert.Empty(_locks.AcquiredKeys);
        Assert.Empty(_distributed.Writes);
    }

    [Fact]
    public async Task SetAndRemove_ReachBothLevels()
    {
        await _a.Cache.SetAsync("k", "set").AsTask().Bounded();
        var loader = new GatedLoader("loaded");
        loader.Open();
        Assert.Equal("set", await _b.Cache.GetOrCreateAsync("k", loader.LoadAsync).Bounded());

        await _b.Cache.RemoveAsync("k").AsTask().Bounded();
        Assert.Equal("loaded", await _b.Cache.GetOrCreateAsync("k", loader.LoadAsync).Bounded());
        Assert.Equal(1, loader.Loads);
    }

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
        _locks.Registry.Dispose();
    }
}
