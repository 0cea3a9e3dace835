using System.Net;
using System.Text;
using KeyedLock.AspNetCore.Internal;
using KeyedLock.AspNetCore.Tests.Infrastructure;
using KeyedLock.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace KeyedLock.AspNetCore.Tests;

public sealed class OutcomeTests
{
    private static Task Handle(HttpContext context, Probe probe) => probe.RunAsync(context.Request.Headers["X-Req"].ToString(), context.RequestAborted);

    [Theory]
    [InlineData("route:nope", "route:nope", null)]
    [InlineData("header:X-Key", "header:X-Key", null)]
    [InlineData("query:account", "query:account", null)]
    [InlineData("claim:tenant", "claim:tenant", null)]
    [InlineData("body:/id", "body:/id", """{"other":1}""")]
    [InlineData("body:/id", "body:/id", """{"id":null}""")]
    [InlineData("body:/id", "body:/id", "")]
    [InlineData("route:id+header:X-Key", "header:X-Key", null)]
    public async Task MissingKeyPart_Returns400Problem_AndNeverRunsTheHandler(string template, string missingPart, string? body)
    {
        await using var app = await TestApp.StartAsync(a => a.MapPost("/op/{id}", Handle).SerializeBy(template));

        using var response = await app.SendAsync(Requests.Post("/op/1", "a", body, ("X-User", "alice"))).Bounded();

        var problem = await response.ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal("keyedlock_missing_key", problem.GetProperty("reason").GetString());
        Assert.Contains($"'{missingPart}'", problem.GetProperty("detail").GetString());
        Assert.Empty(app.Probe.EnteredOrder);
        Assert.Equal(0, app.Locks.AcquireCalls);
    }

