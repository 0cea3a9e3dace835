using KeyedLock.Caching.Tests.Infrastructure;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;

namespace KeyedLock.Caching.Tests;

/// <summary>Entry flags that make the wrapper's own inner calls look like a caller's call to HybridCache.</summary>
public sealed class StampedeProtectionFlagsTests : IDisposable
{
    private readonly SharedDistributedCache _distributed = new();
    private readonly ObservedLocks _locks = new(new KeyedLockRegistry());
    private readonly CacheInstance _a;

    public StampedeProtectionFlagsTests()
    {
        _a = new CacheInstance(_distributed, _locks);
    }

    [Fact]
    public async Task ColdKeyWithTheLocalCacheDisabled_LoadsOnce_InsteadOfWaitingForItself()
    {
        var loader = new GatedLoader("v");
        loader.Open();
        var distributedOnly = new HybridCacheEntryOptions { Flags = HybridCacheEntryFlags.DisableLocalCache };

        Assert.Equal("v", await _a.Cache.GetOrCreateAsync("k", loader.LoadAsync, distributedOnly).Bounded());

        Assert.Equal(1, loader.Loads);
        Assert.Single(_distributed.Writes);
        Assert.Equal(0, _locks.Registry.Count);
    }

    [Fact]
    public async Task ColdKey_CallerWithTheLocalCacheDisabledAndPlainCaller_OneLoad_NeitherJoinsTheOthersReCheck()
    {
        var loader = new GatedLoader("v");
        loader.Open();
        var distributedOnly = new HybridCacheEntryOptions { Flags = HybridCacheEntryFlags.DisableLocalCache };

        // Another instance holds the key's lock: the plain load waits for it, the other behind the plain one.
        var held = await Task.Run(async () => await _locks.Registry.AcquireAsync("hybridcache|k")).Bounded();
        var plain = _a.Cache.GetOrCreateAsync("k", loader.LoadAsync).AsTask();
        await _locks.Waiting.WaitForAtLeastAsync(1, n => $"Expected the plain load to wait for the lock, {n} waiting.");
        var withoutLocal = _a.Cache.GetOrCreateAsync("k", loader.LoadAsync, distributedOnly).AsTask();
        await TestWait.UntilAsync(() => ((KeyedLock.Caching.Internal.KeyedLockHybridCache)_a.Cache).LocalQueueLength("k") == 1, "the second load waits for the first");
        await held.DisposeAsync();

        Assert.Equal("v", await plain.Bounded());
        Assert.Equal("v", await withoutLocal.Bounded());
        Assert.Equal(1, loader.Loads);
        Assert.Single(_distributed.Writes);
    }

    [Fact]
    public async Task DisableCompressionInTheDefaults_StillLoadsOnceAcrossInstances()
    {
        using var b = new CacheInstance(_distributed, _locks, s => s.Configure<HybridCacheOptions>(o => o.DefaultEntryOptions = new() { Flags = HybridCacheEntryFlags.DisableCompression }));
        var loader = new GatedLoader("v");
        loader.Open();

        Assert.Equal("v", await b.Cache.GetOrCreateAsync("k", loader.LoadAsync).Bounded());
        Assert.Equal("v", await _a.Cache.GetOrCreateAsync("k", loader.LoadAsync, new HybridCacheEntryOptions { Flags = HybridCacheEntryFlags.DisableCompression }).Bounded());

        Assert.Equal(1, loader.Loads);
        Assert.Single(_distributed.Writes);
    }

    [Fact]
    public async Task ACallThatOnlyDisablesTheDistributedWrite_DuringAColdLoad_GetsAValue()
    {
        var loader = new GatedLoader("v");
        var load = _a.Cache.GetOrCreateAsync("k", loader.LoadAsync).AsTask();
        await loader.WaitForLoadsAsync(1);

        var noDistributedWrite = new HybridCacheEntryOptions { Flags = HybridCacheEntryFlags.DisableDistributedCacheWrite };
        var passThrough = _a.Cache.GetOrCreateAsync("k", loader.LoadAsync, noDistributedWrite).AsTask();
        loader.Open();

        Assert.Equal("v", await load.Bounded());
        Assert.Equal("v", await passThrough.Bounded());
    }

