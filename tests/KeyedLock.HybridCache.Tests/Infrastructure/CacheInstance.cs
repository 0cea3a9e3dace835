using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace KeyedLock.Caching.Tests.Infrastructure;

/// <summary>
/// One app instance: its own service provider, so its own HybridCache and local cache, registered the way an app
/// does it (<c>AddHybridCache().AddKeyedLockStampedeProtection()</c>), sharing the distributed cache and the locks.
/// </summary>
public sealed class CacheInstance : IDisposable
{
    private readonly ServiceProvider _services;

    public CacheInstance(SharedDistributedCache distributedCache, IKeyedLockProvider locks, Action<IServiceCollection>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IDistributedCache>(distributedCache);
        services.AddSingleton(locks);
        services.AddHybridCache().AddKeyedLockStampedeProtection();
        configure?.Invoke(services);
        _services = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        _services.GetRequiredService<IStartupValidator>().Validate();
        Cache = _services.GetRequiredService<HybridCache>();
    }

    public HybridCache Cache { get; }

    public void Dispose() => _services.Dispose();
}
