using Microsoft.Extensions.Logging;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>Source-generated log messages of idempotent replay.</summary>
internal static partial class IdempotencyLog
{
    [LoggerMessage(101, LogLevel.Debug, "Request to {Route} replayed the stored {StatusCode} response of its idempotency key.", EventName = "IdempotentReplayed")]
    internal static partial void Replayed(ILogger logger, string route, int statusCode);

    [LoggerMessage(102, LogLevel.Debug, "Request to {Route} stored its {StatusCode} response ({BodyBytes} bytes) for idempotent replay.", EventName = "IdempotentStored")]
    internal static partial void Stored(ILogger logger, string route, int statusCode, long bodyBytes);

    [LoggerMessage(103, LogLevel.Debug, "Request to {Route} did not store its {StatusCode} response for idempotent replay: {Why}.", EventName = "IdempotentNotStored")]
    internal static partial void NotStored(ILogger logger, string route, int statusCode, string why);

    [LoggerMessage(104, LogLevel.Information, "Request to {Route} rejected with {StatusCode} by idempotency: {Reason}.", EventName = "IdempotentRejected")]
    internal static partial void Rejected(ILogger logger, string route, int statusCode, KeyedLock.AspNetCore.IdempotencyRejectionReason reason, Exception? exception);

    [LoggerMessage(105, LogLevel.Warning, "The idempotency store failed for a request to {Route}.", EventName = "IdempotencyStoreFailed")]
    internal static partial void StoreFailed(ILogger logger, string route, Exception exception);

    [LoggerMessage(106, LogLevel.Error, "The stored idempotent response of a request to {Route} cannot be read (format byte {Format}); the request was rejected, not run again.", EventName = "IdempotencyValueUnreadable")]
    internal static partial void Unreadable(ILogger logger, string route, int format);
}
