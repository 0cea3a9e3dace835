using System.Net;
using KeyedLock.AspNetCore.Tests.Infrastructure;
using KeyedLock.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace KeyedLock.AspNetCore.Tests;

public sealed class MinimalApiTests
{
    private static Task Handle(HttpContext context, Probe probe) => probe.RunAsync(context.Request.Headers["X-Req"].ToString(), context.RequestAborted);

    [Fact]
    public async Task SameRouteKey_RunsOneAtATimeInArrivalOrder()
    {
        await using var app = await TestApp.StartAsync(a => a.MapPost("/users/{id}", Handle).SerializeBy("route:id"));

        var first = app.SendAsync(Requests.Post("/users/1", "a"));
        await app.Probe.ExpectEnteredAsync("a");
        var second = app.SendAsync(Requests.Post("/users/1", "b"));
        await app.Locks.NextQueuedAsync();
        var third = app.SendAsync(Requests.Post("/users/1", "c"));
        await app.Locks.NextQueuedAsync();
        // b and c are queued on the key that a holds (the provider reported each wait): neither can have run.
        Assert.False(second.IsCompleted);
        Assert.Equal(1, app.Probe.Inside);

        app.Probe.Release("a");
        await app.Probe.ExpectEnteredAsync("b");
        Assert.False(third.IsCompleted);
        app.Probe.Release("b");
        await app.Probe.ExpectEnteredAsync("c");
        app.Probe.Release("c");

        foreach (var response in await Task.WhenAll(first, second, third).Bounded())
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(1, app.Probe.MaxInside);
        Assert.Equal(["a", "b", "c"], app.Probe.EnteredOrder);
        await TestWait.UntilAsync(() => app.Registry.Count == 0, "the key is released");
    }

    [Fact]
    public async Task DifferentRouteKeys_RunInParallel()
    {
        await using var app = await TestApp.StartAsync(a => a.MapPost("/users/{id}", Handle).SerializeBy("route:id"));

        var first = app.SendAsync(Requests.Post("/users/1", "a"));
        var second = app.SendAsync(Requests.Post("/users/2", "b"));
        var entered = new[] { await app.Probe.NextEnteredAsync(), await app.Probe.NextEnteredAsync() };

        Assert.Equal(["a", "b"], entered.Order());
        Assert.Equal(2, app.Probe.Inside);
        Assert.Equal(2, app.Registry.Count);
        app.Probe.Release("a");
        app.Probe.Release("b");
        await Task.WhenAll(first, second).Bounded();
        Assert.Equal(2, app.Probe.MaxInside);
    }

    [Fact]
    public async Task AttributeOnLambda_SerializesByRouteValue()
    {
        await using var app = await TestApp.StartAsync(a => a.MapPost(
            "/users/{id}",
            [SerializeBy("route:id")] (HttpContext context, Probe probe) => probe.RunAsync(context.Request.Headers["X-Req"].ToString(), context.RequestAborted)));

        await app.AssertSerializedAsync((id, value) => Requests.Post($"/users/{value}", id), "1", "2");
    }

    [Fact]
    public async Task RouteGroup_SerializesEveryEndpoint_AndDisableOptsOneOut()
    {
        await using var app = await TestApp.StartAsync(a =>
        {
            var group = a.MapGroup("/wallets/{walletId}").SerializeBy("route:walletId");
            group.MapPost("/deposit", Handle);
            group.MapPost("/peek", Handle).DisableKeyedSerialization();
        });

        await app.AssertSerializedAsync((id, value) => Requests.Post($"/wallets/{value}/deposit", id), "w1", "w2");

        // Opted out: two requests for the same wallet are inside at once.
        var first = app.SendAsync(Requests.Post("/wallets/w1/peek", "p1"));
        var second = app.SendAsync(Requests.Post("/wallets/w1/peek", "p2"));
        await app.Probe.NextEnteredAsync();
        await app.Probe.NextEnteredAsync();
        Assert.Equal(2, app.Probe.Inside);
        Assert.Equal(0, app.Registry.Count);
        app.Probe.Release("p1");
        app.Probe.Release("p2");
        await Task.WhenAll(first, second).Bounded();
    }

