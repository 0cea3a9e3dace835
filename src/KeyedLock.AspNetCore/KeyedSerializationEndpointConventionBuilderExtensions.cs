using KeyedLock.AspNetCore;
using KeyedLock.AspNetCore.Internal;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Declares keyed serialization on endpoints, route groups and <c>MapControllers()</c>.</summary>
public static class KeyedSerializationEndpointConventionBuilderExtensions
{
    /// <summary>
    /// Serializes the endpoints by one key per template (several templates = several keys, acquired together without
    /// deadlocks). Adds the same metadata as <see cref="SerializeByAttribute"/>, and makes the protection part of the
    /// endpoint: it is serialized (binding, handler and result) even when the app does not call
    /// <c>UseKeyedSerialization()</c>; when the middleware runs, the endpoint leaves it to the middleware.
    /// </summary>
    /// <typeparam name="TBuilder">The builder type.</typeparam>
    /// <param name="builder">The endpoint convention builder.</param>
    /// <param name="templates">The key templates, e.g. <c>route:userId</c>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">No template, or a malformed one.</exception>
    public static TBuilder SerializeBy<TBuilder>(this TBuilder builder, params string[] templates)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(templates);
        if (templates.Length == 0)
        {
            throw new ArgumentException("At least one key template is required.", nameof(templates));
        }

        var attributes = Array.ConvertAll(templates, static t => new SerializeByAttribute(t));
        return builder.SerializeBy(attributes);
    }

    /// <summary>Serializes the endpoints by one key, with its settings (scope, policy, timeout, queue limit).</summary>
    /// <typeparam name="TBuilder">The builder type.</typeparam>
    /// <param name="builder">The endpoint convention builder.</param>
    /// <param name="template">The key template.</param>
    /// <param name="configure">Sets <see cref="SerializeByAttribute.Scope"/>, <see cref="SerializeByAttribute.Policy"/> and so on.</param>
    /// <returns>The builder.</returns>
    public static TBuilder SerializeBy<TBuilder>(this TBuilder builder, string template, Action<SerializeByAttribute> configure)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var attribute = new SerializeByAttribute(template);
        configure(attribute);
        return builder.SerializeBy(attribute);
    }

    /// <summary>Serializes the endpoints by the given keys.</summary>
    /// <typeparam name="TBuilder">The builder type.</typeparam>
    /// <param name="builder">The endpoint convention builder.</param>
    /// <param name="attributes">One attribute per key.</param>
    /// <returns>The builder.</returns>
    public static TBuilder SerializeBy<TBuilder>(this TBuilder builder, params SerializeByAttribute[] attributes)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(attributes);
        builder.Add(endpoint =>
        {
            foreach (var attribute in attributes)
            {
                endpoint.Metadata.Add(attribute);
            }
        });

        EndpointProtection.Add(builder);
        return builder;
    }

    /// <summary>Turns keyed serialization off for the endpoints (for example one endpoint inside a serialized group).</summary>
    /// <typeparam name="TBuilder">The builder type.</typeparam>
    /// <param name="builder">The endpoint convention builder.</param>
    /// <returns>The builder.</returns>
    public static TBuilder DisableKeyedSerialization<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Add(static endpoint => endpoint.Metadata.Add(new DisableKeyedSerializationAttribute()));
        return builder;
    }
}
