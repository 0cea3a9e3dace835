using KeyedLock.Postgres;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Adds the PostgreSQL lock provider's health check:
/// <c>builder.Services.AddHealthChecks().AddKeyedLockPostgres()</c>.
/// </summary>
public static class PostgresKeyedLockHealthChecksBuilderExtensions
{
    /// <summary>The registration name used when none is given.</summary>
    public const string DefaultName = "keyedlock-postgres";

    /// <summary>
    /// Adds a <see cref="PostgresKeyedLockHealthCheck"/>: it reports whether the provider registered with
    /// <c>UsePostgres(...)</c> reaches its database (keyed requests fail closed with 503 while it does not), with the
    /// provider's <c>activeLeases</c> and <c>waitingKeys</c> as data. When <c>UsePostgres(...)</c> was not called the
    /// check reports <paramref name="failureStatus"/> and says so, instead of passing.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The registration name (default <c>keyedlock-postgres</c>).</param>
    /// <param name="failureStatus">The status reported when the database is unreachable (default <see cref="HealthStatus.Unhealthy"/>).</param>
    /// <param name="tags">Tags to filter health check endpoints by (e.g. <c>"ready"</c>).</param>
    /// <param name="timeout">How long the check may take before it counts as failed.</param>
    /// <returns>The builder.</returns>
    public static IHealthChecksBuilder AddKeyedLockPostgres(
        this IHealthChecksBuilder builder,
        string name = DefaultName,
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null,
        TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return builder.Add(new HealthCheckRegistration(
            name,
            static sp => (IHealthCheck?)sp.GetService<PostgresKeyedLockHealthCheck>() ?? NotConfigured.Instance,
            failureStatus,
            tags,
            timeout));
    }

    private sealed class NotConfigured : IHealthCheck
    {
        public static readonly NotConfigured Instance = new();

        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(new HealthCheckResult(
                context.Registration.FailureStatus,
                "AddKeyedLockPostgres() was called but the PostgreSQL lock provider is not registered: call AddKeyedSerialization().UsePostgres(...) (or AddKeyedLock().UsePostgres(...))."));
    }
}
