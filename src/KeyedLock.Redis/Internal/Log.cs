using Microsoft.Extensions.Logging;

namespace KeyedLock.Redis.Internal;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Warning, "The Redis lease of key '{Key}' was lost ({Reason}); the lease's LostToken fired.")]
    internal static partial void LeaseLost(ILogger logger, string key, string reason, Exception? exception);

    [LoggerMessage(2, LogLevel.Warning, "Redis is unavailable for the keyed lock '{Key}'; failing closed.")]
    internal static partial void Unavailable(ILogger logger, string key, Exception exception);

    [LoggerMessage(3, LogLevel.Warning, "Could not release the Redis lease of key '{Key}'; it expires on the server within the lease TTL.")]
    internal static partial void ReleaseFailed(ILogger logger, string key, Exception exception);

    [LoggerMessage(4, LogLevel.Error, "A LostToken callback of the keyed lock '{Key}' threw.")]
    internal static partial void LostCallbackFailed(ILogger logger, string key, Exception exception);

    [LoggerMessage(5, LogLevel.Warning, "The Redis heartbeat (lease renewal and waiter refresh) failed; waiters fail closed, leases are retried until their loss deadline.")]
    internal static partial void HeartbeatFailed(ILogger logger, Exception exception);

    [LoggerMessage(6, LogLevel.Warning, "The Redis waiter of key '{Key}' had been dropped from the queue (this instance did not refresh it within WaiterTtl) and queued again at the tail.")]
    internal static partial void Requeued(ILogger logger, string key);

    [LoggerMessage(7, LogLevel.Debug, "Could not leave the Redis queue of key '{Key}'; the place expires on the server within WaiterTtl.")]
    internal static partial void LeaveFailed(ILogger logger, string key, Exception exception);

    [LoggerMessage(8, LogLevel.Warning, "The Redis connection failed ({FailureType}); waiters fail closed.")]
    internal static partial void ConnectionFailed(ILogger logger, string failureType, Exception? exception);
}
