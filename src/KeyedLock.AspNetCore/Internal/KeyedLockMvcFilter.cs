using System.Runtime.ExceptionServices;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Filters;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>
/// A global MVC resource filter (added to <c>MvcOptions.Filters</c> by <c>AddKeyedSerialization()</c>): controller actions
/// and Razor Pages with <see cref="SerializeByAttribute"/> or <see cref="IdempotentAttribute"/> are protected even
/// without the middleware. It runs before model binding (the body is still readable) and around the result. When the
/// middleware or the endpoint wrapper handled the request already, it only passes it on.
/// </summary>
internal sealed class KeyedLockMvcFilter(KeyedSerializationHandler serialization, IdempotencyHandler idempotency) : IAsyncResourceFilter, IOrderedFilter
{
    public int Order => int.MinValue + 1000;

    public async Task OnResourceExecutionAsync(ResourceExecutingContext context, ResourceExecutionDelegate next)
    {
        var http = context.HttpContext;
        var endpoint = http.GetEndpoint();
        var idempotencyPlan = IdempotencyHandler.HandledOn(http) ? null : idempotency.GetPlan(endpoint);
        var serializationPlan = KeyedSerializationFeature.IsActiveOn(http) ? null : serialization.GetPlan(endpoint);
        if (idempotencyPlan is null && serializationPlan is null)
        {
            await next().ConfigureAwait(false);
            return;
        }

        // The rest of MVC's pipeline as a request delegate: an exception it recorded is rethrown (so that a lost lock
        // and the response capture see it) and marked handled (MVC must not rethrow it a second time).
        RequestDelegate rest = async _ =>
        {
            var executed = await next().ConfigureAwait(false);
            if (executed.Exception is { } exception && !executed.ExceptionHandled)
            {
                executed.ExceptionHandled = true;
                (executed.ExceptionDispatchInfo ?? ExceptionDispatchInfo.Capture(exception)).Throw();
            }
        };
        RequestDelegate serialized = serializationPlan is null ? rest : c => serialization.RunAsync(c, serializationPlan, rest);
        await (idempotencyPlan is null ? serialized(http) : idempotency.RunAsync(http, idempotencyPlan, serialized)).ConfigureAwait(false);
    }
}
