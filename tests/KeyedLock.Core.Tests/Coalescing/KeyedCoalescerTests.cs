namespace KeyedLock.Tests.Coalescing;

public sealed class KeyedCoalescerTests
{
    [Fact]
    public async Task ConcurrentCallers_ShareOneExecution_AndAllGetItsResult()
    {
        var coalescer = new KeyedCoalescer<string>();
        var factory = new GatedFactory<string>();

        var callers = Enumerable.Range(0, 100).Select(_ => coalescer.RunAsync("k", factory.RunAsync).AsTask()).ToArray();

        Assert.Equal(1, factory.Calls);
        Assert.Equal(100, coalescer.CallerCount("k"));
        Assert.Equal(1, coalescer.Count);
        Assert.All(callers, c => Assert.False(c.IsCompleted));

        factory.Complete("value");
        var results = await Task.WhenAll(callers).Bounded();

        Assert.All(results, r => Assert.Equal("value", r));
        Assert.Equal(1, factory.Calls);
        Assert.Equal(0, coalescer.Count);
    }

    [Fact]
    public async Task FactoryThrows_EveryCallerGetsItsException_AndTheKeyIsForgotten()
    {
        var coalescer = new KeyedCoalescer<int>();
        var factory = new GatedFactory<int>();
        var callers = Enumerable.Range(0, 3).Select(_ => coalescer.RunAsync("k", factory.RunAsync).AsTask()).ToArray();

        var failure = new InvalidOperationException("load failed");
        factory.Fail(failure);

        foreach (var caller in callers)
        {
            Assert.Same(failure, await Assert.ThrowsAsync<InvalidOperationException>(() => caller).Bounded());
        }

        Assert.Equal(0, coalescer.Count);
    }

    [Fact]
    public async Task FactoryThrows_CallersWithCancellableTokensGetItsExceptionToo()
    {
        var coalescer = new KeyedCoalescer<int>();
        var factory = new GatedFactory<int>();
        using var cts = new CancellationTokenSource();
        var leader = coalescer.RunAsync("k", factory.RunAsync, cts.Token).AsTask();
        var joiner = coalescer.RunAsync("k", factory.RunAsync, cts.Token).AsTask();

        factory.Fail(new InvalidOperationException("load failed"));

        await Assert.ThrowsAsync<InvalidOperationException>(() => leader).Bounded();
        await Assert.ThrowsAsync<InvalidOperationException>(() => joiner).Bounded();
        Assert.Equal(0, coalescer.Count);
    }

    [Fact]
    public async Task CallersWithoutCancellableTokens_ShareOneTask()
    {
        var coalescer = new KeyedCoalescer<int>();
        var factory = new GatedFactory<int>();

        var first = coalescer.RunAsync("k", factory.RunAsync).AsTask();
        var second = coalescer.RunAsync("k", factory.RunAsync).AsTask();
        var third = coalescer.RunAsync("k", factory.RunAsync).AsTask();

        Assert.Same(first, second);
        Assert.Same(first, third);
        Assert.Equal(3, coalescer.CallerCount("k"));
        factory.Complete(5);
        Assert.Equal(5, await first.Bounded());
    }

    [Fact]
    public async Task FactoryThrowsSynchronously_TheCallerGetsTheException_AndTheKeyIsForgotten()
    {
        var coalescer = new KeyedCoalescer<int>();

        var call = coalescer.RunAsync("k", _ => throw new FormatException("bad"));

        await Assert.ThrowsAsync<FormatException>(() => call.AsTask()).Bounded();
        Assert.Equal(0, coalescer.Count);
        Assert.Equal(7, await coalescer.RunAsync("k", _ => ValueTask.FromResult(7)).Bounded());
    }

