using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>Writes rejections: status code, <c>Retry-After</c>, <c>OnRejected</c>, then an RFC 9457 ProblemDetails body.</summary>
internal sealed class KeyedSerializationRejectionWriter(KeyedSerializationOptions options, ILogger logger, KeyedSerializationInstruments instruments)
{
    internal async ValueTask WriteAsync(HttpContext context, EndpointPlan plan, KeyedSerializationRejectionReason reason, PlannedKey planned, string? missingPart, Exception? exception, long started = 0)
    {
        var status = StatusCode(reason, planned);
        KeyedSerializationLog.RequestRejected(logger, plan.RouteTag, status, reason, planned.PolicyName ?? "default", exception);
        instruments.Request(plan, ResultTag(reason), started);

        var retryAfter = reason is KeyedSerializationRejectionReason.Timeout or KeyedSerializationRejectionReason.QueueFull or KeyedSerializationRejectionReason.Unavailable or KeyedSerializationRejectionReason.LockLost
            ? options.RetryAfter
            : null;
        Func<ValueTask>? callback = options.OnRejected is { } onRejected
            ? () => onRejected(new KeyedSerializationRejectedContext(context, reason, planned.PolicyName, missingPart ?? (exception as KeyedLockException)?.Key, exception), context.RequestAborted)
            : null;
        await ProblemResponse.RejectAsync(context, status, retryAfter, callback, Title(reason), Detail(reason, missingPart), "keyedlock_" + ResultTag(reason)).ConfigureAwait(false);
    }

    internal static string ResultTag(KeyedSerializationRejectionReason reason) => reason switch
    {
        KeyedSerializationRejectionReason.MissingKeyPart => "missing_key",
        KeyedSerializationRejectionReason.AmbiguousKeyPart => "ambiguous_key",
        KeyedSerializationRejectionReason.InvalidKeyPart => "invalid_key",
        KeyedSerializationRejectionReason.Unauthenticated => "unauthenticated",
        KeyedSerializationRejectionReason.BodyTooLarge => "body_too_large",
        KeyedSerializationRejectionReason.Timeout => "timeout",
        KeyedSerializationRejectionReason.QueueFull => "queue_full",
        KeyedSerializationRejectionReason.Unavailable => "unavailable",
        _ => "lock_lost",
    };

    private int StatusCode(KeyedSerializationRejectionReason reason, PlannedKey planned) => reason switch
    {
        KeyedSerializationRejectionReason.MissingKeyPart or KeyedSerializationRejectionReason.AmbiguousKeyPart or KeyedSerializationRejectionReason.InvalidKeyPart => StatusCodes.Status400BadRequest,
        KeyedSerializationRejectionReason.Unauthenticated => StatusCodes.Status401Unauthorized,
        KeyedSerializationRejectionReason.BodyTooLarge => StatusCodes.Status413PayloadTooLarge,
        KeyedSerializationRejectionReason.Timeout or KeyedSerializationRejectionReason.QueueFull => planned.RejectionStatusCode,
        _ => options.UnavailableStatusCode,
    };

    private static string Title(KeyedSerializationRejectionReason reason) => reason switch
    {
        KeyedSerializationRejectionReason.MissingKeyPart => "Missing serialization key",
        KeyedSerializationRejectionReason.AmbiguousKeyPart => "Ambiguous serialization key",
        KeyedSerializationRejectionReason.InvalidKeyPart => "Unreadable serialization key",
        KeyedSerializationRejectionReason.Unauthenticated => "Authentication required",
        KeyedSerializationRejectionReason.BodyTooLarge => "Request body too large",
        KeyedSerializationRejectionReason.Timeout or KeyedSerializationRejectionReason.QueueFull => "Too many concurrent requests for the same resource",
        _ => "Serialization unavailable",
    };

    private string Detail(KeyedSerializationRejectionReason reason, string? missingPart) => reason switch
    {
        KeyedSerializationRejectionReason.MissingKeyPart => $"The request has no value for '{missingPart}', which this endpoint needs to serialize concurrent requests.",
        KeyedSerializationRejectionReason.AmbiguousKeyPart => $"The request has more than one value for '{missingPart}' (a repeated parameter or header, or JSON properties that differ only in case); send it once.",
        KeyedSerializationRejectionReason.InvalidKeyPart => $"The value of '{missingPart}' cannot be read (not JSON, invalid UTF-8, a lone surrogate, or an object or array where a single value is expected).",
        KeyedSerializationRejectionReason.Unauthenticated => "This endpoint serializes requests per user; authenticate first.",
        KeyedSerializationRejectionReason.BodyTooLarge => $"This endpoint reads the request body to serialize concurrent requests, and the body is larger than {options.MaxBodyBytes} bytes.",
        KeyedSerializationRejectionReason.Timeout => "Another request for the same resource is still running; this one waited too long. Retry later.",
        KeyedSerializationRejectionReason.QueueFull => "Too many requests for the same resource are already waiting. Retry later.",
        KeyedSerializationRejectionReason.Unavailable => "The lock service that serializes requests is unavailable, so the request was not run. Retry later.",
        _ => "The request lost its serialization lock while running and was stopped. Retry later.",
    };
}
