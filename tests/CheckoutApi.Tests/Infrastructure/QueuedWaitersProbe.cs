using System.Diagnostics.Metrics;
using KeyedLock;
using KeyedLock.Testing;

namespace CheckoutApi.Tests.Infrastructure;

/// <summary>
/// Watches the <c>keyedlock.waiters.queued</c> instrument of one app (its <see cref="IMeterFactory"/>), so a test
/// can wait until requests are provably queued behind a lock holder instead of sleeping and hoping.
/// </summary>
public sealed class QueuedWaitersProbe : IDisposable
{
    private readonly CountWatcher _queued = new();
    private readonly MeterListener _listener = new();

    public QueuedWaitersProbe(IMeterFactory meterFactory)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == KeyedLockMetrics.MeterName
                && ReferenceEquals(instrument.Meter.Scope, meterFactory)
                && instrument.Name == KeyedLockMetrics.QueuedWaiters)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, delta, _, _) => _queued.Add(delta));
        _listener.Start();
    }

    /// <summary>Waiters queued right now, across every key of the app.</summary>
    public long Queued => _queued.Value;

    /// <summary>Completes when at least <paramref name="count"/> waiters are queued (bounded).</summary>
    public Task WaitForQueuedAsync(long count) =>
        _queued.WaitForAtLeastAsync(count, queued => $"Expected {count} request(s) queued on a keyed lock, but {queued} are.");

    public void Dispose() => _listener.Dispose();
}
