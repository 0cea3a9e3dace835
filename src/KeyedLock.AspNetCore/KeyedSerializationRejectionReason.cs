namespace KeyedLock.AspNetCore;

/// <summary>Why a request was rejected instead of being run serialized.</summary>
public enum KeyedSerializationRejectionReason
{
    /// <summary>A part of a key could not be resolved (no such route value, header, query value, claim or JSON value). 400 by default.</summary>
    MissingKeyPart,

    /// <summary>
    /// A part of a key has several values (a repeated query parameter or header, two JSON properties that binding
    /// could read, a form field that shadows a route value), so the lock could see another value than the handler
    /// binds. Always 400, whatever <see cref="KeyedSerializationMissingKeyBehavior"/> says.
    /// </summary>
    AmbiguousKeyPart,

    /// <summary>
    /// A part of a key cannot be read as binding reads it (invalid UTF-8, a lone surrogate, a body that is not JSON, a
    /// JSON object or array, an unreadable form). Always 400.
    /// </summary>
    InvalidKeyPart,

    /// <summary>A <c>claim:</c> or <c>user</c> key and an unauthenticated user. 401.</summary>
    Unauthenticated,

    /// <summary>The request body is larger than <see cref="KeyedSerializationOptions.MaxBodyBytes"/> for a <c>body:</c> key. 413.</summary>
    BodyTooLarge,

    /// <summary>The wait for the key timed out. 429 by default.</summary>
    Timeout,

    /// <summary>Too many requests already wait for the key. 429 by default.</summary>
    QueueFull,

    /// <summary>The lock provider cannot be reached (fail closed). 503 by default.</summary>
    Unavailable,

    /// <summary>The lock was lost while the handler ran and the handler gave up before responding. 503 by default.</summary>
    LockLost,
}
