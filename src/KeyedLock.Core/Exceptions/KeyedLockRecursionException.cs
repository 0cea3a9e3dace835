namespace KeyedLock;

/// <summary>
/// The current async flow tried to acquire a key it already holds. Waiting would deadlock forever, so KeyedLock
/// throws instead.
/// </summary>
public sealed class KeyedLockRecursionException : KeyedLockException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="key">The key already held by the current flow.</param>
    public KeyedLockRecursionException(string key)
        : base(key, $"The current async flow already holds the keyed lock '{key}'. Re-entrant acquisition would deadlock, so it is not allowed.")
    {
    }
}
