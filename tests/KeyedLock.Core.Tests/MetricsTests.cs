using KeyedLock.Internal;

namespace KeyedLock.Tests;

public sealed class MetricsTests
{
    [Fact]
    public async Task Acquisitions_AreCountedByResult_WithTheDocumentedTagValues()
    {
        var time = new ManualTimeProvider();
        using var meters = new TestMeterFactory();
        using var recorder = new MeterRecorder(KeyedLockMetrics.MeterName, meters);
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxQueueLengthPerKey = 3 }, time, meters);
        using var cts = new CancellationTokenSource();
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        var holder = await registry.HoldAsync("k");                                       // acquired
        var granted = registry.AcquireAsync("k");                                                     // acquired (hand-off)
        var timedOut = registry.AcquireAsync("k", TimeSpan.FromSeconds(1));                            // timeout
        var canceled = registry.AcquireAsync("k", cts.Token);                                         // canceled
        await registry.TryAcquireAsync("k", TimeSpan.FromSeconds(1)).Bounded();                        // queue_full
        await registry.TryAcquireAsync("other", TimeSpan.Zero, cancelled.Token).AsTask().ContinueWith(_ => { }).Bounded(); // canceled
        time.Advance(TimeSpan.FromSeconds(1));
        await cts.CancelAsync();
        holder.Dispose();
        (await granted.Bounded()).Dispose();
        await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => timedOut.AsTask()).Bounded();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => canceled.AsTask()).Bounded();

        // aborted: a waiter queued behind a failing RunAsync with the Stop strategy.
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var failing = registry.RunAsync("s", async _ => { await gate.Task; throw new InvalidOperationException(); }, KeyedLockErrorStrategy.Stop);
        var abortedWaiter = registry.AcquireAsync("s").AsTask();
        gate.SetResult();
        await Assert.ThrowsAsync<InvalidOperationException>(() => failing).Bounded();
        await Assert.ThrowsAsync<KeyedLockAbortedException>(() => abortedWaiter).Bounded();

        double Count(string result) => recorder.Sum(KeyedLockMetrics.Acquisitions, KeyedLockMetrics.ResultTag, result);
        Assert.Equal(3, Count("acquired")); // holder, the handed-off waiter, the failing run
        Assert.Equal(1, Count("timeout"));
        Assert.Equal(2, Count("canceled"));
        Assert.Equal(1, Count("queue_full"));
        Assert.Equal(1, Count("aborted"));
        Assert.All(recorder.Of(KeyedLockMetrics.Acquisitions), m => Assert.Contains(m.Tag(KeyedLockMetrics.ResultTag), new[] { "acquired", "timeout", "queue_full", "canceled", "aborted" }));
    }

    [Fact]
    public async Task WaitAndHoldDurations_AreRecordedInSeconds_FromTheTimeProvider()
    {
        var time = new ManualTimeProvider();
        using var meters = new TestMeterFactory();
        using var recorder = new MeterRecorder(KeyedLockMetrics.MeterName, meters);
        using var registry = new KeyedLockRegistry(null, time, meters);

        var holder = await registry.HoldAsync("k");
        var waiter = registry.AcquireAsync("k");
        var timesOut = registry.AcquireAsync("k", TimeSpan.FromSeconds(1));
        time.Advance(TimeSpan.FromSeconds(1));
        await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => timesOut.AsTask()).Bounded();
        time.Advance(TimeSpan.FromSeconds(2));
        holder.Dispose();                   // held 3 s; the waiter waited 3 s
        var lease = await waiter.Bounded();
        time.Advance(TimeSpan.FromSeconds(0.5));
        lease.Dispose();                    // held 0.5 s

        var waits = recorder.Of(KeyedLockMetrics.WaitDuration);
        Assert.Contains(waits, m => m.Value == 1.0 && m.Tag(KeyedLockMetrics.ResultTag) == "timeout");
        Assert.Contains(waits, m => m.Value == 3.0 && m.Tag(KeyedLockMetrics.ResultTag) == "acquired");
        var holds = recorder.Of(KeyedLockMetrics.HoldDuration).Select(m => m.Value).Order().ToArray();
        Assert.Equal([0.5, 3.0], holds);
    }

    [Fact]
    public async Task HoldDurations_SurviveTheHolderSlotsGrowing()
    {
        var time = new ManualTimeProvider();
        using var meters = new TestMeterFactory();
        using var recorder = new MeterRecorder(KeyedLockMetrics.MeterName, meters);
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = 100 }, time, meters);

        var first = await registry.HoldAsync("k");
        time.Advance(TimeSpan.FromSeconds(2));
        var others = new List<KeyedLockLease>();
        for (var i = 0; i < LockEntry.InitialHolderSlots * 2; i++)
        {
            others.Add(await registry.HoldAsync("k")); // the slots grow twice; the first holder's grant time moves along
        }

        time.Advance(TimeSpan.FromSeconds(1));
        first.Dispose();
        others.ForEach(o => o.Dispose());

        var holds = recorder.Of(KeyedLockMetrics.HoldDuration).Select(m => m.Value).ToArray();
        Assert.Equal(3.0, holds[0]);
        Assert.All(holds.Skip(1), h => Assert.Equal(1.0, h));
    }

    [Fact]
    public async Task WaitDurations_OfCanceledAndAbortedWaits_AreTaggedWithTheirResult()
    {
        var time = new ManualTimeProvider();
        using var meters = new TestMeterFactory();
        using var recorder = new MeterRecorder(KeyedLockMetrics.MeterName, meters);
        using var registry = new KeyedLockRegistry(null, time, meters);
        using var cts = new CancellationTokenSource();

        var holder = await registry.HoldAsync("k");
        var canceled = registry.AcquireAsync("k", cts.Token);
        var aborted = registry.AcquireAsync("k");
        time.Advance(TimeSpan.FromSeconds(2));
        cts.Cancel();
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, holder.AbortWaiters(new InvalidOperationException("boom")));
        await Assert.ThrowsAsync<TaskCanceledException>(() => canceled.AsTask()).Bounded();
        await Assert.ThrowsAsync<KeyedLockAbortedException>(() => aborted.AsTask()).Bounded();
        time.Advance(TimeSpan.FromSeconds(1));
        holder.Dispose();

        var waits = recorder.Of(KeyedLockMetrics.WaitDuration).Select(m => (m.Value, m.Tag(KeyedLockMetrics.ResultTag))).Order().ToArray();
        Assert.Equal([(2.0, "canceled"), (3.0, "aborted")], waits);
        Assert.Equal([4.0], recorder.Of(KeyedLockMetrics.HoldDuration).Select(m => m.Value).ToArray());
        Assert.Equal(0, recorder.Sum(KeyedLockMetrics.QueuedWaiters));
    }

    [Fact]
    public async Task AWaitOrHoldThatStartedBeforeAnyoneListened_RecordsNoDuration()
    {
        var time = new ManualTimeProvider();
        using var meters = new TestMeterFactory();
        using var registry = new KeyedLockRegistry(null, time, meters);
        var holder = await registry.HoldAsync("k");
        var waiter = registry.AcquireAsync("k");

        using var recorder = new MeterRecorder(KeyedLockMetrics.MeterName, meters);
        time.Advance(TimeSpan.FromSeconds(2));
        holder.Dispose();
        var lease = await waiter.Bounded();
        time.Advance(TimeSpan.FromSeconds(1));
        lease.Dispose();

        // The wait and the first hold started while nobody listened (no start time): nothing is recorded for them,
        // rather than a duration measured from timestamp 0. The hand-off's hold started after: 1 s.
        Assert.Empty(recorder.Of(KeyedLockMetrics.WaitDuration));
        Assert.Equal([1.0], recorder.Of(KeyedLockMetrics.HoldDuration).Select(m => m.Value).ToArray());
        Assert.Equal(1, recorder.Sum(KeyedLockMetrics.Acquisitions, KeyedLockMetrics.ResultTag, "acquired"));
    }

    [Fact]
    public async Task ActiveLeasesWaitersAndKeys_GoUpAndBackToZero()
    {
        using var meters = new TestMeterFactory();
        using var recorder = new MeterRecorder(KeyedLockMetrics.MeterName, meters);
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = 2 }, null, meters);

        var a = await registry.HoldAsync("a");
        var a2 = await registry.HoldAsync("a");
        var b = await registry.HoldAsync("b");
        var waiter = registry.AcquireAsync("a");
        Assert.Equal(3, recorder.Sum(KeyedLockMetrics.ActiveLeases));
        Assert.Equal(1, recorder.Sum(KeyedLockMetrics.QueuedWaiters));
        recorder.RecordObservableInstruments();
        Assert.Equal(2, recorder.Of(KeyedLockMetrics.ActiveKeys).Last().Value);

        a.Dispose();
        Assert.Equal(3, recorder.Sum(KeyedLockMetrics.ActiveLeases));
        Assert.Equal(0, recorder.Sum(KeyedLockMetrics.QueuedWaiters));
        (await waiter.Bounded()).Dispose();
        a2.Dispose();
        b.Dispose();
        Assert.Equal(0, recorder.Sum(KeyedLockMetrics.ActiveLeases));
        recorder.RecordObservableInstruments();
        Assert.Equal(0, recorder.Of(KeyedLockMetrics.ActiveKeys).Last().Value);
    }

    [Fact]
    public void Instruments_UseTheDocumentedNames()
    {
        using var meters = new TestMeterFactory();
        var published = new List<string>();
        using var listener = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, meters))
                {
                    lock (published)
                    {
                        published.Add($"{instrument.Meter.Name}/{instrument.Name}/{instrument.Unit}");
                    }
                }
            },
        };
        listener.Start();
        using var registry = new KeyedLockRegistry(null, null, meters);
        Assert.Equal(
            new[]
            {
                "KeyedLock/keyedlock.acquisitions/{acquisition}",
                "KeyedLock/keyedlock.keys.active/{key}",
                "KeyedLock/keyedlock.lease.hold.duration/s",
                "KeyedLock/keyedlock.lease.wait.duration/s",
                "KeyedLock/keyedlock.leases.active/{lease}",
                "KeyedLock/keyedlock.waiters.queued/{waiter}",
            },
            published.Order(StringComparer.Ordinal));
    }
}
