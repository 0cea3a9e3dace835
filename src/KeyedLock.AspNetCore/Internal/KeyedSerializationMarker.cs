namespace KeyedLock.AspNetCore.Internal;

/// <summary>
/// Registered by <c>AddKeyedSerialization()</c>; records which of the package's middleware the pipeline uses, and where:
/// whether routing, authentication and authorization were already in the pipeline when each was added.
/// </summary>
internal sealed class KeyedSerializationMarker
{
    internal const string NotRegisteredMessage =
        "Keyed serialization services are not registered. Call services.AddKeyedSerialization() (or builder.Services.AddKeyedSerialization()) when configuring services.";

    /// <summary>
    /// The application builder properties that <c>UseRouting()</c>, <c>UseAuthentication()</c> and
    /// <c>UseAuthorization()</c> set (the framework's own markers, which <c>WebApplication</c> reads to add them implicitly),
    /// with the call that sets each.
    /// </summary>
    private static readonly (string Property, string Call, string Consequence)[] s_prerequisites =
    [
        ("__EndpointRouteBuilder", "UseRouting()", "it would see no endpoint and silently skip the serialization and idempotency that endpoints declare"),
        ("__AuthenticationMiddlewareSet", "UseAuthentication()", "it would see every user as anonymous: user and claim keys would be missing, and idempotency keys would not be scoped per user, so one user's stored response would be replayed to another"),
        ("__AuthorizationMiddlewareSet", "UseAuthorization()", "it would take keys for requests that are not authorized, and replay stored responses to them"),
    ];

    private readonly List<Placement> _placements = [];

    /// <summary>The call that adds the serialization middleware, as placements and messages name it.</summary>
    internal const string SerializationCall = "UseKeyedSerialization()";

    /// <summary>The call that adds the idempotency middleware.</summary>
    internal const string IdempotencyCall = "UseIdempotency()";

    /// <summary>Whether <c>UseKeyedSerialization()</c> was called.</summary>
    internal bool SerializationMiddleware => WasPlaced(SerializationCall);

    /// <summary>Whether <c>UseIdempotency()</c> was called.</summary>
    internal bool IdempotencyMiddleware => WasPlaced(IdempotencyCall);

    /// <summary>Records that <paramref name="middleware"/> was added to the pipeline whose properties are <paramref name="properties"/>.</summary>
    internal void Placed(string middleware, IDictionary<string, object?> properties)
    {
        var before = Array.ConvertAll(s_prerequisites, p => properties.ContainsKey(p.Property));
        lock (_placements)
        {
            _placements.Add(new Placement(middleware, properties, before));
        }
    }

    private bool WasPlaced(string middleware)
    {
        lock (_placements)
        {
            return _placements.Exists(p => p.Middleware == middleware);
        }
    }

    /// <summary>How many placements were recorded so far.</summary>
    internal int Placements
    {
        get
        {
            lock (_placements)
            {
                return _placements.Count;
            }
        }
    }

    /// <summary>
    /// The first placement from <paramref name="start"/> on whose middleware was added before <c>UseRouting()</c>,
    /// <c>UseAuthentication()</c> or <c>UseAuthorization()</c> on the same builder (so it would see no endpoint or an
    /// anonymous user, and an idempotent replay would skip authorization), as an error message; null when the order is
    /// right.
    /// </summary>
    /// <remarks>
    /// Called before the framework adds middleware of its own: <c>WebApplication</c> adds routing, authentication and
    /// authorization ahead of the app's pipeline (setting the same properties) when the app does not call them, which is
    /// not an error.
    /// </remarks>
    internal string? Misordered(int start)
    {
        lock (_placements)
        {
            for (var p = start; p < _placements.Count; p++)
            {
                var placement = _placements[p];
                for (var i = 0; i < s_prerequisites.Length; i++)
                {
                    var (property, call, consequence) = s_prerequisites[i];
                    if (!placement.Before[i] && placement.Properties.ContainsKey(property))
                    {
                        return $"app.{placement.Middleware} is called before app.{call}: {consequence}. " +
                            "Call UseRouting(), UseAuthentication() and UseAuthorization() first, then UseIdempotency(), then UseKeyedSerialization().";
                    }
                }
            }
        }

        return null;
    }

    private sealed record Placement(string Middleware, IDictionary<string, object?> Properties, bool[] Before);
}
