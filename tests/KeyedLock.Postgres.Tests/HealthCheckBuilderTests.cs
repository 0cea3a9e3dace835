using KeyedLock.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace KeyedLock.Postgres.Tests;

public sealed class HealthCheckBuilderTests : PostgresTestBase
{
    [PostgresFact]
    public async Task AddKeyedLockPostgres_DatabaseReachable_ReportsHealthyWithProviderData()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddKeyedLock().UsePostgres(TestDatabase.ConnectionString, o => o.KeyNamespace = Namespace);
        services.AddHealthChecks().AddKeyedLockPostgres(tags: ["ready"]);
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });

        await using var lease = await provider.GetRequiredService<IKeyedLockProvider>().AcquireAsync("k", TimeSpan.FromSeconds(10)).Bounded();
        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync().Bounded();

        var entry = Assert.Single(report.Entries);
        Assert.Equal("keyedlock-postgres", entry.Key);
        Assert.Equal(HealthStatus.Healthy, entry.Value.Status);
        Assert.Equal(1, entry.Value.Data["activeLeases"]);
        Assert.Equal(["ready"], entry.Value.Tags);
    }

    [Fact]
    public async Task AddKeyedLockPostgres_DatabaseUnreachable_ReportsTheFailureStatus()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        // Nothing listens on port 1 of the loopback address: the connection is refused at once.
        services.AddKeyedLock().UsePostgres("Host=127.0.0.1;Port=1;Timeout=5;Pooling=false");
        services.AddHealthChecks().AddKeyedLockPostgres("locks", failureStatus: HealthStatus.Degraded, timeout: TimeSpan.FromSeconds(20));
        await using var provider = services.BuildServiceProvider();

        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync().Bounded();

        var entry = report.Entries["locks"];
        Assert.Equal(HealthStatus.Degraded, entry.Status);
        Assert.Contains("unreachable", entry.Description, StringComparison.Ordinal);
        Assert.NotNull(entry.Exception);
    }

    [Fact]
    public async Task AddKeyedLockPostgres_WithoutUsePostgres_ReportsUnhealthyAndSaysWhy()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddKeyedLock();
        services.AddHealthChecks().AddKeyedLockPostgres();
        await using var provider = services.BuildServiceProvider();

        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync().Bounded();

        var entry = report.Entries["keyedlock-postgres"];
        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Contains("UsePostgres", entry.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void AddKeyedLockPostgres_RegistersOneNamedCheck()
    {
        var services = new ServiceCollection();
        services.AddHealthChecks().AddKeyedLockPostgres().AddKeyedLockPostgres("second", tags: ["live"]);
        using var provider = services.BuildServiceProvider();

        var registrations = provider.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations;
        Assert.Equal(["keyedlock-postgres", "second"], registrations.Select(r => r.Name).Order(StringComparer.Ordinal));
        Assert.Equal(HealthStatus.Unhealthy, registrations.First().FailureStatus);
        Assert.Contains("live", registrations.Single(r => r.Name == "second").Tags);
    }
}
