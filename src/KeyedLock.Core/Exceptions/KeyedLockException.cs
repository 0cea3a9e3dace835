namespace KeyedLock;

/// <summary>The base type of every failure KeyedLock reports about a key.</summary>
public class KeyedLockException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="key">The key concerned.</param>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause, if any.</param>
    public KeyedLockException(string key, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Key = key;
    }

    /// <summary>The key concerned (for multi-key acquisitions, the key that failed).</summary>
    public string Key { get; }
}
