using System.Net;
using System.Text;
using KeyedLock.AspNetCore.Tests.Infrastructure;
using KeyedLock.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace KeyedLock.AspNetCore.Tests;

/// <summary>
/// The lock key is exactly what binding sees, or the request gets 400: each case runs over real HTTP through an MVC
/// controller (<c>/mvc</c>) and through minimal APIs (<c>/min</c>), and compares the key the provider saw with the
/// value the handler bound.
/// </summary>
public sealed class KeyRulesTests
{
    public static TheoryData<string> Stacks => new() { "mvc", "min" };

    private static Task<TestApp> StartAsync() => TestApp.StartAsync(
        a =>
        {
            a.MapControllers();
            a.MapPost("/min/query", ([FromQuery] string userId) => userId).SerializeBy("query:userId");
            a.MapPost("/min/header", ([FromHeader(Name = "X-Account")] string account) => account).SerializeBy("header:X-Account");
            a.MapPost("/min/body", (Payload payload) => payload.UserId ?? "(null)").SerializeBy("body:/userId");
            a.MapPost("/min/number", (Amount amount) => amount.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)).SerializeBy("body:/id");
            a.MapPost("/min/nested", (KeyRulesController.Order order) => order.Inner?.UserId ?? "(null)").SerializeBy("body:/inner/userId");
            a.MapPost("/min/route/{id}", (string id) => id).SerializeBy("route:id");
        },
        controllers: true);

    private static HttpRequestMessage Json(string url, string json) =>
        new(HttpMethod.Post, url) { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    private static HttpRequestMessage Raw(string url, byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        return new HttpRequestMessage(HttpMethod.Post, url) { Content = content };
    }

    /// <summary>Sends the request and checks that the handler bound <paramref name="bound"/> under the lock key <paramref name="key"/>.</summary>
    private static async Task AssertKeyIsBoundValueAsync(TestApp app, HttpRequestMessage request, string key, string bound)
    {
        var before = app.Locks.AcquireCalls;
        using var response = await app.SendAsync(request).Bounded();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(bound, await response.Content.ReadAsStringAsync());
        Assert.Equal(before + 1, app.Locks.AcquireCalls);
        Assert.Equal(key, app.Locks.AcquiredKeys[^1]);
    }

    private static async Task AssertRejectedAsync(TestApp app, HttpRequestMessage request, string reason)
    {
        var before = app.Locks.AcquireCalls;
        using var response = await app.SendAsync(request).Bounded();

        var problem = await response.ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(reason, problem.GetProperty("reason").GetString());
        Assert.Equal(before, app.Locks.AcquireCalls);
    }

    [Theory]
    [MemberData(nameof(Stacks))]
    public async Task RepeatedQueryParameter_IsAmbiguous_NeverJoined(string stack)
    {
        await using var app = await StartAsync();

        await AssertRejectedAsync(app, new(HttpMethod.Post, $"/{stack}/query?userId=alice&userId=zz"), "keyedlock_ambiguous_key");
        await AssertRejectedAsync(app, new(HttpMethod.Post, $"/{stack}/query?userId=alice&USERID=zz"), "keyedlock_ambiguous_key");
        await AssertKeyIsBoundValueAsync(app, new(HttpMethod.Post, $"/{stack}/query?userId=alice,zz"), "|query:userId=alice,zz", "alice,zz");
    }

    [Theory]
    [MemberData(nameof(Stacks))]
    public async Task PercentEncodedQuery_KeysTheDecodedValue_AsBindingDoes(string stack)
    {
        await using var app = await StartAsync();

        await AssertKeyIsBoundValueAsync(app, new(HttpMethod.Post, $"/{stack}/query?user%49d=b%6Fb"), "|query:userId=bob", "bob");
        await AssertRejectedAsync(app, new(HttpMethod.Post, $"/{stack}/query?userId=bob&user%49d=eve"), "keyedlock_ambiguous_key");
    }

    [Theory]
    [MemberData(nameof(Stacks))]
    public async Task RepeatedHeader_IsAmbiguous_ACommaInOneValueIsNot(string stack)
    {
        await using var app = await StartAsync();

        var repeated = new HttpRequestMessage(HttpMethod.Post, $"/{stack}/header");
        repeated.Headers.Add("X-Account", ["alice", "zz"]);
        await AssertRejectedAsync(app, repeated, "keyedlock_ambiguous_key");

        var commas = new HttpRequestMessage(HttpMethod.Post, $"/{stack}/header");
        commas.Headers.TryAddWithoutValidation("X-Account", "alice, zz");
        await AssertKeyIsBoundValueAsync(app, commas, "|header:X-Account=alice, zz", "alice, zz");
    }

    [Theory]
    [MemberData(nameof(Stacks))]
    public async Task BodyPointer_MatchesNamesAsBindingDoes_CaseInsensitiveUnderWebDefaults(string stack)
    {
        await using var app = await StartAsync();

        await AssertKeyIsBoundValueAsync(app, Json($"/{stack}/body", """{"USERID":"bob"}"""), "|body:/userId=bob", "bob");
        await AssertKeyIsBoundValueAsync(app, Json($"/{stack}/body", """{"user\u0049d":"b\u006Fb"}"""), "|body:/userId=bob", "bob");
        await AssertKeyIsBoundValueAsync(app, Json($"/{stack}/nested", """{"Inner":{"UserID":"bob"}}"""), "|body:/inner/userId=bob", "bob");
    }

    [Theory]
    [MemberData(nameof(Stacks))]
    public async Task TwoPropertiesMatchingOneSegment_AreAmbiguous(string stack)
    {
        await using var app = await StartAsync();

        await AssertRejectedAsync(app, Json($"/{stack}/body", """{"userId":"decoy","UserId":"bob"}"""), "keyedlock_ambiguous_key");
        await AssertRejectedAsync(app, Json($"/{stack}/body", """{"userId":"bob","userId":"bob2"}"""), "keyedlock_ambiguous_key");
        await AssertRejectedAsync(app, Json($"/{stack}/nested", """{"inner":{"userId":"a"},"INNER":{"userId":"b"}}"""), "keyedlock_ambiguous_key");
    }

    [Theory]
    [MemberData(nameof(Stacks))]
    public async Task NumbersThatBindEqual_GiveOneKey(string stack)
    {
        await using var app = await StartAsync();

        foreach (var spelling in new[] { "7", "7.0", "7e0", "0.7E1", "70e-1", "\"7\"", "\"7.00\"" })
        {
            using var response = await app.SendAsync(Json($"/{stack}/number", $$"""{"id":{{spelling}}}""")).Bounded();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(7m, decimal.Parse(await response.Content.ReadAsStringAsync(), System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal("|body:/id=7", app.Locks.AcquiredKeys[^1]);
        }

        await AssertRejectedAsync(app, Json($"/{stack}/number", """{"id":0.1000000000000000000001}"""), "keyedlock_ambiguous_key");
    }

    [Theory]
    [MemberData(nameof(Stacks))]
    public async Task UnreadableBytes_Are400_Never500(string stack)
    {
        await using var app = await StartAsync();

        await AssertRejectedAsync(app, Raw($"/{stack}/body", [.. """{"userId":"a"""u8, 0xFF, .. "b\"}"u8]), "keyedlock_invalid_key");
        await AssertRejectedAsync(app, Raw($"/{stack}/body", [.. """{"us"""u8, 0xC3, .. "er\":\"a\"}"u8]), "keyedlock_invalid_key");
        await AssertRejectedAsync(app, Json($"/{stack}/body", """{"userId":"\ud800x"}"""), "keyedlock_invalid_key");
        await AssertRejectedAsync(app, Json($"/{stack}/body", """{"userId":{"id":"bob"}}"""), "keyedlock_invalid_key");
        await AssertRejectedAsync(app, Json($"/{stack}/body", """{"userId":"bob" """), "keyedlock_invalid_key");

        // The same bytes mean "é" in UTF-8 and "Ã©" in Latin-1, which binding would transcode: never keyed.
        var latin1 = Raw($"/{stack}/body", [.. """{"userId":"""u8, (byte)'"', 0xC3, 0xA9, (byte)'"', (byte)'}']);
        latin1.Content!.Headers.ContentType!.CharSet = "iso-8859-1";
        await AssertRejectedAsync(app, latin1, "keyedlock_invalid_key");
    }

    [Theory]
    [MemberData(nameof(Stacks))]
    public async Task LeadingUtf8Bom_IsAccepted_AsBindingAcceptsIt(string stack)
    {
        await using var app = await StartAsync();

        await AssertKeyIsBoundValueAsync(app, Raw($"/{stack}/body", [0xEF, 0xBB, 0xBF, .. """{"userId":"bob"}"""u8]), "|body:/userId=bob", "bob");
    }

    [Theory]
    [MemberData(nameof(Stacks))]
    public async Task NullAndMissing_AreBothMissing(string stack)
    {
        await using var app = await StartAsync();

        await AssertRejectedAsync(app, Json($"/{stack}/body", """{"userId":null}"""), "keyedlock_missing_key");
        await AssertRejectedAsync(app, Json($"/{stack}/body", """{"other":"bob"}"""), "keyedlock_missing_key");
    }

    [Theory]
    [MemberData(nameof(Stacks))]
    public async Task RouteValue_IsTheDecodedSegment_AsBindingSees(string stack)
    {
        await using var app = await StartAsync();

        await AssertKeyIsBoundValueAsync(app, new(HttpMethod.Post, $"/{stack}/route/b%6Fb"), "|route:id=bob", "bob");
    }

    [Fact]
    public async Task MvcFormFieldShadowingTheRouteValue_IsAmbiguous()
    {
        await using var app = await StartAsync();

        var shadowed = new HttpRequestMessage(HttpMethod.Post, "/mvc-plain/route/alice") { Content = new FormUrlEncodedContent([new("id", "bob")]) };
        await AssertRejectedAsync(app, shadowed, "keyedlock_ambiguous_key");

        var same = new HttpRequestMessage(HttpMethod.Post, "/mvc-plain/route/alice") { Content = new FormUrlEncodedContent([new("id", "alice")]) };
        await AssertKeyIsBoundValueAsync(app, same, "|route:id=alice", "alice");

        var query = new HttpRequestMessage(HttpMethod.Post, "/mvc-plain/query?id=alice") { Content = new FormUrlEncodedContent([new("id", "bob")]) };
        await AssertRejectedAsync(app, query, "keyedlock_ambiguous_key");
    }

    [Fact]
    public async Task MvcJQueryFormField_BoundWhenThePartIsMissing_IsAmbiguous_EvenWithSkipKey()
    {
        // MVC's jQuery form value provider reads `id[]` as `id` after the query: with no query value, binding sees the
        // form's value; skipping the missing key would run the request unserialized on it.
        await using var app = await TestApp.StartAsync(a => a.MapControllers(), o => o.MissingKeyBehavior = KeyedSerializationMissingKeyBehavior.SkipKey, controllers: true);

        var jquery = new HttpRequestMessage(HttpMethod.Post, "/mvc-plain/query") { Content = new FormUrlEncodedContent([new("id[]", "bob")]) };
        await AssertRejectedAsync(app, jquery, "keyedlock_ambiguous_key");

        var same = new HttpRequestMessage(HttpMethod.Post, "/mvc-plain/query?id=bob") { Content = new FormUrlEncodedContent([new("id[]", "bob")]) };
        await AssertKeyIsBoundValueAsync(app, same, "|query:id=bob", "bob");
    }

    [Fact]
    public async Task RepeatedIdempotencyKey_IsAmbiguous()
    {
        await using var app = await TestApp.StartAsync(a => a.MapPost("/pay", () => Results.Ok()).Idempotent());

        var request = new HttpRequestMessage(HttpMethod.Post, "/pay");
        request.Headers.Add(IdempotencyOptions.DefaultHeaderName, ["k1", "k2"]);
        using var response = await app.SendAsync(request).Bounded();

        var problem = await response.ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal("keyedlock_ambiguous_key", problem.GetProperty("reason").GetString());
        Assert.Equal(0, app.Locks.AcquireCalls);
    }
}
