using System.Globalization;
using BenchmarkDotNet.Attributes;

namespace KeyedLock.Benchmarks;

/// <summary>
/// One request through the real ASP.NET Core pipeline (routing, middleware, endpoint, result), in process, with
/// distinct route values: no serialization vs <c>[SerializeBy("route:id")]</c> vs the framework's rate limiter with a
/// <c>ConcurrencyLimiter</c> partitioned per route value (the closest built-in equivalent).
/// </summary>
/// <remarks>
/// The request is driven through the app's built <see cref="RequestDelegate"/> with a fresh
/// <see cref="DefaultHttpContext"/> and service scope, like the host does, without a transport, so the numbers show
/// the per-request cost of each approach rather than socket noise.
/// </remarks>
[Config(typeof(QuickConfig))]
[MemoryDiagnoser]
public class HttpSerializationBenchmarks
{
    private const int DistinctIds = 1024;

    private readonly string[] _ids = Enumerable.Range(0, DistinctIds).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
    private HttpPipeline _plain = null!;
    private HttpPipeline _serialized = null!;
    private HttpPipeline _serializedNoReentrancy = null!;
    private HttpPipeline _rateLimited = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _plain = HttpPipeline.Create(HttpApps.PlainServices, HttpApps.Plain);
        _serialized = HttpPipeline.Create(HttpApps.SerializedServices, HttpApps.Serialized);
        _serializedNoReentrancy = HttpPipeline.Create(HttpApps.SerializedNoReentrancyServices, HttpApps.Serialized);
        _rateLimited = HttpPipeline.Create(HttpApps.RateLimitedServices, HttpApps.RateLimited);
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _plain.DisposeAsync();
        await _serialized.DisposeAsync();
        await _serializedNoReentrancy.DisposeAsync();
        await _rateLimited.DisposeAsync();
    }

    [Benchmark(Baseline = true)]
    public Task NoSerialization() => _plain.SendAsync(NextPath());

    [Benchmark]
    public Task SerializeByRoute() => _serialized.SendAsync(NextPath());

    [Benchmark]
    public Task SerializeByRoute_NoReentrancyDetection() => _serializedNoReentrancy.SendAsync(NextPath());

    [Benchmark]
    public Task RateLimiterConcurrencyPerRoute() => _rateLimited.SendAsync(NextPath());

    private string NextPath() => "/items/" + _ids[_next++ & (DistinctIds - 1)];
}
