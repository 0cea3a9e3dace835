using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>What an endpoint's <see cref="IdempotentAttribute"/> means, resolved against the options once per endpoint.</summary>
internal sealed class IdempotencyPlan
{
    /// <summary>Starts every idempotency lock and store key. Serialization keys never start with an unescaped <c>#</c>.</summary>
    internal const string KeyPrefix = "#idem|";

    internal IdempotencyPlan(Endpoint endpoint, IdempotentAttribute attribute, IdempotencyOptions options, KeyedSerializationOptions serialization, JsonKeyRules json)
    {
        IdempotencyPolicy? policy = null;
        if (attribute.Policy is { } name && !options.Policies.TryGetValue(name, out policy))
        {
            throw new InvalidOperationException($"The endpoint '{endpoint.DisplayName}' uses the idempotency policy '{name}', which was not added with AddPolicy.");
        }

        Template = attribute.KeyTemplate ?? policy?.KeyTemplate ?? options.KeyTemplate;
        Parts = BoundValue.Apply(endpoint, attribute.KeyTemplate is not null ? attribute.Parts! : KeyTemplate.Parse(Template));
        foreach (var part in Parts)
        {
            if (part.Source == KeyPartSource.Custom && !serialization.KeySources.ContainsKey(part.Name))
            {
                throw new InvalidOperationException($"The endpoint '{endpoint.DisplayName}' uses the key source '{part.Name}' for idempotency, which was not added with AddKeySource.");
            }

            NeedsBody |= part.Source == KeyPartSource.Body;
        }

        Json = json;
        IsMvc = EndpointJson.IsMvc(endpoint);
        Labels = Array.ConvertAll(Parts, static part => KeyFormatter.Label(part, scoped: false));
        RouteTag = (endpoint as RouteEndpoint)?.RoutePattern.RawText ?? endpoint.DisplayName ?? "unknown";
        var scope = attribute.Scope ?? policy?.Scope ?? DefaultScope(endpoint, RouteTag);
        Prefix = KeyPrefix + KeyFormatter.Escape(scope);
        PolicyName = attribute.Policy;
        Window = policy?.Window ?? options.Window;
        KeyRequired = attribute.KeyRequiredOrNull ?? policy?.KeyRequired ?? options.KeyRequired;
        Wait = attribute.WaitOrNull ?? policy?.Wait ?? options.Wait;
        WaitTimeout = Wait ? policy?.WaitTimeout ?? options.WaitTimeout : TimeSpan.Zero;
        MaxResponseBodyBytes = policy?.MaxResponseBodyBytes ?? options.MaxResponseBodyBytes;
        ShouldStore = policy?.ShouldStore ?? options.ShouldStore;
    }

    internal KeyPart[] Parts { get; }

    internal string Template { get; }

    internal string[] Labels { get; }

    /// <summary><see cref="KeyPrefix"/> and the escaped scope.</summary>
    internal string Prefix { get; }

    internal bool NeedsBody { get; }

    internal bool IsMvc { get; }

    internal JsonKeyRules Json { get; }

    internal string RouteTag { get; }

    internal string? PolicyName { get; }

    internal TimeSpan Window { get; }

    internal bool KeyRequired { get; }

    internal bool Wait { get; }

    internal TimeSpan WaitTimeout { get; }

    internal long MaxResponseBodyBytes { get; }

    internal Func<int, bool> ShouldStore { get; }

    private static string DefaultScope(Endpoint endpoint, string route)
    {
        var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods;
        return methods is { Count: > 0 } ? string.Join(',', methods) + " " + route : route;
    }
}
