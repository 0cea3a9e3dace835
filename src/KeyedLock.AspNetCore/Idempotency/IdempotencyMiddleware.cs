using Microsoft.AspNetCore.Http;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>
/// The idempotency stage of <c>UseKeyedSerialization()</c>: runs before keyed serialization, so a duplicate that is
/// answered from the store never waits for (or takes) the endpoint's serialization keys.
/// </summary>
internal sealed class IdempotencyMiddleware(RequestDelegate next, IdempotencyHandler handler)
{
    public Task InvokeAsync(HttpContext context)
    {
        var plan = handler.GetPlan(context.GetEndpoint());
        if (plan is null || context.Features.Get<IdempotencyHandledFeature>() is not null)
        {
            return next(context);
        }

        return InvokeIdempotentAsync(context, plan);
    }

    private async Task InvokeIdempotentAsync(HttpContext context, IdempotencyPlan plan)
    {
        var scope = await handler.EnterAsync(context, plan).ConfigureAwait(false);
        if (scope is null)
        {
            return;
        }

        if (ReferenceEquals(scope, IdempotencyScope.Unprotected))
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var completed = false;
        try
        {
            await next(context).ConfigureAwait(false);
            completed = true;
        }
        finally
        {
            await handler.ExitAsync(context, scope, completed).ConfigureAwait(false);
        }
    }
}
