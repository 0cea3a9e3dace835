using KeyedLock;
using KeyedLock.Caching;
using KeyedLock.Caching.Internal;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds KeyedLock's stampede protection across app instances to <see cref="HybridCache"/>.</summary>
public static class KeyedLockHybridCacheBuilderExtensions
{
    /// <summary>
    /// Makes a cold key load once across every app instance that shares the <see cref="Caching.Distributed.IDistributedCache"/>
    /// and the <see cref="IKeyedLockProvider"/>: on a miss in both cache levels, the load takes the key's lock,
    /// reads the distributed cache again (another instance may have just loaded it), and only then calls the factory,
    /// writing the distributed cache before it releases the lock. Hits, and callers in one instance that join a load
    /// already in progress, never touch the lock: that stays HybridCache's own stampede protection.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddHybridCache()</c>.</param>
    /// <param name="configure">Configures the lock key prefix and the lock timeout.</param>
    /// <returns>The builder, to chain more HybridCache configuration.</returns>
    /// <remarks>
    /// It decorates the app's (unkeyed) <see cref="HybridCache"/>, so every <c>GetOrCreateAsync</c> call site is
    /// protected without change. Calls whose flags disable the distributed cache or the underlying data pass through
    /// unchanged. The app must register an <see cref="Caching.Distributed.IDistributedCache"/> and an
    /// <see cref="IKeyedLockProvider"/> (for example <c>AddKeyedLock().UsePostgres(...)</c>); startup fails otherwise.
    /// </remarks>
    public static IHybridCacheBuilder AddKeyedLockStampedeProtection(this IHybridCacheBuilder builder, Action<KeyedLockStampedeProtectionOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var options = services.AddOptions<KeyedLockStampedeProtectionOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KeyedLockStampedeProtectionOptions>, StampedeProtectionValidator>());
        if (services.Any(static d => d.ServiceType == typeof(StampedeProtectionMarker)))
        {
            return builder; // already decorated
        }

        var index = -1;
        for (var i = services.Count - 1; i >= 0 && index < 0; i--)
        {
            if (services[i].ServiceType == typeof(HybridCache) && !services[i].IsKeyedService)
            {
                index = i;
            }
        }

        if (index < 0)
        {
            throw new InvalidOperationException("AddKeyedLockStampedeProtection() decorates the app's HybridCache: call services.AddHybridCache() first.");
        }

        var inner = services[index];
        services[index] = ServiceDescriptor.Describe(typeof(HybridCache), sp => KeyedLockHybridCache.Create(sp, inner), inner.Lifetime);
        services.AddSingleton<StampedeProtectionMarker>();
        return builder;
    }
}
