namespace KeyedLock.Tests;

public sealed class RunAsyncTests
{
    [Fact]
    public async Task AsyncLambdaWithResult_BindsToTheAsyncOverload_AndHoldsTheKeyUntilTheWorkCompletes()
    {
        using var registry = new KeyedLockRegistry();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // If this bound to RunAsync<T>(Func<CancellationToken, T>), T would be Task<int> and the key would be
        // released when the lambda returns its task, not when the work completes.
        Task<int> run = registry.RunAsync("k", async ct =>
        {
            entered.SetResult();
            await gate.Task;
            return 42;
        });

        await entered.Task.Bounded();
        // Deterministic: the body is parked on the gate, which nothing has opened; a binding to the synchronous
        // overload would have completed the run (and released the key) before the body's first await returned.
        Assert.False(run.IsCompleted, "the run completes only after its async work");
        Assert.Equal(1, registry.Count);
        Assert.False((await registry.TryAcquireAsync("k", TimeSpan.Zero).Bounded()).Succeeded, "the key is held while the async work runs");

        gate.SetResult();
        Assert.Equal(42, await run.Bounded());
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task AsyncLambdaWithoutResult_BindsToTheAsyncOverload_AndHoldsTheKeyUntilTheWorkCompletes()
    {
        using var registry = new KeyedLockRegistry();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = registry.RunAsync("k", async ct =>
        {
            entered.SetResult();
            await gate.Task;
        });

        await entered.Task.Bounded();
        Assert.False((await registry.TryAcquireAsync("k", TimeSpan.Zero).Bounded()).Succeeded, "the key is held while the async work runs");
        Assert.IsNotType<Task<Task>>(run);
        gate.SetResult();
        await run.Bounded();
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task EveryOverload_RunsUnderTheKey_AndReleasesIt()
    {
        using var registry = new KeyedLockRegistry();
        var ran = new List<string>();

        void AssertHeld(string overload)
        {
            Assert.False(registry.IsFreeForOthersAsync("k").Result, overload);
            ran.Add(overload);
        }

        await registry.RunAsync("k", ct => { AssertHeld("Func<CT, ValueTask>"); return ValueTask.CompletedTask; }).Bounded();
        await registry.RunAsync("k", ct => { AssertHeld("Func<CT, Task>"); return Task.CompletedTask; }).Bounded();
        Assert.Equal(1, await registry.RunAsync("k", ct => { AssertHeld("Func<CT, ValueTask<T>>"); return new ValueTask<int>(1); }).Bounded());
        Assert.Equal(2, await registry.RunAsync("k", ct => { AssertHeld("Func<CT, Task<T>>"); return Task.FromResult(2); }).Bounded());
        await registry.RunAsync("k", (Action<CancellationToken>)(ct => AssertHeld("Action<CT>"))).Bounded();
        Assert.Equal(3, await registry.RunAsync("k", (Func<CancellationToken, int>)(ct => { AssertHeld("Func<CT, T>"); return 3; })).Bounded());

        Assert.Equal(6, ran.Count);
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task TheDelegateReceivesTheCallersToken()
    {
        using var registry = new KeyedLockRegistry();
        using var cts = new CancellationTokenSource();
        CancellationToken seen = default;
        await registry.RunAsync("k", ct => { seen = ct; }, cancellationToken: cts.Token).Bounded();
        Assert.Equal(cts.Token, seen);
    }

    [Fact]
    public async Task RunsQueueInArrivalOrder()
    {
        using var registry = new KeyedLockRegistry();
        var order = new List<int>();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = registry.RunAsync("k", async ct => { await gate.Task; order.Add(0); });
        var rest = Enumerable.Range(1, 5).Select(i => registry.RunAsync("k", ct => { order.Add(i); })).ToArray();
        gate.SetResult();
        await Task.WhenAll(rest.Prepend(first)).Bounded();
        Assert.Equal([0, 1, 2, 3, 4, 5], order);
    }

    [Fact]
    public async Task Timeout_AndCancellationOfTheWait_SurfaceAsExceptions_WithoutRunning()
    {
        var time = new ManualTimeProvider();
        using var registry = new KeyedLockRegistry(null, time);
        using var cts = new CancellationTokenSource();
        var holder = await registry.HoldAsync("k");
        var ran = false;
        var timedOut = registry.RunAsync("k", _ => { ran = true; }, timeout: TimeSpan.FromSeconds(1));
        var canceled = registry.RunAsync("k", _ => { ran = true; }, cancellationToken: cts.Token);
        time.Advance(TimeSpan.FromSeconds(1));
        await cts.CancelAsync();
        await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => timedOut).Bounded();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => canceled).Bounded();
        Assert.False(ran);
        holder.Dispose();
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task ContinueStrategy_FailureReachesOnlyItsCaller_AndQueuedWaitersRun()
    {
        using var registry = new KeyedLockRegistry();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var boom = new InvalidOperationException("boom");
        var failing = registry.RunAsync("k", async ct => { await gate.Task; throw boom; });
        var queued = registry.RunAsync("k", ct => 7);
        gate.SetResult();
        Assert.Same(boom, await Assert.ThrowsAsync<InvalidOperationException>(() => failing).Bounded());
        Assert.Equal(7, await queued.Bounded());
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task StopStrategy_AbortsTheWaitersQueuedAtTheFailure_WithTheOriginalAsInner_LaterArrivalsRun()
    {
        using var registry = new KeyedLockRegistry();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var boom = new InvalidOperationException("boom");
        var ranQueued = false;
        var failing = registry.RunAsync("k", async ct => { await gate.Task; throw boom; }, KeyedLockErrorStrategy.Stop);
        var queuedRun = registry.RunAsync("k", ct => { ranQueued = true; });
        var queuedAcquire = registry.AcquireAsync("k").AsTask();
        var queuedAttempt = registry.TryAcquireAsync("k", TimeSpan.FromMinutes(1)).AsTask();

        gate.SetResult();
        Assert.Same(boom, await Assert.ThrowsAsync<InvalidOperationException>(() => failing).Bounded());
        foreach (var task in new Task[] { queuedRun, queuedAcquire, queuedAttempt })
        {
            var aborted = await Assert.ThrowsAsync<KeyedLockAbortedException>(() => task).Bounded();
            Assert.Same(boom, aborted.InnerException);
            Assert.Equal("k", aborted.Key);
        }

        Assert.False(ranQueued);
        Assert.Equal(0, registry.Count);

        // Later arrivals run normally, and a success with Stop aborts nobody.
        Assert.Equal(5, await registry.RunAsync("k", ct => 5, KeyedLockErrorStrategy.Stop).Bounded());
        var gate2 = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ok = registry.RunAsync("k", async ct => { await gate2.Task; }, KeyedLockErrorStrategy.Stop);
        var after = registry.RunAsync("k", ct => 6);
        gate2.SetResult();
        await ok.Bounded();
        Assert.Equal(6, await after.Bounded());
    }

    [Fact]
    public async Task StopStrategy_AbortsOnlyTheFailingKeysQueue()
    {
        using var registry = new KeyedLockRegistry();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var otherHolder = await registry.HoldAsync("other");
        var failing = registry.RunAsync("k", async ct => { await gate.Task; throw new InvalidOperationException(); }, KeyedLockErrorStrategy.Stop);
        var otherWaiter = registry.AcquireAsync("other").AsTask();
        gate.SetResult();
        await Assert.ThrowsAsync<InvalidOperationException>(() => failing).Bounded();
        Assert.False(otherWaiter.IsCompleted);
        otherHolder.Dispose();
        (await otherWaiter.Bounded()).Dispose();
    }

    [Fact]
    public async Task NullArguments_Throw()
    {
        using var registry = new KeyedLockRegistry();
        await Assert.ThrowsAsync<ArgumentNullException>(() => registry.RunAsync("k", (Func<CancellationToken, Task>)null!)).Bounded();
        await Assert.ThrowsAsync<ArgumentNullException>(() => ((IKeyedLockProvider)null!).RunAsync("k", _ => { })).Bounded();
        await Assert.ThrowsAsync<ArgumentException>(() => registry.RunAsync(string.Empty, _ => { })).Bounded();
    }
}