    [Fact]
    public async Task SynchronousFactory_CompletesAtOnce_AndKeepsNothing()
    {
        var coalescer = new KeyedCoalescer<int>();

        var call = coalescer.RunAsync("k", 41, static (s, _) => ValueTask.FromResult(s + 1));

        Assert.True(call.IsCompletedSuccessfully);
        Assert.Equal(42, await call);
        Assert.Equal(0, coalescer.Count);
    }

    [Fact]
    public async Task CallerAfterCompletion_StartsANewExecution()
    {
        var coalescer = new KeyedCoalescer<int>();
        var calls = 0;

        Assert.Equal(1, await coalescer.RunAsync("k", _ => ValueTask.FromResult(Interlocked.Increment(ref calls))).Bounded());
        Assert.Equal(2, await coalescer.RunAsync("k", _ => ValueTask.FromResult(Interlocked.Increment(ref calls))).Bounded());
    }

    [Fact]
    public async Task DifferentKeys_RunSeparateExecutionsInParallel()
    {
        var coalescer = new KeyedCoalescer<string>();
        var a = new GatedFactory<string>();
        var b = new GatedFactory<string>();

        var callA = coalescer.RunAsync("a", a.RunAsync).AsTask();
        var callB = coalescer.RunAsync("b", b.RunAsync).AsTask();
        Assert.Equal(2, coalescer.Count);

        b.Complete("B");
        Assert.Equal("B", await callB.Bounded());
        Assert.False(callA.IsCompleted);
        a.Complete("A");
        Assert.Equal("A", await callA.Bounded());
        Assert.Equal(0, coalescer.Count);
    }

    [Fact]
    public async Task KeysDifferingOnlyInCase_AreDifferentKeys()
    {
        var coalescer = new KeyedCoalescer<string>();
        var factory = new GatedFactory<string>();

        var upper = coalescer.RunAsync("K", factory.RunAsync).AsTask();
        var lower = coalescer.RunAsync("k", factory.RunAsync).AsTask();

        Assert.Equal(2, factory.Calls);
        factory.Complete("v");
        await Task.WhenAll(upper, lower).Bounded();
    }

    [Fact]
    public async Task CallerCancels_OnlyItsWaitStops_WithTaskCanceledExceptionCarryingItsToken()
    {
        var coalescer = new KeyedCoalescer<string>();
        var factory = new GatedFactory<string>();
        using var first = new CancellationTokenSource();
        using var second = new CancellationTokenSource();

        var leader = coalescer.RunAsync("k", factory.RunAsync, first.Token).AsTask();
        var joiner = coalescer.RunAsync("k", factory.RunAsync, second.Token).AsTask();
        var uncancellable = coalescer.RunAsync("k", factory.RunAsync).AsTask();

        first.Cancel();
        var canceled = await Assert.ThrowsAsync<TaskCanceledException>(() => leader).Bounded();
        Assert.Equal(first.Token, canceled.CancellationToken);
        Assert.True(leader.IsCanceled);
        Assert.False(factory.Token.IsCancellationRequested);
        Assert.Equal(2, coalescer.CallerCount("k"));

        factory.Complete("value");
        Assert.Equal("value", await joiner.Bounded());
        Assert.Equal("value", await uncancellable.Bounded());
        Assert.Equal(1, factory.Calls);
        Assert.Equal(0, coalescer.Count);
    }

    [Fact]
    public async Task EveryCallerCancels_TheFactoryTokenFires_AndTheNextCallerStartsAfresh()
    {
        var coalescer = new KeyedCoalescer<string>();
        var abandoned = new GatedFactory<string>();
        using var a = new CancellationTokenSource();
        using var b = new CancellationTokenSource();

        var callA = coalescer.RunAsync("k", abandoned.RunAsync, a.Token).AsTask();
        var callB = coalescer.RunAsync("k", abandoned.RunAsync, b.Token).AsTask();

        a.Cancel();
        Assert.False(abandoned.Token.IsCancellationRequested);
        b.Cancel();

        Assert.True(abandoned.Token.IsCancellationRequested);
        Assert.Equal(0, coalescer.Count);
        Assert.Equal(a.Token, (await Assert.ThrowsAsync<TaskCanceledException>(() => callA).Bounded()).CancellationToken);
        Assert.Equal(b.Token, (await Assert.ThrowsAsync<TaskCanceledException>(() => callB).Bounded()).CancellationToken);

        // The abandoned factory is still winding down; a new caller does not join it.
        var fresh = new GatedFactory<string>();
        var next = coalescer.RunAsync("k", fresh.RunAsync).AsTask();
        Assert.Equal(1, fresh.Calls);
        abandoned.Complete("stale");
        fresh.Complete("fresh");
        Assert.Equal("fresh", await next.Bounded());
        Assert.Equal(0, coalescer.Count);
    }

