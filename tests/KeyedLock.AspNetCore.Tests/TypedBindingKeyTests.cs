using System.Globalization;
using System.Net;
using KeyedLock.AspNetCore.Tests.Infrastructure;
using KeyedLock.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace KeyedLock.AspNetCore.Tests;

/// <summary>
/// Route, query and header values bound to a typed parameter (integers, <c>Guid</c>, <c>bool</c>, enums): every
/// spelling the binder reads as one value gives one lock key (keyed by their raw text, <c>/accounts/7</c> and
/// <c>/accounts/07</c>, both <c>int id = 7</c>, ran side by side), and different values still get different keys.
/// </summary>
public sealed class TypedBindingKeyTests
{
    private static Task<TestApp> StartAsync() => TestApp.StartAsync(a =>
    {
        a.MapPost("/accounts/{id}", (int id) => id.ToString(CultureInfo.InvariantCulture)).SerializeBy("route:id");
        a.MapPost("/orders/{id}", (Guid id) => id.ToString("D")).SerializeBy("route:id");
        a.MapPost("/transfer", ([FromQuery] long accountId) => accountId.ToString(CultureInfo.InvariantCulture)).SerializeBy("query:accountId");
        a.MapPost("/payees/{payee}", ([FromRoute(Name = "payee")] ulong to) => to.ToString(CultureInfo.InvariantCulture)).SerializeBy("route:payee");
        a.MapPost("/express", ([FromHeader(Name = "X-Express")] bool express) => express ? "yes" : "no").SerializeBy("header:X-Express");
        a.MapPost("/plans/{plan}", (DayOfWeek plan) => ((int)plan).ToString(CultureInfo.InvariantCulture)).SerializeBy("route:plan");
        a.MapPost("/users/{name}", (string name) => name).SerializeBy("route:name");
        a.MapPost("/prices/{amount}", (decimal amount) => amount.ToString("0.############", CultureInfo.InvariantCulture)).SerializeBy("route:amount");
        a.MapPost("/wallets/{walletId}", ([AsParameters] WalletRequest wallet, [AsParameters] CurrencyRequest currency) => $"{wallet.WalletId}:{currency.Currency}")
            .SerializeBy("route:walletId", "query:cur");
        a.MapPost("/settlements/{day}", (DateOnly day) => day.ToString("O", CultureInfo.InvariantCulture)).SerializeBy("route:day");
        a.MapPost("/rates", ([FromQuery] double rate) => (rate == 0 ? 0 : rate).ToString("R", CultureInfo.InvariantCulture)).SerializeBy("query:rate");
        a.MapPost("/pay/{id}", (int id) => id.ToString(CultureInfo.InvariantCulture)).Idempotent("route:id");
    });

    /// <summary>Sends each request; all must bind the same value and acquire the same key.</summary>
    private static Task AssertOneKeyAsync(TestApp app, params string[] urls)
        => AssertOneKeyAsync(app, 0, [.. urls.Select(url => new HttpRequestMessage(HttpMethod.Post, url))]);

    private static Task AssertOneKeyAsync(TestApp app, params HttpRequestMessage[] requests) => AssertOneKeyAsync(app, 0, requests);

    private static Task AssertOneKeyAsync(TestApp app, int before, params string[] urls)
        => AssertOneKeyAsync(app, before, [.. urls.Select(url => new HttpRequestMessage(HttpMethod.Post, url))]);

    /// <summary>The same, after <paramref name="before"/> acquisitions of earlier requests in the app.</summary>
    private static async Task AssertOneKeyAsync(TestApp app, int before, params HttpRequestMessage[] requests)
    {
        var bound = new List<string>();
        foreach (var request in requests)
        {
            using var response = await app.SendAsync(request).Bounded();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            bound.Add(await response.Content.ReadAsStringAsync().Bounded());
        }

        Assert.Single(bound.Distinct());
        Assert.Equal(before + requests.Length, app.Locks.AcquireCalls);
        Assert.Single(app.Locks.AcquiredKeys.Skip(before).Distinct());
    }

