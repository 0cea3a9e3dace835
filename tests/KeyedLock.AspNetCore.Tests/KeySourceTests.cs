using System.Net;
using System.Text.Json;
using KeyedLock.AspNetCore.Tests.Infrastructure;
using KeyedLock.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace KeyedLock.AspNetCore.Tests;

public sealed class KeySourceTests
{
    private static Task Handle(HttpContext context, Probe probe) => probe.RunAsync(context.Request.Headers["X-Req"].ToString(), context.RequestAborted);

    private static Task<TestApp> StartAsync(string template, Action<KeyedSerializationOptions>? configure = null) =>
        TestApp.StartAsync(a => a.MapPost("/op", Handle).SerializeBy(template), configure);

    [Fact]
    public async Task QueryKey_SerializesByQueryValue()
    {
        await using var app = await StartAsync("query:account");
        await app.AssertSerializedAsync((id, value) => Requests.Post($"/op?account={value}", id), "1", "2");
        Assert.Contains("|query:account=1", app.Locks.AcquiredKeys);
    }

    [Fact]
    public async Task HeaderKey_SerializesByHeaderValue()
    {
        await using var app = await StartAsync("header:Idempotency-Key");
        await app.AssertSerializedAsync((id, value) => Requests.Post("/op", id, null, ("Idempotency-Key", value)), "k1", "k2");
    }

    [Fact]
    public async Task ClaimKey_SerializesByClaimValue()
    {
        await using var app = await StartAsync("claim:tenant");
        await app.AssertSerializedAsync((id, value) => Requests.Post("/op", id, null, ("X-User", "u-" + id), ("X-Tenant", value)), "t1", "t2");
    }

    [Fact]
    public async Task UserKey_SerializesByNameIdentifier()
    {
        await using var app = await StartAsync("user");
        await app.AssertSerializedAsync((id, value) => Requests.Post("/op", id, null, ("X-User", value)), "alice", "bob");
        Assert.Contains("|user=alice", app.Locks.AcquiredKeys);
    }

    [Fact]
    public async Task BodyKey_SerializesByJsonPointerValue()
    {
        await using var app = await StartAsync("body:/data/object/id");
        await app.AssertSerializedAsync((id, value) => Requests.Post("/op", id, "{\"data\":{\"object\":{\"id\":\"" + value + "\"}}}"), "evt_1", "evt_2");
    }

    [Fact]
    public async Task BodyKey_LeavesTheBodyReadableForTheHandler()
    {
        await using var app = await TestApp.StartAsync(a => a.MapPost(
            "/webhooks",
            [SerializeBy("body:/id")] (Webhook hook) => Results.Ok(new { echoed = hook.Id, hook.Amount })));

        using var response = await app.SendAsync(Requests.Post("/webhooks", "a", """{"id":"wh_1","amount":42}""")).Bounded();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("wh_1", body.GetProperty("echoed").GetString());
        Assert.Equal(42, body.GetProperty("amount").GetInt32());
        Assert.Equal(["|body:/id=wh_1"], app.Locks.AcquiredKeys);
    }

    [Fact]
    public async Task BodyKey_ReadsNumbersAndArrayElements()
    {
        await using var app = await TestApp.StartAsync(a => a.MapPost("/op", () => Results.Ok()).SerializeBy("body:/items/1/sku+body:/qty"));

        using var response = await app.SendAsync(Requests.Post("/op", "a", """{"items":[{"sku":"x"},{"sku":"y"}],"qty":3}""")).Bounded();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["|body:/items/1/sku=y|body:/qty=3"], app.Locks.AcquiredKeys);
    }

    [Fact]
    public async Task CustomSource_SerializesByItsValue()
    {
        await using var app = await StartAsync("tenant", o => o.AddKeySource("tenant", c => c.Request.Headers["X-Tenant-Id"].ToString()));
        await app.AssertSerializedAsync((id, value) => Requests.Post("/op", id, null, ("X-Tenant-Id", value)), "acme", "globex");
        Assert.Contains("|tenant=acme", app.Locks.AcquiredKeys);
    }

    [Fact]
    public async Task AsyncCustomSource_AndCompositeWithRoute_FormOneKey()
    {
        await using var app = await TestApp.StartAsync(
            a => a.MapPost("/orders/{id}", () => Results.Ok()).SerializeBy("region+route:id"),
            o => o.AddKeySource("region", async c =>
            {
                await Task.Yield();
                return c.Request.Headers["X-Region"].ToString();
            }));

        using var response = await app.SendAsync(Requests.Post("/orders/7", "a", null, ("X-Region", "eu"))).Bounded();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["|region=eu|route:id=7"], app.Locks.AcquiredKeys);
    }

    public sealed record Webhook(string Id, int Amount);
}
