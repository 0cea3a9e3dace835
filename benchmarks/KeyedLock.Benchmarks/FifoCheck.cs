using System.Threading.RateLimiting;

namespace KeyedLock.Benchmarks;

/// <summary>
/// <c>--fifo-check</c>: runs the shape of scenario (b) (32 tasks on one key, <c>Task.Yield()</c> inside the lock) for
/// every contender and checks that the key is granted in exactly the order the requests were queued.
/// </summary>
/// <remarks>
/// Each request takes a ticket and calls the contender's acquire under one gate, so tickets are in enqueue order
/// (every contender enqueues synchronously inside its acquire call). Grants are serialized by the lock itself, so
/// recording the ticket right after the await gives the grant order. Strict FIFO means grant i has ticket i.
/// </remarks>
internal static class FifoCheck
{
    private const int Tasks = 32;
    private const int Rounds = 200;
    private const int Repetitions = 3;
    private const string Key = "order-42";

    private sealed record Contender(string Name, Func<ValueTask<Action>> AcquireAsync);

    public static async Task<int> RunAsync()
    {
        var semaphore = new SemaphoreSlim(1, 1);
        var naive = Contenders.CreateNaiveDictionary();
        using var rateLimiter = Contenders.CreateRateLimiter();
        var limiters = Contenders.CreateLimiterDictionary();
        using var registry = Contenders.CreateRegistry();
        using var registryDetecting = Contenders.CreateDetectingRegistry();

        Contender[] contenders =
        [
            new("SemaphoreSlim (bare, floor)", async () =>
            {
                await semaphore.WaitAsync();
                return () => semaphore.Release();
            }),
            new("ConcurrentDictionary<string,SemaphoreSlim> (naive, leaks)", async () =>
            {
                var s = Contenders.GetNaive(naive, Key);
                await s.WaitAsync();
                return () => s.Release();
            }),
            new("PartitionedRateLimiter + ConcurrencyLimiter", async () =>
            {
                var lease = await rateLimiter.AcquireAsync(Key);
                return lease.IsAcquired ? lease.Dispose : throw new InvalidOperationException("Rejected.");
            }),
            new("ConcurrentDictionary<string,ConcurrencyLimiter> (per key, leaks)", async () =>
            {
                var lease = await Contenders.GetLimiter(limiters, Key).AcquireAsync();
                return lease.IsAcquired ? lease.Dispose : throw new InvalidOperationException("Rejected.");
            }),
            new("KeyedLockRegistry (default)", async () =>
            {
                var lease = await registry.AcquireAsync(Key);
                return lease.Dispose;
            }),
            new("KeyedLockRegistry (DetectReentrancy=true, opt-in)", async () =>
            {
                var lease = await registryDetecting.AcquireAsync(Key);
                return lease.Dispose;
            }),
        ];

        Console.WriteLine($"fifo check: {Tasks} tasks x {Rounds} rounds on one key, {Repetitions} repetitions per contender");
        var registryFifo = true;
        foreach (var contender in contenders)
        {
            var outOfOrder = 0;
            var maxOvertake = 0;
            for (var r = 0; r < Repetitions; r++)
            {
                var (wrong, overtake) = await RunOnceAsync(contender);
                outOfOrder += wrong;
                maxOvertake = Math.Max(maxOvertake, overtake);
            }

            Console.WriteLine($"  {contender.Name,-60} grants out of arrival order: {outOfOrder,6} of {Tasks * Rounds * Repetitions} (largest jump ahead: {maxOvertake})");
            if (contender.Name.StartsWith("KeyedLockRegistry", StringComparison.Ordinal) && outOfOrder != 0)
            {
                registryFifo = false;
            }
        }

        Console.WriteLine(registryFifo ? "fifo check: PASSED (KeyedLockRegistry granted in strict FIFO order)" : "fifo check: FAILED");
        return registryFifo ? 0 : 1;
    }

    private static async Task<(int OutOfOrder, int MaxOvertake)> RunOnceAsync(Contender contender)
    {
        var gate = new Lock();
        var nextTicket = 0;
        var grants = new int[Tasks * Rounds];
        var granted = 0;

        async Task WorkerAsync()
        {
            for (var round = 0; round < Rounds; round++)
            {
                int ticket;
                ValueTask<Action> pending;
                lock (gate)
                {
                    ticket = nextTicket++;
                    pending = contender.AcquireAsync();
                }

                var release = await pending;
                grants[granted++] = ticket; // only the holder writes: grants are serialized by the lock under test
                await Task.Yield();
                release();
            }
        }

        var workers = new Task[Tasks];
        for (var i = 0; i < Tasks; i++)
        {
            workers[i] = WorkerAsync();
        }

        await Task.WhenAll(workers);

        var outOfOrder = 0;
        var maxOvertake = 0;
        for (var i = 0; i < grants.Length; i++)
        {
            if (grants[i] != i)
            {
                outOfOrder++;
                maxOvertake = Math.Max(maxOvertake, i - grants[i]);
            }
        }

        return (outOfOrder, maxOvertake);
    }
}
