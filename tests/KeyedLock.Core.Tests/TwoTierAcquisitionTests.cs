using System.Diagnostics.Metrics;
using System.Threading.Channels;
using KeyedLock.Internal;

namespace KeyedLock.Tests;

/// <summary>
/// The acquisition both distributed providers share around their server tier, here with a scripted server tier: each
/// call waits until the test answers it (a lease, null for "timed out", an exception) or until its token fires.
/// </summary>
public sealed class TwoTierAcquisitionTests : IDisposable
{
    private readonly FakeServer _server = new();
    private readonly CancellationTokenSource _disposing = new();
    private readonly TestMeterFactory _meters = new();
    private readonly MeterRecorder _recorder;
    private readonly RegistryMetrics _metrics;
    private bool _disposed;

    public TwoTierAcquisitionTests()
    {
        _recorder = new MeterRecorder(KeyedLockMetrics.MeterName, _meters);
        _metrics = new RegistryMetrics(_meters, () => 0);
    }

    public void Dispose()
    {
        _metrics.Dispose();
        _recorder.Dispose();
        _meters.Dispose();
        _disposing.Dispose();
    }

    [Fact]
    public async Task AGrant_IsTheServerTiersLease_AndTheLocalTierMovesOnWhenTheServerAnswers()
    {
        var acquisition = Create();

        var first = acquisition.AcquireAsync("k", Timeout.InfiniteTimeSpan, default);
        var call = await _server.NextAsync();
        Assert.Equal("k", call.Key);
        Assert.Equal(1, acquisition.WaitingKeys);
        var lease = call.Grant();
        var granted = await first.Bounded();

        Assert.Equal(lease.ToLease(), granted);
        Assert.Equal(0, acquisition.WaitingKeys); // the lease is held, but nobody waits in this instance

        // The next request for the key goes straight to the server tier, which decides (it holds the key).
        var second = acquisition.TryAcquireAsync("k", TimeSpan.FromSeconds(5), default);
        var secondCall = await _server.NextAsync();
        Assert.Equal(TimeSpan.FromSeconds(5), secondCall.Timeout);
        secondCall.TimeOut();
        Assert.Equal(KeyedLockFailureReason.TimedOut, (await second.Bounded()).FailureReason);
        Assert.Equal(1, Count(RegistryMetrics.Acquired));
        Assert.Equal(1, Count(RegistryMetrics.TimedOut));
    }

    [Fact]
    public async Task ATryAcquisitionGrantedByTheServer_SucceedsWithTheServerTiersLease()
    {
        var acquisition = Create();

        var attempt = acquisition.TryAcquireAsync("k", TimeSpan.FromSeconds(5), default);
        var lease = (await _server.NextAsync()).Grant();
        var result = await attempt.Bounded();

        Assert.True(result.Succeeded);
        Assert.Equal(KeyedLockFailureReason.None, result.FailureReason);
        Assert.Equal(lease.ToLease(), result.Lease);
        Assert.Equal(1, Count(RegistryMetrics.Acquired));
    }

    [Fact]
    public async Task AWaitInTheFirstTier_TimesOut_AsTimedOut_WithoutReachingTheServer()
    {
        var time = new ManualTimeProvider();
        var acquisition = Create(time: time);
        var first = acquisition.AcquireAsync("k", Timeout.InfiniteTimeSpan, default);
        var call = await _server.NextAsync();

        var waiting = acquisition.TryAcquireAsync("k", TimeSpan.FromSeconds(1), default); // queued in this instance
        time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(KeyedLockFailureReason.TimedOut, (await waiting.Bounded()).FailureReason);
        Assert.Equal(1, Count(RegistryMetrics.TimedOut));
        Assert.Equal(0, Count(RegistryMetrics.QueueFull));
        Assert.False(_server.TryNext(out _));
        call.Grant();
        await first.Bounded();
    }

    [Fact]
    public async Task RequestsForOneKey_ReachTheServerOneAtATime_InArrivalOrder_WhileOtherKeysGoStraightThere()
    {
        var acquisition = Create();

        var a1 = acquisition.AcquireAsync("k", Timeout.InfiniteTimeSpan, default);
        var call1 = await _server.NextAsync();
        var a2 = acquisition.AcquireAsync("k", Timeout.InfiniteTimeSpan, default);
        var a3 = acquisition.AcquireAsync("k", Timeout.InfiniteTimeSpan, default);
        var other = acquisition.AcquireAsync("other", Timeout.InfiniteTimeSpan, default);

        // Only "other" reached the server: the two later "k" requests wait in the first tier.
        Assert.Equal("other", (await _server.NextAsync()).Key);
        Assert.False(_server.TryNext(out _));

        call1.Grant();
        await a1.Bounded();
        var call2 = await _server.NextAsync();
        Assert.False(_server.TryNext(out _));
        call2.Grant();
        await a2.Bounded();
        (await _server.NextAsync()).Grant();
        await a3.Bounded();
        Assert.False(other.IsCompleted);
    }

