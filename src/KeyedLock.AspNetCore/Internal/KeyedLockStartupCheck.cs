using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>
/// Checks every endpoint when the app starts (after the pipeline is built): compiles its serialization and idempotency
/// plans, so that an unknown policy or key source fails <c>app.Start()</c> naming the endpoint and the name, and
/// refuses an endpoint whose declared protection nothing would enforce, and a pipeline that adds the package's middleware
/// before routing, authentication or authorization.
/// </summary>
internal sealed class KeyedLockStartupCheck(KeyedSerializationMarker marker, KeyedSerializationHandler serialization, IdempotencyHandler idempotency) : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        // A WebApplication's pipeline is complete already (the framework has not yet added its implicit routing and
        // authentication); a Configure(app) pipeline is built by next(app).
        var placed = marker.Placements;
        ThrowIfMisordered(0);
        next(app);
        ThrowIfMisordered(placed);

        if (app.ApplicationServices.GetService<EndpointDataSource>() is { } endpoints)
        {
            Check(endpoints.Endpoints);
        }
    };

    private void ThrowIfMisordered(int start)
    {
        if (marker.Misordered(start) is { } misordered)
        {
            throw new InvalidOperationException(misordered);
        }
    }

    internal void Check(IEnumerable<Endpoint> endpoints)
    {
        var serializationMiddleware = marker.SerializationMiddleware;
        var idempotencyMiddleware = marker.IdempotencyMiddleware;
        foreach (var endpoint in endpoints)
        {
            var serialized = serialization.GetPlan(endpoint) is not null;
            var idempotent = idempotency.GetPlan(endpoint) is not null;
            if (!serialized && !idempotent)
            {
                continue;
            }

            // Protected by the endpoint wrapper (.SerializeBy/.Idempotent) or the global MVC filter whatever the
            // middleware; otherwise the middleware of each declared feature must be in the pipeline.
            if (endpoint.Metadata.Contains(EndpointProtection.WrappedMetadata.Instance) || EndpointJson.IsMvc(endpoint))
            {
                continue;
            }

            var unenforcedSerialization = serialized && !serializationMiddleware;
            if (unenforcedSerialization || (idempotent && !idempotencyMiddleware))
            {
                var what = unenforcedSerialization ? "[SerializeBy]" : "[Idempotent]";
                var use = "app." + (unenforcedSerialization ? KeyedSerializationMarker.SerializationCall : KeyedSerializationMarker.IdempotencyCall);
                throw new InvalidOperationException(
                    $"The endpoint '{endpoint.DisplayName}' declares {what}, but nothing in the app enforces it: call {use} after UseRouting/UseAuthorization, or declare it with .SerializeBy(...)/.Idempotent(...) on the endpoint, which protects it without the middleware.");
            }
        }
    }
}
