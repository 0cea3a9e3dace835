namespace KeyedLock.AspNetCore;

/// <summary>What happens when a part of a key cannot be resolved from the request.</summary>
public enum KeyedSerializationMissingKeyBehavior
{
    /// <summary>Reject the request with 400 Bad Request; the handler does not run. The default.</summary>
    Reject,

    /// <summary>Run the request without that key (without serialization when it was the only key).</summary>
    SkipKey,
}
