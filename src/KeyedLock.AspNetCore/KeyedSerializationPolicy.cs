namespace KeyedLock.AspNetCore;

/// <summary>
/// A named set of settings for <see cref="SerializeByAttribute"/> keys (<c>Policy = "name"</c>), added with
/// <see cref="KeyedSerializationOptions.AddPolicy"/>. Unset values fall back to the options' defaults.
/// </summary>
public sealed class KeyedSerializationPolicy
{
    /// <summary>The longest wait for a key (<see cref="System.Threading.Timeout.InfiniteTimeSpan"/> waits forever).</summary>
    public TimeSpan? Timeout { get; set; }

    /// <summary>How many requests may wait for a key in this process while one holds it (0 never waits).</summary>
    public int? QueueLimit { get; set; }

    /// <summary>The status code for a timeout or a full queue (default 429).</summary>
    public int? RejectionStatusCode { get; set; }

    /// <summary>What to do when a key part cannot be resolved (default: reject with 400).</summary>
    public KeyedSerializationMissingKeyBehavior? MissingKeyBehavior { get; set; }

    /// <summary>The scope of keys that use this policy, unless the attribute sets its own.</summary>
    public string? Scope { get; set; }
}
