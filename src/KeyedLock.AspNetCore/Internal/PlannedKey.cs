using Microsoft.AspNetCore.Http;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>One key of an endpoint (one <see cref="SerializeByAttribute"/>) with its settings resolved against the options.</summary>
internal sealed class PlannedKey
{
    internal PlannedKey(Endpoint endpoint, SerializeByAttribute attribute, KeyedSerializationPolicy? policy, KeyedSerializationOptions options)
    {
        Parts = BoundValue.Apply(endpoint, attribute.Parts);
        Template = attribute.Template;
        PolicyName = attribute.Policy;
        var scope = attribute.Scope ?? policy?.Scope;
        Prefix = KeyFormatter.Prefix(scope);
        Labels = Array.ConvertAll(Parts, part => KeyFormatter.Label(part, scoped: !string.IsNullOrEmpty(scope)));
        Timeout = attribute.Timeout ?? policy?.Timeout ?? options.DefaultTimeout;
        QueueLimit = attribute.QueueLimitOrNull ?? policy?.QueueLimit ?? options.DefaultQueueLimit;
        RejectionStatusCode = policy?.RejectionStatusCode ?? options.RejectionStatusCode;
        MissingKeyBehavior = policy?.MissingKeyBehavior ?? options.MissingKeyBehavior;
    }

    internal KeyPart[] Parts { get; }

    internal string Template { get; }

    internal string? PolicyName { get; }

    internal string Prefix { get; }

    internal string[] Labels { get; }

    internal TimeSpan Timeout { get; }

    internal int? QueueLimit { get; }

    internal int RejectionStatusCode { get; }

    internal KeyedSerializationMissingKeyBehavior MissingKeyBehavior { get; }
}
