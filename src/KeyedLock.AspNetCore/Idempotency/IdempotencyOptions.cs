using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace KeyedLock.AspNetCore;

/// <summary>
/// Options of idempotent replay (<see cref="IdempotentAttribute"/>), configured with
/// <c>services.AddKeyedSerialization().AddIdempotency(o => ...)</c> and validated at startup.
/// </summary>
public sealed class IdempotencyOptions
{
    /// <summary>The request header that carries the idempotency key by default: <c>Idempotency-Key</c>.</summary>
    public const string DefaultHeaderName = "Idempotency-Key";

    /// <summary>The response header added to replayed responses, with the value <c>true</c>: <c>Idempotent-Replayed</c>.</summary>
    public const string ReplayedHeaderName = "Idempotent-Replayed";

    /// <summary>The default of <see cref="KeyTemplate"/>: <c>header:Idempotency-Key</c>.</summary>
    public const string DefaultKeyTemplate = "header:" + DefaultHeaderName;

    private readonly Dictionary<string, IdempotencyPolicy> _policies = new(StringComparer.Ordinal);

    /// <summary>
    /// The key template of endpoints that set none (default <c>header:Idempotency-Key</c>). Any template of
    /// <see cref="SerializeByAttribute"/> works, e.g. <c>header:Webhook-Id</c>.
    /// </summary>
    public string KeyTemplate { get; set; } = DefaultKeyTemplate;

    /// <summary>How long a stored response is replayed (default 24 hours).</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Whether a request without a key is rejected with 400 (default true) or runs without idempotency.</summary>
    public bool KeyRequired { get; set; } = true;

    /// <summary>
    /// Whether a duplicate that arrives while the original runs waits for the original's response (default true), or
    /// is rejected at once with 409 Conflict.
    /// </summary>
    public bool Wait { get; set; } = true;

    /// <summary>
    /// The longest a duplicate waits for the original before it gets 409 Conflict (default 30 seconds;
    /// <see cref="Timeout.InfiniteTimeSpan"/> waits forever).
    /// </summary>
    public TimeSpan WaitTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest idempotency key value accepted (default 255 characters); longer keys get 400.</summary>
    public int MaxKeyLength { get; set; } = 255;

    /// <summary>
    /// The largest request body read to fingerprint the request (default 1 MiB); larger requests get 413 and do not
    /// run.
    /// </summary>
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// The largest response body that is stored (default 1 MiB). A larger response is still sent in full to its
    /// client, but not stored, so a duplicate runs again.
    /// </summary>
    public long MaxResponseBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// The response headers that are stored and replayed (case-insensitive). Default: <c>Content-Type</c>,
    /// <c>Content-Language</c>, <c>Content-Disposition</c>, <c>Location</c>, <c>ETag</c>, <c>Last-Modified</c>.
    /// Never add per-client headers such as <c>Set-Cookie</c>.
    /// </summary>
    public ISet<string> ReplayedHeaders { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        HeaderNames.ContentType,
        HeaderNames.ContentLanguage,
        HeaderNames.ContentDisposition,
        HeaderNames.Location,
        HeaderNames.ETag,
        HeaderNames.LastModified,
    };

    /// <summary>
    /// Which status codes are stored (default <see cref="IsStoredByDefault"/>: 2xx, and 4xx except 409 and 429).
    /// Responses that are not stored are not replayed: a duplicate runs the handler again.
    /// </summary>
    public Func<int, bool> ShouldStore { get; set; } = IsStoredByDefault;

    /// <summary>
    /// The size limit of the default in-process store, in bytes of stored bodies and headers (default 64 MiB). When it is
    /// full, the least recently used records are evicted early.
    /// </summary>
    public long MemoryStoreSizeLimit { get; set; } = 64 * 1024 * 1024;

    /// <summary>The <c>Retry-After</c> sent with 409 (original still running) and 503 (lock provider down); null sends none. Default 1 second.</summary>
    public TimeSpan? RetryAfter { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The status code when a key is reused for a different request (default 422 Unprocessable Content).</summary>
    public int KeyReusedStatusCode { get; set; } = StatusCodes.Status422UnprocessableEntity;

    /// <summary>The status code when the original request still runs and the duplicate does not wait, or waited too long (default 409 Conflict).</summary>
    public int InProgressStatusCode { get; set; } = StatusCodes.Status409Conflict;

    /// <summary>The status code when the lock provider or the store is unavailable (default 503 Service Unavailable).</summary>
    public int UnavailableStatusCode { get; set; } = StatusCodes.Status503ServiceUnavailable;

    /// <summary>
    /// Called for every idempotency rejection after the status code and <c>Retry-After</c> are set, before the default
    /// ProblemDetails body is written. If the callback starts the response, nothing else is written.
    /// </summary>
    public Func<IdempotencyRejectedContext, CancellationToken, ValueTask>? OnRejected { get; set; }

    internal IReadOnlyDictionary<string, IdempotencyPolicy> Policies => _policies;

    /// <summary>
    /// The default <see cref="ShouldStore"/>: 2xx, and 4xx except 409 Conflict and 429 Too Many Requests (the request
    /// may succeed when retried). 1xx, 3xx and 5xx are not stored.
    /// </summary>
    /// <param name="statusCode">The response status code.</param>
    /// <returns>Whether the response is stored.</returns>
    public static bool IsStoredByDefault(int statusCode) =>
        statusCode is >= 200 and <= 299 ||
        (statusCode is >= 400 and <= 499 && statusCode is not StatusCodes.Status409Conflict and not StatusCodes.Status429TooManyRequests);

    /// <summary>Adds a named policy, used with <c>[Idempotent(Policy = "name")]</c>.</summary>
    /// <param name="name">The policy name (ordinal).</param>
    /// <param name="configure">Sets the policy's values.</param>
    /// <returns>These options.</returns>
    /// <exception cref="ArgumentException">A policy with that name exists already.</exception>
    public IdempotencyOptions AddPolicy(string name, Action<IdempotencyPolicy> configure)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configure);
        if (_policies.ContainsKey(name))
        {
            throw new ArgumentException($"An idempotency policy named '{name}' was already added.", nameof(name));
        }

        var policy = new IdempotencyPolicy();
        configure(policy);
        _policies.Add(name, policy);
        return this;
    }
}
