using System.Globalization;
using System.Net;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace KeyedLock.Benchmarks;

/// <summary>
/// The same four apps as <see cref="HttpSerializationBenchmarks"/>, each on real Kestrel bound to 127.0.0.1, driven
/// by one keep-alive <see cref="HttpClient"/> connection: the cost of a whole request as a client sees it, which is
/// the baseline the "overhead per request" goal is about.
/// </summary>
[Config(typeof(QuickConfig))]
[MemoryDiagnoser]
public class HttpKestrelBenchmarks
{
    private const int DistinctIds = 1024;

    private readonly string[] _ids = Enumerable.Range(0, DistinctIds).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
    private readonly List<WebApplication> _apps = [];
    private HttpClient _plain = null!;
    private HttpClient _serialized = null!;
    private HttpClient _serializedNoReentrancy = null!;
    private HttpClient _rateLimited = null!;
    private int _next;

    [GlobalSetup]
    public async Task Setup()
    {
        _plain = await StartAsync(HttpApps.PlainServices, HttpApps.Plain);
        _serialized = await StartAsync(HttpApps.SerializedServices, HttpApps.Serialized);
        _serializedNoReentrancy = await StartAsync(HttpApps.SerializedNoReentrancyServices, HttpApps.Serialized);
        _rateLimited = await StartAsync(HttpApps.RateLimitedServices, HttpApps.RateLimited);
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        foreach (var client in new[] { _plain, _serialized, _serializedNoReentrancy, _rateLimited })
        {
            client.Dispose();
        }

        foreach (var app in _apps)
        {
            await app.DisposeAsync();
        }
    }

    [Benchmark(Baseline = true)]
    public Task NoSerialization() => SendAsync(_plain);

    [Benchmark]
    public Task SerializeByRoute() => SendAsync(_serialized);

    [Benchmark]
    public Task SerializeByRoute_NoReentrancyDetection() => SendAsync(_serializedNoReentrancy);

    [Benchmark]
    public Task RateLimiterConcurrencyPerRoute() => SendAsync(_rateLimited);

    private async Task SendAsync(HttpClient client)
    {
        using var response = await client.PostAsync("/items/" + _ids[_next++ & (DistinctIds - 1)], content: null);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"Unexpected status {response.StatusCode}.");
        }
    }

    private async Task<HttpClient> StartAsync(Action<IServiceCollection> services, Action<WebApplication> configure)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        services(builder.Services);
        var app = builder.Build();
        app.UseRouting();
        configure(app);
        await app.StartAsync();
        _apps.Add(app);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1 }) { BaseAddress = new Uri(address) };
    }
}
