using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace KeyedLock.Redis;

/// <summary>
/// Reports whether a <see cref="RedisKeyedLockProvider"/> can reach Redis (a <c>PING</c> on the provider's
/// multiplexer). Registered by <c>UseRedis</c>; add it with <c>services.AddHealthChecks().AddKeyedLockRedis()</c>.
/// </summary>
/// <param name="provider">The provider to check.</param>
public sealed class RedisKeyedLockHealthCheck(RedisKeyedLockProvider provider) : IHealthCheck
{
    private readonly RedisKeyedLockProvider _provider = provider ?? throw new ArgumentNullException(nameof(provider));

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
            var latency = await _provider.PingAsync(cancellationToken).ConfigureAwait(false);
            data["pingMilliseconds"] = latency.TotalMilliseconds;
            return HealthCheckResult.Healthy("The keyed lock Redis is reachable.", data);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new HealthCheckResult(context?.Registration?.FailureStatus ?? HealthStatus.Unhealthy, "The keyed lock Redis is unreachable: keyed requests fail closed.", ex, data);
        }
    }
}
