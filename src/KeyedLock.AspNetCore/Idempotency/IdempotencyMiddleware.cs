using Microsoft.AspNetCore.Http;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>
/// The idempotency stage. <c>UseKeyedSerialization()</c> runs it as middleware before keyed serialization (so a
/// duplicate answered from the store never waits for or takes the endpoint's serialization keys); without the
/// middleware, <c>.Idempotent(...)</c> wraps the endpoint's request delegate with it.
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

        return RunAsync(context, handler, plan, next);
    }

    /// <summary>Wraps an endpoint's request delegate (model binding, handler and result) with the idempotency stage.</summary>
    internal static RequestDelegate Wrap(RequestDelegate endpoint, IdempotencyHandler handler) => context =>
    {
        if (context.Features.Get<IdempotencyHandledFeature>() is not null || handler.GetPlan(context.GetEndpoint()) is not { } plan)
        {
            return endpoint(context);
        }

        return RunAsync(context, handler, plan, endpoint);
    };

    private static async Task RunAsync(HttpContext context, IdempotencyHandler handler, IdempotencyPlan plan, RequestDelegate next)
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
