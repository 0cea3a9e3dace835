using KeyedLock.Idempotency;
using KeyedLock.Redis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Keeps idempotent responses in Redis so that every app instance replays them:
/// <c>services.AddKeyedSerialization().UseRedis(cs).UseRedisIdempotencyStore()</c>.
/// </summary>
public static class RedisIdempotencyStoreBuilderExtensions
{
    /// <summary>
    /// Replaces the <see cref="IIdempotencyStore"/> with a <see cref="RedisIdempotencyStore"/> on the multiplexer of the
    /// app's Redis lock provider (registered by <c>UseRedis(...)</c>, before or after this call). The app fails at start,
    /// with a message saying so, when <c>UseRedis(...)</c> was not called.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddKeyedLock</c> or <c>AddKeyedSerialization</c>.</param>
    /// <param name="configure">Configures the store options.</param>
    /// <returns>The builder.</returns>
    public static IKeyedLockBuilder UseRedisIdempotencyStore(this IKeyedLockBuilder builder, Action<RedisIdempotencyStoreOptions>? configure = null) =>
        UseCore(builder, ConnectionSource.LockProvider, configure);

    /// <summary>
    /// Replaces the <see cref="IIdempotencyStore"/> with a <see cref="RedisIdempotencyStore"/> on a multiplexer created
    /// (and disposed) from <paramref name="configuration"/>, a StackExchange.Redis configuration string such as
    /// <c>127.0.0.1:6379</c>, with <c>abortConnect=false</c> (the app starts while Redis is down) and
    /// <see cref="BacklogPolicy.FailFast"/> (no command is queued to be replayed later), like <c>UseRedis</c>.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddKeyedLock</c> or <c>AddKeyedSerialization</c>.</param>
    /// <param name="configuration">The StackExchange.Redis configuration string.</param>
    /// <param name="configure">Configures the store options.</param>
    /// <returns>The builder.</returns>
    public static IKeyedLockBuilder UseRedisIdempotencyStore(this IKeyedLockBuilder builder, string configuration, Action<RedisIdempotencyStoreOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(configuration);
        var hardened = RedisKeyedLockBuilderExtensions.FailFast(ConfigurationOptions.Parse(configuration));
        return UseCore(builder, new ConnectionSource(_ => (ConnectionMultiplexer.Connect(hardened), true), FromLockProvider: false), configure);
    }

    /// <summary>
    /// Replaces the <see cref="IIdempotencyStore"/> with a <see cref="RedisIdempotencyStore"/> on
    /// <paramref name="connection"/> (which the caller keeps owning). Configure it with <c>AbortOnConnectFail = false</c>
    /// and <see cref="BacklogPolicy.FailFast"/>.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddKeyedLock</c> or <c>AddKeyedSerialization</c>.</param>
    /// <param name="connection">The multiplexer.</param>
    /// <param name="configure">Configures the store options.</param>
    /// <returns>The builder.</returns>
    public static IKeyedLockBuilder UseRedisIdempotencyStore(this IKeyedLockBuilder builder, IConnectionMultiplexer connection, Action<RedisIdempotencyStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return UseCore(builder, new ConnectionSource(_ => (connection, false), FromLockProvider: false), configure);
    }

    private static IKeyedLockBuilder UseCore(IKeyedLockBuilder builder, ConnectionSource source, Action<RedisIdempotencyStoreOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var options = services.AddOptions<RedisIdempotencyStoreOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisIdempotencyStoreOptions>, OptionsValidator>());

        // The last call wins: one connection source, one connection (disposed with the container when it is owned).
        services.Replace(ServiceDescriptor.Singleton(source));
        services.RemoveAll<StoreConnection>();
        services.AddSingleton(static sp =>
        {
            var (connection, owned) = sp.GetRequiredService<ConnectionSource>().Create(sp);
            return new StoreConnection(connection, owned);
        });
        services.RemoveAll<RedisIdempotencyStore>();
        services.AddSingleton(static sp => new RedisIdempotencyStore(
            sp.GetRequiredService<StoreConnection>().Connection,
            sp.GetRequiredService<IOptions<RedisIdempotencyStoreOptions>>().Value));
        services.Replace(ServiceDescriptor.Singleton<IIdempotencyStore>(static sp => sp.GetRequiredService<RedisIdempotencyStore>()));
        return builder;
    }

    private sealed record ConnectionSource(Func<IServiceProvider, (IConnectionMultiplexer Connection, bool Owned)> Create, bool FromLockProvider)
    {
        public static readonly ConnectionSource LockProvider = new(
            static sp => (sp.GetRequiredService<RedisKeyedLockProvider>().Connection, false),
            FromLockProvider: true);
    }

    private sealed class StoreConnection(IConnectionMultiplexer connection, bool owned) : IAsyncDisposable
    {
        public IConnectionMultiplexer Connection { get; } = connection;

        public ValueTask DisposeAsync() => owned ? Connection.DisposeAsync() : ValueTask.CompletedTask;
    }

    private sealed class OptionsValidator(IServiceProvider services) : IValidateOptions<RedisIdempotencyStoreOptions>
    {
        public ValidateOptionsResult Validate(string? name, RedisIdempotencyStoreOptions options)
        {
            if (services.GetService<ConnectionSource>() is { FromLockProvider: true }
                && services.GetService<IServiceProviderIsService>()?.IsService(typeof(RedisKeyedLockProvider)) == false)
            {
                return ValidateOptionsResult.Fail(
                    "UseRedisIdempotencyStore() without a connection shares the multiplexer of the Redis lock provider, but UseRedis(...) was not called. "
                    + "Call UseRedis(...) too, or pass a configuration string or an IConnectionMultiplexer to UseRedisIdempotencyStore.");
            }

            try
            {
                options.Validate();
                return ValidateOptionsResult.Success;
            }
            catch (ArgumentException ex)
            {
                return ValidateOptionsResult.Fail(ex.Message);
            }
        }
    }
}
