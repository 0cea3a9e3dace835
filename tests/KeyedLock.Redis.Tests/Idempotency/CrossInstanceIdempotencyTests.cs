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

namespace KeyedLock.Redis.Tests.Idempotency;

/// <summary>
/// Two app instances (two hosts, each with its own multiplexer, lock provider and store) on one redis-server: a
/// duplicate sent to the other instance is serialized by the Redis lock and answered from the shared store.
/// </summary>
public sealed class CrossInstanceIdempotencyTests : RedisTestBase
{
    private readonly Channel<string> _entered = Channel.CreateUnbounded<string>();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _gates = new();
    private readonly ConcurrentQueue<string> _runs = new();

    [RedisFact]
    public async Task ResponseCompletedOnOneInstance_IsReplayedByteForByte_ByTheOther()
    {
        var a = await StartInstanceAsync("a");
        var b = await StartInstanceAsync("b");

        Release("r1");
        using var first = await a.SendAsync(Pay("r1", "k1")).Bounded();
        Release("r2");
        using var second = await b.SendAsync(Pay("r2", "k1")).Bounded();

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), await second.Content.ReadAsByteArrayAsync());
        Assert.Equal("true", second.Headers.GetValues(IdempotencyOptions.ReplayedHeaderName).Single());
        Assert.Equal("/payments/r1", second.Headers.Location?.ToString());
        Assert.Equal(["a:r1"], _runs);

        // The record lives under the store's prefix, with a server TTL.
        var record = Assert.Single(await TestRedis.ScanAsync(Monitor, Namespace + ":idem"));
        Assert.NotNull(await Db.KeyTimeToLiveAsync(record));
    }

    [RedisFact]
    public async Task DuplicateOnTheOtherInstance_WhileTheOriginalRuns_WaitsForItAndGetsTheReplay()
    {
        var a = await StartInstanceAsync("a");
        var b = await StartInstanceAsync("b");

        var original = a.SendAsync(Pay("r1", "k1"));
        Assert.Equal("r1", await _entered.Reader.ReadAsync().AsTask().Bounded());
        var duplicate = b.SendAsync(Pay("r2", "k1"));

        // b waits in the Redis queue of the idempotency key that a holds.
        await TestWait.UntilAsync(QueuesOfOneWaiterAsync, 1, "instance b waits in the Redis queue of the idempotency key");
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

    [RedisFact]
    public async Task SameKey_DifferentRequest_OnTheOtherInstance_Gets422()
    {
        var a = await StartInstanceAsync("a");
        var b = await StartInstanceAsync("b");

        Release("r1");
        using var first = await a.SendAsync(Pay("r1", "k1", amount: 60)).Bounded();
        using var second = await b.SendAsync(Pay("r2", "k1", amount: 70)).Bounded();

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, second.StatusCode);
        Assert.Equal("application/problem+json", second.Content.Headers.ContentType?.MediaType);
        Assert.Equal(["a:r1"], _runs);
    }

    private static HttpRequestMessage Pay(string id, string key, int amount = 60) => new(HttpMethod.Post, "/pay/1")
    {
        Headers = { { "X-Req", id }, { IdempotencyOptions.DefaultHeaderName, key } },
        Content = new StringContent($$"""{"amount":{{amount}}}""", Encoding.UTF8, "application/json"),
    };

    /// <summary>How many lock queues under the namespace hold exactly one waiter.</summary>
    private async Task<long> QueuesOfOneWaiterAsync()
    {
        var count = 0L;
        foreach (var key in await ScanAsync())
        {
            if (key.EndsWith(":q", StringComparison.Ordinal) && await Db.ListLengthAsync(key) == 1)
            {
                count++;
            }
        }

        return count;
    }

    private void Release(string id) => Gate(id).TrySetResult();

    private TaskCompletionSource Gate(string id) => _gates.GetOrAdd(id, static _ => new(TaskCreationOptions.RunContinuationsAsynchronously));

    private async Task<HttpClient> StartInstanceAsync(string name)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();

        // Each instance has its own multiplexer (UseRedis creates it), which the store shares.
        builder.Services.AddKeyedSerialization()
            .UseRedis(TestRedis.Options(), o => o.KeyNamespace = Namespace)
            .UseRedisIdempotencyStore(o => o.KeyPrefix = Namespace + ":idem:");

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

        await app.StartAsync().Bounded();
        var instance = Track(new Instance(app, app.GetTestClient()));
        Assert.Same(app.Services.GetRequiredService<RedisKeyedLockProvider>().Connection, app.Services.GetRequiredService<RedisIdempotencyStore>().Connection);
        return instance.Client;
    }

    private sealed record Instance(WebApplication App, HttpClient Client) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await App.StopAsync().Bounded();
            await App.DisposeAsync();
        }
    }
}
