using KeyedLock.AspNetCore.Internal;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace KeyedLock.AspNetCore;

/// <summary>
/// Serializes an endpoint's handler by its <see cref="SerializeByAttribute"/> keys, for apps that do not use
/// <c>app.UseKeyedSerialization()</c>. <c>.SerializeBy(...)</c> adds it automatically when the middleware is not in
/// the pipeline; add it yourself for attribute-only endpoints with
/// <c>AddEndpointFilter&lt;KeyedSerializationEndpointFilter&gt;()</c> (minimal APIs, route groups) or
/// <c>MapControllers().AddEndpointFilter(new KeyedSerializationEndpointFilter())</c>.
/// </summary>
/// <remarks>
/// Same semantics as the middleware, scoped to the handler: the lease is released when the handler returns, before
/// its result is written. If the middleware already serialized the request, the filter does nothing.
/// A <c>body:</c> key needs the request body still readable when the filter runs (the middleware handles that).
/// </remarks>
public sealed class KeyedSerializationEndpointFilter : IEndpointFilter
{
    /// <inheritdoc />
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var httpContext = context.HttpContext;
        if (KeyedSerializationFeature.IsActiveOn(httpContext))
        {
            return await next(context).ConfigureAwait(false);
        }

        var handler = httpContext.RequestServices.GetService<KeyedSerializationHandler>()
            ?? throw new InvalidOperationException(KeyedSerializationMarker.NotRegisteredMessage);
        var plan = handler.GetPlan(httpContext.GetEndpoint());
        if (plan is null)
        {
            return await next(context).ConfigureAwait(false);
        }

        var (outcome, feature) = await handler.EnterAsync(httpContext, plan).ConfigureAwait(false);
        switch (outcome)
        {
            case EnterOutcome.Skipped:
                return await next(context).ConfigureAwait(false);
            case EnterOutcome.Rejected:
            case EnterOutcome.Canceled:
                return Results.Empty;
        }

        try
        {
            return await next(context).ConfigureAwait(false);
        }
        catch (Exception ex) when (KeyedSerializationHandler.IsLockLost(httpContext, feature!, ex))
        {
            await handler.RejectLockLostAsync(httpContext, feature!, ex).ConfigureAwait(false);
            return Results.Empty;
        }
        finally
        {
            await handler.ExitAsync(httpContext, feature!).ConfigureAwait(false);
        }
    }
}
