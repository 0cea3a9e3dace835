using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace KeyedLock.Tests;

public sealed class DependencyInjectionTests
{
    [Fact]
    public async Task AddKeyedLock_RegistersOneRegistryAsTheProvider_WithTheConfiguredOptions()
    {
        var builder = Host.CreateApplicationBuilder();
        var keyedLock = builder.Services.AddKeyedLock(o =>
        {
            o.MaxConcurrencyPerKey = 2;
            o.MaxQueueLengthPerKey = 4;
        });
        Assert.Same(builder.Services, keyedLock.Services);
        using var host = builder.Build();
        await host.StartAsync().Bounded();

        var provider = host.Services.GetRequiredService<IKeyedLockProvider>();
        var registry = host.Services.GetRequiredService<KeyedLockRegistry>();
        Assert.Same(registry, provider);
        Assert.Same(provider, host.Services.GetRequiredService<IKeyedLockProvider>());
        Assert.Equal(2, registry.MaxConcurrencyPerKey);
        Assert.Equal(4, registry.MaxQueueLengthPerKey);
        (await provider.AcquireAsync("k").Bounded()).Dispose();
        await host.StopAsync().Bounded();
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, -1)]
    public async Task AddKeyedLock_WithInvalidOptions_FailsAtStartup(int concurrency, int queue)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddKeyedLock(o =>
        {
            o.MaxConcurrencyPerKey = concurrency;
            o.MaxQueueLengthPerKey = queue;
        });
        using var host = builder.Build();
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync()).Bounded();
        Assert.Contains(concurrency < 1 ? "MaxConcurrencyPerKey" : "MaxQueueLengthPerKey", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddKeyedLock_UsesTheContainersTimeProviderAndMeterFactory()
    {
        var time = new ManualTimeProvider();
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.Services.AddKeyedLock();
        using var host = builder.Build();
        await host.StartAsync().Bounded();
        var meters = host.Services.GetRequiredService<IMeterFactory>();
        using var recorder = new MeterRecorder(KeyedLockMetrics.MeterName, meters);
        var registry = host.Services.GetRequiredService<KeyedLockRegistry>();

        var holder = await registry.HoldAsync("k");
        var waiter = registry.AcquireAsync("k", TimeSpan.FromSeconds(30));
        time.Advance(TimeSpan.FromSeconds(30)); // the container's clock drives the timeout
        await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => waiter.AsTask()).Bounded();
        holder.Dispose();
        Assert.Equal(1, recorder.Sum(KeyedLockMetrics.Acquisitions, KeyedLockMetrics.ResultTag, "timeout"));
        await host.StopAsync().Bounded();
    }

    [Fact]
    public void AddKeyedLock_CalledTwice_KeepsOneRegistry()
    {
        var services = new ServiceCollection();
        services.AddKeyedLock();
        services.AddKeyedLock(o => o.MaxConcurrencyPerKey = 3);
        using var sp = services.BuildServiceProvider();
        var registry = sp.GetRequiredService<KeyedLockRegistry>();
        Assert.Same(registry, sp.GetRequiredService<IKeyedLockProvider>());
        Assert.Equal(3, registry.MaxConcurrencyPerKey);
        Assert.Single(services, d => d.ServiceType == typeof(KeyedLockRegistry));
    }
}
