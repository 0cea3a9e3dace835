using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>
/// Reads the request values that key templates name, for both stages of the package (serialization and
/// idempotency): the synchronous sources, the authenticated user's id, and the body buffered up to a limit.
/// </summary>
internal static class RequestValues
{
    /// <summary>The value of a <c>route:</c>, <c>query:</c>, <c>header:</c>, <c>claim:</c> or <c>user</c> part; null when absent.</summary>
    internal static string? Get(HttpContext context, KeyPart part)
    {
        switch (part.Source)
        {
            case KeyPartSource.Route:
                var routeValue = context.Request.RouteValues[part.Name];
                return routeValue as string ?? Convert.ToString(routeValue, CultureInfo.InvariantCulture);
            case KeyPartSource.Query:
                return context.Request.Query.TryGetValue(part.Name, out var query) ? query.ToString() : null;
            case KeyPartSource.Header:
                return context.Request.Headers.TryGetValue(part.Name, out var header) ? header.ToString() : null;
            case KeyPartSource.Claim:
                return context.User.FindFirst(part.Name)?.Value;
            case KeyPartSource.User:
                return context.User.Identity?.IsAuthenticated == true ? UserId(context.User) : null;
            default:
                throw new UnreachableException($"The key source {part.Source} is not synchronous.");
        }
    }

    /// <summary>The authenticated user's id: the name identifier claim, else <c>sub</c>, else the name.</summary>
    internal static string? UserId(ClaimsPrincipal user) =>
        user.FindFirst(ClaimTypes.NameIdentifier)?.Value ?? user.FindFirst("sub")?.Value ?? user.Identity?.Name;

    /// <summary>
    /// Reads the whole body into a pooled buffer (return it to <see cref="ArrayPool{T}.Shared"/>), leaving the body
    /// buffered and rewound so the handler can read it again. Too large: no buffer.
    /// </summary>
    internal static async ValueTask<(byte[]? Buffer, int Length, bool TooLarge)> ReadBodyAsync(HttpContext context, long max)
    {
        var request = context.Request;
        if (request.ContentLength > max)
        {
            return (null, 0, true);
        }

        request.EnableBuffering();
        var body = request.Body;
        var start = body.Position;
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(max + 1, (request.ContentLength ?? 4096) + 1));
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(max + 1, (long)buffer.Length * 2));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var read = await body.ReadAsync(buffer.AsMemory(length), context.RequestAborted).ConfigureAwait(false);
                if (read == 0)
                {
                    return (buffer, length, false);
                }

                length += read;
                if (length > max)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    return (null, 0, true);
                }
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
        finally
        {
            body.Position = start;
        }
    }

    /// <summary>The body as JSON, or null when it is not JSON (then every <c>body:</c> part is missing).</summary>
    internal static JsonDocument? TryParseJson(ReadOnlyMemory<byte> body)
    {
        try
        {
            return JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
