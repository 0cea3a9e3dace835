using Microsoft.AspNetCore.Http;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>
/// <c>UseIdempotency()</c>: for an endpoint with <see cref="IdempotentAttribute"/> metadata, runs the rest of the
/// pipeline through <see cref="IdempotencyHandler.RunAsync"/>.
/// </summary>
internal sealed class IdempotencyMiddleware(RequestDelegate next, IdempotencyHandler handler)
{
    public Task InvokeAsync(HttpContext context)
    {
        var plan = handler.GetPlan(context.GetEndpoint());
        return plan is null || IdempotencyHandler.HandledOn(context) ? next(context) : handler.RunAsync(context, plan, next);
    }
}
