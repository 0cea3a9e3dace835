using KeyedLock.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace KeyedLock.Redis.Tests;

public sealed class ServiceCollectionTests : RedisTestBase
{
    [RedisFact]
    public async Task UseRedis_ReplacesTheInProcessProvider_InOneCall_AndAddsAHealthCheck()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddKeyedLock(o => o.MaxQueueLengthPerKey = 7).UseRedis(TestRedis.Connection, o => o.KeyNamespace = Namespace);
        services.AddHealthChecks().AddKeyedLockRedis();
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });

        var lockProvider = provider.GetRequiredService<IKeyedLockProvider>();
        var redis = Assert.IsType<RedisKeyedLockProvider>(lockProvider);
        Assert.Same(redis, provider.GetRequiredService<RedisKeyedLockProvider>());
        Assert.Equal(7, provider.GetRequiredService<IOptions<RedisKeyedLockOptions>>().Value.MaxQueueLengthPerKey);

        await using (var lease = await lockProvider.AcquireAsync("k", TimeSpan.FromSeconds(10)).Bounded())
        {
            Assert.Equal(1, await HolderCountAsync("k"));
        }

        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync().Bounded();
        Assert.Equal(HealthStatus.Healthy, report.Entries[RedisKeyedLockBuilderExtensions.DefaultHealthCheckName].Status);
    }

    [RedisFact]
    public async Task UseRedis_WithAMultiplexer_LeavesItToTheCaller()
    {
        var connection = Track(await TestRedis.ConnectAsync());
        var services = new ServiceCollection();
        services.AddKeyedLock().UseRedis(connection, o => o.KeyNamespace = Namespace);

        await using (var provider = services.BuildServiceProvider())
        {
            await using var lease = await provider.GetRequiredService<IKeyedLockProvider>().AcquireAsync("k", TimeSpan.FromSeconds(10)).Bounded();
            Assert.True(lease.IsHeld);
        }

        // Disposing the container disposed the provider (releasing its leases) but not the caller's multiplexer.
        Assert.True(connection.IsConnected);
        Assert.Equal(0, await HolderCountAsync("k"));
    }

    [Fact]
    public void InvalidOptions_FailAtStartup()
    {
        var services = new ServiceCollection();
        services.AddKeyedLock().UseRedis("127.0.0.1:1", o => o.LeaseSafetyMargin = TimeSpan.FromMinutes(1));
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<RedisKeyedLockOptions>>().Value);

        Assert.Contains(ex.Failures, f => f.Contains("LeaseSafetyMargin", StringComparison.Ordinal));
    }

    [Fact]
    public void UseRedis_CreatesItsMultiplexerFailFast()
    {
        var hardened = RedisKeyedLockBuilderExtensions.FailFast(StackExchange.Redis.ConfigurationOptions.Parse("127.0.0.1:6379,abortConnect=true"));

        Assert.False(hardened.AbortOnConnectFail);
        Assert.Same(StackExchange.Redis.BacklogPolicy.FailFast, hardened.BacklogPolicy);
    }

    [Fact]
    public void PerKeyConcurrency_FromTheInProcessOptions_AppliesToRedis()
    {
        var services = new ServiceCollection();
        services.AddKeyedLock(o => o.MaxConcurrencyPerKey = 3).UseRedis("127.0.0.1:1");
        using var provider = services.BuildServiceProvider();

        Assert.Equal(3, provider.GetRequiredService<IOptions<RedisKeyedLockOptions>>().Value.MaxConcurrencyPerKey);
    }
}
