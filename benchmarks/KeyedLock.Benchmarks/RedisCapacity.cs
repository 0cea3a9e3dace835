using System.Diagnostics;
using System.Globalization;
using KeyedLock.Redis;
using StackExchange.Redis;

namespace KeyedLock.Benchmarks;

/// <summary>
/// <c>--redis-capacity</c>: how many acquisitions per second one redis-server sustains. Four app instances (four
/// multiplexers) run acquire + release on distinct keys with 256 concurrent workers for 10 s, then on one hot key;
/// Redis' own main-thread CPU time (INFO cpu) gives the server CPU per acquisition, and so the acquisitions per
/// second one core would sustain when the clients are elsewhere.
/// </summary>
internal static class RedisCapacity
{
    private const int Instances = 4;
    private const int Workers = 256;

    internal static async Task<int> RunAsync()
    {
        var admin = await ConnectionMultiplexer.ConnectAsync(RedisContenders.Options(admin: true));
        var ns = "capacity-" + Guid.NewGuid().ToString("N")[..8];
        var providers = new List<RedisKeyedLockProvider>();
        for (var i = 0; i < Instances; i++)
        {
            providers.Add(new RedisKeyedLockProvider(await ConnectionMultiplexer.ConnectAsync(RedisContenders.Options()), new RedisKeyedLockOptions { KeyNamespace = ns }));
        }

        Console.WriteLine($"redis-server {RedisContenders.Connection}, {Environment.ProcessorCount} cores shared by clients and server, load average {RedisReport.LoadAverage()}");
        Console.WriteLine("| scenario | acquisitions/s measured | Redis main-thread CPU per acquisition | acquisitions/s per Redis core (1 / CPU) |");
        Console.WriteLine("| --- | ---: | ---: | ---: |");
        await MeasureAsync(admin, "distinct keys, 256 workers over 4 instances", providers, hot: false);
        await MeasureAsync(admin, "one hot key, 256 workers over 4 instances", providers, hot: true);

        foreach (var provider in providers)
        {
            await provider.DisposeAsync();
            await provider.Connection.DisposeAsync();
        }

        await admin.DisposeAsync();
        return 0;
    }

    private static async Task MeasureAsync(ConnectionMultiplexer admin, string name, List<RedisKeyedLockProvider> providers, bool hot)
    {
        var duration = TimeSpan.FromSeconds(10);
        long acquisitions = 0;
        var cpuBefore = await MainThreadCpuAsync(admin);
        var started = Stopwatch.GetTimestamp();
        var workers = Enumerable.Range(0, Workers).Select(w => Task.Run(async () =>
        {
            var provider = providers[w % providers.Count];
            var key = hot ? "hot" : "key-" + w.ToString(CultureInfo.InvariantCulture);
            while (Stopwatch.GetElapsedTime(started) < duration)
            {
                var lease = await provider.AcquireAsync(key);
                await lease.DisposeAsync();
                Interlocked.Increment(ref acquisitions);
            }
        })).ToArray();
        await Task.WhenAll(workers);
        var elapsed = Stopwatch.GetElapsedTime(started);
        var cpu = await MainThreadCpuAsync(admin) - cpuBefore;
        var perSecond = acquisitions / elapsed.TotalSeconds;
        var cpuPerAcquisition = cpu / acquisitions;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {perSecond:0} | {cpuPerAcquisition * 1e6:0.0} µs | {1 / cpuPerAcquisition:0} |"));
    }

    private static async Task<double> MainThreadCpuAsync(ConnectionMultiplexer admin)
    {
        var info = (await admin.GetServers()[0].InfoAsync("cpu")).SelectMany(g => g).ToDictionary(e => e.Key, e => e.Value);
        return double.Parse(info["used_cpu_sys_main_thread"], CultureInfo.InvariantCulture) + double.Parse(info["used_cpu_user_main_thread"], CultureInfo.InvariantCulture);
    }
}
