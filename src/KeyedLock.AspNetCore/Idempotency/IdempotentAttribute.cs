using KeyedLock.AspNetCore.Internal;

namespace KeyedLock.AspNetCore;

/// <summary>
/// Makes an endpoint idempotent: the first request with an idempotency key runs, its completed response is stored,
/// and later requests with the same key receive that response again (with <c>Idempotent-Replayed: true</c>) instead
/// of running the handler a second time. Requests with the same key are serialized by the app's lock provider.
/// </summary>
/// <remarks>
/// <para>
/// The key comes from the <c>Idempotency-Key</c> header by default (<see cref="IdempotencyOptions.KeyTemplate"/>), or
/// from any key template of <see cref="SerializeByAttribute"/>, e.g. <c>header:Webhook-Id</c> or
/// <c>route:orderId+body:/attempt</c>. Keys are scoped per endpoint and, when the user is authenticated, per user.
/// </para>
/// <para>
/// Processed by <c>app.UseKeyedSerialization()</c>. Without the middleware, declare it with <c>.Idempotent(...)</c>
/// instead, which also wraps the endpoint with the idempotency stage.
/// </para>
/// </remarks>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class IdempotentAttribute : Attribute
{
    private bool? _keyRequired;
    private bool? _wait;

    /// <summary>Uses the key template of the policy, or <see cref="IdempotencyOptions.KeyTemplate"/> (the <c>Idempotency-Key</c> header).</summary>
    public IdempotentAttribute()
    {
    }

    /// <summary>Uses <paramref name="keyTemplate"/> for the idempotency key.</summary>
    /// <param name="keyTemplate">A key template, e.g. <c>header:Webhook-Id</c>.</param>
    /// <exception cref="ArgumentException">The template is empty or malformed.</exception>
    public IdempotentAttribute(string keyTemplate)
    {
        Parts = Internal.KeyTemplate.Parse(keyTemplate);
        KeyTemplate = keyTemplate;
    }

    /// <summary>The key template, or null to use the policy's or the options' template.</summary>
    public string? KeyTemplate { get; }

    /// <summary>The name of a policy added with <see cref="IdempotencyOptions.AddPolicy"/>; the defaults when null.</summary>
    public string? Policy { get; set; }

    /// <summary>
    /// The scope of the keys: endpoints with the same scope share idempotency keys. Defaults to the policy's scope, or
    /// to the endpoint itself (its HTTP methods and route pattern).
    /// </summary>
    public string? Scope { get; set; }

    /// <summary>
    /// Whether a request without a key is rejected with 400 (true) or runs without idempotency (false). Overrides the
    /// policy and <see cref="IdempotencyOptions.KeyRequired"/> when set.
    /// </summary>
    public bool KeyRequired
    {
        get => _keyRequired ?? true;
        set => _keyRequired = value;
    }

    /// <summary>
    /// Whether a duplicate that arrives while the original still runs waits for its response (true) or is rejected
    /// at once with 409 Conflict (false). Overrides the policy and <see cref="IdempotencyOptions.Wait"/> when set.
    /// </summary>
    public bool Wait
    {
        get => _wait ?? true;
        set => _wait = value;
    }

    internal KeyPart[]? Parts { get; }

    internal bool? KeyRequiredOrNull => _keyRequired;

    internal bool? WaitOrNull => _wait;
}
