using System.Net;
using System.Text;
using System.Text.Json;
using KeyedLock.AotSmoke;
using KeyedLock.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace KeyedLock.AotSmoke.Tests;

/// <summary>
/// The smoke app (every feature) in a process where System.Text.Json has no reflection, as in trimmed and native AOT
/// apps, and without AddProblemDetails(): rejections keep their status and their application/problem+json body.
/// </summary>
public sealed class ReflectionFreeRejectionTests : IAsyncLifetime
{
    private WebApplication _app = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _app = SmokeApp.Build([], b =>
        {
            b.WebHost.UseTestServer();
            b.Logging.ClearProviders();
        });
        await _app.StartAsync().Bounded();
        _client = _app.GetTestClient();
        _client.Timeout = TestWait.Default;
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.StopAsync().Bounded();
        await _app.DisposeAsync();
    }

    [Fact]
    public void ReflectionBasedJson_IsOff_InThisProcess()
    {
        Assert.False(JsonSerializer.IsReflectionEnabledByDefault);
    }

    [Fact]
    public async Task MissingAndAmbiguousKeys_Get400ProblemDetails()
    {
        using var missing = await _client.PostAsync("/accounts", null).Bounded();
        await AssertProblemAsync(missing, HttpStatusCode.BadRequest, "keyedlock_missing_key");

        using var ambiguous = new HttpRequestMessage(HttpMethod.Post, "/accounts");
        ambiguous.Headers.Add("X-Account", ["a", "b"]);
        ambiguous.Headers.Add("X-Tenant", "t");
        using var ambiguousResponse = await _client.SendAsync(ambiguous).Bounded();
        await AssertProblemAsync(ambiguousResponse, HttpStatusCode.BadRequest, "keyedlock_ambiguous_key");

        using var invalid = await _client.PostAsync("/hooks", new StringContent("""{"id":"\ud800"}""", Encoding.UTF8, "application/json")).Bounded();
        await AssertProblemAsync(invalid, HttpStatusCode.BadRequest, "keyedlock_invalid_key");

        using var noIdempotencyKey = await _client.PostAsync("/pay", null).Bounded();
        await AssertProblemAsync(noIdempotencyKey, HttpStatusCode.BadRequest, "keyedlock_idempotency_key_missing");
    }

    [Fact]
    public async Task WaitTimeout_Gets429ProblemDetails_WithRetryAfter()
    {
        var gate = _app.Services.GetRequiredService<Gate>();
        var holder = _client.PostAsync("/hold/1", null);
        await gate.Entered("1").Bounded();

        using var rejected = await _client.PostAsync("/hold/1", null).Bounded();

        await AssertProblemAsync(rejected, HttpStatusCode.TooManyRequests, "keyedlock_timeout");
        Assert.Equal("1", rejected.Headers.RetryAfter?.ToString());
        gate.Release("1");
        using var held = await holder.Bounded();
        Assert.Equal(HttpStatusCode.OK, held.StatusCode);
    }

    [Fact]
    public async Task ATypedRouteValue_IsKeyedByTheBoundValue_WithTheGeneratedRequestDelegates()
    {
        // The smoke app compiles its minimal APIs with the request delegate generator (as native AOT apps do): the
        // handler binds int 7 from "07" too, so that request must find the key taken.
        var gate = _app.Services.GetRequiredService<Gate>();
        var holder = _client.PostAsync("/balances/7", null);
        await gate.Entered("balance-7").Bounded();

        using var rejected = await _client.PostAsync("/balances/07", null).Bounded();

        await AssertProblemAsync(rejected, HttpStatusCode.TooManyRequests, "keyedlock_timeout");
        gate.Release("balance-7");
        using var held = await holder.Bounded();
        Assert.Equal(HttpStatusCode.OK, held.StatusCode);
    }

    [Fact]
    public async Task AcceptedRequests_RunAndReplay()
    {
        using var user = await _client.PostAsync("/users/7", null).Bounded();
        Assert.Equal("7", await user.Content.ReadAsStringAsync());

        using var hook = await _client.PostAsync("/hooks", new StringContent("""{"id":"wh_1"}""", Encoding.UTF8, "application/json")).Bounded();
        Assert.Equal("""{"id":"wh_1"}""", await hook.Content.ReadAsStringAsync());

        using var first = new HttpRequestMessage(HttpMethod.Post, "/pay") { Headers = { { "Idempotency-Key", "k1" } } };
        using var second = new HttpRequestMessage(HttpMethod.Post, "/pay") { Headers = { { "Idempotency-Key", "k1" } } };
        using var paid = await _client.SendAsync(first).Bounded();
        using var replayed = await _client.SendAsync(second).Bounded();
        Assert.Equal(HttpStatusCode.Created, replayed.StatusCode);
        Assert.Equal("paid", await replayed.Content.ReadAsStringAsync());
        Assert.Equal("true", replayed.Headers.GetValues("Idempotent-Replayed").Single());
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string reason)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal((int)status, problem.RootElement.GetProperty("status").GetInt32());
        Assert.Equal(reason, problem.RootElement.GetProperty("reason").GetString());
        Assert.False(string.IsNullOrEmpty(problem.RootElement.GetProperty("title").GetString()));
    }
}
