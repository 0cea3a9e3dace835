using Microsoft.AspNetCore.Http;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>
/// <c>UseKeyedSerialization()</c>: reads the endpoint's <see cref="SerializeByAttribute"/> metadata, acquires its keys,
/// runs the rest of the pipeline (handler and response) and releases the keys.
/// </summary>
internal sealed class KeyedSerializationMiddleware
{
    private readonly RequestDelegate _next;
    private readonly KeyedSerializationHandler _handler;

    public KeyedSerializationMiddleware(RequestDelegate next, KeyedSerializationHandler handler)
    {
        _next = next;
        _handler = handler;
    }

    public Task InvokeAsync(HttpContext context)
    {
        var plan = _handler.GetPlan(context.GetEndpoint());
        if (plan is null || KeyedSerializationFeature.IsActiveOn(context))
        {
            return _next(context);
        }

        return InvokeSerializedAsync(context, plan);
    }

    private async Task InvokeSerializedAsync(HttpContext context, EndpointPlan plan)
    {
        var (outcome, feature) = await _handler.EnterAsync(context, plan).ConfigureAwait(false);
        if (outcome == EnterOutcome.Skipped)
        {
            await _next(context).ConfigureAwait(false);
            return;
        }

        if (outcome != EnterOutcome.Entered)
        {
            return;
        }

        try
        {
            await _next(context).ConfigureAwait(false);
        }
        catch (Exception ex) when (KeyedSerializationHandler.IsLockLost(context, feature!, ex))
        {
            await _handler.RejectLockLostAsync(context, feature!, ex).ConfigureAwait(false);
        }
        finally
        {
            await _handler.ExitAsync(context, feature!).ConfigureAwait(false);
        }
    }
}
