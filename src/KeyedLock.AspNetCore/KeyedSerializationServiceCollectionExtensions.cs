using System.Diagnostics.Metrics;
using KeyedLock.AspNetCore;
using KeyedLock.AspNetCore.Internal;
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
        services.TryAddSingleton(static sp => new KeyedSerializationHandler(
            sp.GetRequiredService<KeyedLock.IKeyedLockProvider>(),
            sp.GetRequiredService<IOptions<KeyedSerializationOptions>>(),
            sp.GetRequiredService<ILogger<KeyedSerializationHandler>>(),
            sp.GetRequiredService<KeyedSerializationInstruments>()));
        return builder;
    }
}
