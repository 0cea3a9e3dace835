using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>What an endpoint's serialization metadata means, compiled once per endpoint.</summary>
internal sealed class EndpointPlan
{
    internal EndpointPlan(Endpoint endpoint, IReadOnlyList<SerializeByAttribute> attributes, KeyedSerializationOptions options)
    {
        var keys = new PlannedKey[attributes.Count];
        var policies = new SortedSet<string>(StringComparer.Ordinal);
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

            keys[i] = new PlannedKey(attribute, policy, options);
            policies.Add(attribute.Policy ?? "default");
        }

        Keys = keys;
        RouteTag = (endpoint as RouteEndpoint)?.RoutePattern.RawText ?? endpoint.DisplayName ?? "unknown";
        PolicyTag = string.Join(',', policies);
    }

    internal PlannedKey[] Keys { get; }

    internal bool NeedsUser { get; }

    internal bool NeedsBody { get; }

    internal bool IsSynchronous { get; } = true;

    internal string RouteTag { get; }

    internal string PolicyTag { get; }
}
