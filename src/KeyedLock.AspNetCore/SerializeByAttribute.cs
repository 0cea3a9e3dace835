using KeyedLock.AspNetCore.Internal;

namespace KeyedLock.AspNetCore;

/// <summary>
/// Serializes the requests to an endpoint by a key built from the request: requests whose key is equal run one at a
/// time, in arrival order; requests with different keys run in parallel.
/// </summary>
/// <remarks>
/// <para>
/// The template is one or more parts joined with <c>+</c>, each part one of <c>route:NAME</c>, <c>query:NAME</c>,
/// <c>header:NAME</c>, <c>claim:TYPE</c>, <c>user</c>, <c>body:/json/pointer</c> or the name of a key source
/// registered with <see cref="KeyedSerializationOptions.AddKeySource(string, Func{Microsoft.AspNetCore.Http.HttpContext, ValueTask{string}})"/>.
/// All parts of one attribute make one composite key. Several attributes on one endpoint make several keys, all
/// acquired together without deadlocks.
/// </para>
/// <para>
/// The same metadata is added by <c>.SerializeBy(...)</c> on an endpoint convention builder. Requests are serialized
/// by <c>app.UseKeyedSerialization()</c>; endpoints declared with <c>.SerializeBy(...)</c> and MVC controllers are
/// serialized without it too. A minimal-API handler with the attribute needs the middleware: the app refuses to start
/// without it.
/// </para>
/// </remarks>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = true, Inherited = true)]
public sealed class SerializeByAttribute : Attribute
{
    /// <summary>The value of <see cref="TimeoutMilliseconds"/> and <see cref="QueueLimit"/> when they are not set.</summary>
    internal const int NotSet = int.MinValue;

    private int _timeoutMilliseconds = NotSet;
    private int _queueLimit = NotSet;

    /// <summary>Creates the attribute.</summary>
    /// <param name="template">The key template, e.g. <c>route:userId</c> or <c>claim:tenant+route:orderId</c>.</param>
    /// <exception cref="ArgumentException">The template is empty or malformed.</exception>
    public SerializeByAttribute(string template)
    {
        Parts = KeyTemplate.Parse(template);
        Template = template;
    }

    /// <summary>The key template.</summary>
    public string Template { get; }

    /// <summary>
    /// The key's scope: the first segment of the final key. Endpoints with the same template and scope share keys.
    /// Defaults to the policy's scope, or to nothing (so <c>route:userId</c> means "per user, wherever it stands").
    /// </summary>
    public string? Scope { get; set; }

    /// <summary>The name of a policy added with <see cref="KeyedSerializationOptions.AddPolicy"/>; the defaults when null.</summary>
    public string? Policy { get; set; }

    /// <summary>
    /// The longest wait for the key in milliseconds (<c>-1</c> waits forever, <c>0</c> does not wait). Overrides the
    /// policy and <see cref="KeyedSerializationOptions.DefaultTimeout"/>. <see cref="int.MinValue"/> when not set.
    /// </summary>
    public int TimeoutMilliseconds
    {
        get => _timeoutMilliseconds;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, -1);
            _timeoutMilliseconds = value;
        }
    }

    /// <summary>
    /// How many requests may wait for the key in this process while one holds it (0 never waits). Overrides the policy
    /// and <see cref="KeyedSerializationOptions.DefaultQueueLimit"/>. <see cref="int.MinValue"/> when not set.
    /// </summary>
    public int QueueLimit
    {
        get => _queueLimit;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _queueLimit = value;
        }
    }

    internal KeyPart[] Parts { get; }

    internal TimeSpan? Timeout => _timeoutMilliseconds == NotSet ? null : TimeSpan.FromMilliseconds(_timeoutMilliseconds);

    internal int? QueueLimitOrNull => _queueLimit == NotSet ? null : _queueLimit;

    /// <summary>
    /// The plan of the last endpoint this attribute was looked up for (one immutable pair, so reads are atomic). Most
    /// attributes belong to one endpoint, so the request path finds its plan here without a table lookup.
    /// </summary>
    internal EndpointPlanCache? PlanCache { get; set; }
}
