using Microsoft.AspNetCore.Http;

namespace KeyedLock.AspNetCore;

/// <summary>
/// Passed to <see cref="IdempotencyOptions.OnRejected"/>. When it runs, the response status code and the
/// <c>Retry-After</c> header are already set; the callback may change them or write its own response (if it starts the
/// response, the default ProblemDetails body is not written).
/// </summary>
public sealed class IdempotencyRejectedContext
{
    internal IdempotencyRejectedContext(HttpContext httpContext, IdempotencyRejectionReason reason, string? policy, Exception? exception)
    {
        HttpContext = httpContext;
        Reason = reason;
        Policy = policy;
        Exception = exception;
    }

    /// <summary>The rejected request.</summary>
    public HttpContext HttpContext { get; }

    /// <summary>Why the request was rejected.</summary>
    public IdempotencyRejectionReason Reason { get; }

    /// <summary>The endpoint's idempotency policy, or null for the defaults.</summary>
    public string? Policy { get; }

    /// <summary>The provider's or the store's exception, if the rejection came from one.</summary>
    public Exception? Exception { get; }
}
