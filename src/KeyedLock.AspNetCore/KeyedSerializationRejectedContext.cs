using Microsoft.AspNetCore.Http;

namespace KeyedLock.AspNetCore;

/// <summary>
/// Passed to <see cref="KeyedSerializationOptions.OnRejected"/>. When it runs, the response status code and the
/// <c>Retry-After</c> header are already set; the callback may change them or write its own response (if it starts the
/// response, the default ProblemDetails body is not written).
/// </summary>
public sealed class KeyedSerializationRejectedContext
{
    internal KeyedSerializationRejectedContext(HttpContext httpContext, KeyedSerializationRejectionReason reason, string? policy, string? key, Exception? exception)
    {
        HttpContext = httpContext;
        Reason = reason;
        Policy = policy;
        Key = key;
        Exception = exception;
    }

    /// <summary>The rejected request.</summary>
    public HttpContext HttpContext { get; }

    /// <summary>Why the request was rejected.</summary>
    public KeyedSerializationRejectionReason Reason { get; }

    /// <summary>The policy of the key concerned, or null for the defaults.</summary>
    public string? Policy { get; }

    /// <summary>The key concerned (or the key part that could not be resolved), when known.</summary>
    public string? Key { get; }

    /// <summary>The provider's exception, if the rejection came from one.</summary>
    public Exception? Exception { get; }
}
