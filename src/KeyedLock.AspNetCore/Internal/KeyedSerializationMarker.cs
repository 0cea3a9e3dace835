namespace KeyedLock.AspNetCore.Internal;

/// <summary>Registered by <c>AddKeyedSerialization()</c>; records whether <c>UseKeyedSerialization()</c> is in the pipeline.</summary>
internal sealed class KeyedSerializationMarker
{
    internal const string NotRegisteredMessage =
        "Keyed serialization services are not registered. Call services.AddKeyedSerialization() (or builder.Services.AddKeyedSerialization()) when configuring services.";

    /// <summary>Set when the pipeline is built with the middleware; the endpoint filter then adds nothing.</summary>
    internal bool MiddlewareUsed { get; set; }
}
