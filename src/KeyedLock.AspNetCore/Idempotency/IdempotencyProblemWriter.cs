using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>Writes idempotency rejections as RFC 9457 ProblemDetails (through <see cref="IProblemDetailsService"/> when registered).</summary>
internal static class IdempotencyProblemWriter
{
    internal const string MissingKey = "idempotency_key_missing";
    internal const string InvalidKey = "idempotency_key_invalid";
    internal const string BodyTooLarge = "body_too_large";
    internal const string InProgress = "idempotency_in_progress";
    internal const string KeyReused = "idempotency_key_reused";
    internal const string Unavailable = "unavailable";

    internal static async ValueTask WriteAsync(HttpContext context, int status, string reason, string title, string detail, TimeSpan? retryAfter)
    {
        var response = context.Response;
        response.StatusCode = status;
        if (retryAfter is { } delay)
        {
            response.Headers.RetryAfter = ((long)Math.Ceiling(delay.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }

        var problem = new ProblemDetails { Status = status, Title = title, Detail = detail };
        problem.Extensions["reason"] = reason;
        var problems = context.RequestServices.GetService<IProblemDetailsService>();
        if (problems is not null && await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem }).ConfigureAwait(false))
        {
            return;
        }

        problem.Type = status switch
        {
            400 => "https://tools.ietf.org/html/rfc9110#section-15.5.1",
            409 => "https://tools.ietf.org/html/rfc9110#section-15.5.10",
            413 => "https://tools.ietf.org/html/rfc9110#section-15.5.14",
            422 => "https://tools.ietf.org/html/rfc9110#section-15.5.21",
            503 => "https://tools.ietf.org/html/rfc9110#section-15.6.4",
            _ => "about:blank",
        };
        await response.WriteAsJsonAsync(problem, (System.Text.Json.JsonSerializerOptions?)null, "application/problem+json", context.RequestAborted).ConfigureAwait(false);
    }
}
