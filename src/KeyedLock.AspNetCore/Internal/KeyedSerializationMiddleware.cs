using Microsoft.AspNetCore.Http;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>
/// <c>UseKeyedSerialization()</c>: for an endpoint with <see cref="SerializeByAttribute"/> metadata, runs the rest of
/// the pipeline (handler and response) through <see cref="KeyedSerializationHandler.RunAsync"/>.
/// </summary>
internal sealed class KeyedSerializationMiddleware(RequestDelegate next, KeyedSerializationHandler handler)
{
    public Task InvokeAsync(HttpContext context)
    {
        var plan = handler.GetPlan(context.GetEndpoint());
        return plan is null || KeyedSerializationFeature.IsActiveOn(context) ? next(context) : handler.RunAsync(context, plan, next);
    }
}
