using System.Collections.Concurrent;

namespace KeyedLock.Testing;

/// <summary>
/// Detects mutual-exclusion violations: <see cref="Enter"/> when entering a critical section for a key,
/// <see cref="Exit"/> when leaving it. Records (never throws from worker threads) every time more than
/// <c>maxInside</c> callers were inside for one key, and the highest occupancy seen.
/// </summary>
public sealed class OverlapDetector(int maxInside = 1)
{
    private readonly ConcurrentDictionary<string, StrongBox> _inside = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _violations = new();
    private int _maxSeen;

    public void Enter(string key)
    {
        var box = _inside.GetOrAdd(key, static _ => new StrongBox());
        var now = Interlocked.Increment(ref box.Value);
        if (now > maxInside)
        {
            _violations.Enqueue($"{now} callers inside '{key}' at once (at most {maxInside} allowed)");
        }

        int seen;
        while (now > (seen = Volatile.Read(ref _maxSeen)) && Interlocked.CompareExchange(ref _maxSeen, now, seen) != seen)
        {
        }
    }

    public void Exit(string key)
    {
        var now = Interlocked.Decrement(ref _inside[key].Value);
        if (now < 0)
        {
            _violations.Enqueue($"'{key}' exited more often than entered");
        }
    }

    /// <summary>The highest number of callers seen inside one key at once.</summary>
    public int MaxSeen => Volatile.Read(ref _maxSeen);

    public IReadOnlyList<string> Violations => [.. _violations];

    /// <summary>Fails the test (with up to 10 violations listed) if any was recorded.</summary>
    public void AssertNoViolations(string context = "")
    {
        var violations = Violations;
        Xunit.Assert.True(violations.Count == 0, $"{violations.Count} mutual-exclusion violations {context}:\n{string.Join('\n', violations.Take(10))}");
    }

    private sealed class StrongBox
    {
        public int Value;
    }
}