    [Fact]
    public async Task CompositeTemplate_IsOneKeyOverAllParts()
    {
        await using var app = await TestApp.StartAsync(a => a.MapPost("/tenants/{tenant}/orders/{id}", Handle).SerializeBy("route:tenant+route:id"));

        // Same tenant, other order: a different key.
        await app.AssertSerializedAsync((id, value) => Requests.Post($"/tenants/t1/orders/{value}", id), "1", "2");
        Assert.Contains("|route:tenant=t1|route:id=1", app.Locks.AcquiredKeys);
    }

    [Fact]
    public async Task SeveralTemplatesInOneScope_AcquireEveryKey_WithoutDeadlock()
    {
        await using var app = await TestApp.StartAsync(a => a.MapPost("/transfer/{from}/{to}", Handle)
            .SerializeBy(new SerializeByAttribute("route:from") { Scope = "account" }, new SerializeByAttribute("route:to") { Scope = "account" }));

        var ab = app.SendAsync(Requests.Post("/transfer/a/b", "ab"));
        await app.Probe.ExpectEnteredAsync("ab");
        Assert.Equal(2, app.Registry.Count);

        // b -> a shares both accounts (in the other order): it waits, and cannot deadlock.
        var ba = app.SendAsync(Requests.Post("/transfer/b/a", "ba"));
        await app.Locks.NextQueuedAsync();

        // c -> d shares nothing: it runs alongside.
        var cd = app.SendAsync(Requests.Post("/transfer/c/d", "cd"));
        await app.Probe.ExpectEnteredAsync("cd");
        Assert.False(ba.IsCompleted);

        app.Probe.Release("ab");
        await app.Probe.ExpectEnteredAsync("ba");
        app.Probe.Release("ba");
        app.Probe.Release("cd");
        foreach (var response in await Task.WhenAll(ab, ba, cd).Bounded())
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await TestWait.UntilAsync(() => app.Registry.Count == 0, "every key is released");
    }

    [Fact]
    public async Task TwoAttributesGivingTheSameKey_LockItOnce()
    {
        await using var app = await TestApp.StartAsync(a => a.MapPost("/transfer/{from}/{to}", Handle)
            .SerializeBy(new SerializeByAttribute("route:from") { Scope = "account" }, new SerializeByAttribute("route:to") { Scope = "account" }));

        app.Probe.AutoRelease = true;
        using var response = await app.SendAsync(Requests.Post("/transfer/a/a", "aa")).Bounded();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, app.Locks.AcquireCalls);
    }

    [Fact]
    public async Task Scope_SharesOrSeparatesKeysAcrossEndpoints()
    {
        await using var app = await TestApp.StartAsync(a =>
        {
            a.MapPost("/deposit/{userId}", Handle).SerializeBy("route:userId", k => k.Scope = "wallet");
            a.MapPost("/withdraw/{userId}", Handle).SerializeBy("route:userId", k => k.Scope = "wallet");
            a.MapPost("/profile/{userId}", Handle).SerializeBy("route:userId", k => k.Scope = "profile");
        });

        var deposit = app.SendAsync(Requests.Post("/deposit/1", "d"));
        await app.Probe.ExpectEnteredAsync("d");
        var withdraw = app.SendAsync(Requests.Post("/withdraw/1", "w"));
        await app.Locks.NextQueuedAsync();
        var profile = app.SendAsync(Requests.Post("/profile/1", "p"));
        await app.Probe.ExpectEnteredAsync("p");

        app.Probe.Release("d");
        await app.Probe.ExpectEnteredAsync("w");
        app.Probe.Release("w");
        app.Probe.Release("p");
        await Task.WhenAll(deposit, withdraw, profile).Bounded();
        Assert.Contains("wallet|1", app.Locks.AcquiredKeys);
        Assert.Contains("profile|1", app.Locks.AcquiredKeys);
    }
}
