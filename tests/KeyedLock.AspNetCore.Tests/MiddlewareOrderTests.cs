using System.Net;
using KeyedLock.AspNetCore.Tests.Infrastructure;
using KeyedLock.Testing;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace KeyedLock.AspNetCore.Tests;

/// <summary>
/// The package's middleware needs the endpoint (routing) and the user (authentication, authorization): added before them
/// it would silently serialize nothing, or replay one user's response to another. Such a pipeline does not start.
/// </summary>
public sealed class MiddlewareOrderTests
{
    [Theory]
    [InlineData("serialization-before-routing", "app.UseKeyedSerialization() is called before app.UseRouting()")]
    [InlineData("idempotency-before-routing", "app.UseIdempotency() is called before app.UseRouting()")]
    [InlineData("idempotency-before-authentication", "app.UseIdempotency() is called before app.UseAuthentication()")]
    [InlineData("idempotency-before-authorization", "app.UseIdempotency() is called before app.UseAuthorization()")]
    [InlineData("serialization-before-authorization", "app.UseKeyedSerialization() is called before app.UseAuthorization()")]
    public async Task MiddlewareBeforeRoutingOrAuth_FailsAtStartup(string order, string expected)
    {
        await using var app = Build();
        switch (order)
        {
            case "serialization-before-routing":
                app.UseKeyedSerialization();
                app.UseRouting();
                break;
            case "idempotency-before-routing":
                app.UseIdempotency();
                app.UseRouting();
                break;
            case "idempotency-before-authentication":
                app.UseRouting();
                app.UseIdempotency();
                app.UseAuthentication();
                app.UseAuthorization();
                break;
            case "idempotency-before-authorization":
                app.UseRouting();
                app.UseAuthentication();
                app.UseIdempotency();
                app.UseAuthorization();
                break;
            default:
                app.UseRouting();
                app.UseAuthentication();
                app.UseKeyedSerialization();
                app.UseAuthorization();
                break;
        }

        Map(app);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => app.StartAsync().Bounded());
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public async Task MiddlewareBeforeAuthorization_InAConfigureMethod_FailsAtStartup()
    {
        using var host = new HostBuilder()
            .ConfigureWebHost(web => web
                .UseTestServer()
                .ConfigureServices(services =>
                {
                    services.AddRouting();
                    Services(services);
                })
                .Configure(app =>
                {
                    app.UseRouting();
                    app.UseAuthentication();
                    app.UseIdempotency();
                    app.UseAuthorization();
                    app.UseEndpoints(Map);
                }))
            .Build();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync().Bounded());
        Assert.Contains("app.UseIdempotency() is called before app.UseAuthorization()", error.Message);
    }

    [Fact]
    public async Task IdempotencyWithImplicitRoutingAndAuth_StartsAndScopesKeysPerUser()
    {
        // WebApplication adds routing, authentication and authorization ahead of the app's pipeline when the app does not.
        await using var app = Build();
        app.UseIdempotency();
        app.UseKeyedSerialization();
        Map(app);
        await app.StartAsync().Bounded();
        using var client = app.GetTestClient();

        var alice = await client.SendAsync(Pay("alice")).Bounded();
        var mallory = await client.SendAsync(Pay("mallory")).Bounded();
        var anonymous = await client.SendAsync(Pay(null)).Bounded();

        Assert.Equal(HttpStatusCode.OK, alice.StatusCode);
        Assert.Equal("alice", await alice.Content.ReadAsStringAsync().Bounded());
        Assert.Equal("mallory", await mallory.Content.ReadAsStringAsync().Bounded());
        Assert.False(mallory.Headers.Contains(IdempotencyOptions.ReplayedHeaderName));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        await app.StopAsync().Bounded();
    }

    [Fact]
    public async Task ExplicitRoutingWithImplicitAuthentication_StartsAndSeesTheUser()
    {
        // The implicit authentication runs ahead of the app's pipeline (and so would the implicit authorization, before
        // routing: ASP.NET then refuses [Authorize] endpoints itself, so this endpoint has none).
        await using var app = Build();
        app.UseRouting();
        app.UseIdempotency();
        app.UseKeyedSerialization();
        app.MapPost("/pay/{id}", [Idempotent, SerializeBy("route:id")] (HttpContext context) => Results.Text(UserOf(context)));
        await app.StartAsync().Bounded();
        using var client = app.GetTestClient();

        var response = await client.SendAsync(Pay("alice")).Bounded();

        Assert.Equal("alice", await response.Content.ReadAsStringAsync().Bounded());
        await app.StopAsync().Bounded();
    }

    private static WebApplication Build()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        Services(builder.Services);
        return builder.Build();
    }

    private static void Services(IServiceCollection services)
    {
        services.AddKeyedSerialization();
        services.AddAuthentication(TestAuthHandler.Scheme).AddScheme<AuthenticationSchemeOptions, TestAuthHandler>(TestAuthHandler.Scheme, null);
        services.AddAuthorization();
    }

    private static void Map(Microsoft.AspNetCore.Routing.IEndpointRouteBuilder endpoints) =>
        endpoints.MapPost("/pay/{id}", [Authorize, Idempotent, SerializeBy("route:id")] (HttpContext context) =>
            Results.Text(UserOf(context)));

    private static string? UserOf(HttpContext context) => context.User.FindFirst(System.Security.Claims.ClaimTypes.NameIdentifier)?.Value;

    private static HttpRequestMessage Pay(string? user) =>
        user is null
            ? Requests.Post("/pay/1", "r", "{}", ("Idempotency-Key", "k1"))
            : Requests.Post("/pay/1", "r", "{}", ("Idempotency-Key", "k1"), ("X-User", user));
}
