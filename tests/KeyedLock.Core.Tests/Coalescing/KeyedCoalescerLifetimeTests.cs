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
}
