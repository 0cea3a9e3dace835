using System.Threading.RateLimiting;
using KeyedLock.AspNetCore;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace KeyedLock.Benchmarks;

/// <summary>
/// The four apps the HTTP benchmarks compare: no serialization, <c>[SerializeBy("route:id")]</c> (with and without
/// re-entrancy detection) and the framework's rate limiter with a <see cref="ConcurrencyLimiter"/> per route value.
/// </summary>
internal static class HttpApps
{
    internal const string Route = "/items/{id}";

    internal static void PlainServices(IServiceCollection services)
    {
    }

    internal static void Plain(WebApplication app) => app.MapPost(Route, static () => Results.Ok());

    internal static void SerializedServices(IServiceCollection services) => services.AddKeyedSerialization();

    internal static void SerializedNoReentrancyServices(IServiceCollection services)
    {
        services.AddKeyedLock(o => o.DetectReentrancy = false);
        services.AddKeyedSerialization();
    }

    internal static void Serialized(WebApplication app)
    {
        app.UseKeyedSerialization();
        app.MapPost(Route, [SerializeBy("route:id")] static () => Results.Ok());
    }

    internal static void RateLimitedServices(IServiceCollection services) =>
        services.AddRateLimiter(o => o.AddPolicy("per-id", context => RateLimitPartition.GetConcurrencyLimiter(
            context.Request.RouteValues["id"]?.ToString() ?? string.Empty,
            static _ => new ConcurrencyLimiterOptions { PermitLimit = 1, QueueLimit = int.MaxValue, QueueProcessingOrder = QueueProcessingOrder.OldestFirst })));

    internal static void RateLimited(WebApplication app)
    {
        app.UseRateLimiter();
        app.MapPost(Route, static () => Results.Ok()).RequireRateLimiting("per-id");
    }
}
