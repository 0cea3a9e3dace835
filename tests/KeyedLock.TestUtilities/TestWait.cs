namespace KeyedLock.Testing;

/// <summary>Bounded waits for tests: a bug makes a test fail with a clear message, never hang CI.</summary>
public static class TestWait
{
    /// <summary>The default bound for any await in a test.</summary>
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(30);

    /// <summary>Awaits <paramref name="task"/> for at most <paramref name="timeout"/> (default 30 s).</summary>
    public static Task Bounded(this Task task, TimeSpan? timeout = null) => task.WaitAsync(timeout ?? Default);

    /// <summary>Awaits <paramref name="task"/> for at most <paramref name="timeout"/> (default 30 s).</summary>
    public static Task<T> Bounded<T>(this Task<T> task, TimeSpan? timeout = null) => task.WaitAsync(timeout ?? Default);

    /// <summary>Awaits <paramref name="task"/> for at most <paramref name="timeout"/> (default 30 s).</summary>
    public static Task<T> Bounded<T>(this ValueTask<T> task, TimeSpan? timeout = null) => task.AsTask().WaitAsync(timeout ?? Default);

    /// <summary>
    /// Polls <paramref name="probe"/> (a query against a real server: a queue length, a count of sessions) until it
    /// returns <paramref name="expected"/> or <paramref name="timeout"/> passes; the failure says what it last saw.
    /// </summary>
    public static async Task UntilAsync(Func<Task<long>> probe, long expected, string what, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(probe);
        var deadline = DateTime.UtcNow + (timeout ?? Default);
        long last;
        while ((last = await probe()) != expected)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting until {what} (expected {expected}, last saw {last}).");
            }

            await Task.Delay(5);
        }
    }

    /// <summary>Polls <paramref name="condition"/> until it holds or <paramref name="timeout"/> passes.</summary>
    public static async Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Default);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting until {what}.");
            }

            await Task.Delay(5);
        }
    }
}
