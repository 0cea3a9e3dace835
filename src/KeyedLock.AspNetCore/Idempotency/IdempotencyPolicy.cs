namespace KeyedLock.AspNetCore;

/// <summary>
/// A named set of idempotency settings (<c>[Idempotent(Policy = "name")]</c>), added with
/// <see cref="IdempotencyOptions.AddPolicy"/>. Unset values fall back to the options.
/// </summary>
public sealed class IdempotencyPolicy
{
    /// <summary>The key template, e.g. <c>header:Webhook-Id</c>.</summary>
    public string? KeyTemplate { get; set; }

    /// <summary>The scope of the keys (endpoints with the same scope share keys); the endpoint itself when null.</summary>
    public string? Scope { get; set; }

    /// <summary>How long a stored response is replayed.</summary>
    public TimeSpan? Window { get; set; }

    /// <summary>Whether a request without a key is rejected with 400.</summary>
    public bool? KeyRequired { get; set; }

    /// <summary>Whether a duplicate waits for the original (true) or gets 409 at once while it runs (false): "don't wait".</summary>
    public bool? Wait { get; set; }

    /// <summary>The longest a duplicate waits for the original before it gets 409.</summary>
    public TimeSpan? WaitTimeout { get; set; }

    /// <summary>The largest response body that is stored; a larger response is sent in full but not stored.</summary>
    public long? MaxResponseBodyBytes { get; set; }

    /// <summary>Which response status codes are stored and replayed.</summary>
    public Func<int, bool>? ShouldStore { get; set; }
}
