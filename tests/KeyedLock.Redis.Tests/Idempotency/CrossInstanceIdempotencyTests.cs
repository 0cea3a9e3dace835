using KeyedLock.AspNetCore;
using Microsoft.Extensions.DependencyInjection;

namespace KeyedLock.Redis.Tests.Idempotency;

/// <summary>
/// Two app instances (two hosts, each with its own multiplexer, lock provider and store) on one redis-server: a
/// duplicate sent to the other instance is serialized by the Redis lock and answered from the shared store.
/// </summary>
public sealed class CrossInstanceIdempotencyTests : RedisTestBase
{
    private readonly CrossInstanceIdempotency _scenarios;

    public CrossInstanceIdempotencyTests() => _scenarios = new(d => Track(d));

    [RedisFact]
    public async Task ResponseCompletedOnOneInstance_IsReplayedByteForByte_ByTheOther()
    {
        await _scenarios.ReplayedByteForByteAsync(await StartInstanceAsync("a"), await StartInstanceAsync("b"));

        // The record lives under the store's prefix, with a server TTL.
        var record = Assert.Single(await TestRedis.ScanAsync(Monitor, Namespace + ":idem"));
        Assert.NotNull(await Db.KeyTimeToLiveAsync(record));
    }

    [RedisFact]
    public async Task DuplicateOnTheOtherInstance_WhileTheOriginalRuns_WaitsForItAndGetsTheReplay()
        => await _scenarios.DuplicateWaitsForTheOriginalAsync(
            await StartInstanceAsync("a"),
            await StartInstanceAsync("b"),
            () => TestWait.UntilAsync(QueuesOfOneWaiterAsync, 1, "instance b waits in the Redis queue of the idempotency key"));

    [RedisFact]
    public async Task SameKey_DifferentRequest_OnTheOtherInstance_Gets422()
        => await _scenarios.DifferentRequestGets422Async(await StartInstanceAsync("a"), await StartInstanceAsync("b"));

    [RedisFact]
    public async Task ProviderDisposedWhileRequestsWait_TheyGet503_NotA500()
        => await _scenarios.DisposedWhileRequestsWaitAsync(
            await StartInstanceAsync("a"),
            services => services.GetRequiredService<RedisKeyedLockProvider>().WaitingKeys);

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

    private async Task<CrossInstanceIdempotency.Instance> StartInstanceAsync(string name)
    {
        // Each instance has its own multiplexer (UseRedis creates it), which the store shares.
        var instance = await _scenarios.StartInstanceAsync(name, services => services.AddKeyedSerialization()
            .UseRedis(TestRedis.Options(), o => o.KeyNamespace = Namespace)
            .UseRedisIdempotencyStore(o => o.KeyPrefix = Namespace + ":idem:"));
        var provider = instance.App.Services.GetRequiredService<RedisKeyedLockProvider>();
        Assert.Same(provider.Connection, instance.App.Services.GetRequiredService<RedisIdempotencyStore>().Connection);
        return instance;
    }
}
