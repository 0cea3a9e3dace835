using Microsoft.Extensions.Logging;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>Source-generated log messages of keyed serialization.</summary>
internal static partial class KeyedSerializationLog
{
    [LoggerMessage(1, LogLevel.Debug, "Request to {Route} acquired {KeyCount} serialization key(s) after {WaitMilliseconds} ms.", EventName = "KeysAcquired")]
    internal static partial void KeysAcquired(ILogger logger, string route, int keyCount, double waitMilliseconds);

    [LoggerMessage(2, LogLevel.Debug, "Request to {Route} released its serialization key(s) after {HoldMilliseconds} ms.", EventName = "KeysReleased")]
    internal static partial void KeysReleased(ILogger logger, string route, double holdMilliseconds);

    [LoggerMessage(3, LogLevel.Debug, "The client of a request to {Route} disconnected while waiting for its serialization key(s); nothing ran.", EventName = "ClientDisconnected")]
    internal static partial void ClientDisconnected(ILogger logger, string route);

    [LoggerMessage(4, LogLevel.Debug, "Request to {Route} runs without serialization key for '{Template}': a key part is missing and the policy skips it.", EventName = "KeySkipped")]
    internal static partial void KeySkipped(ILogger logger, string route, string template);

    [LoggerMessage(5, LogLevel.Warning, "Request to {Route} rejected with {StatusCode} ({Reason}) by keyed serialization, policy {Policy}.", EventName = "RequestRejected")]
    internal static partial void RequestRejected(ILogger logger, string route, int statusCode, KeyedSerializationRejectionReason reason, string policy, Exception? exception);

    [LoggerMessage(6, LogLevel.Warning, "The serialization lock of a request to {Route} was lost while the request ran; RequestAborted fired.", EventName = "LockLost")]
    internal static partial void LockLost(ILogger logger, string route);
}
