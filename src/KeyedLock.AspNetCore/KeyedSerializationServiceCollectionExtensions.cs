using System.Diagnostics.Metrics;
using KeyedLock.AspNetCore;
using KeyedLock.AspNetCore.Internal;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers keyed serialization for ASP.NET Core.</summary>
public static class KeyedSerializationServiceCollectionExtensions
{
    /// <summary>
    /// Adds keyed serialization with default options and the in-process <see cref="KeyedLock.KeyedLockRegistry"/> as the
    /// default <see cref="KeyedLock.IKeyedLockProvider"/> (another provider registered through the returned builder
    /// replaces it).
    /// </summary>
    /// <param name="services">The services.</param>
    /// <returns>A builder to switch the lock provider.</returns>
    public static IKeyedLockBuilder AddKeyedSerialization(this IServiceCollection services) => services.AddKeyedSerialization(static _ => { });

    /// <summary>Adds keyed serialization. Options are validated at startup.</summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Configures timeouts, policies, key sources and rejections.</param>
    /// <returns>A builder to switch the lock provider.</returns>
    public static IKeyedLockBuilder AddKeyedSerialization(this IServiceCollection services, Action<KeyedSerializationOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);

        var builder = services.AddKeyedLock();
        services.AddOptions<KeyedSerializationOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KeyedSerializationOptions>, KeyedSerializationOptionsValidator>());
        services.TryAddSingleton<KeyedSerializationMarker>();
        services.TryAddSingleton(static sp => new KeyedSerializationInstruments(sp.GetService<IMeterFactory>()));
        services.TryAddSingleton(static sp => new KeyResolver(sp.GetRequiredService<IOptions<KeyedSerializationOptions>>().Value));
        services.TryAddSingleton(static sp => new EndpointJson(sp));
        services.TryAddSingleton(static sp => new KeyedSerializationHandler(
            sp.GetRequiredService<KeyedLock.IKeyedLockProvider>(),
            sp.GetRequiredService<IOptions<KeyedSerializationOptions>>(),
            sp.GetRequiredService<ILogger<KeyedSerializationHandler>>(),
            sp.GetRequiredService<KeyedSerializationInstruments>(),
            sp.GetRequiredService<KeyResolver>(),
            sp.GetRequiredService<EndpointJson>()));
        IdempotencyKeyedLockBuilderExtensions.AddIdempotencyServices(services);

        // Declared protection is never lost: every endpoint is checked when the app starts, and MVC actions are
        // protected by a global filter whether or not the middleware runs.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStartupFilter, KeyedLockStartupCheck>(static sp => new KeyedLockStartupCheck(
            sp.GetRequiredService<KeyedSerializationMarker>(),
            sp.GetRequiredService<KeyedSerializationHandler>(),
            sp.GetRequiredService<IdempotencyHandler>())));
        services.TryAddSingleton(static sp => new KeyedLockMvcFilter(sp.GetRequiredService<KeyedSerializationHandler>(), sp.GetRequiredService<IdempotencyHandler>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<MvcOptions>, KeyedLockMvcOptionsSetup>());
        return builder;
    }
}
