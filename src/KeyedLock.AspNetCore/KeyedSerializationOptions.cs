using KeyedLock.AspNetCore.Internal;
using Microsoft.AspNetCore.Http;

namespace KeyedLock.AspNetCore;

/// <summary>Options of keyed serialization, configured with <c>services.AddKeyedSerialization(o => ...)</c> and validated at startup.</summary>
public sealed class KeyedSerializationOptions
{
    /// <summary>The default of <see cref="MaxBodyBytes"/>: 64 KiB.</summary>
    public const long DefaultMaxBodyBytes = 64 * 1024;

    private readonly Dictionary<string, KeyedSerializationPolicy> _policies = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Func<HttpContext, ValueTask<string?>>> _keySources = new(StringComparer.Ordinal);

    /// <summary>
    /// The longest a request waits for its keys before it is rejected (default 30 seconds).
    /// <see cref="Timeout.InfiniteTimeSpan"/> waits forever; <see cref="TimeSpan.Zero"/> never waits.
    /// </summary>
    public TimeSpan DefaultTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How many requests may wait for a key in this process while one holds it; null (the default) is unbounded.</summary>
    public int? DefaultQueueLimit { get; set; }

    /// <summary>The largest request body read to resolve a <c>body:</c> key (default 64 KiB). Larger bodies get 413.</summary>
    public long MaxBodyBytes { get; set; } = DefaultMaxBodyBytes;

    /// <summary>The status code for a wait timeout or a full queue (default 429 Too Many Requests).</summary>
    public int RejectionStatusCode { get; set; } = StatusCodes.Status429TooManyRequests;

    /// <summary>The status code when the lock provider is unavailable (default 503 Service Unavailable).</summary>
    public int UnavailableStatusCode { get; set; } = StatusCodes.Status503ServiceUnavailable;

    /// <summary>
    /// The <c>Retry-After</c> sent with 429 and 503 rejections, rounded up to whole seconds (default 1 second);
    /// null sends none.
    /// </summary>
    public TimeSpan? RetryAfter { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>What to do when a key part cannot be resolved (default: reject with 400).</summary>
    public KeyedSerializationMissingKeyBehavior MissingKeyBehavior { get; set; } = KeyedSerializationMissingKeyBehavior.Reject;

    /// <summary>
    /// Called for every rejection after the status code and <c>Retry-After</c> are set, before the default
    /// ProblemDetails body is written. If the callback starts the response, nothing else is written.
    /// </summary>
    public Func<KeyedSerializationRejectedContext, CancellationToken, ValueTask>? OnRejected { get; set; }

    internal IReadOnlyDictionary<string, KeyedSerializationPolicy> Policies => _policies;

    internal IReadOnlyDictionary<string, Func<HttpContext, ValueTask<string?>>> KeySources => _keySources;

    /// <summary>Adds a named policy, used with <c>[SerializeBy("...", Policy = "name")]</c>.</summary>
    /// <param name="name">The policy name (ordinal).</param>
    /// <param name="configure">Sets the policy's values.</param>
    /// <returns>These options.</returns>
    /// <exception cref="ArgumentException">A policy with that name exists already.</exception>
    public KeyedSerializationOptions AddPolicy(string name, Action<KeyedSerializationPolicy> configure)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configure);
        if (_policies.ContainsKey(name))
        {
            throw new ArgumentException($"A keyed serialization policy named '{name}' was already added.", nameof(name));
        }

        var policy = new KeyedSerializationPolicy();
        configure(policy);
        _policies.Add(name, policy);
        return this;
    }

    /// <summary>
    /// Adds a named key source, used as a template part by its bare name (<c>[SerializeBy("tenant+route:id")]</c>).
    /// A null or empty value counts as a missing key part.
    /// </summary>
    /// <param name="name">The source name: letters, digits, <c>-</c>, <c>_</c> or <c>.</c>; not a built-in source name.</param>
    /// <param name="source">Reads the value from the request.</param>
    /// <returns>These options.</returns>
    /// <exception cref="ArgumentException">The name is invalid, built-in or already added.</exception>
    public KeyedSerializationOptions AddKeySource(string name, Func<HttpContext, ValueTask<string?>> source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!KeyTemplate.IsValidCustomSourceName(name))
        {
            throw new ArgumentException($"'{name}' is not a valid key source name: use letters, digits, '-', '_' or '.', and not a built-in source name.", nameof(name));
        }

        if (_keySources.ContainsKey(name))
        {
            throw new ArgumentException($"A key source named '{name}' was already added.", nameof(name));
        }

        _keySources.Add(name, source);
        return this;
    }

    /// <summary>Adds a named synchronous key source. See <see cref="AddKeySource(string, Func{HttpContext, ValueTask{string}})"/>.</summary>
    /// <param name="name">The source name.</param>
    /// <param name="source">Reads the value from the request.</param>
    /// <returns>These options.</returns>
    public KeyedSerializationOptions AddKeySource(string name, Func<HttpContext, string?> source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return AddKeySource(name, context => new ValueTask<string?>(source(context)));
    }
}
