using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>
/// The JSON rules an endpoint binds its body with: MVC's <c>Microsoft.AspNetCore.Mvc.JsonOptions</c> for controller
/// actions, <c>Microsoft.AspNetCore.Http.Json.JsonOptions</c> for minimal APIs. Read once per kind and app.
/// </summary>
internal sealed class EndpointJson(IServiceProvider services)
{
    private JsonKeyRules? _minimal;
    private JsonKeyRules? _mvc;

    /// <summary>Whether the endpoint is an MVC action (controllers, Razor Pages), whose binding reads form fields and route values before query parameters.</summary>
    internal static bool IsMvc(Endpoint endpoint) => endpoint.Metadata.GetMetadata<ActionDescriptor>() is not null;

    internal JsonKeyRules RulesFor(Endpoint endpoint) => IsMvc(endpoint)
        ? _mvc ??= new JsonKeyRules(services.GetService<IOptions<Microsoft.AspNetCore.Mvc.JsonOptions>>()?.Value.JsonSerializerOptions ?? JsonKeyRules.WebOptions)
        : _minimal ??= new JsonKeyRules(services.GetService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>()?.Value.SerializerOptions ?? JsonKeyRules.WebOptions);
}
