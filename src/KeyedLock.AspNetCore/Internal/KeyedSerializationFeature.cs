namespace KeyedLock.AspNetCore.Internal;

/// <summary>
/// Set on <c>HttpContext.Features</c> while a request holds its keys, so that the middleware and the endpoint wrapper
/// never both lock the same request.
/// </summary>
internal sealed class KeyedSerializationFeature(string[] keys, KeyedLockLease lease) : IKeyedSerializationFeature
{
    public IReadOnlyList<string> Keys { get; } = keys;

    public KeyedLockLease Lease { get; } = lease;

    /// <summary>
    /// True from the grant until the keys are released. The feature then stays on the context (setting it back to
    /// null would bump the feature collection's revision a second time and invalidate every cached feature lookup
    /// of the rest of the request), so "already serialized" checks read this flag.
    /// </summary>
    internal bool IsActive { get; set; } = true;

    /// <summary>Whether <paramref name="context"/> is running serialized right now (middleware or endpoint wrapper).</summary>
    internal static bool IsActiveOn(Microsoft.AspNetCore.Http.HttpContext context) =>
        context.Features.Get<IKeyedSerializationFeature>() is KeyedSerializationFeature { IsActive: true };
}
