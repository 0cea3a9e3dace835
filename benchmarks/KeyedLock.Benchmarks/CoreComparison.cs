using System.Globalization;

namespace KeyedLock.Benchmarks;

/// <summary>
/// <c>--core-compare</c>: the two Core scenarios with the contenders <b>interleaved</b>, one whole invocation of each
/// in turn (order rotating, see <see cref="Interleaved"/>), so that a drift of the machine's speed hits all of them
/// alike. Scenario (a) is one pass over the 1024 keys per invocation, scenario (b) the 32 tasks x 200 rounds; both
/// the exact BenchmarkDotNet methods of <see cref="UncontendedBenchmarks"/> and <see cref="ContendedBenchmarks"/>.
/// A cross-check of the BenchmarkDotNet tables, which run the contenders one after the other.
/// </summary>
/// <remarks>
/// Each scenario runs in a process of its own (this one starts itself once per scenario), as BenchmarkDotNet runs
/// each benchmark: the JIT's dynamic PGO compiles the registry for the paths the first scenario takes, so in one
/// shared process scenario (b) ran the contended paths compiled as cold code from the profile of (a), about 10 %
/// slower than on its own, while the framework's types it is compared with are compiled ahead of time.
/// </remarks>
internal static class CoreComparison
{
    internal static async Task<int> RunAsync(string[] args)
    {
        var scenario = args.SkipWhile(a => a != "--core-compare").Skip(1).FirstOrDefault();
        if (scenario is "a" or "b")
        {
            await RunScenarioAsync(scenario);
            return 0;
        }

        Console.WriteLine($"{Environment.ProcessorCount} cores, load average {RedisReport.LoadAverage()}");
        foreach (var each in new[] { "a", "b" })
        {
            var code = await RunChildAsync(each);
            if (code != 0)
            {
                return code;
            }
        }

        return 0;
    }

    /// <summary>Runs this program again with <c>--core-compare <paramref name="scenario"/></c>, its output passed through.</summary>
    private static async Task<int> RunChildAsync(string scenario)
    {
        var start = new System.Diagnostics.ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
        {
            start.ArgumentList.Add(typeof(CoreComparison).Assembly.Location); // started as `dotnet KeyedLock.Benchmarks.dll`
        }

        start.ArgumentList.Add("--core-compare");
        start.ArgumentList.Add(scenario);
        using var child = System.Diagnostics.Process.Start(start)!;
        await child.WaitForExitAsync();
        return child.ExitCode;
    }

    private static async Task RunScenarioAsync(string scenario)
    {
        (ICoreScenario run, string title, int operationsPerInvoke, int rounds) = scenario == "a"
            ? ((ICoreScenario)new UncontendedBenchmarks(), "(a) uncontended acquire + release, 1024 rotating keys", UncontendedBenchmarks.KeyCount, 20000)
            : (new ContendedBenchmarks(), "(b) 32 tasks on one key, Task.Yield() inside, 200 rounds each", ContendedBenchmarks.Tasks * ContendedBenchmarks.Rounds, 1000);
        run.Setup();
        await PrintAsync(title, operationsPerInvoke, rounds, run);
        run.Cleanup();
    }

    private static async Task PrintAsync(string title, int operationsPerInvoke, int rounds, ICoreScenario scenario)
    {
        (string Name, Func<Task> Run)[] contenders =
        [
            ("SemaphoreSlim (bare, floor)", scenario.BareSemaphoreSlim),
            ("ConcurrentDictionary<string,SemaphoreSlim> (naive, leaks)", scenario.NaiveDictionary),
            ("ConcurrentDictionary<string,ConcurrencyLimiter> (per key, leaks)", scenario.LimiterPerKey),
            ("KeyedLockRegistry (default)", scenario.Registry),
        ];
        var stats = await Interleaved.MeasureAsync(contenders.Select(c => c.Run).ToList(), warmup: rounds / 5, samples: rounds);
        double PerOp(double microseconds) => microseconds * 1000 / operationsPerInvoke;
        var naive = stats[1].P50;
        Console.WriteLine();
        Console.WriteLine($"| {title}, interleaved ({rounds} invocations each) | mean | p50 | p90 | p50 / naive |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
        for (var i = 0; i < contenders.Length; i++)
        {
            var s = stats[i];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {contenders[i].Name} | {PerOp(s.Mean):0.0} ns | {PerOp(s.P50):0.0} ns | {PerOp(s.P90):0.0} ns | {s.P50 / naive:0.00} |"));
        }
    }
}

/// <summary>The contenders that both Core scenarios run, for <see cref="CoreComparison"/>.</summary>
internal interface ICoreScenario
{
    void Setup();

    void Cleanup();

    Task BareSemaphoreSlim();

    Task NaiveDictionary();

    Task LimiterPerKey();

    Task Registry();
}