    [Fact]
    public async Task CallerWithoutCancellableToken_KeepsTheExecutionAlive()
    {
        var coalescer = new KeyedCoalescer<string>();
        var factory = new GatedFactory<string>();
        using var leaderToken = new CancellationTokenSource();

        var leader = coalescer.RunAsync("k", factory.RunAsync, leaderToken.Token).AsTask();
        var joiner = coalescer.RunAsync("k", factory.RunAsync).AsTask();
        leaderToken.Cancel();

        await Assert.ThrowsAsync<TaskCanceledException>(() => leader).Bounded();
        Assert.False(factory.Token.IsCancellationRequested);
        factory.Complete("value");
        Assert.Equal("value", await joiner.Bounded());
    }

    [Fact]
    public async Task UncancellableFirstCaller_GivesTheFactoryAnUncancellableToken()
    {
        var coalescer = new KeyedCoalescer<int>();
        var factory = new GatedFactory<int>();

        var call = coalescer.RunAsync("k", factory.RunAsync).AsTask();

        Assert.False(factory.Token.CanBeCanceled);
        factory.Complete(1);
        Assert.Equal(1, await call.Bounded());
    }

    [Fact]
    public async Task AlreadyCanceledToken_ThrowsWithoutStartingOrJoining()
    {
        var coalescer = new KeyedCoalescer<int>();
        var factory = new GatedFactory<int>();
        var running = coalescer.RunAsync("k", factory.RunAsync).AsTask();
        using var canceled = new CancellationTokenSource();
        canceled.Cancel();

        var call = coalescer.RunAsync("k", factory.RunAsync, canceled.Token);
        var other = coalescer.RunAsync("other", factory.RunAsync, canceled.Token);

        Assert.True(call.IsCanceled);
        Assert.Equal(canceled.Token, (await Assert.ThrowsAsync<TaskCanceledException>(() => other.AsTask()).Bounded()).CancellationToken);
        Assert.Equal(1, coalescer.CallerCount("k"));
        Assert.Equal(1, factory.Calls);
        factory.Complete(3);
        Assert.Equal(3, await running.Bounded());
    }

    [Fact]
    public void InvalidArguments_AreRejected()
    {
        var coalescer = new KeyedCoalescer<int>();

        Assert.Throws<ArgumentNullException>("key", () => coalescer.RunAsync(null!, _ => default));
        Assert.Throws<ArgumentException>("key", () => coalescer.RunAsync(string.Empty, _ => default));
        Assert.Throws<ArgumentNullException>("factory", () => coalescer.RunAsync("k", null!));
        Assert.Throws<ArgumentNullException>("factory", () => coalescer.RunAsync<int>("k", 1, null!));
    }

    /// <summary>A factory that counts its calls and completes when the test says so.</summary>
    private sealed class GatedFactory<T>
    {
        private readonly TaskCompletionSource<T> _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public CancellationToken Token { get; private set; }

        public ValueTask<T> RunAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            Token = cancellationToken;
            return new ValueTask<T>(_outcome.Task);
        }

        public void Complete(T value) => _outcome.SetResult(value);

        public void Fail(Exception error) => _outcome.SetException(error);
    }
}
