using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace KeyedLock.Postgres;

/// <summary>
/// Reports whether a <see cref="PostgresKeyedLockProvider"/> can reach its database (it opens a connection from the
/// provider's data source and runs <c>SELECT 1</c>). Registered by <c>UsePostgres</c>; add it with
/// <c>services.AddHealthChecks().AddKeyedLockPostgres()</c>.
/// </summary>
/// <param name="provider">The provider to check.</param>
public sealed class PostgresKeyedLockHealthCheck(PostgresKeyedLockProvider provider) : IHealthCheck
{
    private readonly PostgresKeyedLockProvider _provider = provider ?? throw new ArgumentNullException(nameof(provider));

    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>
        {
            ["activeLeases"] = _provider.ActiveLeases,
            ["waitingKeys"] = _provider.WaitingKeys,
        };
        try
        {
            await _provider.PingAsync(cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy("The keyed lock database is reachable.", data);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new HealthCheckResult(context?.Registration?.FailureStatus ?? HealthStatus.Unhealthy, "The keyed lock database is unreachable: keyed requests fail closed.", ex, data);
        }
    }
}
