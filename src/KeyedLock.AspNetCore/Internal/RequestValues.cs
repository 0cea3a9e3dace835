using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>
/// Reads the request values that key templates name, for both stages of the package (serialization and
/// idempotency): the synchronous sources, the authenticated user's id, and the body buffered up to a limit.
/// </summary>
internal static class RequestValues
{
    /// <summary>
    /// The value of a <c>route:</c>, <c>query:</c>, <c>header:</c>, <c>claim:</c> or <c>user</c> part. Several values
    /// (a repeated query parameter or header) are ambiguous, never joined. On MVC endpoints (<paramref name="mvc"/>),
    /// whose value providers read a form field before a route value and a route value before a query parameter, a form
    /// field or route value of the same name that differs is ambiguous too (the form must be read already).
    /// </summary>
    internal static KeyValue Get(HttpContext context, KeyPart part, bool mvc)
    {
        var value = GetText(context, part, mvc);
        return part.Bound is { } bound && value.Failure == KeyFailure.None ? KeyValue.Of(bound(value.Value!)) : value;
    }

    private static KeyValue GetText(HttpContext context, KeyPart part, bool mvc)
    {
        var request = context.Request;
        switch (part.Source)
        {
            case KeyPartSource.Route:
                var routeValue = request.RouteValues[part.Name];
                var route = KeyValue.Of(routeValue as string ?? Convert.ToString(routeValue, CultureInfo.InvariantCulture));
                return mvc ? Shadowed(request, part.Name, route, checkRoute: false) : route;
            case KeyPartSource.Query:
                var query = request.Query.TryGetValue(part.Name, out var queryValues) ? Single(queryValues) : KeyValue.Missing;
                return mvc ? Shadowed(request, part.Name, query, checkRoute: true) : query;
            case KeyPartSource.Header:
                return request.Headers.TryGetValue(part.Name, out var header) ? Single(header) : KeyValue.Missing;
            case KeyPartSource.Claim:
                return KeyValue.Of(context.User.FindFirst(part.Name)?.Value);
            case KeyPartSource.User:
                return KeyValue.Of(context.User.Identity?.IsAuthenticated == true ? UserId(context.User) : null);
            default:
                throw new UnreachableException($"The key source {part.Source} is not synchronous.");
        }
    }

    /// <summary>Whether an MVC request must have its form read before <see cref="Get"/>.</summary>
    internal static bool NeedsForm(HttpContext context, bool mvc) =>
        mvc && context.Request.HasFormContentType && !context.Request.HasFormDataAvailable();

    private static bool HasFormDataAvailable(this HttpRequest request) =>
        request.HttpContext.Features.Get<IFormFeature>()?.Form is not null;

    private static KeyValue Single(StringValues values) => values.Count switch
    {
        0 => KeyValue.Missing,
        1 => KeyValue.Of(values[0]),
        _ => KeyValue.Ambiguous,
    };

    private static KeyValue Shadowed(HttpRequest request, string name, KeyValue value, bool checkRoute)
    {
        if (value.Failure is KeyFailure.Ambiguous or KeyFailure.Invalid)
        {
            return value;
        }

        // MVC's jQuery form value provider (after the query) reads the field `name[]` as `name`.
        if (request.HasFormContentType && request.HttpContext.Features.Get<IFormFeature>()?.Form is { } form &&
            (Differs(form, name, value) || Differs(form, name + "[]", value)))
        {
            return KeyValue.Ambiguous;
        }

        if (checkRoute && request.RouteValues.TryGetValue(name, out var routeValue) &&
            !string.Equals(routeValue as string ?? Convert.ToString(routeValue, CultureInfo.InvariantCulture), value.Value, StringComparison.Ordinal))
        {
            return KeyValue.Ambiguous;
        }

        return value;
    }

    private static bool Differs(IFormCollection form, string field, KeyValue value) =>
        form.TryGetValue(field, out var values) && (values.Count > 1 || !string.Equals(values.ToString(), value.Value, StringComparison.Ordinal));

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
}