    [Theory]
    [InlineData("claim:tenant")]
    [InlineData("user")]
    [InlineData("route:id+user")]
    public async Task UserBasedKey_Unauthenticated_Returns401Problem(string template)
    {
        await using var app = await TestApp.StartAsync(a => a.MapPost("/op/{id}", Handle).SerializeBy(template));

        using var response = await app.SendAsync(Requests.Post("/op/1", "a")).Bounded();

        var problem = await response.ReadProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Equal("keyedlock_unauthenticated", problem.GetProperty("reason").GetString());
        Assert.Empty(app.Probe.EnteredOrder);
        Assert.Equal(0, app.Locks.AcquireCalls);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task BodyLargerThanTheLimit_Returns413Problem(bool withContentLength)
    {
        await using var app = await TestApp.StartAsync(a => a.MapPost("/op", Handle).SerializeBy("body:/id"), o => o.MaxBodyBytes = 32);
        var json = """{"id":"x","padding":"0123456789012345678901234567890123456789"}""";
        var request = Requests.Post("/op", "a");
        request.Content = withContentLength
            ? new StringContent(json, Encoding.UTF8, "application/json")
            : new StreamContent(new NonSeekableStream(Encoding.UTF8.GetBytes(json)));

        using var response = await app.SendAsync(request).Bounded();

        var problem = await response.ReadProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal("keyedlock_body_too_large", problem.GetProperty("reason").GetString());
        Assert.Empty(app.Probe.EnteredOrder);
    }

    [Fact]
    public async Task WaitTimeout_Returns429WithRetryAfter_AndLeavesNoWaiter()
    {
        var clock = new ManualTimeProvider();
        await using var app = await TestApp.StartAsync(
            a => a.MapPost("/op/{id}", Handle).SerializeBy("route:id"),
            o =>
            {
                o.DefaultTimeout = TimeSpan.FromSeconds(5);
                o.RetryAfter = TimeSpan.FromSeconds(2.5);
            },
            s => s.Replace(ServiceDescriptor.Singleton<TimeProvider>(clock)));

        var holder = app.SendAsync(Requests.Post("/op/1", "a"));
        await app.Probe.ExpectEnteredAsync("a");
        var waiter = app.SendAsync(Requests.Post("/op/1", "b"));
        await app.Locks.NextQueuedAsync();
        clock.Advance(TimeSpan.FromSeconds(5));

        using var response = await waiter.Bounded();
        var problem = await response.ReadProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.Equal("keyedlock_timeout", problem.GetProperty("reason").GetString());
        Assert.Equal("3", response.Headers.GetValues("Retry-After").Single());
        Assert.Equal(["a"], app.Probe.EnteredOrder);
        Assert.Equal(1, app.Registry.Count);

        app.Probe.Release("a");
        Assert.Equal(HttpStatusCode.OK, (await holder.Bounded()).StatusCode);
        await TestWait.UntilAsync(() => app.Registry.Count == 0, "the key is released");
    }

    [Fact]
    public async Task ZeroTimeoutPolicy_RejectsAtOnce_WithThePolicyStatusCode()
    {
        await using var app = await TestApp.StartAsync(
            a => a.MapPost("/op/{id}", Handle).SerializeBy("route:id", k => k.Policy = "no-wait"),
            o => o.AddPolicy("no-wait", p =>
            {
                p.Timeout = TimeSpan.Zero;
                p.RejectionStatusCode = StatusCodes.Status409Conflict;
            }));

        var holder = app.SendAsync(Requests.Post("/op/1", "a"));
        await app.Probe.ExpectEnteredAsync("a");
        using var response = await app.SendAsync(Requests.Post("/op/1", "b")).Bounded();

        var problem = await response.ReadProblemAsync(HttpStatusCode.Conflict);
        Assert.Equal("keyedlock_timeout", problem.GetProperty("reason").GetString());
        app.Probe.Release("a");
        await holder.Bounded();
    }

    [Fact]
    public async Task QueueLimit_RejectsTheRequestBeyondIt_With429()
    {
        await using var app = await TestApp.StartAsync(a => a.MapPost("/op/{id}", [SerializeBy("route:id", QueueLimit = 1)] (HttpContext c, Probe p) => Handle(c, p)));

        var holder = app.SendAsync(Requests.Post("/op/1", "a"));
        await app.Probe.ExpectEnteredAsync("a");
        var queued = app.SendAsync(Requests.Post("/op/1", "b"));
        await app.Locks.NextQueuedAsync();
        using var rejected = await app.SendAsync(Requests.Post("/op/1", "c")).Bounded();

        var problem = await rejected.ReadProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.Equal("keyedlock_queue_full", problem.GetProperty("reason").GetString());
        Assert.True(rejected.Headers.Contains("Retry-After"));

        app.Probe.Release("a");
        await app.Probe.ExpectEnteredAsync("b");
        app.Probe.Release("b");
        await Task.WhenAll(holder, queued).Bounded();
        Assert.Equal(["a", "b"], app.Probe.EnteredOrder);
        var handler = app.App.Services.GetRequiredService<KeyedSerializationHandler>();
        await TestWait.UntilAsync(() => handler.InFlight.Count == 0 && app.Registry.Count == 0, "no key is tracked any more");
    }

    [Fact]
    public async Task ProviderUnavailable_Returns503WithRetryAfter_AndNeverRunsTheHandler()
    {
        await using var app = await TestApp.StartAsync(a => a.MapPost("/op/{id}", Handle).SerializeBy("route:id"));
        app.Locks.Unavailable = true;

        using var response = await app.SendAsync(Requests.Post("/op/1", "a")).Bounded();

        var problem = await response.ReadProblemAsync(HttpStatusCode.ServiceUnavailable);
        Assert.Equal("keyedlock_unavailable", problem.GetProperty("reason").GetString());
        Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
        Assert.Empty(app.Probe.EnteredOrder);
    }

    [Fact]
    public async Task LeaseLostWhileRunning_FiresRequestAborted_AndReturns503()
    {
        await using var app = await TestApp.StartAsync(a => a.MapPost("/op/{id}", Handle).SerializeBy("route:id"));
        app.Locks.Losable = true;

        var request = app.SendAsync(Requests.Post("/op/1", "a"));
        await app.Probe.ExpectEnteredAsync("a");
        app.Locks.LoseLeases();

        using var response = await request.Bounded();
        var problem = await response.ReadProblemAsync(HttpStatusCode.ServiceUnavailable);
        Assert.Equal("keyedlock_lock_lost", problem.GetProperty("reason").GetString());
        await TestWait.UntilAsync(() => app.Registry.Count == 0, "the lost lease is released");
    }

    [Fact]
    public async Task ClientDisconnectsWhileQueued_RunsNothing_AndLeavesNoWaiter()
    {
        await using var app = await TestApp.StartAsync(a => a.MapPost("/op/{id}", Handle).SerializeBy("route:id"));

        var holder = app.SendAsync(Requests.Post("/op/1", "a"));
        await app.Probe.ExpectEnteredAsync("a");
        using var disconnect = new CancellationTokenSource();
        var waiter = app.SendAsync(Requests.Post("/op/1", "b"), disconnect.Token);
        await app.Locks.NextQueuedAsync();

        disconnect.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiter.Bounded());
        Assert.Equal("|route:id=1", await app.Locks.NextLeftQueueAsync());
        Assert.Equal(1, app.Registry.Count);

        // The next request gets the key straight after the holder: nobody is left in the queue.
        app.Probe.Release("a");
        await holder.Bounded();
        await TestWait.UntilAsync(() => app.Registry.Count == 0, "the key is released");
        Assert.Equal(["a"], app.Probe.EnteredOrder);
        app.Probe.AutoRelease = true;
        using var next = await app.SendAsync(Requests.Post("/op/1", "c")).Bounded();
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Equal(["a", "c"], app.Probe.EnteredOrder);
    }

