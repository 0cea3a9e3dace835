using Microsoft.AspNetCore.Http;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>An endpoint and its serialization plan (null when the endpoint is opted out).</summary>
internal sealed record EndpointPlanCache(Endpoint Endpoint, EndpointPlan? Plan);
