using System.Collections.Concurrent;
using System.Diagnostics;
using KeyedLock.Internal;

namespace KeyedLock.Tests;

/// <summary>
/// Spans on the <c>KeyedLock</c> activity source: one per acquisition that is not granted at once, tagged with a
/// hash of the key (never the key), the provider, the result and the wait duration. Listeners are process-wide, so
/// every test uses its own keys and looks only at spans with their hashes.
/// </summary>
public sealed class TracingTests : IDisposable
{
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private readonly ActivityListener _listener;
    private readonly string _prefix = Guid.NewGuid().ToString("N");

    public TracingTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == KeyedLockDiagnostics.ActivitySourceName,
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose() => _listener.Dispose();

    private string Key(string name) => $"{_prefix}:{name}";

    private Activity[] SpansOf(string key)
    {
        var hash = KeyedLockTracing.HashKey(key);
        return _stopped.Where(a => (string?)a.GetTagItem(KeyedLockDiagnostics.KeyHashTag) == hash).ToArray();
    }

    [Fact]
    public async Task GrantedAtOnce_StartsNoSpan_AWaitThatIsGranted_EndsAcquired()
    {
        using var registry = new KeyedLockRegistry();
        var key = Key("user-42");
        var holder = await registry.HoldAsync(key);
        Assert.Empty(SpansOf(key));

        var waiter = registry.AcquireAsync(key);
        Assert.Empty(SpansOf(key)); // started, not stopped yet
        holder.Dispose();
        (await waiter.Bounded()).Dispose();

        var span = Assert.Single(SpansOf(key));
        Assert.Equal(KeyedLockDiagnostics.WaitActivityName, span.OperationName);
        Assert.Equal("in-process", span.GetTagItem(KeyedLockDiagnostics.ProviderTag));
        Assert.Equal("acquired", span.GetTagItem(KeyedLockDiagnostics.ResultTag));
        Assert.IsType<double>(span.GetTagItem(KeyedLockDiagnostics.WaitDurationTag));
        Assert.True((double)span.GetTagItem(KeyedLockDiagnostics.WaitDurationTag)! >= 0);
        Assert.Equal(ActivityStatusCode.Unset, span.Status);

        // The raw key appears nowhere on the span.
        Assert.DoesNotContain(span.TagObjects, t => t.Value is string s && s.Contains(key, StringComparison.Ordinal));
        Assert.Equal(16, ((string)span.GetTagItem(KeyedLockDiagnostics.KeyHashTag)!).Length);
    }

    [Fact]
    public async Task EveryOutcomeOfAWait_IsTaggedWithItsResult()
    {
        var time = new ManualTimeProvider();
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxQueueLengthPerKey = 3 }, time);
        var key = Key("outcomes");
        var holder = await registry.HoldAsync(key);

        using var cts = new CancellationTokenSource();
        var canceled = registry.AcquireAsync(key, cts.Token);
        var timedOut = registry.TryAcquireAsync(key, TimeSpan.FromSeconds(1));
        var zero = await registry.TryAcquireAsync(key, TimeSpan.Zero).Bounded();           // refused at once: timeout
        var aborted = registry.AcquireAsync(key);
        var full = await registry.TryAcquireAsync(key, TimeSpan.FromSeconds(1)).Bounded(); // refused at once: queue_full
        Assert.Equal(KeyedLockFailureReason.TimedOut, zero.FailureReason);
        Assert.Equal(KeyedLockFailureReason.QueueFull, full.FailureReason);

        cts.Cancel();
        await Assert.ThrowsAsync<TaskCanceledException>(() => canceled.AsTask()).Bounded();
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(KeyedLockFailureReason.TimedOut, (await timedOut.Bounded()).FailureReason);
        Assert.Equal(1, holder.AbortWaiters(new InvalidOperationException("boom")));
        await Assert.ThrowsAsync<KeyedLockAbortedException>(() => aborted.AsTask()).Bounded();
        holder.Dispose();

        var results = SpansOf(key).Select(a => (string)a.GetTagItem(KeyedLockDiagnostics.ResultTag)!).Order().ToArray();
        Assert.Equal(["aborted", "canceled", "queue_full", "timeout", "timeout"], results);
        Assert.All(SpansOf(key), a => Assert.Equal(ActivityStatusCode.Error, a.Status));
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task AWaitSpan_NeverBecomesTheCurrentActivity_OfTheWaiterOrOfTheReleaser()
    {
        using var registry = new KeyedLockRegistry();
        using var source = new ActivitySource(KeyedLockDiagnostics.ActivitySourceName);
        var key = Key("current");
        var holder = await registry.HoldAsync(key);

        using var request = source.StartActivity("request");
        Assert.NotNull(request);
        var waiter = registry.AcquireAsync(key);
        Assert.Same(request, Activity.Current); // the wait span started, but the caller's current activity is kept

        holder.Dispose();                        // stops the span in this (releasing) flow
        Assert.Same(request, Activity.Current);
        (await waiter.Bounded()).Dispose();

        var span = Assert.Single(SpansOf(key));
        Assert.Equal(request.SpanId, span.ParentSpanId);
    }

    [Fact]
    public async Task NobodyListening_NoSpan_AndTheHashIsStableAndShort()
    {
        _listener.Dispose();
        using var registry = new KeyedLockRegistry();
        var key = Key("quiet");
        var holder = await registry.HoldAsync(key);
        var waiter = registry.AcquireAsync(key);
        holder.Dispose();
        (await waiter.Bounded()).Dispose();
        Assert.Empty(SpansOf(key));

        Assert.Equal(KeyedLockTracing.HashKey("user-42"), KeyedLockTracing.HashKey("user-42"));
        Assert.NotEqual(KeyedLockTracing.HashKey("user-42"), KeyedLockTracing.HashKey("user-43"));
        Assert.Matches("^[0-9a-f]{16}$", KeyedLockTracing.HashKey(new string('x', 2000)));

        // SHA-256("abc") starts with ba7816bf8f01cfea.
        Assert.Equal("ba7816bf8f01cfea", KeyedLockTracing.HashKey("abc"));
    }
}
