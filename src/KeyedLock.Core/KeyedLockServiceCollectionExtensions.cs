using System.Diagnostics.Metrics;
using KeyedLock;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers KeyedLock's in-process provider.</summary>
public static class KeyedLockServiceCollectionExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="KeyedLockRegistry"/> as the default <see cref="IKeyedLockProvider"/>
    /// (another provider registered later replaces it). Options are validated at startup.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Configures the registry options.</param>
    /// <returns>A builder to switch provider, e.g. to PostgreSQL.</returns>
    public static IKeyedLockBuilder AddKeyedLock(this IServiceCollection services, Action<KeyedLockOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<KeyedLockOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KeyedLockOptions>, KeyedLockOptionsValidator>());

        services.TryAddSingleton(static sp => new KeyedLockRegistry(
            sp.GetRequiredService<IOptions<KeyedLockOptions>>().Value,
            sp.GetService<TimeProvider>(),
            sp.GetService<IMeterFactory>()));
        services.TryAddSingleton<IKeyedLockProvider>(static sp => sp.GetRequiredService<KeyedLockRegistry>());
        return new KeyedLockBuilder(services);
    }

    private sealed class KeyedLockOptionsValidator : IValidateOptions<KeyedLockOptions>
    {
        public ValidateOptionsResult Validate(string? name, KeyedLockOptions options)
        {
            try
            {
                options.Validate();
                return ValidateOptionsResult.Success;
            }
            catch (ArgumentOutOfRangeException ex)
            {
                return ValidateOptionsResult.Fail(ex.Message);
            }
        }
    }

    private sealed class KeyedLockBuilder(IServiceCollection services) : IKeyedLockBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}
