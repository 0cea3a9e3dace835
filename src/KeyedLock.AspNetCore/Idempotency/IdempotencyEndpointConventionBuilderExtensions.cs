using KeyedLock.AspNetCore;
using KeyedLock.AspNetCore.Internal;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Declares idempotent replay on endpoints and route groups.</summary>
public static class IdempotencyEndpointConventionBuilderExtensions
{
    /// <summary>
    /// Makes the endpoints idempotent, keyed by the <c>Idempotency-Key</c> header (or the options' template). Adds the
    /// same metadata as <see cref="IdempotentAttribute"/>; when the app does not use <c>UseKeyedSerialization()</c>,
    /// it also wraps the endpoints' request delegates with the idempotency stage, so they work without the middleware.
    /// </summary>
    /// <typeparam name="TBuilder">The builder type.</typeparam>
    /// <param name="builder">The endpoint convention builder.</param>
    /// <returns>The builder.</returns>
    public static TBuilder Idempotent<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.Idempotent(new IdempotentAttribute());

    /// <summary>Makes the endpoints idempotent, keyed by <paramref name="keyTemplate"/> (e.g. <c>header:Webhook-Id</c>).</summary>
    /// <typeparam name="TBuilder">The builder type.</typeparam>
    /// <param name="builder">The endpoint convention builder.</param>
    /// <param name="keyTemplate">The key template.</param>
    /// <param name="configure">Sets <see cref="IdempotentAttribute.Policy"/>, <see cref="IdempotentAttribute.Wait"/> and so on.</param>
    /// <returns>The builder.</returns>
    public static TBuilder Idempotent<TBuilder>(this TBuilder builder, string keyTemplate, Action<IdempotentAttribute>? configure = null)
        where TBuilder : IEndpointConventionBuilder
    {
        var attribute = new IdempotentAttribute(keyTemplate);
        configure?.Invoke(attribute);
        return builder.Idempotent(attribute);
    }

    /// <summary>Makes the endpoints idempotent with the options' key template and the given settings.</summary>
    /// <typeparam name="TBuilder">The builder type.</typeparam>
    /// <param name="builder">The endpoint convention builder.</param>
    /// <param name="configure">Sets <see cref="IdempotentAttribute.Policy"/>, <see cref="IdempotentAttribute.Wait"/> and so on.</param>
    /// <returns>The builder.</returns>
    public static TBuilder Idempotent<TBuilder>(this TBuilder builder, Action<IdempotentAttribute> configure)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(configure);
        var attribute = new IdempotentAttribute();
        configure(attribute);
        return builder.Idempotent(attribute);
    }

    /// <summary>Makes the endpoints idempotent as <paramref name="attribute"/> says.</summary>
    /// <typeparam name="TBuilder">The builder type.</typeparam>
    /// <param name="builder">The endpoint convention builder.</param>
    /// <param name="attribute">The idempotency metadata.</param>
    /// <returns>The builder.</returns>
    public static TBuilder Idempotent<TBuilder>(this TBuilder builder, IdempotentAttribute attribute)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(attribute);
        builder.Add(endpoint =>
        {
            endpoint.Metadata.Add(attribute);
            if (endpoint.RequestDelegate is not { } inner)
            {
                return;
            }

            // Wrap the whole request delegate (binding, handler and result), not just the handler: the request body
            // must still be readable for the fingerprint and the complete response must be captured. When
            // UseKeyedSerialization() handled the request already, the wrapper only passes it on.
            var handler = endpoint.ApplicationServices.GetService<IdempotencyHandler>()
                ?? throw new InvalidOperationException(KeyedSerializationMarker.NotRegisteredMessage);
            endpoint.RequestDelegate = IdempotencyMiddleware.Wrap(inner, handler);
        });
        return builder;
    }
}
