namespace KeyedLock.Tests;

/// <summary>
/// The provider-neutral helpers (<see cref="KeyedLockMultiKey"/>, <c>RunAsync</c>, the lease owner's defaults) with a
/// provider whose locks can be lost, as a distributed provider's can: a registry underneath, plus a lost token per
/// grant that the test fires.
/// </summary>
public sealed class LosableProviderTests
{
    [Fact]
    public async Task MultiKeyLease_LostTokenFiresWhenAnyKeyIsLost_AndIsCreatedOnce()
    {
        using var provider = new LosableProvider();
        await using var lease = await provider.AcquireAsync(["b", "a"], TimeSpan.FromSeconds(30)).Bounded();
        var lost = lease.LostToken;
        Assert.True(lost.CanBeCanceled);
        Assert.Equal(lost, lease.LostToken); // the same linked token every time
        Assert.True(lease.IsHeld);

        provider.Lose("b");
        Assert.True(lost.IsCancellationRequested);
        Assert.False(lease.IsHeld); // one key lost: the multi-key lease is no longer held
    }

    [Fact]
    public async Task MultiKeyLease_FencingTokenIsTheLargestOfItsKeys()
    {
        using var provider = new LosableProvider();
        var first = await provider.AcquireAsync("z").Bounded();
        first.Dispose();
        await using var lease = await provider.AcquireAsync(["z", "y"], TimeSpan.FromSeconds(30)).Bounded();
        Assert.Equal(provider.LastToken, lease.FencingToken);
    }

    [Fact]
    public async Task RunAsync_BodyTokenFiresWhenTheLockIsLost_OrTheCallerCancels()
    {
        using var provider = new LosableProvider();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = provider.RunAsync("k", async ct =>
        {
            entered.SetResult();
            await Task.Delay(Timeout.Infinite, ct);
        });
        await entered.Task.Bounded();
        provider.Lose("k");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run).Bounded();

        using var cts = new CancellationTokenSource();
        var entered2 = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var run2 = provider.RunAsync("k2", async ct =>
        {
            entered2.SetResult();
            await Task.Delay(Timeout.Infinite, ct);
        }, cancellationToken: cts.Token);
        await entered2.Task.Bounded();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run2).Bounded();
        Assert.Equal(0, provider.Registry.Count);
    }

    [Fact]
    public async Task MultiKey_TimeoutReportsTheCallersTotalTimeout_AndReleasesWhatItTook()
    {
        var time = new ManualTimeProvider();
        using var registry = new KeyedLockRegistry(null, time);
        var b = await registry.HoldAsync("b");
        var multi = KeyedLockMultiKey.AcquireAllAsync(registry, ["a", "b"], TimeSpan.FromSeconds(10), time, default).AsTask();
        await TestWait.UntilAsync(() => registry.QueueLength("b") == 1, "the request holds 'a' and waits on 'b'");
        time.Advance(TimeSpan.FromSeconds(10));
        var ex = await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => multi).Bounded();
        Assert.Equal(TimeSpan.FromSeconds(10), ex.Timeout);
        Assert.Equal("b", ex.Key);
        Assert.Equal(1, registry.Count);
        b.Dispose();
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task MultiKey_TimeSpentOnEarlierKeys_CountsAgainstTheTotal()
    {
        var time = new ManualTimeProvider();
        using var registry = new KeyedLockRegistry(null, time);
        var a = await registry.HoldAsync("a");
        var b = await registry.HoldAsync("b");
        var multi = KeyedLockMultiKey.AcquireAllAsync(registry, ["a", "b"], TimeSpan.FromSeconds(10), time, default).AsTask();
        Assert.Equal(1, registry.QueueLength("a"));
        time.Advance(TimeSpan.FromSeconds(7));
        a.Dispose();                             // 'a' granted after 7 s; 'b' gets the remaining 3 s
        await TestWait.UntilAsync(() => registry.QueueLength("b") == 1, "the request holds 'a' and waits on 'b'");
        time.Advance(TimeSpan.FromSeconds(3));
        var ex = await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => multi).Bounded();
        Assert.Equal(TimeSpan.FromSeconds(10), ex.Timeout);
        b.Dispose();
        Assert.Equal(0, registry.Count);

        // More than the total already spent on the first key: the next key gets zero, not a negative timeout.
        var c = await registry.HoldAsync("c");
        var late = KeyedLockMultiKey.AcquireAllAsync(registry, ["b", "c"], TimeSpan.FromSeconds(1), new JumpingTimeProvider(time), default).AsTask();
        var timedOut = await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => late).Bounded();
        Assert.Equal(TimeSpan.FromSeconds(1), timedOut.Timeout);
        c.Dispose();
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public void LeaseOwnerDefaults_ReleaseAsyncFencingLostAndAbort()
    {
        var owner = new MinimalOwner();
        var lease = new KeyedLockLease(owner, "k", 42);
        Assert.Equal(42, lease.FencingToken);
        Assert.False(lease.LostToken.CanBeCanceled);
        Assert.True(lease.IsHeld);
        Assert.True(lease.DisposeAsync().IsCompletedSuccessfully);
        Assert.Equal(1, owner.Released);
        Assert.False(lease.IsHeld);
        Assert.Equal(0, lease.AbortWaiters(new InvalidOperationException()));
    }

    /// <summary>Each read of the clock is 5 s later than the one before.</summary>
    private sealed class JumpingTimeProvider(TimeProvider inner) : TimeProvider
    {
        private long _reads;

        public override long TimestampFrequency => inner.TimestampFrequency;

        public override long GetTimestamp() => inner.GetTimestamp() + (Interlocked.Increment(ref _reads) * 5 * inner.TimestampFrequency);
    }

    private sealed class MinimalOwner : KeyedLockLeaseOwner
    {
        public int Released { get; private set; }

        protected internal override void Release(string key, long id) => Released++;

        protected internal override bool IsHeld(string key, long id) => Released == 0;
    }

    /// <summary>A registry whose grants can be "lost" by the test, like a distributed lock whose connection died.</summary>
    internal sealed class LosableProvider : RegistryBackedProvider
    {
        private readonly Dictionary<string, Owner> _owners = new(StringComparer.Ordinal);

        public long LastToken { get; private set; }

        public void Lose(string key)
        {
            lock (_owners)
            {
                _owners[key].Lost.Cancel();
            }
        }

        protected override KeyedLockLeaseOwner Wrap(string key, KeyedLockLease inner)
        {
            var owner = new Owner(inner);
            lock (_owners)
            {
                _owners[key] = owner;
                LastToken = inner.FencingToken;
            }

            return owner;
        }

        private sealed class Owner(KeyedLockLease inner) : KeyedLockLeaseOwner
        {
            public CancellationTokenSource Lost { get; } = new();

            protected internal override void Release(string key, long id) => inner.Dispose();

            protected internal override bool IsHeld(string key, long id) => inner.IsHeld && !Lost.IsCancellationRequested;

            protected internal override long GetFencingToken(string key, long id) => inner.FencingToken;

            protected internal override CancellationToken GetLostToken(string key, long id) => Lost.Token;
        }
    }
}
