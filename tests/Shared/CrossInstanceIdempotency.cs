using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Threading.Channels;
using KeyedLock.AspNetCore;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace KeyedLock.Testing;

/// <summary>
/// The cross-instance idempotency scenarios, written once for every distributed provider (this file is linked into
/// each provider's test project): app instances (test hosts) with one idempotent endpoint whose handler waits at a
/// gate per request; the provider's test class registers the lock and the store, and tells how to see that the
/// second instance waits.
/// </summary>
internal sealed class CrossInstanceIdempotency(Func<IAsyncDisposable, IAsyncDisposable> track)
{
    private readonly Channel<string> _entered = Channel.CreateUnbounded<string>();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _gates = new();
    private readonly ConcurrentQueue<string> _runs = new();

    /// <summary>Starts one app instance called <paramref name="name"/> with the provider's registration.</summary>
    internal async Task<Instance> StartInstanceAsync(string name, Action<IServiceCollection> register)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        register(builder.Services);

        var app = builder.Build();
        app.UseRouting();
        app.UseIdempotency();
        app.UseKeyedSerialization();
        app.MapPost("/pay/{id}", async (HttpContext context) =>
        {
            var id = context.Request.Headers["X-Req"].ToString();
            _entered.Writer.TryWrite(id);
            await Gate(id).Task.WaitAsync(context.RequestAborted);
            _runs.Enqueue($"{name}:{id}");
            context.Response.Headers.Location = $"/payments/{id}";
            return Results.Json(new { payment = id, instance = name }, statusCode: StatusCodes.Status201Created);
        }).Idempotent();
        app.MapPost("/op/{id}", async (HttpContext context) =>
        {
            var id = context.Request.Headers["X-Req"].ToString();
            _entered.Writer.TryWrite(id);
            await Gate(id).Task.WaitAsync(context.RequestAborted);
            _runs.Enqueue($"{name}:{id}");
            return Results.Ok();
        }).SerializeBy("route:id");

        await app.StartAsync().Bounded();
        var instance = new Instance(app, app.GetTestClient());
        track(instance);
        return instance;
    }

    /// <summary>A response completed on one instance is replayed byte for byte by the other.</summary>
    internal async Task ReplayedByteForByteAsync(Instance a, Instance b)
    {
        Release("r1");
        using var first = await a.Client.SendAsync(Pay("r1", "k1")).Bounded();
        Release("r2");
        using var second = await b.Client.SendAsync(Pay("r2", "k1")).Bounded();

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), await second.Content.ReadAsByteArrayAsync());
        Assert.Equal("true", second.Headers.GetValues(IdempotencyOptions.ReplayedHeaderName).Single());
        Assert.Equal("/payments/r1", second.Headers.Location?.ToString());
        Assert.Equal(["a:r1"], _runs);
    }

    /// <summary>
    /// A duplicate sent to <paramref name="b"/> while the original runs on <paramref name="a"/> waits for it (seen by
    /// <paramref name="bWaits"/>, which returns once b waits on the server) and gets the replay.
    /// </summary>
    internal async Task DuplicateWaitsForTheOriginalAsync(Instance a, Instance b, Func<Task> bWaits)
    {
        var original = a.Client.SendAsync(Pay("r1", "k1"));
        Assert.Equal("r1", await _entered.Reader.ReadAsync().AsTask().Bounded());
        var duplicate = b.Client.SendAsync(Pay("r2", "k1"));

        await bWaits();
        Assert.False(duplicate.IsCompleted, "the duplicate waits for the original");

        Release("r1");
        using var first = await original.Bounded();
        using var second = await duplicate.Bounded();

        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), await second.Content.ReadAsByteArrayAsync());
        Assert.True(second.Headers.Contains(IdempotencyOptions.ReplayedHeaderName));
        Assert.Equal(["a:r1"], _runs);
        Assert.False(_entered.Reader.TryRead(out _));
    }

    /// <summary>The same key with a different request on the other instance gets 422 and runs nothing.</summary>
    internal async Task DifferentRequestGets422Async(Instance a, Instance b)
    {
        Release("r1");
        using var first = await a.Client.SendAsync(Pay("r1", "k1", amount: 60)).Bounded();
        using var second = await b.Client.SendAsync(Pay("r2", "k1", amount: 70)).Bounded();

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, second.StatusCode);
        Assert.Equal("application/problem+json", second.Content.Headers.ContentType?.MediaType);
        Assert.Equal(["a:r1"], _runs);
    }

    /// <summary>
    /// Requests that wait for a key (one serialized, one idempotent duplicate) when the lock provider is disposed (a
    /// host stopping with requests still queued) get 503 ProblemDetails, not 500, and their handlers never run.
    /// <paramref name="waitingKeys"/> reads how many keys have a request waiting in the instance.
    /// </summary>
    internal async Task DisposedWhileRequestsWaitAsync(Instance a, Func<IServiceProvider, int> waitingKeys)
    {
        var holder = a.Client.SendAsync(Op("r1"));
        Assert.Equal("r1", await _entered.Reader.ReadAsync().AsTask().Bounded());
        var original = a.Client.SendAsync(Pay("r2", "k1"));
        Assert.Equal("r2", await _entered.Reader.ReadAsync().AsTask().Bounded());
        var waiting = a.Client.SendAsync(Op("r3"));
        var duplicate = a.Client.SendAsync(Pay("r4", "k1"));
        await TestWait.UntilAsync(() => waitingKeys(a.App.Services) == 2, "both requests wait for their keys");

        await ((IAsyncDisposable)a.App.Services.GetRequiredService<IKeyedLockProvider>()).DisposeAsync().AsTask().Bounded();

        foreach (var (request, reason) in new[] { (waiting, "keyedlock_unavailable"), (duplicate, "keyedlock_unavailable") })
        {
            using var response = await request.Bounded();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains(reason, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // The holders lost their leases with the provider: they are answered too, and no waiting handler ran.
        Release("r1");
        Release("r2");
        using var held = await holder.Bounded();
        using var first = await original.Bounded();
        Assert.NotEqual(HttpStatusCode.InternalServerError, held.StatusCode);
        Assert.NotEqual(HttpStatusCode.InternalServerError, first.StatusCode);
        Assert.DoesNotContain(_runs, r => r.EndsWith(":r3", StringComparison.Ordinal) || r.EndsWith(":r4", StringComparison.Ordinal));
        Assert.False(_entered.Reader.TryRead(out _));
    }

    private static HttpRequestMessage Op(string id) => new(HttpMethod.Post, "/op/1") { Headers = { { "X-Req", id } } };

    private static HttpRequestMessage Pay(string id, string key, int amount = 60) => new(HttpMethod.Post, "/pay/1")
    {
        Headers = { { "X-Req", id }, { IdempotencyOptions.DefaultHeaderName, key } },
        Content = new StringContent($$"""{"amount":{{amount}}}""", Encoding.UTF8, "application/json"),
    };

    private void Release(string id) => Gate(id).TrySetResult();

    private TaskCompletionSource Gate(string id) => _gates.GetOrAdd(id, static _ => new(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>One app instance and its test client; stopped when the test class disposes what it tracks.</summary>
    internal sealed record Instance(WebApplication App, HttpClient Client) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await App.StopAsync().Bounded();
            await App.DisposeAsync();
        }
    }
}
