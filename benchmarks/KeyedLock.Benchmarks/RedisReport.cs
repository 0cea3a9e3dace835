using System.Diagnostics;
using System.Globalization;

namespace KeyedLock.Benchmarks;

/// <summary>
/// <c>--redis-report</c>: what BenchmarkDotNet cannot show for the Redis locks, in one run on one server.
/// (1) Hand-off latency: from the start of the holder's release to the moment the waiter in another app instance
/// holds the key (median, p90, max). (2) One hot key with 64 waiters in one process: acquisitions per second and
/// Redis commands per acquisition (INFO commandstats, reset before each contender). (3) Uncontended acquire + release
/// of a free key, the contenders interleaved one operation at a time (see <see cref="Interleaved"/>), with two
/// <c>PING</c>s (the two round trips alone) as the floor.
/// </summary>
internal static class RedisReport
{
    private const int HotKeyWaiters = 64;
    private const int HotKeyRounds = 4;

    internal static async Task<int> RunAsync()
    {
        await using var contenders = await RedisContenders.CreateAsync();
        Console.WriteLine($"Redis: {RedisContenders.Connection}, {Environment.ProcessorCount} cores, load average {LoadAverage()}");
        Console.WriteLine();
        await UncontendedAsync(contenders); // first, before the hot key leaves the thread pool with dozens of threads

        Console.WriteLine();
        Console.WriteLine("| contender | hand-offs | median | p90 | max |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
        Print("KeyedLock.Redis", await KeyedHandOffsAsync(contenders, 300));
        Print("DistributedLock.Redis", await PollingHandOffsAsync(() => contenders.DistributedLockHoldAsync("handoff"), () => contenders.DistributedLockHoldAsync("handoff"), 20));
        Print("RedLock.net (10 ms retry)", await PollingHandOffsAsync(() => contenders.RedLockHoldAsync("handoff"), () => contenders.RedLockHoldAsync("handoff"), 40));

        Console.WriteLine();
        Console.WriteLine("| contender | acquisitions | acquisitions/s | requests sent per acquisition | commands Redis ran per acquisition (incl. inside scripts) |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
        await HotKeyAsync(contenders, "KeyedLock.Redis", () => contenders.KeyedAsync(contenders.KeyedA, "hot"), () => contenders.SentByKeyedLock);
        await HotKeyAsync(contenders, "DistributedLock.Redis", () => contenders.DistributedLockAsync("hot"), () => contenders.SentByDistributedLock);
        await HotKeyAsync(contenders, "RedLock.net (10 ms retry)", () => contenders.RedLockAsync("hot"), () => contenders.SentByRedLock);


        Console.WriteLine();
        await contenders.ResetStatsAsync();
        var sentBefore = contenders.SentByKeyedLock;
        for (var i = 0; i < 1000; i++)
        {
            await contenders.KeyedAsync(contenders.KeyedA, "free");
        }

        var sent = contenders.SentByKeyedLock - sentBefore;
        var ran = await contenders.CommandsSinceResetAsync();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"KeyedLock.Redis uncontended, 1000 sequential acquire + release: {sent / 1000.0:0.00} requests sent, {ran / 1000.0:0.0} commands run by Redis (incl. inside scripts) per acquisition"));
        return 0;
    }

    private static async Task UncontendedAsync(RedisContenders contenders)
    {
        var ping = contenders.Admin.GetDatabase(); // a multiplexer of its own, like each contender
        (string Name, Func<Task> Run)[] operations =
        [
            ("KeyedLock.Redis", () => contenders.KeyedAsync(contenders.KeyedA, "free")),
            ("DistributedLock.Redis", () => contenders.DistributedLockAsync("free")),
            ("RedLock.net", () => contenders.RedLockAsync("free")),
            ("two PINGs (the round trips alone)", async () =>
            {
                await ping.PingAsync();
                await ping.PingAsync();
            }),
        ];
        await Interleaved.PrintAsync("uncontended acquire + release", operations, baseline: 1);
    }

    private static async Task<List<double>> KeyedHandOffsAsync(RedisContenders contenders, int count)
    {
        var samples = new List<double>(count);
        for (var i = 0; i < count + 10; i++)
        {
            var held = await contenders.KeyedB.AcquireAsync("handoff");
            var waiting = contenders.KeyedA.AcquireAsync("handoff").AsTask();
            while (contenders.KeyedA.RedisWaiters == 0)
            {
                await Task.Delay(1); // until the waiter is queued in Redis
            }

            var started = Stopwatch.GetTimestamp();
            await held.DisposeAsync();
            var lease = await waiting;
            var elapsed = Stopwatch.GetElapsedTime(started);
            await lease.DisposeAsync();
            if (i >= 10)
            {
                samples.Add(elapsed.TotalMilliseconds); // the first 10 warm up
            }
        }

        return samples;
    }

    private static async Task<List<double>> PollingHandOffsAsync(Func<Task<IAsyncDisposable>> hold, Func<Task<IAsyncDisposable>> wait, int count)
    {
        var samples = new List<double>(count);
        for (var i = 0; i < count + 2; i++)
        {
            var held = await hold();
            var waiting = wait();
            await Task.Delay(50); // the waiter has tried once and is polling
            var started = Stopwatch.GetTimestamp();
            await held.DisposeAsync();
            var lease = await waiting;
            var elapsed = Stopwatch.GetElapsedTime(started);
            await lease.DisposeAsync();
            if (i >= 2)
            {
                samples.Add(elapsed.TotalMilliseconds);
            }
        }

        return samples;
    }

    private static async Task HotKeyAsync(RedisContenders contenders, string name, Func<Task> acquireRelease, Func<long> sentSoFar)
    {
        await Task.WhenAll(Enumerable.Range(0, HotKeyWaiters).Select(_ => Task.Run(acquireRelease))); // warm-up
        await contenders.ResetStatsAsync();
        var sentBefore = sentSoFar();
        var started = Stopwatch.GetTimestamp();
        for (var round = 0; round < HotKeyRounds; round++)
        {
            await Task.WhenAll(Enumerable.Range(0, HotKeyWaiters).Select(_ => Task.Run(acquireRelease)));
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        var sent = sentSoFar() - sentBefore;
        var commands = await contenders.CommandsSinceResetAsync();
        const int acquisitions = HotKeyWaiters * HotKeyRounds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {acquisitions} | {acquisitions / elapsed.TotalSeconds:0} | {sent / (double)acquisitions:0.0} | {commands / (double)acquisitions:0.0} |"));
    }

    private static void Print(string name, List<double> samples)
    {
        samples.Sort();
        double At(double q) => samples[Math.Min(samples.Count - 1, (int)(q * samples.Count))];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {samples.Count} | {At(0.5):0.000} ms | {At(0.9):0.000} ms | {samples[^1]:0.000} ms |"));
    }

    /// <summary>The 1-minute load average from /proc/loadavg, or "?" where there is none.</summary>
    internal static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "?";
        }
    }
}
