using Microsoft.AspNetCore.Http;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>Writes a stored response again, marked with <c>Idempotent-Replayed: true</c>.</summary>
internal static class ResponseReplay
{
    internal static async ValueTask WriteAsync(HttpContext context, StoredResponse stored)
    {
        var response = context.Response;
        response.StatusCode = stored.StatusCode;
        foreach (var (name, value) in stored.Headers)
        {
            response.Headers.Append(name, value);
        }

        response.Headers[IdempotencyOptions.ReplayedHeaderName] = "true";
        if (stored.Body.IsEmpty)
        {
            return;
        }

        response.ContentLength = stored.Body.Length;
        try
        {
            await response.Body.WriteAsync(stored.Body, context.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
        }
    }
}
