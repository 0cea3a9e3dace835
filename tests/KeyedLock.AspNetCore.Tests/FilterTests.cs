using System.Net;
using KeyedLock.AspNetCore.Tests.Infrastructure;
using KeyedLock.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace KeyedLock.AspNetCore.Tests;

/// <summary>Declared protection without the middleware: the endpoint wrapper of <c>.SerializeBy(...)</c>.</summary>
public sealed class FilterTests
{
    private static Task Handle(HttpContext context, Probe probe) => probe.RunAsync(context.Request.Headers["X-Req"].ToString(), context.RequestAborted);

    [Fact]
    public async Task SerializeByWithoutMiddleware_WrapsTheEndpoint_AndSerializes()
    {
        await using var app = await TestApp.StartAsync(a => a.MapPost("/users/{id}", Handle).SerializeBy("route:id"), useMiddleware: false);
        await app.AssertSerializedAsync((id, value) => Requests.Post($"/users/{value}", id), "1", "2");
    }

    [Fact]
    public async Task SerializeByOnAGroup_WithoutMiddleware_SerializesAttributeEndpointsInside()
    {
        await using var app = await TestApp.StartAsync(
            a =>
            {
                var group = a.MapGroup("/api").SerializeBy("route:tenant");
                group.MapPost("/{tenant}/users/{id}", [SerializeBy("route:id")] (HttpContext c, Probe p) => Handle(c, p));
            },
            useMiddleware: false);

        await app.AssertSerializedAsync((id, value) => Requests.Post($"/api/{value}", id), "t1/users/1", "t2/users/2");
        Assert.Contains("|route:tenant=t1", app.Locks.AcquiredKeys);
        Assert.Contains("|route:id=1", app.Locks.AcquiredKeys);
    }

    [Fact]
    public async Task BodyKeyWithoutMiddleware_ReadsTheBody_AndBindingStillGetsIt()
    {
        await using var app = await TestApp.StartAsync(
            a => a.MapPost("/hooks", (Hook hook) => Results.Ok(new { hook.Id })).SerializeBy("body:/id"),
            useMiddleware: false);

        using var response = await app.SendAsync(Requests.Post("/hooks", "a", """{"id":"wh_1"}""")).Bounded();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"id":"wh_1"}""", await response.Content.ReadAsStringAsync());
        Assert.Equal(["|body:/id=wh_1"], app.Locks.AcquiredKeys);
    }

    [Fact]
    public async Task PipelineRunTwice_IsSerializedEachTime_AndTheReleasedFeatureStays()
    {
        var heldInside = new List<bool>();
        IKeyedSerializationFeature? afterFirstRun = null;
        await using var app = await TestApp.StartAsync(
            a =>
            {
                // Runs the rest of the pipeline twice, as a re-executing exception handler does.
                a.Use(async (context, next) =>
                {
                    await next(context);
                    afterFirstRun = context.Features.Get<IKeyedSerializationFeature>();
                    await next(context);
                });
                a.UseKeyedSerialization();
                a.MapPost("/users/{id}", (HttpContext c) =>
                {
                    heldInside.Add(c.Features.Get<IKeyedSerializationFeature>()?.Lease.IsHeld == true);
                    return Results.Ok();
                })
                .SerializeBy("route:id");
            },
            useMiddleware: false);

        using var response = await app.SendAsync(Requests.Post("/users/1", "a")).Bounded();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal([true, true], heldInside);
        Assert.Equal(2, app.Locks.AcquireCalls);
        Assert.NotNull(afterFirstRun);
        Assert.False(afterFirstRun!.Lease.IsHeld);
    }

    [Fact]
    public async Task MiddlewareAndWrapperOnOneRequest_TakeOneLock()
    {
        var features = new List<IKeyedSerializationFeature?>();
        await using var app = await TestApp.StartAsync(a => a
            .MapPost("/users/{id}", (HttpContext c) =>
            {
                features.Add(c.Features.Get<IKeyedSerializationFeature>());
                return Results.Ok();
            })
            .SerializeBy("route:id"));

        using var response = await app.SendAsync(Requests.Post("/users/1", "a")).Bounded();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, app.Locks.AcquireCalls);
        var feature = Assert.Single(features);
        Assert.Equal(["|route:id=1"], feature!.Keys);
        Assert.True(feature.Lease.FencingToken > 0);
    }

    [Fact]
    public async Task WrapperRejection_WritesTheProblemAndSkipsTheHandler()
    {
        await using var app = await TestApp.StartAsync(a => a.MapPost("/op", Handle).SerializeBy("header:X-Key"), useMiddleware: false);

        using var response = await app.SendAsync(Requests.Post("/op", "a")).Bounded();

        await response.ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Empty(app.Probe.EnteredOrder);
    }

    public sealed record Hook(string Id);
}
