using KeyedLock.Idempotency;
using KeyedLock.Postgres;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Keeps idempotent responses in PostgreSQL so that every app instance replays them:
/// <c>services.AddKeyedSerialization().UsePostgres(cs).UsePostgresIdempotencyStore(cs)</c>.
/// </summary>
public static class PostgresIdempotencyStoreBuilderExtensions
{
    /// <summary>Replaces the <see cref="IIdempotencyStore"/> with a <see cref="PostgresIdempotencyStore"/> on a data source built (and disposed) from <paramref name="connectionString"/>.</summary>
    /// <param name="builder">The builder returned by <c>AddKeyedSerialization</c>.</param>
    /// <param name="connectionString">The PostgreSQL connection string.</param>
    /// <param name="configure">Configures the store options.</param>
    /// <returns>The builder.</returns>
    public static IKeyedLockBuilder UsePostgresIdempotencyStore(this IKeyedLockBuilder builder, string connectionString, Action<PostgresIdempotencyStoreOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        return UseCore(builder, _ => (NpgsqlDataSource.Create(connectionString), true), configure);
    }

    /// <summary>Replaces the <see cref="IIdempotencyStore"/> with a <see cref="PostgresIdempotencyStore"/> on <paramref name="dataSource"/> (which the caller keeps owning).</summary>
    /// <param name="builder">The builder returned by <c>AddKeyedSerialization</c>.</param>
    /// <param name="dataSource">The data source.</param>
    /// <param name="configure">Configures the store options.</param>
    /// <returns>The builder.</returns>
    public static IKeyedLockBuilder UsePostgresIdempotencyStore(this IKeyedLockBuilder builder, NpgsqlDataSource dataSource, Action<PostgresIdempotencyStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        return UseCore(builder, _ => (dataSource, false), configure);
    }

    /// <summary>Replaces the <see cref="IIdempotencyStore"/> with a <see cref="PostgresIdempotencyStore"/> on a data source resolved from the services (which the caller keeps owning).</summary>
    /// <param name="builder">The builder returned by <c>AddKeyedSerialization</c>.</param>
    /// <param name="dataSourceFactory">Returns the data source.</param>
    /// <param name="configure">Configures the store options.</param>
    /// <returns>The builder.</returns>
    public static IKeyedLockBuilder UsePostgresIdempotencyStore(this IKeyedLockBuilder builder, Func<IServiceProvider, NpgsqlDataSource> dataSourceFactory, Action<PostgresIdempotencyStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(dataSourceFactory);
        return UseCore(builder, sp => (dataSourceFactory(sp), false), configure);
    }

    private static IKeyedLockBuilder UseCore(IKeyedLockBuilder builder, Func<IServiceProvider, (NpgsqlDataSource DataSource, bool Owned)> dataSource, Action<PostgresIdempotencyStoreOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var options = services.AddOptions<PostgresIdempotencyStoreOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgresIdempotencyStoreOptions>, OptionsValidator>());

        services.RemoveAll<PostgresIdempotencyStore>();
        services.AddSingleton(sp =>
        {
            var (source, owned) = dataSource(sp);
            return new PostgresIdempotencyStore(
                source,
                owned,
                sp.GetRequiredService<IOptions<PostgresIdempotencyStoreOptions>>().Value,
                sp.GetService<ILogger<PostgresIdempotencyStore>>());
        });
        services.Replace(ServiceDescriptor.Singleton<IIdempotencyStore>(static sp => sp.GetRequiredService<PostgresIdempotencyStore>()));
        return builder;
    }

    private sealed class OptionsValidator : IValidateOptions<PostgresIdempotencyStoreOptions>
    {
        public ValidateOptionsResult Validate(string? name, PostgresIdempotencyStoreOptions options)
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
