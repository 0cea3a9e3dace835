using Microsoft.Extensions.Logging;

namespace KeyedLock.Postgres.Internal;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Warning, "The PostgreSQL advisory lock of key '{Key}' was lost (its connection failed); the lease's LostToken fired.")]
    internal static partial void LeaseLost(ILogger logger, string key, Exception? exception);

    [LoggerMessage(2, LogLevel.Warning, "PostgreSQL is unavailable for the keyed lock '{Key}'; failing closed.")]
    internal static partial void Unavailable(ILogger logger, string key, Exception exception);

    [LoggerMessage(3, LogLevel.Warning, "Could not unlock the PostgreSQL advisory lock of key '{Key}' cleanly; the connection is discarded so that the server drops the lock.")]
    internal static partial void CleanupFailed(ILogger logger, string key, Exception exception);

    [LoggerMessage(4, LogLevel.Error, "A LostToken callback of the keyed lock '{Key}' threw.")]
    internal static partial void LostCallbackFailed(ILogger logger, string key, Exception exception);

    [LoggerMessage(5, LogLevel.Debug, "A pooled connection failed before the lock of key '{Key}' was requested; retrying once on a fresh connection.")]
    internal static partial void RetryingOnFreshConnection(ILogger logger, string key, Exception exception);
}
