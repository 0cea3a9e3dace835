using System.Diagnostics;

namespace KeyedLock.Benchmarks;

/// <summary>
/// <c>--leak-check</c>: passes 1,000,000 distinct keys through a <see cref="KeyedLockRegistry"/> (default options) and
/// checks that afterwards <see cref="KeyedLockRegistry.Count"/> is 0 and the managed heap is back where it started.
/// Every key sees a holder plus a second acquirer that is granted, cancelled while queued, or refused by a zero
/// timeout, from 64 concurrent workers. For contrast, the naive dictionary of semaphores gets the same keys.
/// </summary>
internal static class LeakCheck
{
    private const int DistinctKeys = 1_000_000;
    private const int WarmUpKeys = 50_000;
    private const int Workers = 64;
    private const int BurstKeys = 100_000;

    /// <summary>Heap growth allowed after 1M keys: under 0.25 byte per key, i.e. nothing is retained per key.</summary>
    private const long AllowedGrowthBytes = 256 * 1024;

    public static async Task<int> RunAsync()
    {
        Console.WriteLine($"leak check: {DistinctKeys:N0} distinct keys, {Workers} concurrent workers, {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}");

        using var registry = new KeyedLockRegistry();

        // Warm-up with other keys: JIT, thread pool threads, and the stripes' dictionaries reach their working size.
        await PassKeysAsync(registry, "warmup-", WarmUpKeys);
        var before = SettledHeapBytes();

        var stopwatch = Stopwatch.StartNew();
        await PassKeysAsync(registry, "key-", DistinctKeys);
        stopwatch.Stop();
        var count = registry.Count;
        var after = SettledHeapBytes();
        var growth = after - before;

        Console.WriteLine($"KeyedLockRegistry: {DistinctKeys:N0} keys ({3 * DistinctKeys:N0} acquisition attempts) in {stopwatch.Elapsed.TotalSeconds:F1} s");
        Console.WriteLine($"  Count after:   {count}");
        Console.WriteLine($"  heap before:   {before,14:N0} B");
        Console.WriteLine($"  heap after:    {after,14:N0} B");
        Console.WriteLine($"  growth:        {growth,14:N0} B ({(double)growth / DistinctKeys:F3} B per key; allowed {AllowedGrowthBytes:N0} B)");

        // Informational: a burst of keys held at the same time, then all released. Leak-free means Count returns to 0;
        // what the registry keeps afterwards is capacity sized by the peak, not by the number of keys that passed.
        var burst = await BurstAsync(registry);
        var afterBurst = SettledHeapBytes();
        Console.WriteLine($"Burst of {BurstKeys:N0} keys held at once, then released: Count at peak {burst}, after {registry.Count}; heap vs before: {afterBurst - before,14:N0} B (capacity kept for the peak)");

        var naiveGrowth = NaiveDictionaryGrowth();
        Console.WriteLine($"Naive ConcurrentDictionary<string,SemaphoreSlim>, same {DistinctKeys:N0} keys (sequential): growth {naiveGrowth,14:N0} B ({(double)naiveGrowth / DistinctKeys:F0} B per key)");

        var passed = count == 0 && growth <= AllowedGrowthBytes;
        Console.WriteLine(passed ? "leak check: PASSED" : "leak check: FAILED");
        return passed ? 0 : 1;
    }

    private static async Task<int> BurstAsync(KeyedLockRegistry registry)
    {
        var leases = new KeyedLockLease[BurstKeys];
        for (var i = 0; i < leases.Length; i++)
        {
            leases[i] = await AcquireInOwnFlowAsync(registry, "burst-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        var peak = registry.Count;
        foreach (var lease in leases)
        {
            lease.Dispose();
        }

        return peak;
    }

    /// <summary>
    /// Acquires in an async method of its own: the re-entrancy tracking it records is undone when it returns, as for
    /// leases taken by separate requests. (One flow holding 100,000 keys would make every acquisition walk them all.)
    /// </summary>
    private static async ValueTask<KeyedLockLease> AcquireInOwnFlowAsync(KeyedLockRegistry registry, string key)
        => await registry.AcquireAsync(key);

    private static async Task PassKeysAsync(KeyedLockRegistry registry, string prefix, int keys)
    {
        var workers = new Task[Workers];
        for (var w = 0; w < Workers; w++)
        {
            var first = w;
            workers[w] = Task.Run(async () =>
            {
                for (var i = first; i < keys; i += Workers)
                {
                    await OneKeyAsync(registry, prefix + i.ToString(System.Globalization.CultureInfo.InvariantCulture), i);
                }
            });
        }

        await Task.WhenAll(workers);
        if (registry.Count != 0)
        {
            throw new InvalidOperationException($"Count is {registry.Count} after all leases were released.");
        }
    }

    /// <summary>A holder, a refused zero-timeout attempt, and a second waiter that is granted or cancelled.</summary>
    private static async Task OneKeyAsync(KeyedLockRegistry registry, string key, int i)
    {
        var lease = await registry.AcquireAsync(key);

        // The other acquirers run on flows of their own, as other requests would (a task started from the holding flow
        // would inherit it and be refused as re-entrant).
        var refused = await Detached(() => registry.TryAcquireAsync(key, TimeSpan.Zero).AsTask());
        if (refused.Succeeded)
        {
            throw new InvalidOperationException("A zero-timeout attempt got a held key.");
        }

        if (i % 4 == 0)
        {
            using var cts = new CancellationTokenSource();
            var canceled = Detached(() => registry.AcquireAsync(key, cts.Token).AsTask());
            await WaitUntilQueuedOrDoneAsync(canceled);
            cts.Cancel();
            try
            {
                (await canceled).Dispose();
                throw new InvalidOperationException("A cancelled waiter got the key while it was held.");
            }
            catch (OperationCanceledException)
            {
            }

            lease.Dispose();
        }
        else
        {
            var second = Detached(() => registry.AcquireAsync(key).AsTask());
            await WaitUntilQueuedOrDoneAsync(second);
            lease.Dispose();
            (await second).Dispose();
        }
    }

    private static Task<T> Detached<T>(Func<Task<T>> acquire)
    {
        using (ExecutionContext.SuppressFlow())
        {
            return Task.Run(acquire);
        }
    }

    /// <summary>Lets the waiter's Task.Run reach the registry; the outcome is the same whether it queued or not yet.</summary>
    private static async Task WaitUntilQueuedOrDoneAsync(Task waiter)
    {
        for (var spins = 0; spins < 2 && !waiter.IsCompleted; spins++)
        {
            await Task.Yield();
        }
    }

    private static long NaiveDictionaryGrowth()
    {
        var before = SettledHeapBytes();
        var naive = Contenders.CreateNaiveDictionary();
        for (var i = 0; i < DistinctKeys; i++)
        {
            var semaphore = Contenders.GetNaive(naive, "key-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            semaphore.Wait();
            semaphore.Release();
        }

        var after = SettledHeapBytes();
        GC.KeepAlive(naive);
        return after - before;
    }

    private static long SettledHeapBytes()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
