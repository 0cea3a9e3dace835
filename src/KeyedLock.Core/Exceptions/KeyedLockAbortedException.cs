namespace KeyedLock;

/// <summary>
/// The waiter was rejected because the holder of the key failed while running with
/// <see cref="KeyedLockErrorStrategy.Stop"/>. <see cref="Exception.InnerException"/> is the holder's failure.
/// </summary>
public sealed class KeyedLockAbortedException : KeyedLockException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="key">The key.</param>
    /// <param name="innerException">The failure of the holder that aborted the queue.</param>
    public KeyedLockAbortedException(string key, Exception innerException)
        : base(key, $"The wait for the keyed lock '{key}' was aborted because the holder failed: {innerException.Message}", innerException)
    {
    }
}
