using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>Writes idempotency rejections: status code, <c>Retry-After</c>, <c>OnRejected</c>, then an RFC 9457 ProblemDetails body.</summary>
internal sealed class IdempotencyRejectionWriter(IdempotencyOptions options, ILogger logger, IdempotencyInstruments instruments)
{
    internal async ValueTask WriteAsync(HttpContext context, IdempotencyPlan plan, IdempotencyRejectionReason reason, string? part = null, Exception? exception = null)
    {
        var status = StatusCode(reason);
        instruments.Request(plan, ResultTag(reason));
        IdempotencyLog.Rejected(logger, plan.RouteTag, status, reason, exception);

        var retryAfter = reason is IdempotencyRejectionReason.InProgress or IdempotencyRejectionReason.Unavailable ? options.RetryAfter : null;
        Func<ValueTask>? callback = options.OnRejected is { } onRejected
            ? () => onRejected(new IdempotencyRejectedContext(context, reason, plan.PolicyName, exception), context.RequestAborted)
            : null;
        await ProblemResponse.RejectAsync(context, status, retryAfter, callback, Title(reason), Detail(reason, part), Code(reason)).ConfigureAwait(false);
    }

    internal static string Code(IdempotencyRejectionReason reason) => reason switch
    {
        IdempotencyRejectionReason.MissingKey => "keyedlock_idempotency_key_missing",
        IdempotencyRejectionReason.InvalidKey => "keyedlock_idempotency_key_invalid",
        IdempotencyRejectionReason.AmbiguousKey => "keyedlock_ambiguous_key",
        IdempotencyRejectionReason.BodyTooLarge => "keyedlock_body_too_large",
        IdempotencyRejectionReason.KeyReused => "keyedlock_idempotency_key_reused",
        IdempotencyRejectionReason.InProgress => "keyedlock_idempotency_in_progress",
        _ => "keyedlock_unavailable",
    };

    private static string ResultTag(IdempotencyRejectionReason reason) => reason switch
    {
        IdempotencyRejectionReason.MissingKey or IdempotencyRejectionReason.InvalidKey or IdempotencyRejectionReason.AmbiguousKey => IdempotencyMetrics.ResultInvalidKey,
        IdempotencyRejectionReason.KeyReused => IdempotencyMetrics.ResultKeyReused,
        IdempotencyRejectionReason.InProgress => IdempotencyMetrics.ResultInProgress,
        _ => IdempotencyMetrics.ResultRejected,
    };

    private int StatusCode(IdempotencyRejectionReason reason) => reason switch
    {
        IdempotencyRejectionReason.MissingKey or IdempotencyRejectionReason.InvalidKey or IdempotencyRejectionReason.AmbiguousKey => StatusCodes.Status400BadRequest,
        IdempotencyRejectionReason.BodyTooLarge => StatusCodes.Status413PayloadTooLarge,
        IdempotencyRejectionReason.KeyReused => options.KeyReusedStatusCode,
        IdempotencyRejectionReason.InProgress => options.InProgressStatusCode,
        _ => options.UnavailableStatusCode,
    };

    private static string Title(IdempotencyRejectionReason reason) => reason switch
    {
        IdempotencyRejectionReason.MissingKey => "Missing idempotency key",
        IdempotencyRejectionReason.InvalidKey => "Invalid idempotency key",
        IdempotencyRejectionReason.AmbiguousKey => "Ambiguous idempotency key",
        IdempotencyRejectionReason.BodyTooLarge => "Request body too large",
        IdempotencyRejectionReason.KeyReused => "Idempotency key reused",
        IdempotencyRejectionReason.InProgress => "Request in progress",
        _ => "Idempotency unavailable",
    };

    private string Detail(IdempotencyRejectionReason reason, string? part) => reason switch
    {
        IdempotencyRejectionReason.MissingKey => $"This operation is idempotent and requires an idempotency key ('{part}').",
        IdempotencyRejectionReason.InvalidKey when part is null => $"The idempotency key is longer than {options.MaxKeyLength} characters.",
        IdempotencyRejectionReason.InvalidKey => $"The idempotency key part '{part}' cannot be read (not JSON, invalid UTF-8, a lone surrogate, or an object or array).",
        IdempotencyRejectionReason.AmbiguousKey => $"The request has more than one value for the idempotency key part '{part}'; send it once.",
        IdempotencyRejectionReason.BodyTooLarge => $"This endpoint fingerprints the request body for idempotency, and the body is larger than {options.MaxRequestBodyBytes} bytes.",
        IdempotencyRejectionReason.KeyReused => "This idempotency key was already used for a different request (method, path, query or body).",
        IdempotencyRejectionReason.InProgress => "A request with the same idempotency key is still being processed. Retry later to receive its response.",
        _ => "The service that makes this operation idempotent is unavailable, so the request was not run. Retry later.",
    };
}
