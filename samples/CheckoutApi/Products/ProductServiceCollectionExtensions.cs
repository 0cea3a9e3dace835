using Microsoft.Extensions.Caching.Distributed;

namespace CheckoutApi.Products;

/// <summary>Registers the product catalog and its cache.</summary>
internal static class ProductServiceCollectionExtensions
{
    /// <summary>The catalog behind HybridCache: in one instance, HybridCache's own stampede protection is all it takes.</summary>
    public static IServiceCollection AddProductCatalog(this IServiceCollection services)
    {
        services.AddHybridCache();
        services.AddSingleton<ProductCatalog>();
        return services;
    }

    /// <summary>
    /// Several instances: the shared SQLite file is the cache's second level, and a cold product is loaded once
    /// across instances under its distributed lock (the lock provider the app registered).
    /// </summary>
    public static IServiceCollection AddProductCacheAcrossInstances(this IServiceCollection services)
    {
        services.AddSingleton<IDistributedCache, SqliteDistributedCache>();
        services.AddHybridCache().AddKeyedLockStampedeProtection();
        return services;
    }
}
