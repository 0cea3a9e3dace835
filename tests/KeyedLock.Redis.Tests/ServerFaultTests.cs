using System.Net;
using KeyedLock.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace KeyedLock.Redis.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ServerFaultCollection
{
    public const string Name = "Redis server faults (stops the server; runs alone)";
}

/// <summary>Stops and restarts the shared test server, so it runs alone (not in parallel with other tests).</summary>
[Collection(ServerFaultCollection.Name)]
public sealed class ServerFaultTests : RedisTestBase
{
    private static void Short(RedisKeyedLockOptions o)
    {
        o.LeaseTtl = TimeSpan.FromSeconds(2);
        o.LeaseSafetyMargin = TimeSpan.FromMilliseconds(500);
        o.WaiterTtl = TimeSpan.FromSeconds(1);
        o.CommandTimeout = TimeSpan.FromSeconds(2);
    }

    [RedisFact]
    public async Task RedisStops_WaitersFailClosed_HttpSays503_AndRestartRecoversWithNothingLeftBehind()
    {
        var provider = await CreateInstanceAsync(Short);
        var other = await CreateInstanceAsync(Short);
        await using var web = await WebAppAsync(other);
        using var client = web.GetTestClient();
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/op/1", null).Bounded()).StatusCode);

        var holder = await provider.AcquireAsync("k").Bounded();
        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = holder.LostToken.Register(() => lost.TrySetResult());
        var waiters = Enumerable.Range(0, 3).Select(_ => provider.AcquireAsync("k").AsTask()).ToList();
        waiters.Add(other.AcquireAsync("k", TimeSpan.FromMinutes(5)).AsTask());
        await TestWait.UntilAsync(() => QueueLengthAsync("k"), 2, "one waiter of each instance waits in Redis");

        try
        {
            await RedisServer.StopAsync(Monitor);

            // Fail closed: every waiter gets the typed error, none of them is granted.
            foreach (var waiter in waiters)
            {
                var ex = await Assert.ThrowsAsync<KeyedLockUnavailableException>(() => waiter.Bounded());
                Assert.Equal("k", ex.Key);
                Assert.NotNull(ex.InnerException);
            }

            await lost.Task.Bounded();
            Assert.False(holder.IsHeld);
            await Assert.ThrowsAsync<KeyedLockUnavailableException>(() => provider.AcquireAsync("other-key", TimeSpan.FromSeconds(5)).Bounded());
            using (var response = await client.PostAsync("/op/2", null).Bounded())
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                Assert.True(response.Headers.Contains("Retry-After"));
            }

            var health = await new RedisKeyedLockHealthCheck(provider).CheckHealthAsync(new HealthCheckContext()).Bounded();
            Assert.Equal(HealthStatus.Unhealthy, health.Status);
            await holder.DisposeAsync();
            Assert.Equal(0, provider.WaitingKeys);
            Assert.Equal(0, provider.ActiveLeases);
            Assert.Equal(0, other.WaitingKeys);
        }
        finally
        {
            await RedisServer.StartAsync();
        }

