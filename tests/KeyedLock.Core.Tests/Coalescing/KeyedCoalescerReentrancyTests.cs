namespace KeyedLock.Tests.Coalescing;

public sealed class KeyedCoalescerReentrancyTests
{
    [Fact]
    public async Task FactoryWaitsForItsOwnKeyWithItsToken_EveryCallerCancels_TheExecutionIsAbandoned()
    {
        var coalescer = new KeyedCoalescer<string>();
        var entered = new TaskCompletionSource<CancellationToken>(TaskCreationOptions.RunContinuationsAsynchronously);
        var innerEnded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var caller = new CancellationTokenSource();

        var call = coalescer.RunAsync("k", async ct =>
        {
            entered.SetResult(ct);
            try
            {
                // A mistake the docs warn about (not re-entrant), made through a helper that also coalesces "k".
                return await coalescer.RunAsync("k", _ => new ValueTask<string>("inner"), ct);
            }
            finally
            {
                innerEnded.SetResult();
            }
        }, caller.Token).AsTask();
        var factoryToken = await entered.Task.Bounded();

        caller.Cancel();

        await Assert.ThrowsAsync<TaskCanceledException>(() => call).Bounded();
        await innerEnded.Task.Bounded();
        Assert.True(factoryToken.IsCancellationRequested);
        Assert.Equal(0, coalescer.Count);
    }

    [Fact]
    public async Task UnawaitedWaitWithTheFactorysToken_GetsTheResultWhenTheExecutionCompletes()
    {
        var coalescer = new KeyedCoalescer<string>();
        var release = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<string>? child = null;
        using var caller = new CancellationTokenSource();

        var call = coalescer.RunAsync("k", ct =>
        {
            child = coalescer.RunAsync("k", _ => new ValueTask<string>("never"), ct).AsTask();
            return new ValueTask<string>(release.Task);
        }, caller.Token).AsTask();
        release.SetResult("v");

        Assert.Equal("v", await call.Bounded());
        Assert.Equal("v", await child!.Bounded());
        Assert.Equal(0, coalescer.Count);
    }
}
