using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>
/// Makes declared protection part of the endpoint itself: <c>.SerializeBy(...)</c> and <c>.Idempotent(...)</c> wrap the
/// endpoint's request delegate (binding, handler and result), so the endpoint is serialized and deduplicated whether
/// or not the app uses the middleware; when the middleware already handled the request, the wrapper only passes it on.
/// </summary>
internal static class EndpointProtection
{
    /// <summary>Metadata of a wrapped endpoint (the startup check counts it as protected).</summary>
    internal sealed class WrappedMetadata
    {
        internal static readonly WrappedMetadata Instance = new();
    }

    /// <summary>Adds the wrapper to every endpoint of <paramref name="builder"/>, once per endpoint, after all its metadata is known.</summary>
    internal static void Add(IEndpointConventionBuilder builder) => builder.Finally(static endpoint =>
    {
        if (endpoint.RequestDelegate is not { } inner || endpoint.Metadata.Contains(WrappedMetadata.Instance))
        {
            return;
        }

        var serialization = endpoint.ApplicationServices.GetService<KeyedSerializationHandler>()
            ?? throw new InvalidOperationException(KeyedSerializationMarker.NotRegisteredMessage);
        var idempotency = endpoint.ApplicationServices.GetRequiredService<IdempotencyHandler>();
        endpoint.Metadata.Add(WrappedMetadata.Instance);
        endpoint.RequestDelegate = Wrap(inner, serialization, idempotency);
    });

    /// <summary>Idempotency first (a replay never waits for serialization keys), then serialization, then the endpoint.</summary>
    internal static RequestDelegate Wrap(RequestDelegate endpoint, KeyedSerializationHandler serialization, IdempotencyHandler idempotency)
    {
        RequestDelegate serialized = context =>
            serialization.GetPlan(context.GetEndpoint()) is { } plan && !KeyedSerializationFeature.IsActiveOn(context)
                ? serialization.RunAsync(context, plan, endpoint)
                : endpoint(context);
        return context =>
            idempotency.GetPlan(context.GetEndpoint()) is { } plan && !IdempotencyHandler.HandledOn(context)
                ? idempotency.RunAsync(context, plan, serialized)
                : serialized(context);
    }
}