    [Fact]
    public async Task OnRejected_CanReplaceTheResponse()
    {
        KeyedSerializationRejectedContext? seen = null;
        await using var app = await TestApp.StartAsync(
            a => a.MapPost("/op/{id}", Handle).SerializeBy("route:id", k => k.Policy = "checkout"),
            o =>
            {
                o.AddPolicy("checkout", p => p.QueueLimit = 0);
                o.OnRejected = async (context, ct) =>
                {
                    seen = context;
                    context.HttpContext.Response.StatusCode = StatusCodes.Status409Conflict;
                    await context.HttpContext.Response.WriteAsync("busy", ct);
                };
            });

        var holder = app.SendAsync(Requests.Post("/op/1", "a"));
        await app.Probe.ExpectEnteredAsync("a");
        using var response = await app.SendAsync(Requests.Post("/op/1", "b")).Bounded();

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("busy", await response.Content.ReadAsStringAsync());
        Assert.Equal(KeyedSerializationRejectionReason.QueueFull, seen!.Reason);
        Assert.Equal("checkout", seen.Policy);
        app.Probe.Release("a");
        await holder.Bounded();
    }

    [Fact]
    public async Task ProblemDetailsService_WhenRegistered_WritesTheRejection()
    {
        await using var app = await TestApp.StartAsync(
            a => a.MapPost("/op", Handle).SerializeBy("header:X-Key"),
            services: s => s.AddProblemDetails(o => o.CustomizeProblemDetails = c => c.ProblemDetails.Extensions["customized"] = true));

        using var response = await app.SendAsync(Requests.Post("/op", "a")).Bounded();

        var problem = await response.ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("customized").GetBoolean());
        Assert.Equal("keyedlock_missing_key", problem.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task SkipKeyPolicy_RunsUnserializedWhenThePartIsMissing()
    {
        await using var app = await TestApp.StartAsync(
            a => a.MapPost("/op", Handle).SerializeBy("header:X-Key", k => k.Policy = "optional"),
            o => o.AddPolicy("optional", p => p.MissingKeyBehavior = KeyedSerializationMissingKeyBehavior.SkipKey));

        var first = app.SendAsync(Requests.Post("/op", "a"));
        var second = app.SendAsync(Requests.Post("/op", "b"));
        await app.Probe.NextEnteredAsync();
        await app.Probe.NextEnteredAsync();

        Assert.Equal(2, app.Probe.Inside);
        Assert.Equal(0, app.Locks.AcquireCalls);
        app.Probe.Release("a");
        app.Probe.Release("b");
        await Task.WhenAll(first, second).Bounded();
    }

    [Fact]
    public async Task SkipKeyPolicy_BodyKeyMissing_RunsUnserialized_ButAmbiguousIsStillRejected()
    {
        await using var app = await TestApp.StartAsync(
            a => a.MapPost("/op", Handle).SerializeBy("body:/id", k => k.Policy = "optional"),
            o => o.AddPolicy("optional", p => p.MissingKeyBehavior = KeyedSerializationMissingKeyBehavior.SkipKey));
        app.Probe.AutoRelease = true;

        using var skipped = await app.SendAsync(Requests.Post("/op", "a", """{"other":1}""")).Bounded();
        using var ambiguous = await app.SendAsync(Requests.Post("/op", "b", """{"id":1,"ID":2}""")).Bounded();
        using var invalid = await app.SendAsync(Requests.Post("/op", "c", "not json")).Bounded();

        Assert.Equal(HttpStatusCode.OK, skipped.StatusCode);
        Assert.Equal("keyedlock_ambiguous_key", (await ambiguous.ReadProblemAsync(HttpStatusCode.BadRequest)).GetProperty("reason").GetString());
        Assert.Equal("keyedlock_invalid_key", (await invalid.ReadProblemAsync(HttpStatusCode.BadRequest)).GetProperty("reason").GetString());
        Assert.Equal(["a"], app.Probe.EnteredOrder);
        Assert.Equal(0, app.Locks.AcquireCalls);
    }

    /// <summary>A body without a known length, sent chunked.</summary>
    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();
    }
}
