using KeyedLock.AspNetCore.Internal;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Adds the keyed serialization and idempotency middleware.</summary>
public static class KeyedSerializationApplicationBuilderExtensions
{
    /// <summary>
    /// Serializes requests to endpoints that have <c>[SerializeBy]</c> or <c>.SerializeBy(...)</c>: the keys are held
    /// across the rest of the pipeline, including writing the response. Call it after <c>UseRouting()</c>,
    /// <c>UseAuthentication()</c> and <c>UseAuthorization()</c> (and after <c>UseIdempotency()</c>, so that a replayed
    /// duplicate never waits for serialization keys).
    /// </summary>
    /// <remarks>
    /// Required for <c>[SerializeBy]</c> on minimal-API handlers (the app refuses to start without it). Endpoints
    /// declared with <c>.SerializeBy(...)</c> and MVC controllers are serialized without it too, scoped to the endpoint.
    /// </remarks>
    /// <param name="app">The application builder.</param>
    /// <returns>The application builder.</returns>
    /// <exception cref="InvalidOperationException"><c>services.AddKeyedSerialization()</c> was not called; or, when the
    /// app starts, <c>UseRouting()</c>, <c>UseAuthentication()</c> or <c>UseAuthorization()</c> was called after it.</exception>
    public static IApplicationBuilder UseKeyedSerialization(this IApplicationBuilder app)
    {
        Marker(app).Placed(KeyedSerializationMarker.SerializationCall, app.Properties);
        return app.UseMiddleware<KeyedSerializationMiddleware>();
    }

    /// <summary>
    /// Replays the stored responses of endpoints that have <c>[Idempotent]</c> or <c>.Idempotent(...)</c>, and
    /// serializes requests with the same idempotency key. Call it after <c>UseRouting()</c>, <c>UseAuthentication()</c>
    /// and <c>UseAuthorization()</c>, before <c>UseKeyedSerialization()</c>.
    /// </summary>
    /// <remarks>
    /// Required for <c>[Idempotent]</c> on minimal-API handlers (the app refuses to start without it). Endpoints declared
    /// with <c>.Idempotent(...)</c> and MVC controllers are idempotent without it too, scoped to the endpoint.
    /// </remarks>
    /// <param name="app">The application builder.</param>
    /// <returns>The application builder.</returns>
    /// <exception cref="InvalidOperationException"><c>services.AddKeyedSerialization()</c> was not called; or, when the
    /// app starts, <c>UseRouting()</c>, <c>UseAuthentication()</c> or <c>UseAuthorization()</c> was called after it.</exception>
    public static IApplicationBuilder UseIdempotency(this IApplicationBuilder app)
    {
        Marker(app).Placed(KeyedSerializationMarker.IdempotencyCall, app.Properties);
        return app.UseMiddleware<IdempotencyMiddleware>();
    }

    private static KeyedSerializationMarker Marker(IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.ApplicationServices.GetService<KeyedSerializationMarker>()
            ?? throw new InvalidOperationException(KeyedSerializationMarker.NotRegisteredMessage);
    }
}
