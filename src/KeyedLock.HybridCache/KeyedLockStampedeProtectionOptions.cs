namespace KeyedLock.Caching;

/// <summary>Options of <c>AddKeyedLockStampedeProtection()</c>: how a cold key takes its lock across instances.</summary>
public sealed class KeyedLockStampedeProtectionOptions
{
    /// <summary>
    /// Prepended to the cache key to form the lock key, so that cache loads never share a lock with the app's own
    /// keys (for example <c>[SerializeBy]</c>). Default <c>"hybridcache|"</c>: the cache key <c>product:2</c> is
    /// loaded under the lock key <c>hybridcache|product:2</c>.
    /// </summary>
    public string LockKeyPrefix { get; set; } = "hybridcache|";

    /// <summary>
    /// The longest wait for the key's lock while another instance loads it; infinite by default (like HybridCache's
    /// own wait for a load in progress: callers stop waiting with their cancellation token). When it elapses, the
    /// callers get a <see cref="KeyedLockTimeoutException"/>; the load is never run without the lock.
    /// </summary>
    public TimeSpan LockTimeout { get; set; } = Timeout.InfiniteTimeSpan;
}