    [Fact]
    public async Task ServerTimeout_IsKeyedLockTimeoutException_ForAcquire_AndTimedOut_ForTry()
    {
        var acquisition = Create();

        var acquire = acquisition.AcquireAsync("k", TimeSpan.FromSeconds(1), default);
        (await _server.NextAsync()).TimeOut();
        var timeout = await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => acquire.AsTask()).Bounded();
        Assert.Equal("k", timeout.Key);
        Assert.Equal(TimeSpan.FromSeconds(1), timeout.Timeout);

        var attempt = acquisition.TryAcquireAsync("k", TimeSpan.FromSeconds(1), default);
        (await _server.NextAsync()).TimeOut();
        var result = await attempt.Bounded();
        Assert.False(result.Succeeded);
        Assert.Equal(KeyedLockFailureReason.TimedOut, result.FailureReason);
        Assert.Equal(2, Count(RegistryMetrics.TimedOut));
    }

    [Fact]
    public async Task AFullLocalQueue_IsQueueFull_WithTheLimitInTheException()
    {
        var acquisition = Create(queueLimit: 1);

        var first = acquisition.AcquireAsync("k", Timeout.InfiniteTimeSpan, default);
        var call = await _server.NextAsync();
        var queued = acquisition.AcquireAsync("k", Timeout.InfiniteTimeSpan, default);

        var full = await Assert.ThrowsAsync<KeyedLockQueueFullException>(() => acquisition.AcquireAsync("k", Timeout.InfiniteTimeSpan, default).AsTask()).Bounded();
        Assert.Equal(1, full.QueueLimit);
        Assert.Equal(KeyedLockFailureReason.QueueFull, (await acquisition.TryAcquireAsync("k", Timeout.InfiniteTimeSpan, default).Bounded()).FailureReason);
        Assert.Equal(2, Count(RegistryMetrics.QueueFull));

        call.Grant();
        await first.Bounded();
        (await _server.NextAsync()).Grant();
        await queued.Bounded();
    }

    [Fact]
    public async Task ATokenCancelledBeforeTheCall_IsTaskCanceledException_AndNothingReachesTheServer()
    {
        var acquisition = Create();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        var canceled = await Assert.ThrowsAsync<TaskCanceledException>(() => acquisition.AcquireAsync("k", Timeout.InfiniteTimeSpan, cts.Token).AsTask()).Bounded();

        Assert.Equal(cts.Token, canceled.CancellationToken);
        Assert.False(_server.TryNext(out _));
        Assert.Equal(1, Count(RegistryMetrics.Canceled));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ATokenCancelledWhileWaiting_IsTaskCanceledException_WithTheCallersToken(bool atTheServer)
    {
        var acquisition = Create();
        using var cts = new CancellationTokenSource();
        var holder = atTheServer ? null : acquisition.AcquireAsync("k", Timeout.InfiniteTimeSpan, default).AsTask();
        var holderCall = atTheServer ? null : await _server.NextAsync();

        var waiting = acquisition.AcquireAsync("k", Timeout.InfiniteTimeSpan, cts.Token);
        var call = atTheServer ? await _server.NextAsync() : null;
        await cts.CancelAsync();

        var canceled = await Assert.ThrowsAsync<TaskCanceledException>(() => waiting.AsTask()).Bounded();
        Assert.Equal(cts.Token, canceled.CancellationToken);
        Assert.True(call is null || call.Token.IsCancellationRequested); // the server tier saw the linked token
        Assert.Equal(1, Count(RegistryMetrics.Canceled));
        if (holderCall is not null)
        {
            holderCall.Grant();
            await holder!.Bounded();
            Assert.False(_server.TryNext(out _)); // the cancelled request left the local queue: it never reaches the server
        }
    }

    [Fact]
    public async Task DisposingTheProvider_FailsWaitingAcquisitions_AndLaterOnesAtOnce_WithObjectDisposedException()
    {
        var acquisition = Create();
        var waiting = acquisition.AcquireAsync("k", Timeout.InfiniteTimeSpan, default);
        await _server.NextAsync();

        _disposed = true;
        await _disposing.CancelAsync();

        var disposed = await Assert.ThrowsAsync<ObjectDisposedException>(() => waiting.AsTask()).Bounded();
        Assert.Equal(nameof(TwoTierAcquisitionTests), disposed.ObjectName);
        Assert.Contains("disposed", disposed.Message, StringComparison.Ordinal);
        Assert.Throws<ObjectDisposedException>(() => acquisition.AcquireAsync("k", Timeout.InfiniteTimeSpan, default));
    }

    [Fact]
    public async Task ADisposalWaitsForTheServerTier_AndAGrantThatArrivesDuringIt_IsReleased_NotHandedOut()
    {
        var acquisition = Create();
        _server.IgnoreCancellation = true; // a command already sent: the server answers it whatever the client does
        var waiting = acquisition.AcquireAsync("k", Timeout.InfiniteTimeSpan, default);
        var call = await _server.NextAsync();

        await _disposing.CancelAsync();
        var drained = acquisition.InFlight.DrainAsync(TimeSpan.FromSeconds(30), TimeProvider.System);
        Assert.False(drained.IsCompleted, "the server tier is still on its way");
        Assert.False(waiting.IsCompleted);

        var lease = call.Grant();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => waiting.AsTask()).Bounded();
        Assert.True(await drained.Bounded());
        Assert.False(lease.ToLease().IsHeld, "the grant was released, not handed to the caller");
        Assert.Equal(0, acquisition.WaitingKeys);
    }

    [Fact]
    public async Task OnceTheDisposalBegan_NothingMoreReachesTheServer()
    {
        var acquisition = Create();
        await _disposing.CancelAsync(); // the provider's disposal has begun, its disposed flag is not set yet

        await Assert.ThrowsAsync<ObjectDisposedException>(() => acquisition.AcquireAsync("k", Timeout.InfiniteTimeSpan, default).AsTask()).Bounded();
        Assert.False(_server.TryNext(out _));
        Assert.True(await acquisition.InFlight.DrainAsync(TimeSpan.FromSeconds(30), TimeProvider.System).Bounded());
        Assert.False(acquisition.InFlight.TryEnter());
    }

    [Fact]
    public async Task ADrain_EndsWhenTheLastWorkEnds_OrReturnsFalseAtItsTimeout()
    {
        var time = new ManualTimeProvider();
        var work = new InFlightWork(_disposing.Token);
        Assert.True(work.TryEnter());
        work.Enter(); // work that undoes other work runs during a disposal too
        await _disposing.CancelAsync();
        work.Exit();
        Assert.False(work.TryEnter(), "nothing new starts once the disposal began (and nothing is counted for it)");

        var late = work.DrainAsync(TimeSpan.FromSeconds(1), time);
        Assert.False(late.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(await late.Bounded(), "timed out with work still on its way");

        var drained = work.DrainAsync(TimeSpan.FromSeconds(1), time);
        Assert.False(drained.IsCompleted);
        work.Exit();
        Assert.True(await drained.Bounded());
    }

    [Fact]
    public async Task AnUnavailableServer_PropagatesItsException_AndCountsAsUnavailable()
    {
        var acquisition = Create();
        var acquire = acquisition.AcquireAsync("k", Timeout.InfiniteTimeSpan, default);

        (await _server.NextAsync()).Fail(new KeyedLockUnavailableException("k", "down", null));

        await Assert.ThrowsAsync<KeyedLockUnavailableException>(() => acquire.AsTask()).Bounded();
        Assert.Equal(1, Count(RegistryMetrics.Unavailable));
        Assert.Single(_recorder.Of(KeyedLockMetrics.WaitDuration), m => m.Tag(KeyedLockMetrics.ResultTag) == RegistryMetrics.Unavailable);

        // The local tier moved on: the next request reaches the server.
        var next = acquisition.AcquireAsync("k", Timeout.InfiniteTimeSpan, default);
        (await _server.NextAsync()).Grant();
        await next.Bounded();
    }

    [Fact]
    public async Task WithDetection_TheHoldingFlowIsRefused_AndAnotherFlowIsNot()
    {
        var acquisition = Create(detectReentrancy: true);
        var first = acquisition.AcquireAsync("k", Timeout.InfiniteTimeSpan, default);
        (await _server.NextAsync()).Grant();
        // Awaited directly (not through .AsTask(), which the diagnostic cannot see), once it has completed: bounded.
        await TestWait.UntilAsync(() => first.IsCompleted, "the first acquisition is granted");
        var lease = await first;

        Assert.Throws<KeyedLockRecursionException>(() => acquisition.AcquireAsync("k", Timeout.InfiniteTimeSpan, default));
        Task<KeyedLockAttempt> other;
        using (ExecutionContext.SuppressFlow())
        {
            // A request of its own: a task the holder starts would inherit the holder's flow (the diagnostic's limit).
            other = Task.Run(() => acquisition.TryAcquireAsync("k", TimeSpan.Zero, default).AsTask());
        }

        (await _server.NextAsync()).TimeOut();
        Assert.Equal(KeyedLockFailureReason.TimedOut, (await other.Bounded()).FailureReason);

        lease.Dispose();
        var again = acquisition.AcquireAsync("k", Timeout.InfiniteTimeSpan, default);
        (await _server.NextAsync()).Grant();
        await again.Bounded();
    }

    [Fact]
    public async Task WithoutDetection_TheHoldingFlowAsksTheServerAgain()
    {
        var acquisition = Create();
        var first = acquisition.AcquireAsync("k", Timeout.InfiniteTimeSpan, default);
        (await _server.NextAsync()).Grant();
        await first.Bounded();

        var probe = acquisition.TryAcquireAsync("k", TimeSpan.Zero, default);
        (await _server.NextAsync()).TimeOut();

        Assert.Equal(KeyedLockFailureReason.TimedOut, (await probe.Bounded()).FailureReason);
    }

    [Fact]
    public void TheFirstTier_PublishesNoInstruments_SoAListenerByMeterNameCountsEachAcquisitionOnce()
    {
        // What OpenTelemetry's AddMeter("KeyedLock") does: listen to every meter of that name, whatever its scope. The
        // first tier is created on this thread (other tests run in parallel on other threads).
        var thread = Environment.CurrentManagedThreadId;
        var published = new List<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, _) =>
        {
            if (instrument.Meter.Name == KeyedLockMetrics.MeterName && Environment.CurrentManagedThreadId == thread)
            {
                published.Add(instrument.Name);
            }
        };
        listener.Start(); // publishes the instruments that exist already (other tests' too): only what Create adds counts
        published.Clear();

        var acquisition = Create();

        Assert.Empty(published);
        Assert.Null(acquisition.FirstTier.Metrics.Meter);
    }

    [Fact]
    public void BadArguments_AreRefusedBeforeAnythingElse()
    {
        var acquisition = Create();

        Assert.Throws<ArgumentNullException>(() => acquisition.AcquireAsync(null!, Timeout.InfiniteTimeSpan, default));
        Assert.Throws<ArgumentException>(() => acquisition.AcquireAsync(string.Empty, Timeout.InfiniteTimeSpan, default));
        Assert.Throws<ArgumentOutOfRangeException>(() => acquisition.TryAcquireAsync("k", TimeSpan.FromSeconds(-2), default));
        Assert.False(_server.TryNext(out _));
    }

    private TwoTierAcquisition<ServerLease> Create(int queueLimit = 100, bool detectReentrancy = false, TimeProvider? time = null)
        => new(this, () => _disposed, _disposing.Token, _server.Tier, detectReentrancy, queueLimit, time ?? TimeProvider.System, _metrics);

    private double Count(string result) => _recorder.Sum(KeyedLockMetrics.Acquisitions, KeyedLockMetrics.ResultTag, result);

    /// <summary>A server tier whose calls the test answers.</summary>
    private sealed class FakeServer
    {
        private readonly Channel<Call> _calls = Channel.CreateUnbounded<Call>();
        private long _lastId;

        /// <summary>Whether a call goes on after its token fired (a command already on its way to the server).</summary>
        internal bool IgnoreCancellation { get; set; }

        internal Task<ServerLease?> Tier(string key, TimeSpan timeout, long started, CancellationToken token)
        {
            var call = new Call(key, timeout, token, Interlocked.Increment(ref _lastId));
            if (!IgnoreCancellation)
            {
                token.Register(() => call.Reply.TrySetCanceled(token));
            }

            _calls.Writer.TryWrite(call);
            return call.Reply.Task;
        }

        internal Task<Call> NextAsync() => _calls.Reader.ReadAsync().AsTask().Bounded();

        internal bool TryNext(out Call? call) => _calls.Reader.TryRead(out call);
    }

    private sealed class Call(string key, TimeSpan timeout, CancellationToken token, long id)
    {
        internal string Key { get; } = key;

        internal TimeSpan Timeout { get; } = timeout;

        internal CancellationToken Token { get; } = token;

        internal TaskCompletionSource<ServerLease?> Reply { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        internal ServerLease Grant()
        {
            var lease = new ServerLease(Key, id);
            Reply.SetResult(lease);
            return lease;
        }

        internal void TimeOut() => Reply.SetResult(null);

        internal void Fail(Exception error) => Reply.SetException(error);
    }

    private sealed class ServerLease(string key, long id) : KeyedLockLeaseOwner, IDistributedLeaseOwner
    {
        private int _released;

        public KeyedLockLease ToLease() => new(this, key, id);

        protected internal override void Release(string leaseKey, long leaseId) => Interlocked.Exchange(ref _released, 1);

        protected internal override bool IsHeld(string leaseKey, long leaseId) => Volatile.Read(ref _released) == 0;
    }
}
