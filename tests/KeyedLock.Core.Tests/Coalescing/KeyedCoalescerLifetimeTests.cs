using System.Runtime.CompilerServices;

namespace KeyedLock.Tests.Coalescing;

/// <summary>Concurrency hunts: every caller ends with the result or its own cancellation, and nothing is kept.</summary>
public sealed class KeyedCoalescerLifetimeTests
{
    [Fact]
    public async Task ManyKeysCallersAndCancellations_Hunt_EveryCallerEndsAndCountReturnsToZero()
    {
        var coalescer = new KeyedCoalescer<string>();
        var seed = TestSeed.Next();
        var executions = 0;
        var workers = Enumerable.Range(0, Environment.ProcessorCount * 2).Select(w => Task.Run(async () =>
        {
            var random = new Random(seed + w);
            for (var i = 0; i < 2_000; i++)
            {
                var key = "k" + random.Next(8);
                using var cts = new CancellationTokenSource();
                var mode = random.Next(4);
                var call = coalescer.RunAsync(key, async _ =>
                {
                    Interlocked.Increment(ref executions);
                    await Task.Yield();
                    return key;
                }, mode == 0 ? CancellationToken.None : cts.Token);
                if (mode == 1)
                {
                    cts.Cancel();
                }

                try
                {
                    Assert.Equal(key, await call);
                }
                catch (TaskCanceledException ex)
                {
                    Assert.Equal(1, mode);
                    Assert.Equal(cts.Token, ex.CancellationToken);
                }
            }
        })).ToArray();

        await Task.WhenAll(workers).Bounded(TimeSpan.FromSeconds(120));

        Assert.Equal(0, coalescer.Count);
        Assert.InRange(executions, 1, workers.Length * 2_000);
    }

    [Fact]
    public async Task CancellationRacingCompletion_Hunt_EachCallerGetsExactlyOneOutcome()
    {
        var coalescer = new KeyedCoalescer<int>();
        for (var round = 0; round < 2_000; round++)
        {
            var outcome = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            using var cts = new CancellationTokenSource();
            var leader = coalescer.RunAsync("k", _ => new ValueTask<int>(outcome.Task), cts.Token).AsTask();
            var joiner = coalescer.RunAsync("k", _ => new ValueTask<int>(outcome.Task)).AsTask();

            var cancel = Task.Run(cts.Cancel);
            outcome.SetResult(round);
            await cancel.Bounded();

            Assert.Equal(round, await joiner.Bounded());
            try
            {
                Assert.Equal(round, await leader.Bounded());
            }
            catch (TaskCanceledException ex)
            {
                Assert.Equal(cts.Token, ex.CancellationToken);
            }

            Assert.Equal(0, coalescer.Count);
        }
    }

    [Fact]
    public async Task CompletedExecutions_AreNotRetained_AcrossAHundredThousandDistinctKeys()
    {
        var coalescer = new KeyedCoalescer<int>();
        var calls = new Task<int>[1_000];
        for (var batch = 0; batch < 100; batch++)
        {
            var gate = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            for (var i = 0; i < calls.Length; i++)
            {
                calls[i] = coalescer.RunAsync($"key-{batch}-{i}", gate, static (g, _) => new ValueTask<int>(g.Task)).AsTask();
            }

            Assert.Equal(calls.Length, coalescer.Count);
            gate.SetResult(batch);
            await Task.WhenAll(calls).Bounded();
            Assert.Equal(0, coalescer.Count);
        }
    }

    [Fact]
    public async Task CompletedAndAbandonedExecutions_LeaveNothingReachable()
    {
        var coalescer = new KeyedCoalescer<object>();

        var completed = await RunToCompletionAsync(coalescer);
        var abandoned = await AbandonAsync(coalescer);

        // The abandoned factory's continuation may still be queued: collect until both are gone (bounded).
        await TestWait.UntilAsync(() => Collected(completed), "the result of a completed execution is unreachable");
        await TestWait.UntilAsync(() => Collected(abandoned), "the outcome of an abandoned execution is unreachable");
        Assert.Equal(0, coalescer.Count);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<WeakReference> RunToCompletionAsync(KeyedCoalescer<object> coalescer)
    {
        var outcome = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var cts = new CancellationTokenSource();
        var leader = coalescer.RunAsync("completed", outcome, static (o, _) => new ValueTask<object>(o.Task), cts.Token);
        var joiner = coalescer.RunAsync("completed", outcome, static (o, _) => new ValueTask<object>(o.Task));
        var result = new object();
        outcome.SetResult(result);
        Assert.Same(result, await leader.AsTask().Bounded());
        Assert.Same(result, await joiner.AsTask().Bounded());
        return new WeakReference(result);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<WeakReference> AbandonAsync(KeyedCoalescer<object> coalescer)
    {
        var outcome = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var cts = new CancellationTokenSource();
        var caller = coalescer.RunAsync("abandoned", outcome, static (o, _) => new ValueTask<object>(o.Task), cts.Token).AsTask();
        cts.Cancel();
        await Assert.ThrowsAsync<TaskCanceledException>(() => caller).Bounded();
        var late = new object();
        outcome.SetResult(late); // the abandoned factory finishes after everyone left: its outcome is dropped
        return new WeakReference(late);
    }

    private static bool Collected(WeakReference reference)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return !reference.IsAlive;
    }
}
