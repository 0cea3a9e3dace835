namespace KeyedLock;

/// <summary>The key was not granted within the timeout. The waiter has left the queue.</summary>
public sealed class KeyedLockTimeoutException : KeyedLockException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="key">The key.</param>
    /// <param name="timeout">The timeout that elapsed.</param>
    public KeyedLockTimeoutException(string key, TimeSpan timeout)
        : base(key, $"Timed out after {timeout} waiting for the keyed lock '{key}'.")
    {
        Timeout = timeout;
    }

    /// <summary>The timeout that elapsed.</summary>
    public TimeSpan Timeout { get; }
}
