namespace KeyedLock.AspNetCore.Internal;

/// <summary>Registered by <c>AddKeyedSerialization()</c>; records which of the package's middleware the pipeline uses.</summary>
internal sealed class KeyedSerializationMarker
{
    internal const string NotRegisteredMessage =
        "Keyed serialization services are not registered. Call services.AddKeyedSerialization() (or builder.Services.AddKeyedSerialization()) when configuring services.";

    /// <summary>Set by <c>UseKeyedSerialization()</c>.</summary>
    internal bool SerializationMiddleware { get; set; }

    /// <summary>Set by <c>UseIdempotency()</c>.</summary>
    internal bool IdempotencyMiddleware { get; set; }
}
