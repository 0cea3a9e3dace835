using KeyedLock.AspNetCore;
using KeyedLock.AspNetCore.Internal;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Declares idempotent replay on endpoints and route groups.</summary>
public static class IdempotencyEndpointConventionBuilderExtensions
{
    /// <summary>
    /// Makes the endpoints idempotent, keyed by the <c>Idempotency-Key</c> header (or the options' template). Adds the
    /// same metadata as <see cref="IdempotentAttribute"/>, and makes the protection part of the endpoint: it is
    /// idempotent even when the app does not call <c>UseIdempotency()</c>; when the middleware runs, the endpoint leaves
    /// it to the middleware.
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
        builder.Add(endpoint => endpoint.Metadata.Add(attribute));
        EndpointProtection.Add(builder);
        return builder;
    }
}
