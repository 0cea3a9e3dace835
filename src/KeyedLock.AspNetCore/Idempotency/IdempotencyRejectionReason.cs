namespace KeyedLock.AspNetCore;

/// <summary>Why a request to an idempotent endpoint was rejected instead of being run or replayed.</summary>
public enum IdempotencyRejectionReason
{
    /// <summary>The endpoint requires an idempotency key and the request has none. 400.</summary>
    MissingKey,

    /// <summary>
    /// The key cannot be used: longer than <see cref="IdempotencyOptions.MaxKeyLength"/>, or a part that cannot be
    /// read as binding reads it (invalid UTF-8, a body that is not JSON, ...). 400.
    /// </summary>
    InvalidKey,

    /// <summary>A key part has several values (a repeated header or query parameter, JSON properties that differ only in case). 400.</summary>
    AmbiguousKey,

    /// <summary>The request body is larger than <see cref="IdempotencyOptions.MaxRequestBodyBytes"/>. 413.</summary>
    BodyTooLarge,

    /// <summary>The key was already used for a different request (method, path, query or body). 422 by default (<see cref="IdempotencyOptions.KeyReusedStatusCode"/>).</summary>
    KeyReused,

    /// <summary>The original request with the key is still running and the duplicate does not wait (or waited too long). 409 by default (<see cref="IdempotencyOptions.InProgressStatusCode"/>).</summary>
    InProgress,

    /// <summary>The lock provider or the store cannot be reached, or a stored response cannot be read (fail closed). 503 by default (<see cref="IdempotencyOptions.UnavailableStatusCode"/>).</summary>
    Unavailable,
}
