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
}
