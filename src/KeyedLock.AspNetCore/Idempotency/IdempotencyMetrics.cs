namespace KeyedLock.AspNetCore;

/// <summary>
/// Names of the instrument that idempotent replay adds to the <c>KeyedLock</c> meter (<see cref="KeyedLockMetrics.MeterName"/>).
/// </summary>
public static class IdempotencyMetrics
{
    /// <summary>
    /// Counter: requests to idempotent endpoints, tagged <see cref="KeyedSerializationMetrics.RouteTag"/> and
    /// <see cref="KeyedLockMetrics.ResultTag"/> (one of the <c>Result*</c> values).
    /// </summary>
    public const string Requests = "keyedlock.idempotency.requests";

    /// <summary>The handler ran and its response was stored.</summary>
    public const string ResultStored = "stored";

    /// <summary>The handler ran; its response was not stored (status, size, failure, abort, or the store declined).</summary>
    public const string ResultNotStored = "not_stored";

    /// <summary>A stored response was replayed.</summary>
    public const string ResultReplayed = "replayed";

    /// <summary>The request had no key and the endpoint does not require one: it ran without idempotency.</summary>
    public const string ResultUnprotected = "unprotected";

    /// <summary>Rejected with 400: no key, or the key was too long.</summary>
    public const string ResultInvalidKey = "invalid_key";

    /// <summary>Rejected with 422: the key was used for a different request.</summary>
    public const string ResultKeyReused = "key_reused";

    /// <summary>Rejected with 409: the original request with the key was still running.</summary>
    public const string ResultInProgress = "in_progress";

    /// <summary>Rejected with 413 (request body too large) or 503 (lock provider or store unavailable).</summary>
    public const string ResultRejected = "rejected";
}
