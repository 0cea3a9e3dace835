namespace KeyedLock.AspNetCore;

/// <summary>
/// Names of the request-level instruments that keyed serialization adds to the <c>KeyedLock</c> meter
/// (<see cref="KeyedLockMetrics.MeterName"/>).
/// </summary>
public static class KeyedSerializationMetrics
{
    /// <summary>Counter: requests to serialized endpoints, tagged <see cref="RouteTag"/>, <see cref="PolicyTag"/> and <see cref="KeyedLockMetrics.ResultTag"/>.</summary>
    public const string Requests = "keyedlock.http.requests";

    /// <summary>Histogram (s): how long requests waited for their keys, with the same tags as <see cref="Requests"/>.</summary>
    public const string WaitDuration = "keyedlock.http.wait.duration";

    /// <summary>Up-down counter: requests running serialized right now, tagged <see cref="RouteTag"/> and <see cref="PolicyTag"/>.</summary>
    public const string ActiveRequests = "keyedlock.http.requests.active";

    /// <summary>The endpoint tag: the route pattern, or the endpoint's display name.</summary>
    public const string RouteTag = "http.route";

    /// <summary>The policy tag: the policy names of the endpoint's keys joined with <c>,</c>, or <c>default</c>.</summary>
    public const string PolicyTag = "keyedlock.policy";
}
