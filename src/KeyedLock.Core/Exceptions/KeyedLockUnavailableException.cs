namespace KeyedLock;

/// <summary>
/// The lock provider's backing store (for example the database of a distributed provider) cannot be reached or
/// has no capacity. KeyedLock fails closed: the protected code must not run.
/// </summary>
public sealed class KeyedLockUnavailableException : KeyedLockException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="key">The key.</param>
    /// <param name="message">What was unavailable.</param>
    /// <param name="innerException">The underlying failure.</param>
    public KeyedLockUnavailableException(string key, string message, Exception? innerException = null)
        : base(key, message, innerException)
    {
    }
}