    [Fact]
    public async Task ACallThatOnlyDisablesTheDistributedWrite_LoadsUnderTheLock_AndWritesNothingToTheDistributedCache()
    {
        var loader = new GatedLoader("v");
        loader.Open();
        var noDistributedWrite = new HybridCacheEntryOptions { Flags = HybridCacheEntryFlags.DisableDistributedCacheWrite };

        Assert.Equal("v", await _a.Cache.GetOrCreateAsync("k", loader.LoadAsync, noDistributedWrite).Bounded());

        Assert.Equal(1, loader.Loads);
        Assert.Empty(_distributed.Writes);
        Assert.Equal(["hybridcache|k"], _locks.AcquiredKeys);
    }

    [Fact]
    public async Task ALockProviderWithTwoHoldersPerKey_NeverJoinsTwoReChecks_NorReturnsAnEmptyValue()
    {
        // Two loads of one key hold the lock at once (MaxConcurrencyPerKey = 2), from callers whose outer flags differ
        // (so HybridCache does not join them) but whose re-checks would have the same flags.
        var locks = new ObservedLocks(new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = 2 }));
        using var b = new CacheInstance(_distributed, locks);
        var loader = new GatedLoader("v");
        var distributedOnly = new HybridCacheEntryOptions { Flags = HybridCacheEntryFlags.DisableLocalCache };

        var plain = b.Cache.GetOrCreateAsync("k", loader.LoadAsync).AsTask();
        var withoutLocal = b.Cache.GetOrCreateAsync("k", loader.LoadAsync, distributedOnly).AsTask();
        await loader.WaitForLoadsAsync(1);
        loader.Open();

        Assert.Equal("v", await plain.Bounded());
        Assert.Equal("v", await withoutLocal.Bounded());
        Assert.Equal(1, loader.Loads);
        locks.Registry.Dispose();
    }

    [Fact]
    public void TheInProcessRegistryOfTheWrapper_PublishesNoInstruments()
    {
        // A listener that takes the KeyedLock meter by name would otherwise count every cold load twice: once by the
        // lock provider, once by the wrapper's own registry.
        Assert.False(((KeyedLock.Caching.Internal.KeyedLockHybridCache)_a.Cache).LocalRegistryHasMeter);
    }

    public void Dispose()
    {
        _a.Dispose();
        _locks.Registry.Dispose();
    }
}

public sealed class StampedeProtectionDistributedFailureTests
{
    [Fact]
    public async Task DistributedCacheWriteFails_TheLoadedValueStillReachesTheCallers()
    {
        using var registry = new KeyedLockRegistry();
        using var instance = new CacheInstance(new SharedDistributedCache(), new ObservedLocks(registry), s =>
            s.AddSingleton<Microsoft.Extensions.Caching.Distributed.IDistributedCache>(new WriteFailingCache()));
        var loader = new GatedLoader("v");
        loader.Open();

        Assert.Equal("v", await instance.Cache.GetOrCreateAsync("k", loader.LoadAsync).Bounded());
        Assert.Equal(1, loader.Loads);
    }

    private sealed class WriteFailingCache : Microsoft.Extensions.Caching.Distributed.IDistributedCache
    {
        public byte[]? Get(string key) => null;

        public Task<byte[]?> GetAsync(string key, CancellationToken token = default) => Task.FromResult<byte[]?>(null);

        public void Set(string key, byte[] value, Microsoft.Extensions.Caching.Distributed.DistributedCacheEntryOptions options) => throw new InvalidOperationException("L2 down");

        public Task SetAsync(string key, byte[] value, Microsoft.Extensions.Caching.Distributed.DistributedCacheEntryOptions options, CancellationToken token = default) => throw new InvalidOperationException("L2 down");

        public void Refresh(string key)
        {
        }

        public Task RefreshAsync(string key, CancellationToken token = default) => Task.CompletedTask;

        public void Remove(string key)
        {
        }

        public Task RemoveAsync(string key, CancellationToken token = default) => Task.CompletedTask;
    }
}
