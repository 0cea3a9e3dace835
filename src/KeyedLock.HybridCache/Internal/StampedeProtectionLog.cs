using Microsoft.Extensions.Logging;

namespace KeyedLock.Caching.Internal;

internal static partial class StampedeProtectionLog
{
    [LoggerMessage(1, LogLevel.Debug, "Cache key {CacheKey} was loaded by another instance while this one waited for its lock; the load was skipped.", EventName = "LoadedElsewhere")]
    internal static partial void LoadedElsewhere(ILogger logger, string cacheKey);

    [LoggerMessage(2, LogLevel.Debug, "Cache key {CacheKey} was loaded under its lock and written to the distributed cache.", EventName = "LoadedUnderLock")]
    internal static partial void LoadedUnderLock(ILogger logger, string cacheKey);
}
