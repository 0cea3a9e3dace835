using System.Diagnostics.Metrics;
using KeyedLock;
using KeyedLock.AspNetCore;
using KeyedLock.AspNetCore.Internal;
using KeyedLock.Idempotency;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Configures idempotent replay: <c>services.AddKeyedSerialization().AddIdempotency(o => ...)</c>.</summary>
public static class IdempotencyKeyedLockBuilderExtensions
{
    /// <summary>
    /// Configures idempotent replay for <see cref="IdempotentAttribute"/> endpoints. The default store keeps responses in
    /// this process (<see cref="MemoryIdempotencyStore"/>); register another <see cref="IIdempotencyStore"/> (e.g.
    /// <c>.UsePostgresIdempotencyStore(...)</c>) to share them between instances. Options are validated at startup.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddKeyedSerialization</c>.</param>
    /// <param name="configure">Configures the key template, window, stored status codes and so on.</param>
    /// <returns>The builder.</returns>
    public static IKeyedLockBuilder AddIdempotency(this IKeyedLockBuilder builder, Action<IdempotencyOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        AddIdempotencyServices(builder.Services);
        if (configure is not null)
        {
            builder.Services.Configure(configure);
        }

        return builder;
    }

    /// <summary>Registers the idempotency services with defaults (called by <c>AddKeyedSerialization</c>).</summary>
    internal static void AddIdempotencyServices(IServiceCollection services)
    {
        services.AddOptions<IdempotencyOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<IdempotencyOptions>, IdempotencyOptionsValidator>());
        services.TryAddSingleton<IIdempotencyStore>(static sp => new MemoryIdempotencyStore(sp.GetRequiredService<IOptions<IdempotencyOptions>>().Value.MemoryStoreSizeLimit));
        services.TryAddSingleton(static sp => new IdempotencyInstruments(sp.GetService<IMeterFactory>()));
        services.TryAddSingleton(static sp => new IdempotencyHandler(
            sp.GetRequiredService<IKeyedLockProvider>(),
            sp.GetRequiredService<IIdempotencyStore>(),
            sp.GetRequiredService<IOptions<IdempotencyOptions>>(),
            sp.GetRequiredService<IOptions<KeyedSerializationOptions>>(),
            sp.GetService<TimeProvider>(),
            sp.GetRequiredService<ILogger<IdempotencyHandler>>(),
            sp.GetRequiredService<IdempotencyInstruments>(),
            sp.GetRequiredService<KeyResolver>(),
            sp.GetRequiredService<EndpointJson>()));
    }
}
