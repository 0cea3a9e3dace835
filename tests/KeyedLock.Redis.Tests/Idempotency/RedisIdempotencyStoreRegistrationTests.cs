using KeyedLock.Idempotency;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace KeyedLock.Redis.Tests.Idempotency;

public sealed class RedisIdempotencyStoreRegistrationTests : RedisTestBase
{
    [Fact]
    public async Task WithoutAConnection_AndWithoutUseRedis_FailsAtStart_SayingUseRedisIsMissing()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddKeyedSerialization().UseRedisIdempotencyStore();
        using var host = builder.Build();

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync().Bounded());

        Assert.Contains(ex.Failures, f => f.Contains("UseRedis(...) was not called", StringComparison.Ordinal));
    }

    [Fact]
    public async Task InvalidOptions_FailAtStart()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddKeyedSerialization().UseRedisIdempotencyStore("127.0.0.1:1", o => o.CommandTimeout = TimeSpan.Zero);
        using var host = builder.Build();

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync().Bounded());

        Assert.Contains(ex.Failures, f => f.Contains("CommandTimeout", StringComparison.Ordinal));
    }

    [RedisFact]
    public async Task WithoutAConnection_SharesTheLockProvidersMultiplexer_WhicheverIsCalledFirst()
    {
        var services = new ServiceCollection();
        services.AddKeyedSerialization().UseRedisIdempotencyStore(o => o.KeyPrefix = Namespace + ":idem:").UseRedis(TestRedis.Connection, o => o.KeyNamespace = Namespace);
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });

        var store = Assert.IsType<RedisIdempotencyStore>(provider.GetRequiredService<IIdempotencyStore>());
        Assert.Same(provider.GetRequiredService<RedisKeyedLockProvider>().Connection, store.Connection);
        Assert.True(await store.TryAddAsync("k", "v"u8.ToArray(), DateTimeOffset.UtcNow.AddMinutes(1), DateTimeOffset.UtcNow).Bounded());
        Assert.Equal("v"u8.ToArray(), await store.GetAsync("k", DateTimeOffset.UtcNow).Bounded());
    }

    [RedisFact]
    public async Task WithAConfigurationString_OwnsItsMultiplexer_AndWithAMultiplexer_LeavesItToTheCaller()
    {
        var callers = Track(await TestRedis.ConnectAsync());
        StackExchange.Redis.IConnectionMultiplexer owned;
        var services = new ServiceCollection();
        services.AddKeyedSerialization().UseRedisIdempotencyStore(TestRedis.Connection, o => o.KeyPrefix = Namespace + ":a:");
        await using (var provider = services.BuildServiceProvider())
        {
            var store = provider.GetRequiredService<RedisIdempotencyStore>();
            owned = store.Connection;
            Assert.True(await store.TryAddAsync("k", "v"u8.ToArray(), DateTimeOffset.UtcNow.AddMinutes(1), DateTimeOffset.UtcNow).Bounded());
        }

        var other = new ServiceCollection();
        other.AddKeyedSerialization().UseRedisIdempotencyStore(callers, o => o.KeyPrefix = Namespace + ":a:");
        await using (var provider = other.BuildServiceProvider())
        {
            var store = provider.GetRequiredService<RedisIdempotencyStore>();
            Assert.Same(callers, store.Connection);
            Assert.Equal("v"u8.ToArray(), await store.GetAsync("k", DateTimeOffset.UtcNow).Bounded());
        }

        Assert.False(owned.IsConnected);
        Assert.True(callers.IsConnected);
    }
}
