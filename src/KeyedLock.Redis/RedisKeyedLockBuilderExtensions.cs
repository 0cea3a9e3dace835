using System.Diagnostics.Metrics;
using KeyedLock;
using KeyedLock.Redis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Switches KeyedLock to Redis: <c>services.AddKeyedSerialization().UseRedis("127.0.0.1:6379")</c>.</summary>
public static class RedisKeyedLockBuilderExtensions
{
    /// <summary>The default name of the health check added by <see cref="AddKeyedLockRedis"/>.</summary>
    public const string DefaultHealthCheckName = "keyedlock-redis";

    /// <summary>
    /// Replaces the <see cref="IKeyedLockProvider"/> with a <see cref="RedisKeyedLockProvider"/> on a multiplexer that
    /// the provider creates (and disposes) from <paramref name="configuration"/>, a StackExchange.Redis configuration
    /// string such as <c>127.0.0.1:6379</c>. The provider sets <c>abortConnect=false</c> (the app starts while Redis is
    /// down, and fails closed) and <see cref="BacklogPolicy.FailFast"/> (no command is queued to be replayed later).
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddKeyedLock</c> or <c>AddKeyedSerialization</c>.</param>
    /// <param name="configuration">The StackExchange.Redis configuration string.</param>
    /// <param name="configure">Configures the provider options.</param>
    /// <returns>The builder.</returns>
    public static IKeyedLockBuilder UseRedis(this IKeyedLockBuilder builder, string configuration, Action<RedisKeyedLockOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(configuration);
        return UseRedis(builder, ConfigurationOptions.Parse(configuration), configure);
    }

    /// <summary>
    /// Replaces the <see cref="IKeyedLockProvider"/> with a <see cref="RedisKeyedLockProvider"/> on a multiplexer that
    /// the provider creates (and disposes) from a copy of <paramref name="configuration"/>, with
    /// <c>AbortOnConnectFail = false</c> and <see cref="BacklogPolicy.FailFast"/>.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddKeyedLock</c> or <c>AddKeyedSerialization</c>.</param>
    /// <param name="configuration">The StackExchange.Redis options.</param>
    /// <param name="configure">Configures the provider options.</param>
    /// <returns>The builder.</returns>
    public static IKeyedLockBuilder UseRedis(this IKeyedLockBuilder builder, ConfigurationOptions configuration, Action<RedisKeyedLockOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var hardened = FailFast(configuration);
        return UseRedisCore(builder, _ => (ConnectionMultiplexer.Connect(hardened), true), configure);
    }

    /// <summary>
    /// Replaces the <see cref="IKeyedLockProvider"/> with a <see cref="RedisKeyedLockProvider"/> on
    /// <paramref name="connection"/> (which the caller keeps owning). Configure it with <c>AbortOnConnectFail = false</c>
    /// and <see cref="BacklogPolicy.FailFast"/>.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddKeyedLock</c> or <c>AddKeyedSerialization</c>.</param>
    /// <param name="connection">The multiplexer.</param>
    /// <param name="configure">Configures the provider options.</param>
    /// <returns>The builder.</returns>
    public static IKeyedLockBuilder UseRedis(this IKeyedLockBuilder builder, IConnectionMultiplexer connection, Action<RedisKeyedLockOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return UseRedisCore(builder, _ => (connection, false), configure);
    }

    /// <summary>
    /// Replaces the <see cref="IKeyedLockProvider"/> with a <see cref="RedisKeyedLockProvider"/> on a multiplexer
    /// resolved from the services (which the caller keeps owning).
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddKeyedLock</c> or <c>AddKeyedSerialization</c>.</param>
    /// <param name="connectionFactory">Returns the multiplexer.</param>
    /// <param name="configure">Configures the provider options.</param>
    /// <returns>The builder.</returns>
    public static IKeyedLockBuilder UseRedis(this IKeyedLockBuilder builder, Func<IServiceProvider, IConnectionMultiplexer> connectionFactory, Action<RedisKeyedLockOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(connectionFactory);
        return UseRedisCore(builder, sp => (connectionFactory(sp), false), configure);
    }

    /// <summary>Adds the <see cref="RedisKeyedLockHealthCheck"/> of the app's Redis lock provider (registered by <c>UseRedis</c>).</summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name.</param>
    /// <param name="failureStatus">The status reported when Redis is unreachable; <see cref="HealthStatus.Unhealthy"/> when null.</param>
    /// <param name="tags">Tags to filter checks by.</param>
    /// <returns>The builder.</returns>
    public static IHealthChecksBuilder AddKeyedLockRedis(this IHealthChecksBuilder builder, string name = DefaultHealthCheckName, HealthStatus? failureStatus = null, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(name);
        return builder.AddCheck<RedisKeyedLockHealthCheck>(name, failureStatus, tags ?? []);
    }

    internal static ConfigurationOptions FailFast(ConfigurationOptions configuration)
    {
        var copy = configuration.Clone();
        copy.AbortOnConnectFail = false;
        copy.BacklogPolicy = BacklogPolicy.FailFast;
        return copy;
    }

    private static IKeyedLockBuilder UseRedisCore(IKeyedLockBuilder builder, Func<IServiceProvider, (IConnectionMultiplexer Connection, bool Owned)> connection, Action<RedisKeyedLockOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var options = services.AddOptions<RedisKeyedLockOptions>();

        // The in-process options set with AddKeyedLock(o => ...) apply unless overridden here.
        options.Configure<IOptions<KeyedLockOptions>>(static (o, local) =>
        {
            o.MaxConcurrencyPerKey = local.Value.MaxConcurrencyPerKey;
            o.MaxQueueLengthPerKey = local.Value.MaxQueueLengthPerKey;
            o.DetectReentrancy = local.Value.DetectReentrancy;
        });
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisKeyedLockOptions>, OptionsValidator>());

        services.RemoveAll<RedisKeyedLockProvider>();
        services.AddSingleton(sp =>
        {
            var (multiplexer, owned) = connection(sp);
            return new RedisKeyedLockProvider(
                multiplexer,
                owned,
                sp.GetRequiredService<IOptions<RedisKeyedLockOptions>>().Value,
                sp.GetService<TimeProvider>(),
                sp.GetService<ILogger<RedisKeyedLockProvider>>(),
                sp.GetService<IMeterFactory>());
        });
        services.Replace(ServiceDescriptor.Singleton<IKeyedLockProvider>(static sp => sp.GetRequiredService<RedisKeyedLockProvider>()));
        services.TryAddSingleton<RedisKeyedLockHealthCheck>();
        return builder;
    }

    private sealed class OptionsValidator : IValidateOptions<RedisKeyedLockOptions>
    {
        public ValidateOptionsResult Validate(string? name, RedisKeyedLockOptions options)
        {
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
