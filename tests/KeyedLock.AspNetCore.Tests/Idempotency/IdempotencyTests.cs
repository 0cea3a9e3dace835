using System.Net;
using System.Text;
using KeyedLock.AspNetCore.Tests.Infrastructure;
using KeyedLock.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using static KeyedLock.AspNetCore.Tests.Idempotency.IdempotencyApp;

namespace KeyedLock.AspNetCore.Tests.Idempotency;

public sealed class IdempotencyTests
{
    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public async Task Duplicate_ReplaysByteIdenticalStatusBodyAndHeaders_WithoutRunningAgain(bool useMiddleware, bool kestrel)
    {
        await using var app = await IdempotencyApp.StartAsync(useMiddleware: useMiddleware, kestrel: kestrel);

        var first = await app.SendReleasedAsync(Pay("a", "k1"));
        var second = await app.SendReleasedAsync(Pay("b", "k1"));

        Assert.Equal(HttpStatusCode.Created, first.Status);
        Assert.False(first.Replayed);
        Assert.Equal(first.Status, second.Status);
        Assert.Equal(first.Body, second.Body);
        Assert.True(second.Replayed);
        Assert.Equal("/payments/1", second.Header("Location"));
        Assert.Equal(first.Header("Content-Type"), second.Header("Content-Type"));
        Assert.Equal(first.Body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), second.Header("Content-Length"));
        Assert.Null(second.Header("X-Run")); // not a replayed header
        Assert.Equal(1, app.Runs().Runs);
        Assert.Equal(["a"], app.Probe.EnteredOrder);
        Assert.Contains("\"run\":1", first.Text);
    }

    [Fact]
    public async Task DifferentKeys_RunSeparately()
    {
        await using var app = await IdempotencyApp.StartAsync();

        var first = await app.SendReleasedAsync(Pay("a", "k1"));
        var second = await app.SendReleasedAsync(Pay("b", "k2"));

        Assert.Contains("\"run\":1", first.Text);
        Assert.Contains("\"run\":2", second.Text);
        Assert.False(second.Replayed);
    }

    [Fact]
    public async Task ConcurrentDuplicates_RunTheHandlerOnce_AndAllGetTheSameResponse()
    {
        await using var app = await IdempotencyApp.StartAsync();

        var a = app.SendAsync(Pay("a", "k1"));
        await app.Probe.ExpectEnteredAsync("a");
        var b = app.SendAsync(Pay("b", "k1"));
        await app.Locks.NextQueuedAsync();
        var c = app.SendAsync(Pay("c", "k1"));
        await app.Locks.NextQueuedAsync();
        // Both duplicates are queued on the key that a holds (the provider reported each wait): neither can finish.
        Assert.False(b.IsCompleted);
        Assert.False(c.IsCompleted);
        Assert.Equal(1, app.Probe.Inside);

        app.Probe.Release("a");
        var responses = await Task.WhenAll(
            Response.ReadAsync(await a.Bounded()),
            Response.ReadAsync(await b.Bounded()),
            Response.ReadAsync(await c.Bounded())).Bounded();

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Created, r.Status));
        Assert.All(responses, r => Assert.Equal(responses[0].Body, r.Body));
        Assert.Equal([false, true, true], responses.Select(r => r.Replayed));
        Assert.Equal(["a"], app.Probe.EnteredOrder);
        Assert.Equal(1, app.Runs().Runs);
        await TestWait.UntilAsync(() => app.Registry.Count == 0, "the idempotency key is released");
    }

    [Theory]
    [InlineData("/pay/1", """{"amount":61}""")]
    [InlineData("/pay/2", """{"amount":60}""")]
    [InlineData("/pay/1?currency=EUR", """{"amount":60}""")]
    public async Task SameKey_DifferentRequest_Returns422_AndDoesNotRun(string url, string json)
    {
        await using var app = await IdempotencyApp.StartAsync();
        await app.SendReleasedAsync(Pay("a", "k1"));

        using var response = await app.SendAsync(Pay("b", "k1", url, json)).Bounded();

        var problem = await response.ReadProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Equal("keyedlock_idempotency_key_reused", problem.GetProperty("reason").GetString());
        Assert.Equal(1, app.Runs().Runs);
    }

    [Fact]
    public async Task MissingKey_Returns400_AndNeverRuns()
    {
        await using var app = await IdempotencyApp.StartAsync();

        using var response = await app.SendAsync(Pay("a", key: null)).Bounded();

        var problem = await response.ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal("keyedlock_idempotency_key_missing", problem.GetProperty("reason").GetString());
        Assert.Contains("header:Idempotency-Key", problem.GetProperty("detail").GetString());
        Assert.Empty(app.Probe.EnteredOrder);
        Assert.Equal(0, app.Locks.AcquireCalls);
    }

    [Fact]
    public async Task KeyTooLong_Returns400()
    {
        await using var app = await IdempotencyApp.StartAsync(configure: o => o.MaxKeyLength = 8);

        using var response = await app.SendAsync(Pay("a", "123456789")).Bounded();

        var problem = await response.ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal("keyedlock_idempotency_key_invalid", problem.GetProperty("reason").GetString());
        Assert.Empty(app.Probe.EnteredOrder);
    }

    [Fact]
    public async Task MissingKey_WhenNotRequired_RunsEveryTime()
    {
        await using var app = await IdempotencyApp.StartAsync(a => a.MapPost("/pay/{id}", PayHandler).Idempotent(k => k.KeyRequired = false));

        var first = await app.SendReleasedAsync(Pay("a", key: null));
        var second = await app.SendReleasedAsync(Pay("b", key: null));

        Assert.Contains("\"run\":1", first.Text);
        Assert.Contains("\"run\":2", second.Text);
        Assert.False(second.Replayed);
    }

    [Fact]
    public async Task DontWaitPolicy_DuplicateWhileOriginalRuns_Gets409_ThenTheReplay()
    {
        await using var app = await IdempotencyApp.StartAsync(
            a => a.MapPost("/pay/{id}", PayHandler).Idempotent(k => k.Policy = "no-wait"),
            o => o.AddPolicy("no-wait", p => p.Wait = false));

        var original = app.SendAsync(Pay("a", "k1"));
        await app.Probe.ExpectEnteredAsync("a");
        using var duplicate = await app.SendAsync(Pay("b", "k1")).Bounded();

        var problem = await duplicate.ReadProblemAsync(HttpStatusCode.Conflict);
        Assert.Equal("keyedlock_idempotency_in_progress", problem.GetProperty("reason").GetString());
        Assert.Equal("1", duplicate.Headers.GetValues("Retry-After").Single());

        app.Probe.Release("a");
        var first = await Response.ReadAsync(await original.Bounded());
        var retry = await app.SendReleasedAsync(Pay("c", "k1"));
        Assert.True(retry.Replayed);
        Assert.Equal(first.Body, retry.Body);
        Assert.Equal(["a"], app.Probe.EnteredOrder);
    }

    [Fact]
    public async Task WaitTimeout_DuplicateGets409()
    {
        var clock = new ManualTimeProvider();
        await using var app = await IdempotencyApp.StartAsync(
            configure: o => o.WaitTimeout = TimeSpan.FromSeconds(5),
            services: s => s.Replace(ServiceDescriptor.Singleton<TimeProvider>(clock)));

        var original = app.SendAsync(Pay("a", "k1"));
        await app.Probe.ExpectEnteredAsync("a");
        var duplicate = app.SendAsync(Pay("b", "k1"));
        await app.Locks.NextQueuedAsync();
        clock.Advance(TimeSpan.FromSeconds(5));

        using var response = await duplicate.Bounded();
        await response.ReadProblemAsync(HttpStatusCode.Conflict);
        app.Probe.Release("a");
        Assert.Equal(HttpStatusCode.Created, (await original.Bounded()).StatusCode);
    }

    [Fact]
    public async Task StoredResponse_ExpiresAfterTheWindow()
    {
        var clock = new ManualTimeProvider();
        await using var app = await IdempotencyApp.StartAsync(services: s => s.Replace(ServiceDescriptor.Singleton<TimeProvider>(clock)));

        var first = await app.SendReleasedAsync(Pay("a", "k1"));
        clock.Advance(TimeSpan.FromHours(24) - TimeSpan.FromSeconds(1));
        var replay = await app.SendReleasedAsync(Pay("b", "k1"));
        clock.Advance(TimeSpan.FromSeconds(1));
        var afterWindow = await app.SendReleasedAsync(Pay("c", "k1"));
        var replayOfNew = await app.SendReleasedAsync(Pay("d", "k1"));

        Assert.True(replay.Replayed);
        Assert.Equal(first.Body, replay.Body);
        Assert.False(afterWindow.Replayed);
        Assert.Contains("\"run\":2", afterWindow.Text);
        Assert.True(replayOfNew.Replayed);
        Assert.Equal(afterWindow.Body, replayOfNew.Body);
    }

    [Fact]
    public async Task PolicyWindow_OverridesTheDefault()
    {
        var clock = new ManualTimeProvider();
        await using var app = await IdempotencyApp.StartAsync(
            a => a.MapPost("/pay/{id}", PayHandler).Idempotent(k => k.Policy = "short"),
            o => o.AddPolicy("short", p => p.Window = TimeSpan.FromMinutes(10)),
            s => s.Replace(ServiceDescriptor.Singleton<TimeProvider>(clock)));

        await app.SendReleasedAsync(Pay("a", "k1"));
        clock.Advance(TimeSpan.FromMinutes(10));
        var second = await app.SendReleasedAsync(Pay("b", "k1"));

        Assert.False(second.Replayed);
        Assert.Equal(2, app.Runs().Runs);
    }

    [Theory]
    [InlineData(500, false)]
    [InlineData(503, false)]
    [InlineData(409, false)]
    [InlineData(429, false)]
    [InlineData(302, false)]
    [InlineData(200, true)]
    [InlineData(400, true)]
    [InlineData(404, true)]
    [InlineData(422, true)]
    public async Task StatusCode_IsStoredOnlyFor2xxAnd4xxExcept409And429_ByDefault(int status, bool stored)
    {
        await using var app = await IdempotencyApp.StartAsync();

        var first = await app.SendReleasedAsync(Pay("a", "k1", headers: ("X-Status", status.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        var second = await app.SendReleasedAsync(Pay("b", "k1", headers: ("X-Status", status.ToString(System.Globalization.CultureInfo.InvariantCulture))));

        Assert.Equal(status, (int)first.Status);
        Assert.Equal(stored, second.Replayed);
        Assert.Equal(stored ? 1 : 2, app.Runs().Runs);
        if (stored)
        {
            Assert.Equal(first.Body, second.Body);
            Assert.Equal(first.Status, second.Status);
        }
    }

    [Fact]
    public async Task ShouldStore_CanStoreServerErrors()
    {
        await using var app = await IdempotencyApp.StartAsync(configure: o => o.ShouldStore = _ => true);

        await app.SendReleasedAsync(Pay("a", "k1", headers: ("X-Status", "500")));
        var second = await app.SendReleasedAsync(Pay("b", "k1", headers: ("X-Status", "500")));

        Assert.Equal(HttpStatusCode.InternalServerError, second.Status);
        Assert.True(second.Replayed);
    }

    [Fact]
    public async Task HandlerThrows_NothingIsStored_AndTheRetryRuns()
    {
        var fail = true;
        await using var app = await IdempotencyApp.StartAsync(a => a.MapPost("/pay/{id}", async (HttpContext c, Probe p, RunCounter r) =>
        {
            if (fail)
            {
                fail = false;
                await c.Response.WriteAsync("partial");
                throw new InvalidOperationException("boom");
            }

            return await PayHandler(c, p, r);
        }).Idempotent());

        app.Probe.Release("a");
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            using var broken = await app.SendAsync(Pay("a", "k1")).Bounded();
            await broken.Content.ReadAsByteArrayAsync().Bounded();
        });
        var retry = await app.SendReleasedAsync(Pay("b", "k1"));

        Assert.False(retry.Replayed);
        Assert.Equal(HttpStatusCode.Created, retry.Status);
        await TestWait.UntilAsync(() => app.Registry.Count == 0, "the key is released after the failure");
    }

    [Fact]
    public async Task ClientAborts_CompletedResponseIsNotStored_AndTheRetryRuns()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await IdempotencyApp.StartAsync(a => a.MapPost("/pay/{id}", async (HttpContext c, Probe p, RunCounter r) =>
        {
            if (r.Runs == 0)
            {
                r.Next();
                c.RequestAborted.Register(() => aborted.TrySetResult());
                await c.Response.WriteAsync("first part;");
                await gate.Task; // finishes normally, after the client has gone
                await c.Response.WriteAsync("second part");
                return Results.Empty;
            }

            return await PayHandler(c, p, r);
        }).Idempotent(), kestrel: true);

        using var disconnect = new CancellationTokenSource();
        var request = Pay("a", "k1");
        var sent = app.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, disconnect.Token);
        using (var headers = await sent.Bounded())
        {
            disconnect.Cancel();
        }

        await aborted.Task.Bounded();
        gate.SetResult();
        await TestWait.UntilAsync(() => app.Registry.Count == 0, "the original finished and released its key");

        var retry = await app.SendReleasedAsync(Pay("b", "k1"));
        Assert.False(retry.Replayed);
        Assert.Contains("\"run\":2", retry.Text);
    }

    [Fact]
    public async Task ResponseLargerThanTheLimit_IsSentInFull_ButNotStored()
    {
        var body = new string('x', 10_000);
        await using var app = await IdempotencyApp.StartAsync(
            a => a.MapPost("/big", (RunCounter r) =>
            {
                r.Next();
                return Results.Text(body);
            }).Idempotent(),
            o => o.MaxResponseBodyBytes = 1000);

        using var first = await app.SendAsync(Requests.Post("/big", "a", "{}", (Key, "k1"))).Bounded();
        using var second = await app.SendAsync(Requests.Post("/big", "b", "{}", (Key, "k1"))).Bounded();

        Assert.Equal(body, await first.Content.ReadAsStringAsync());
        Assert.Equal(body, await second.Content.ReadAsStringAsync());
        Assert.False(second.Headers.Contains(IdempotencyOptions.ReplayedHeaderName));
        Assert.Equal(2, app.Runs().Runs);
    }

    [Fact]
    public async Task SameKey_DifferentUsers_AreSeparate()
    {
        await using var app = await IdempotencyApp.StartAsync();

        var alice = await app.SendReleasedAsync(Pay("a", "k1", headers: ("X-User", "alice")));
        var bob = await app.SendReleasedAsync(Pay("b", "k1", headers: ("X-User", "bob")));
        var anonymous = await app.SendReleasedAsync(Pay("c", "k1"));
        var aliceAgain = await app.SendReleasedAsync(Pay("d", "k1", headers: ("X-User", "alice")));

        Assert.False(bob.Replayed);
        Assert.False(anonymous.Replayed);
        Assert.True(aliceAgain.Replayed);
        Assert.Equal(alice.Body, aliceAgain.Body);
        Assert.Equal(3, app.Runs().Runs);
    }

    [Fact]
    public async Task SameKey_DifferentEndpoints_AreSeparate()
    {
        await using var app = await IdempotencyApp.StartAsync(a =>
        {
            a.MapPost("/pay/{id}", PayHandler).Idempotent();
            a.MapPost("/refund/{id}", PayHandler).Idempotent();
        });

        await app.SendReleasedAsync(Pay("a", "k1", "/pay/1"));
        var refund = await app.SendReleasedAsync(Pay("b", "k1", "/refund/1"));

        Assert.False(refund.Replayed);
        Assert.Equal(HttpStatusCode.Created, refund.Status);
    }

    [Theory]
    [InlineData("header:Webhook-Id")]
    [InlineData("body:/event/id")]
    public async Task KeyTemplate_FromAnotherSource_Replays(string template)
    {
        await using var app = await IdempotencyApp.StartAsync(a => a.MapPost("/hook", PayHandler).Idempotent(template));
        const string json = """{"event":{"id":"evt_1"},"amount":5}""";

        var first = await app.SendReleasedAsync(Requests.Post("/hook", "a", json, ("Webhook-Id", "evt_1")));
        var second = await app.SendReleasedAsync(Requests.Post("/hook", "b", json, ("Webhook-Id", "evt_1")));

        Assert.True(second.Replayed);
        Assert.Equal(first.Body, second.Body);
        Assert.Equal(1, app.Runs().Runs);
    }

    [Fact]
    public async Task KeyTemplateOption_ChangesTheHeader()
    {
        await using var app = await IdempotencyApp.StartAsync(configure: o => o.KeyTemplate = "header:X-Request-Id");

        var first = await app.SendReleasedAsync(Requests.Post("/pay/1", "a", "{}", ("X-Request-Id", "r1")));
        var second = await app.SendReleasedAsync(Requests.Post("/pay/1", "b", "{}", ("X-Request-Id", "r1")));

        Assert.True(second.Replayed);
        Assert.Equal(first.Body, second.Body);
    }

    [Fact]
    public async Task WithSerializeBy_ReplayDoesNotTakeTheSerializationKey()
    {
        await using var app = await IdempotencyApp.StartAsync(a => a.MapPost("/pay/{id}", PayHandler).Idempotent().SerializeBy("route:id"));

        await app.SendReleasedAsync(Pay("a", "k1"));
        var keysAfterFirst = app.Locks.AcquiredKeys.Count;
        var replay = await app.SendReleasedAsync(Pay("b", "k1"));

        Assert.True(replay.Replayed);
        Assert.Equal(2, keysAfterFirst); // the idempotency key, then the serialization key
        Assert.Equal(keysAfterFirst, app.Locks.AcquiredKeys.Count); // the replay took no lock at all
        Assert.StartsWith("#idem|", app.Locks.AcquiredKeys[0], StringComparison.Ordinal);
        Assert.Equal("|route:id=1", app.Locks.AcquiredKeys[1]);
    }

    [Fact]
    public async Task LockProviderUnavailable_Returns503_AndNeverRuns()
    {
        await using var app = await IdempotencyApp.StartAsync();
        app.Locks.Unavailable = true;

        using var response = await app.SendAsync(Pay("a", "k1")).Bounded();

        var problem = await response.ReadProblemAsync(HttpStatusCode.ServiceUnavailable);
        Assert.Equal("keyedlock_unavailable", problem.GetProperty("reason").GetString());
        Assert.Empty(app.Probe.EnteredOrder);
    }

    [Fact]
    public async Task RequestBodyLargerThanTheLimit_Returns413()
    {
        await using var app = await IdempotencyApp.StartAsync(configure: o => o.MaxRequestBodyBytes = 8);

        using var response = await app.SendAsync(Pay("a", "k1")).Bounded();

        await response.ReadProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        Assert.Empty(app.Probe.EnteredOrder);
    }

    [Fact]
    public async Task HandlerReadsTheBody_AfterItWasFingerprinted()
    {
        await using var app = await IdempotencyApp.StartAsync(a => a.MapPost("/echo", async (HttpRequest request) =>
            Results.Text(await new StreamReader(request.Body, Encoding.UTF8).ReadToEndAsync())).Idempotent());

        using var response = await app.SendAsync(Requests.Post("/echo", "a", """{"amount":60}""", (Key, "k1"))).Bounded();

        Assert.Equal("""{"amount":60}""", await response.Content.ReadAsStringAsync());
    }
}
