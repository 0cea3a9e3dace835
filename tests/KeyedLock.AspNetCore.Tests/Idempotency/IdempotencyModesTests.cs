using System.Net;
using KeyedLock.AspNetCore.Tests.Infrastructure;
using KeyedLock.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using static KeyedLock.AspNetCore.Tests.Idempotency.IdempotencyApp;

namespace KeyedLock.AspNetCore.Tests.Idempotency;

public sealed record ChargeRequest(int Amount);

[ApiController]
[Route("idem/charges")]
[Idempotent]
public sealed class ChargesController(RunCounter runs) : ControllerBase
{
    [HttpPost]
    public IActionResult Charge(ChargeRequest request) =>
        Created($"/idem/charges/{runs.Next()}", new { request.Amount, run = runs.Runs });
}

/// <summary>The ways an endpoint is declared idempotent: with or without the middleware, groups, controllers.</summary>
public sealed class IdempotencyModesTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task BoundJsonBody_IsFingerprinted_WithAndWithoutTheMiddleware(bool useMiddleware)
    {
        await using var app = await IdempotencyApp.StartAsync(
            a => a.MapPost("/charge", (ChargeRequest charge, RunCounter runs) => new { charge.Amount, run = runs.Next() }).Idempotent(),
            useMiddleware: useMiddleware);

        using var first = await app.SendAsync(Requests.Post("/charge", "a", """{"amount":60}""", (Key, "k1"))).Bounded();
        using var replay = await app.SendAsync(Requests.Post("/charge", "b", """{"amount":60}""", (Key, "k1"))).Bounded();
        using var reused = await app.SendAsync(Requests.Post("/charge", "c", """{"amount":70}""", (Key, "k1"))).Bounded();

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("""{"amount":60,"run":1}""", await first.Content.ReadAsStringAsync());
        Assert.Equal("""{"amount":60,"run":1}""", await replay.Content.ReadAsStringAsync());
        Assert.True(replay.Headers.Contains(IdempotencyOptions.ReplayedHeaderName));
        await reused.ReadProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Equal(1, app.Runs().Runs);
    }

    [Fact]
    public async Task RouteGroup_WithoutTheMiddleware_MakesEachEndpointIdempotent_InItsOwnScope()
    {
        await using var app = await IdempotencyApp.StartAsync(
            a =>
            {
                var group = a.MapGroup("/v1").Idempotent();
                group.MapPost("/pay/{id}", PayHandler);
                group.MapPost("/refund/{id}", PayHandler);
            },
            useMiddleware: false);

        var pay = await app.SendReleasedAsync(Pay("a", "k1", "/v1/pay/1"));
        var payAgain = await app.SendReleasedAsync(Pay("b", "k1", "/v1/pay/1"));
        var refund = await app.SendReleasedAsync(Pay("c", "k1", "/v1/refund/1"));

        Assert.True(payAgain.Replayed);
        Assert.Equal(pay.Body, payAgain.Body);
        Assert.False(refund.Replayed);
        Assert.Equal(2, app.Runs().Runs);
    }

    [Fact]
    public async Task Controller_WithTheAttribute_Replays()
    {
        await using var app = await TestApp.StartAsync(
            a => a.MapControllers(),
            services: s => s.AddSingleton<RunCounter>(),
            controllers: true);

        using var first = await app.SendAsync(Requests.Post("/idem/charges", "a", """{"amount":5}""", (Key, "k1"))).Bounded();
        using var second = await app.SendAsync(Requests.Post("/idem/charges", "b", """{"amount":5}""", (Key, "k1"))).Bounded();
        using var missing = await app.SendAsync(Requests.Post("/idem/charges", "c", """{"amount":5}""")).Bounded();

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), await second.Content.ReadAsByteArrayAsync());
        Assert.Equal(first.Headers.Location, second.Headers.Location);
        Assert.True(second.Headers.Contains(IdempotencyOptions.ReplayedHeaderName));
        await missing.ReadProblemAsync(HttpStatusCode.BadRequest);
    }
}
