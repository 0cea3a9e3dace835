using KeyedLock.AspNetCore.Internal;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace KeyedLock.AspNetCore;

/// <summary>
/// Makes a minimal-API endpoint idempotent (<see cref="IdempotentAttribute"/>) for apps that do not use
/// <c>app.UseKeyedSerialization()</c>. <c>.Idempotent(...)</c> adds it automatically when the middleware is not in the
/// pipeline. If the middleware already handled the request, the filter does nothing.
/// </summary>
/// <remarks>
/// The filter writes the handler's result itself (an <see cref="IResult"/>, a string, or JSON) so that the complete
/// response can be stored; the idempotency key is held until it is written.
/// </remarks>
public sealed class IdempotencyEndpointFilter : IEndpointFilter
{
    /// <inheritdoc />
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var httpContext = context.HttpContext;
        if (httpContext.Features.Get<IdempotencyHandledFeature>() is not null)
        {
            return await next(context).ConfigureAwait(false);
        }

        var handler = httpContext.RequestServices.GetService<IdempotencyHandler>()
            ?? throw new InvalidOperationException(KeyedSerializationMarker.NotRegisteredMessage);
        var plan = handler.GetPlan(httpContext.GetEndpoint());
        if (plan is null)
        {
            return await next(context).ConfigureAwait(false);
        }

        var scope = await handler.EnterAsync(httpContext, plan).ConfigureAwait(false);
        if (scope is null)
        {
            return Results.Empty;
        }

        if (ReferenceEquals(scope, IdempotencyScope.Unprotected))
        {
            return await next(context).ConfigureAwait(false);
        }

        var completed = false;
        try
        {
            var result = await next(context).ConfigureAwait(false);
            await WriteAsync(httpContext, result).ConfigureAwait(false);
            completed = true;
            return Results.Empty;
        }
        finally
        {
            await handler.ExitAsync(httpContext, scope, completed).ConfigureAwait(false);
        }
    }

    private static Task WriteAsync(HttpContext context, object? result)
    {
        switch (result)
        {
            case null:
                return Task.CompletedTask;
            case IResult executable:
                return executable.ExecuteAsync(context);
            case string text:
                context.Response.ContentType ??= "text/plain; charset=utf-8";
                return context.Response.WriteAsync(text, context.RequestAborted);
            default:
                var json = context.RequestServices.GetService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>()?.Value.SerializerOptions;
                return context.Response.WriteAsJsonAsync(result, result.GetType(), json, context.RequestAborted);
        }
    }
}
