using System.Net;
using System.Text.Json;
using KeyedLock.AspNetCore.Tests.Infrastructure;
using KeyedLock.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace KeyedLock.AspNetCore.Tests;

public sealed class ControllerTests
{
    [Fact]
    public async Task ControllerAttribute_WithMiddleware_SerializesEveryAction()
    {
        await using var app = await TestApp.StartAsync(a => a.MapControllers(), controllers: true);
        await app.AssertSerializedAsync((id, value) => Requests.Post($"/api/accounts/{value}/deposit", id), "1", "2");
    }

    [Fact]
    public async Task DisableOnAction_OverridesTheControllerAttribute()
    {
        await using var app = await TestApp.StartAsync(a => a.MapControllers(), controllers: true);

        var first = app.SendAsync(Requests.Post("/api/accounts/1/peek", "a"));
        var second = app.SendAsync(Requests.Post("/api/accounts/1/peek", "b"));
        await app.Probe.NextEnteredAsync();
        await app.Probe.NextEnteredAsync();
        Assert.Equal(2, app.Probe.Inside);
        app.Probe.Release("a");
        app.Probe.Release("b");
        await Task.WhenAll(first, second).Bounded();
        Assert.Equal(0, app.Locks.AcquireCalls);
    }

    [Fact]
    public async Task ActionAttribute_WithMiddleware_SerializesByScopedKey()
    {
        await using var app = await TestApp.StartAsync(a => a.MapControllers(), controllers: true);
        await app.AssertSerializedAsync((id, value) => Requests.Post($"/api/orders/{value}/pay", id), "o1", "o2");
        Assert.Contains("order|o1", app.Locks.AcquiredKeys);
    }

    [Fact]
    public async Task BodyKey_ModelBindingStillReadsTheBody()
    {
        await using var app = await TestApp.StartAsync(a => a.MapControllers(), controllers: true);

        using var response = await app.SendAsync(Requests.Post("/api/orders/webhook", "a", """{"id":"wh_9","amount":5}""")).Bounded();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("wh_9", body.GetProperty("id").GetString());
        Assert.Equal(5, body.GetProperty("amount").GetInt32());
        Assert.Equal(["|body:/id=wh_9"], app.Locks.AcquiredKeys);
    }

    [Fact]
    public async Task ActionAttribute_WithoutMiddleware_IsStillSerialized()
    {
        await using var app = await TestApp.StartAsync(a => a.MapControllers(), useMiddleware: false, controllers: true);

        await app.AssertSerializedAsync((id, value) => Requests.Post($"/api/orders/{value}/pay", id), "o1", "o2");
    }

    [Fact]
    public async Task ControllerAttribute_WithoutMiddleware_IsStillSerialized()
    {
        await using var app = await TestApp.StartAsync(a => a.MapControllers(), useMiddleware: false, controllers: true);

        await app.AssertSerializedAsync((id, value) => Requests.Post($"/api/accounts/{value}/deposit", id), "1", "2");
    }

    [Fact]
    public async Task BodyKey_WithoutMiddleware_ModelBindingStillReadsTheBody()
    {
        await using var app = await TestApp.StartAsync(a => a.MapControllers(), useMiddleware: false, controllers: true);

        using var response = await app.SendAsync(Requests.Post("/api/orders/webhook", "a", """{"Id":"wh_9","amount":5}""")).Bounded();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("wh_9", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString());
        Assert.Equal(["|body:/id=wh_9"], app.Locks.AcquiredKeys);
    }
}