        // The same providers work again without a restart of the app.
        await TestWait.UntilAsync(() => provider.Connection.IsConnected && other.Connection.IsConnected && Monitor.IsConnected, "the multiplexers reconnect");
        await using (var lease = await provider.AcquireAsync("k", TimeSpan.FromSeconds(10)).Bounded())
        {
            Assert.True(lease.IsHeld);
            Assert.True(lease.FencingToken > holder.FencingToken);
            Assert.False((await other.TryAcquireAsync("k", TimeSpan.Zero).Bounded()).Succeeded);
            var waiter = other.AcquireAsync("k", TimeSpan.FromSeconds(10)).AsTask();
            await TestWait.UntilAsync(() => QueueLengthAsync("k"), 1, "the other instance waits in Redis again");
            await lease.DisposeAsync();
            await (await waiter.Bounded()).DisposeAsync();
        }

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/op/3", null).Bounded()).StatusCode);
        Assert.Equal(HealthStatus.Healthy, (await new RedisKeyedLockHealthCheck(provider).CheckHealthAsync(new HealthCheckContext()).Bounded()).Status);
        await AssertOnlyTheFenceKeyIsLeftAsync();
    }

    [RedisFact]
    public async Task RedisDownAtStartup_Answers503_ThenServesOnceRedisIsUp_WithoutARestart()
    {
        ServiceProvider services;
        RedisKeyedLockProvider provider;
        await RedisServer.StopAsync(Monitor);
        try
        {
            // The app starts while Redis is down: UseRedis's own multiplexer has never been connected.
            var collection = new ServiceCollection();
            collection.AddKeyedLock().UseRedis(TestRedis.Connection + ",connectTimeout=500", o =>
            {
                o.KeyNamespace = Namespace;
                o.CommandTimeout = TimeSpan.FromSeconds(2);
            });
            services = collection.BuildServiceProvider();
            provider = services.GetRequiredService<RedisKeyedLockProvider>();

            await Assert.ThrowsAsync<KeyedLockUnavailableException>(() => provider.AcquireAsync("k", TimeSpan.FromSeconds(5)).Bounded());
            await Assert.ThrowsAsync<KeyedLockUnavailableException>(() => provider.TryAcquireAsync("k", TimeSpan.Zero).Bounded());
        }
        finally
        {
            await RedisServer.StartAsync();
        }

        await using (services)
        {
            // Once it connects (its subscription may come a moment later: until then an acquisition fails closed), it serves.
            var held = default(KeyedLockLease);
            await TestWait.UntilAsync(
                async () =>
                {
                    try
                    {
                        held = await provider.AcquireAsync("k", TimeSpan.FromSeconds(5)).Bounded();
                        return 1;
                    }
                    catch (KeyedLockUnavailableException)
                    {
                        return 0;
                    }
                },
                1,
                "the provider that started without Redis acquires");

            // Its channel works too: a hand-off from another instance reaches it.
            var other = await CreateInstanceAsync(Short);
            await using (var first = await other.AcquireAsync("k2").Bounded())
            {
                var waiting = provider.AcquireAsync("k2").AsTask();
                await TestWait.UntilAsync(() => QueueLengthAsync("k2"), 1, "it waits in Redis");
                await first.DisposeAsync();
                await (await waiting.Bounded()).DisposeAsync();
            }

            Assert.True(held.IsHeld);
            await held.DisposeAsync();
        }

        await AssertOnlyTheFenceKeyIsLeftAsync();
    }

    [Fact]
    public async Task UnreachableRedis_FailsClosedWithTheTypedError()
    {
        var options = ConfigurationOptions.Parse($"127.0.0.1:{ClosedPort()}");
        options.AbortOnConnectFail = false;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.ConnectTimeout = 500;
        await using var connection = await ConnectionMultiplexer.ConnectAsync(options);
        await using var provider = new RedisKeyedLockProvider(connection);

        var ex = await Assert.ThrowsAsync<KeyedLockUnavailableException>(() => provider.AcquireAsync("k", TimeSpan.FromSeconds(5)).Bounded());
        await Assert.ThrowsAsync<KeyedLockUnavailableException>(() => provider.TryAcquireAsync("k", TimeSpan.Zero).Bounded());

        Assert.Equal("k", ex.Key);
        Assert.Equal(0, provider.WaitingKeys);
        Assert.Equal(0, provider.ActiveLeases);
    }

    private async Task<WebApplication> WebAppAsync(RedisKeyedLockProvider provider)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddKeyedSerialization().UseRedis(provider.Connection, o => o.KeyNamespace = Namespace);
        var app = builder.Build();
        app.UseRouting();
        app.UseKeyedSerialization();
        app.MapPost("/op/{id}", (string id) => Results.Ok(id)).SerializeBy("route:id");
        await app.StartAsync();
        return app;
    }

    private static int ClosedPort()
    {
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
