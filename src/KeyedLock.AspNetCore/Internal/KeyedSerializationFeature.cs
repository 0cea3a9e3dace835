namespace KeyedLock.AspNetCore.Internal;

/// <summary>
/// The state of one serialized request; set on <c>HttpContext.Features</c> so that the middleware and the endpoint
/// filter never both lock the same request.
/// </summary>
internal sealed class KeyedSerializationFeature : IKeyedSerializationFeature
{
    internal KeyedSerializationFeature(string[] keys, PlannedKey[] owners, KeyedLockLease lease, EndpointPlan plan)
    {
        Keys = keys;
        Owners = owners;
        Lease = lease;
        Plan = plan;
    }

    public IReadOnlyList<string> Keys { get; }

    public KeyedLockLease Lease { get; }

    internal PlannedKey[] Owners { get; }

    internal EndpointPlan Plan { get; }

    internal CancellationToken OriginalRequestAborted { get; set; }

    internal CancellationTokenSource? LinkedAborted { get; set; }

    internal CancellationToken LostToken { get; set; }

    internal long StartedTimestamp { get; set; }

    /// <summary>
    /// True from the grant until the keys are released. The feature then stays on the context (setting it back to
    /// null would bump the feature collection's revision a second time and invalidate every cached feature lookup
    /// of the rest of the request), so "already serialized" checks read this flag.
    /// </summary>
    internal bool IsActive { get; set; } = true;

    /// <summary>Whether <paramref name="context"/> is running serialized right now (middleware or filter).</summary>
    internal static bool IsActiveOn(Microsoft.AspNetCore.Http.HttpContext context) =>
        context.Features.Get<IKeyedSerializationFeature>() is KeyedSerializationFeature { IsActive: true };
}
