using System.Diagnostics;
using System.Globalization;

namespace KeyedLock.Benchmarks;

/// <summary>Latency of single operations: mean and percentiles, in µs.</summary>
internal readonly record struct LatencyStats(double Mean, double P50, double P90, double P99);

/// <summary>
/// Single operations of several contenders measured <b>interleaved</b>: one operation of each in turn, so that all of
/// them see the same machine state. On a small shared VM the speed of the machine drifts by tens of percent within
/// seconds, which decides a comparison of contenders measured one after the other (as BenchmarkDotNet does). The
/// order rotates every round, so that each contender follows each other one equally often.
/// </summary>
internal static class Interleaved
{
    internal static async Task<LatencyStats[]> MeasureAsync(IReadOnlyList<Func<Task>> operations, int warmup, int samples)
    {
        for (var i = 0; i < warmup; i++)
        {
            foreach (var operation in operations)
            {
                await operation();
            }
        }

        var measured = operations.Select(_ => new double[samples]).ToArray();
        for (var i = 0; i < samples; i++)
        {
            for (var k = 0; k < operations.Count; k++)
            {
                var c = (i + k) % operations.Count;
                var started = Stopwatch.GetTimestamp();
                await operations[c]();
                measured[c][i] = Stopwatch.GetElapsedTime(started).TotalMicroseconds;
            }
        }

        return measured.Select(values =>
        {
            Array.Sort(values);
            double At(double q) => values[Math.Min(values.Length - 1, (int)(q * values.Length))];
            return new LatencyStats(values.Average(), At(0.5), At(0.9), At(0.99));
        }).ToArray();
    }

    /// <summary>
    /// Measures <paramref name="operations"/> interleaved (2,000 warm-up rounds, then 10,000 each) and prints one
    /// markdown row per operation, with its p50 as a ratio of operation <paramref name="baseline"/>'s.
    /// </summary>
    internal static async Task PrintAsync(string title, (string Name, Func<Task> Run)[] operations, int baseline)
    {
        var stats = await MeasureAsync(operations.Select(o => o.Run).ToList(), warmup: 2000, samples: 10000);
        Console.WriteLine($"| {title}, interleaved (10,000 each, after 2,000 warm-up rounds) | mean | p50 | p90 | p99 | p50 / {operations[baseline].Name} |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        for (var i = 0; i < operations.Length; i++)
        {
            var s = stats[i];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {operations[i].Name} | {s.Mean:0.0} µs | {s.P50:0.0} µs | {s.P90:0.0} µs | {s.P99:0.0} µs | {s.P50 / stats[baseline].P50:0.00} |"));
        }
    }
}
