namespace KeyedLock.Idempotency;

/// <summary>
/// A completed response kept for idempotent replay: what the first request with an idempotency key received, and the
/// fingerprint of that request so that a reuse of the key for a different request can be told apart.
/// </summary>
public sealed class IdempotencyRecord
{
    /// <summary>Creates a record.</summary>
    /// <param name="fingerprint">The fingerprint of the original request (opaque to the store).</param>
    /// <param name="statusCode">The response status code.</param>
    /// <param name="headers">The response headers kept for replay, in order; a name may repeat.</param>
    /// <param name="body">The complete response body.</param>
    /// <param name="createdAt">When the response was stored.</param>
    /// <param name="expiresAt">When the record stops being replayed.</param>
    /// <exception cref="ArgumentException"><paramref name="expiresAt"/> is not after <paramref name="createdAt"/>, or the status code is out of range.</exception>
    public IdempotencyRecord(
        string fingerprint,
        int statusCode,
        IReadOnlyList<KeyValuePair<string, string>> headers,
        ReadOnlyMemory<byte> body,
        DateTimeOffset createdAt,
        DateTimeOffset expiresAt)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentOutOfRangeException.ThrowIfLessThan(statusCode, 100);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(statusCode, 999);
        if (expiresAt <= createdAt)
        {
            throw new ArgumentException("A record must expire after it was created.", nameof(expiresAt));
        }

        Fingerprint = fingerprint;
        StatusCode = statusCode;
        Headers = headers;
        Body = body;
        CreatedAt = createdAt;
        ExpiresAt = expiresAt;
    }

    /// <summary>The fingerprint of the original request (for HTTP: method, path, query and a hash of the body).</summary>
    public string Fingerprint { get; }

    /// <summary>The response status code.</summary>
    public int StatusCode { get; }

    /// <summary>The response headers kept for replay, in order; a name may repeat.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }

    /// <summary>The complete response body.</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>When the response was stored.</summary>
    public DateTimeOffset CreatedAt { get; }

    /// <summary>When the record stops being replayed; a store treats it as absent from then on.</summary>
    public DateTimeOffset ExpiresAt { get; }
}
