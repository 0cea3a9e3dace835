using KeyedLock.AspNetCore.Internal;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Adds the keyed serialization middleware.</summary>
public static class KeyedSerializationApplicationBuilderExtensions
{
    /// <summary>
    /// Serializes requests to endpoints that have <c>[SerializeBy]</c> or <c>.SerializeBy(...)</c>: the keys are held
    /// across the rest of the pipeline, including writing the response. Call it after <c>UseRouting()</c>,
    /// <c>UseAuthentication()</c> and <c>UseAuthorization()</c>.
    /// </summary>
    /// <param name="app">The application builder.</param>
    /// <returns>The application builder.</returns>
    /// <exception cref="InvalidOperationException"><c>services.AddKeyedSerialization()</c> was not called.</exception>
    public static IApplicationBuilder UseKeyedSerialization(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var marker = app.ApplicationServices.GetService<KeyedSerializationMarker>()
            ?? throw new InvalidOperationException(KeyedSerializationMarker.NotRegisteredMessage);
        marker.MiddlewareUsed = true;
        return app.UseMiddleware<KeyedSerializationMiddleware>();
    }
}
