using System.Diagnostics.Metrics;
using KeyedLock;
using KeyedLock.Postgres;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Switches KeyedLock to PostgreSQL advisory locks: <c>services.AddKeyedSerialization().UsePostgres(...)</c>.</summary>
public static class PostgresKeyedLockBuilderExtensions
{
    /// <summary>
    /// Replaces the <see cref="IKeyedLockProvider"/> with a <see cref="PostgresKeyedLockProvider"/> on a data source
    /// built (and disposed) by the provider from <paramref name="connectionString"/>.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddKeyedLock</c> or <c>AddKeyedSerialization</c>.</param>
    /// <param name="connectionString">The PostgreSQL connection string.</param>
    /// <param name="configure">Configures the provider options.</param>
    /// <returns>The builder.</returns>
    public static IKeyedLockBuilder UsePostgres(this IKeyedLockBuilder builder, string connectionString, Action<PostgresKeyedLockOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        return UsePostgresCore(builder, _ => (CreateOwnedDataSource(connectionString), true), configure);
    }

    /// <summary>
    /// The provider's own pool. Its connections only ever carry this provider's sessions, which leave no state behind
    /// (every release runs <c>pg_advisory_unlock_all()</c>, and <c>UNLISTEN *</c> when it listened; the lock timeout
    /// is <c>SET LOCAL</c>; a connection whose unlock fails is closed, not pooled). So the pool skips the
    /// <c>DISCARD ALL</c> that Npgsql otherwise sends with the next use of every returned connection (one statement of
    /// server work per acquisition), unless the connection string sets <c>No Reset On Close</c> itself.
    /// </summary>
    internal static NpgsqlDataSource CreateOwnedDataSource(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        if (!given.ContainsKey("No Reset On Close") && !given.ContainsKey("NoResetOnClose"))
        {
            builder.NoResetOnClose = true;
        }

        return NpgsqlDataSource.Create(builder);
    }

    /// <summary>
    /// Replaces the <see cref="IKeyedLockProvider"/> with a <see cref="PostgresKeyedLockProvider"/> on
    /// <paramref name="dataSource"/> (which the caller keeps owning).
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddKeyedLock</c> or <c>AddKeyedSerialization</c>.</param>
    /// <param name="dataSource">The data source whose pool provides the lock connections.</param>
    /// <param name="configure">Configures the provider options.</param>
    /// <returns>The builder.</returns>
    public static IKeyedLockBuilder UsePostgres(this IKeyedLockBuilder builder, NpgsqlDataSource dataSource, Action<PostgresKeyedLockOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        return UsePostgresCore(builder, _ => (dataSource, false), configure);
    }

    /// <summary>
    /// Replaces the <see cref="IKeyedLockProvider"/> with a <see cref="PostgresKeyedLockProvider"/> on a data source
    /// resolved from the services (which the caller keeps owning).
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddKeyedLock</c> or <c>AddKeyedSerialization</c>.</param>
    /// <param name="dataSourceFactory">Returns the data source.</param>
    /// <param name="configure">Configures the provider options.</param>
    /// <returns>The builder.</returns>
    public static IKeyedLockBuilder UsePostgres(this IKeyedLockBuilder builder, Func<IServiceProvider, NpgsqlDataSource> dataSourceFactory, Action<PostgresKeyedLockOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(dataSourceFactory);
        return UsePostgresCore(builder, sp => (dataSourceFactory(sp), false), configure);
    }

    private static IKeyedLockBuilder UsePostgresCore(IKeyedLockBuilder builder, Func<IServiceProvider, (NpgsqlDataSource DataSource, bool Owned)> dataSource, Action<PostgresKeyedLockOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var options = services.AddOptions<PostgresKeyedLockOptions>();

        // The in-process options set with AddKeyedLock(o => ...) apply to the first tier unless overridden here.
        options.Configure<IOptions<KeyedLockOptions>>(static (o, local) =>
        {
            o.MaxQueueLengthPerKey = local.Value.MaxQueueLengthPerKey;
            o.MaxConcurrencyPerKey = local.Value.MaxConcurrencyPerKey;
            o.DetectReentrancy = local.Value.DetectReentrancy;
        });
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgresKeyedLockOptions>, OptionsValidator>());

        services.RemoveAll<PostgresKeyedLockProvider>();
        services.AddSingleton(sp =>
        {
            var (source, owned) = dataSource(sp);
            return new PostgresKeyedLockProvider(
                source,
                owned,
                sp.GetRequiredService<IOptions<PostgresKeyedLockOptions>>().Value,
                sp.GetService<TimeProvider>(),
                sp.GetService<ILogger<PostgresKeyedLockProvider>>(),
                sp.GetService<IMeterFactory>());
        });
        services.Replace(ServiceDescriptor.Singleton<IKeyedLockProvider>(static sp => sp.GetRequiredService<PostgresKeyedLockProvider>()));
        services.TryAddSingleton<PostgresKeyedLockHealthCheck>();
        return builder;
    }

    private sealed class OptionsValidator : IValidateOptions<PostgresKeyedLockOptions>
    {
        public ValidateOptionsResult Validate(string? name, PostgresKeyedLockOptions options)
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
