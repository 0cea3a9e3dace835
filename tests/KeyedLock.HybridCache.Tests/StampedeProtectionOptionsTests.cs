using KeyedLock.Caching.Tests.Infrastructure;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace KeyedLock.Caching.Tests;

public sealed class StampedeProtectionOptionsTests
{
    [Fact]
    public async Task LockTimeout_Elapses_CallersGetKeyedLockTimeoutException_AndNothingLoads()
    {
        var time = new ManualTimeProvider();
        using var registry = new KeyedLockRegistry(null, time);
        var locks = new ObservedLocks(registry);
        using var instance = new CacheInstance(new SharedDistributedCache(), locks, s => s.Configure<KeyedLockStampedeProtectionOptions>(o =>
        {
            o.LockKeyPrefix = "cache:";
            o.LockTimeout = TimeSpan.FromSeconds(5);
        }));
        var loader = new GatedLoader("v");
        loader.Open();

        // Another instance holds the key's lock (acquired in another flow, as another instance would).
        await using var held = await Task.Run(async () => await registry.AcquireAsync("cache:k")).Bounded();

        var call = instance.Cache.GetOrCreateAsync("k", loader.LoadAsync).AsTask();
        await locks.Waiting.WaitForAtLeastAsync(1, n => $"Expected the load to wait for the lock, {n} waiting.");
        time.Advance(TimeSpan.FromSeconds(5));

        await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => call).Bounded();
        Assert.Equal(0, loader.Loads);
    }

    [Fact]
    public void WithoutADistributedCache_StartupFails()
    {
        var services = new ServiceCollection();
        services.AddKeyedLock();
        services.AddHybridCache().AddKeyedLockStampedeProtection();
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains("IDistributedCache", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WithoutALockProvider_StartupFails()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IDistributedCache>(new SharedDistributedCache());
        services.AddHybridCache().AddKeyedLockStampedeProtection();
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains("IKeyedLockProvider", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void InvalidOptions_FailAtStartup()
    {
        var services = new ServiceCollection();
        services.AddKeyedLock();
        services.AddSingleton<IDistributedCache>(new SharedDistributedCache());
        services.AddHybridCache().AddKeyedLockStampedeProtection(o =>
        {
            o.LockTimeout = TimeSpan.FromSeconds(-2);
            o.LockKeyPrefix = null!;
        });
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Equal(2, error.Failures.Count());
    }

    [Fact]
    public void CalledTwice_DecoratesTheHybridCacheOnce()
    {
        var services = new ServiceCollection();
        services.AddKeyedLock();
        services.AddSingleton<IDistributedCache>(new SharedDistributedCache());
        var builder = services.AddHybridCache();
        builder.AddKeyedLockStampedeProtection();
        builder.AddKeyedLockStampedeProtection();
        using var provider = services.BuildServiceProvider();

        Assert.Single(services, d => d.ServiceType == typeof(Microsoft.Extensions.Caching.Hybrid.HybridCache));
        Assert.IsType<Internal.KeyedLockHybridCache>(provider.GetRequiredService<Microsoft.Extensions.Caching.Hybrid.HybridCache>());
    }
}
