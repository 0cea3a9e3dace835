using KeyedLock;
using KeyedLock.AspNetCore;
using Microsoft.Extensions.Configuration;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers keyed serialization with its settings bound from configuration:
/// <c>builder.Services.AddKeyedSerialization(builder.Configuration.GetSection("KeyedSerialization"))</c>.
/// </summary>
public static class KeyedSerializationConfigurationExtensions
{
    /// <summary>
    /// Adds keyed serialization (as <see cref="KeyedSerializationServiceCollectionExtensions.AddKeyedSerialization(IServiceCollection)"/>)
    /// and binds <see cref="KeyedSerializationOptions"/> (defaults, <c>Policies</c>, <c>KeySources</c>),
    /// <see cref="IdempotencyOptions"/> (<c>Idempotency</c>, with its <c>Policies</c>) and <see cref="KeyedLockOptions"/>
    /// (<c>Lock</c>) from <paramref name="configuration"/>. Binding is hand-written (trim- and AOT-safe); a misspelt
    /// key, a value that does not parse and an invalid setting all fail at startup, naming the configuration path.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configuration">The section, e.g. <c>builder.Configuration.GetSection("KeyedSerialization")</c>.</param>
    /// <returns>The builder, to switch the lock provider (<c>.UsePostgres(...)</c>) or configure idempotency.</returns>
    public static IKeyedLockBuilder AddKeyedSerialization(this IServiceCollection services, IConfiguration configuration) =>
        services.AddKeyedSerialization(configuration, static _ => { });

    /// <summary>
    /// Adds keyed serialization with its settings bound from <paramref name="configuration"/> (see
    /// <see cref="AddKeyedSerialization(IServiceCollection, IConfiguration)"/>), then applies <paramref name="configure"/>
    /// for what only code can say (<see cref="KeyedSerializationOptions.OnRejected"/>, key sources computed by a delegate).
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configuration">The section, e.g. <c>builder.Configuration.GetSection("KeyedSerialization")</c>.</param>
    /// <param name="configure">Configures the options after the configuration was applied.</param>
    /// <returns>The builder.</returns>
    public static IKeyedLockBuilder AddKeyedSerialization(this IServiceCollection services, IConfiguration configuration, Action<KeyedSerializationOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(configure);

        var builder = services.AddKeyedSerialization(options =>
        {
            KeyedSerializationConfiguration.Apply(configuration, options);
            configure(options);
        });
        services.AddOptions<IdempotencyOptions>().Configure(options => KeyedSerializationConfiguration.ApplyIdempotency(configuration, options));
        services.AddOptions<KeyedLockOptions>().Configure(options => KeyedSerializationConfiguration.ApplyLock(configuration, options)).ValidateOnStart();
        return builder;
    }
}
