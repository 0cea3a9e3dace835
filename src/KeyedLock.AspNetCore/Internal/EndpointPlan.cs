using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>What an endpoint's serialization metadata means, compiled once per endpoint (at startup for every endpoint the app maps).</summary>
internal sealed class EndpointPlan
{
    internal EndpointPlan(Endpoint endpoint, IReadOnlyList<SerializeByAttribute> attributes, KeyedSerializationOptions options, JsonKeyRules json)
    {
        var keys = new PlannedKey[attributes.Count];
        var policies = new SortedSet<string>(StringComparer.Ordinal);
        IsMvc = EndpointJson.IsMvc(endpoint);
        for (var i = 0; i < keys.Length; i++)
        {
            var attribute = attributes[i];
            KeyedSerializationPolicy? policy = null;
            if (attribute.Policy is { } name && !options.Policies.TryGetValue(name, out policy))
            {
                throw new InvalidOperationException($"The endpoint '{endpoint.DisplayName}' uses the keyed serialization policy '{name}', which was not added with AddPolicy.");
            }

            foreach (var part in attribute.Parts)
            {
                if (part.Source == KeyPartSource.Custom && !options.KeySources.ContainsKey(part.Name))
                {
                    throw new InvalidOperationException($"The endpoint '{endpoint.DisplayName}' uses the key source '{part.Name}', which was not added with AddKeySource.");
                }

                NeedsUser |= part.NeedsUser;
                NeedsBody |= part.Source == KeyPartSource.Body;
                IsSynchronous &= part.Source is not (KeyPartSource.Body or KeyPartSource.Custom);
            }

            keys[i] = new PlannedKey(endpoint, attribute, policy, options);
            QueueLimited |= keys[i].QueueLimit is not null;
            policies.Add(attribute.Policy ?? "default");
        }

        Keys = keys;
        Json = json;
        RouteTag = (endpoint as RouteEndpoint)?.RoutePattern.RawText ?? endpoint.DisplayName ?? "unknown";
        PolicyTag = string.Join(',', policies);
        Timeout = keys[0].Timeout;
        for (var i = 1; i < keys.Length; i++)
        {
            Timeout = Min(Timeout, keys[i].Timeout);
        }
    }

    internal PlannedKey[] Keys { get; }

    internal bool NeedsUser { get; }

    internal bool NeedsBody { get; }

    /// <summary>Whether every part is read synchronously (no <c>body:</c>, no custom source).</summary>
    internal bool IsSynchronous { get; } = true;

    /// <summary>Whether the endpoint is an MVC action (form fields and route values shadow query parameters in its binding).</summary>
    internal bool IsMvc { get; }

    /// <summary>Whether any key has a queue limit (then the in-flight counter is kept).</summary>
    internal bool QueueLimited { get; }

    /// <summary>The shortest wait of the keys.</summary>
    internal TimeSpan Timeout { get; }

    internal JsonKeyRules Json { get; }

    internal string RouteTag { get; }

    internal string PolicyTag { get; }

    private static TimeSpan Min(TimeSpan a, TimeSpan b)
    {
        if (a == System.Threading.Timeout.InfiniteTimeSpan)
        {
            return b;
        }

        return b == System.Threading.Timeout.InfiniteTimeSpan || a <= b ? a : b;
    }
}
