namespace KeyedLock.AspNetCore;

/// <summary>
/// Turns keyed serialization off for an endpoint, even when a controller or route group declares
/// <see cref="SerializeByAttribute"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class DisableKeyedSerializationAttribute : Attribute
{
}
