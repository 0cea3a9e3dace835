using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

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
        await ProblemResponse.WriteAsync(context, problem).ConfigureAwait(false);
    }
}