    /// <summary>Each case: spellings (separated by spaces) that the minimal-API handler binds as one value.</summary>
    [Theory]
    [InlineData("/accounts/7 /accounts/07 /accounts/%2B7")] // int route value: leading zeros and sign
    [InlineData("/orders/3f2504e0-4f89-11d3-9a0c-0305e82c3301 /orders/3F2504E0-4F89-11D3-9A0C-0305E82C3301 /orders/3f2504e04f8911d39a0c0305e82c3301")] // Guid: case and format
    [InlineData("/transfer?accountId=42 /transfer?accountId=0042")] // long query value
    [InlineData("/payees/9 /payees/009 /payees/+9")] // [FromRoute(Name = ...)] ulong
    [InlineData("/plans/Monday /plans/1 /plans/%20Monday")] // enum: name or number
    [InlineData("/prices/1.5 /prices/1.50 /prices/01.500")] // decimal: trailing and leading zeros
    [InlineData("/rates?rate=0.1 /rates?rate=0.10 /rates?rate=1e-1 /rates?rate=0.1000000000000000000001")] // double: one double
    [InlineData("/rates?rate=0 /rates?rate=-0 /rates?rate=1e-400")] // double: zero, negative zero, underflow
    [InlineData("/settlements/2024-01-05 /settlements/2024-1-5 /settlements/2024-01-5")] // DateOnly: one day
    public async Task TypedValues_SpelledDifferently_AreOneKey(string spellings)
    {
        await using var app = await StartAsync();

        await AssertOneKeyAsync(app, spellings.Split(' '));
    }

    [Fact]
    public async Task ABoolHeader_IsKeyedByTheBoundValue()
    {
        await using var app = await StartAsync();

        await AssertOneKeyAsync(app, Post("/express", ("X-Express", "true")), Post("/express", ("X-Express", "True")), Post("/express", ("X-Express", " TRUE ")));
    }

    [Fact]
    public async Task DifferentValues_AndStringParameters_KeepDifferentKeys()
    {
        await using var app = await StartAsync();

        foreach (var url in new[] { "/accounts/7", "/accounts/8", "/accounts/-7", "/users/Bob", "/users/bob", "/users/007", "/users/7" })
        {
            using var response = await app.SendAsync(new HttpRequestMessage(HttpMethod.Post, url)).Bounded();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(7, app.Locks.AcquiredKeys.Distinct().Count());
    }

    [Fact]
    public async Task TextTheBinderCannotRead_KeepsItsText_AndTheHandlerNeverRuns()
    {
        await using var app = await StartAsync();

        using var response = await app.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/accounts/seven")).Bounded();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(["|route:id=seven"], app.Locks.AcquiredKeys);
    }

    [Fact]
    public async Task AnIdempotencyKeyFromATypedRouteValue_IsTheBoundValue()
    {
        await using var app = await StartAsync();

        using var first = await app.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/pay/5")).Bounded();
        using var second = await app.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/pay/05")).Bounded();

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.EndsWith("|route:id=5", Assert.Single(app.Locks.AcquiredKeys.Distinct()), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MvcActions_AreKeyedByTheValuesMvcBinds_HexIncluded()
    {
        await using var app = await TestApp.StartAsync(a => a.MapControllers(), controllers: true);

        await AssertOneKeyAsync(app, "/api/typed/accounts/7", "/api/typed/accounts/07", "/api/typed/accounts/0x7", "/api/typed/accounts/%237");
        await AssertOneKeyAsync(app, 4, "/api/typed/transfers?from=42", "/api/typed/transfers?from=042");
        await AssertOneKeyAsync(app, 6, Post("/api/typed/tiers", ("X-Tier", "Gold")), Post("/api/typed/tiers", ("X-Tier", "gold")), Post("/api/typed/tiers", ("X-Tier", "2")));

        using var bob = await app.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/typed/names/Bob")).Bounded();
        using var lower = await app.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/typed/names/bob")).Bounded();
        Assert.Contains("|route:name=Bob", app.Locks.AcquiredKeys);
        Assert.Contains("|route:name=bob", app.Locks.AcquiredKeys);
    }

    [Fact]
    public async Task AsParametersMembers_AreKeyedByTheValuesTheyBind()
    {
        await using var app = await StartAsync();

        // A constructor parameter bound from the route, and a property (of a type without one) bound from the query
        // under another name.
        foreach (var url in new[] { "/wallets/7?cur=1", "/wallets/07?cur=01", "/wallets/+7?cur=%2B1" })
        {
            using var response = await app.SendAsync(new HttpRequestMessage(HttpMethod.Post, url)).Bounded();
            Assert.Equal("7:1", await response.Content.ReadAsStringAsync().Bounded());
        }

        Assert.Equal(["|route:walletId=7", "|query:cur=1"], app.Locks.AcquiredKeys.Distinct().Order(StringComparer.Ordinal).Reverse());
    }

    public sealed record WalletRequest(int WalletId);

    public sealed class CurrencyRequest
    {
        [FromQuery(Name = "cur")]
        public short Currency { get; set; }
    }

    private static HttpRequestMessage Post(string url, (string Name, string Value) header)
        => new(HttpMethod.Post, url) { Headers = { { header.Name, header.Value } } };
}
