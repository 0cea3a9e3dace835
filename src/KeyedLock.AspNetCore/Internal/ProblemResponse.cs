using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>
/// Writes an RFC 9457 ProblemDetails body for every rejection of the package (serialization and idempotency):
/// through the app's <see cref="IProblemDetailsService"/> when one is registered, otherwise as
/// <c>application/problem+json</c> with the RFC type link of the status code, serialized through the source-generated
/// <see cref="KeyedLockJsonContext"/> (no reflection: trimmed and native AOT apps get the same body).
/// </summary>
internal static class ProblemResponse
{
    /// <summary>
    /// Writes a rejection the same way for both features: the status code, <c>Retry-After</c> (when given, in whole
    /// seconds rounded up), the app's <c>OnRejected</c> callback, then, unless the callback started the response, the
    /// ProblemDetails body with its <c>reason</c> code.
    /// </summary>
    internal static async ValueTask RejectAsync(HttpContext context, int status, TimeSpan? retryAfter, Func<ValueTask>? onRejected, string title, string detail, string reason)
    {
        var response = context.Response;
        response.StatusCode = status;
        if (retryAfter is { } delay)
        {
            response.Headers.RetryAfter = ((long)Math.Ceiling(delay.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }

        if (onRejected is not null)
        {
            await onRejected().ConfigureAwait(false);
        }

        if (response.HasStarted)
        {
            return;
        }

        var problem = new ProblemDetails { Status = response.StatusCode, Title = title, Detail = detail };
        problem.Extensions["reason"] = reason;
        await WriteAsync(context, problem).ConfigureAwait(false);
    }

    internal static async ValueTask WriteAsync(HttpContext context, ProblemDetails problem)
    {
        var problems = context.RequestServices.GetService<IProblemDetailsService>();
        if (problems is not null && await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem }).ConfigureAwait(false))
        {
            return;
        }

        problem.Type ??= TypeFor(context.Response.StatusCode);
        await context.Response.WriteAsJsonAsync(problem, KeyedLockJsonContext.Default.ProblemDetails, "application/problem+json", context.RequestAborted).ConfigureAwait(false);
    }

    private static string TypeFor(int status) => status switch
    {
        400 => "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        401 => "https://tools.ietf.org/html/rfc9110#section-15.5.2",
        409 => "https://tools.ietf.org/html/rfc9110#section-15.5.10",
        413 => "https://tools.ietf.org/html/rfc9110#section-15.5.14",
        422 => "https://tools.ietf.org/html/rfc9110#section-15.5.21",
        429 => "https://tools.ietf.org/html/rfc6585#section-4",
        503 => "https://tools.ietf.org/html/rfc9110#section-15.6.4",
        _ => "about:blank",
    };
}
