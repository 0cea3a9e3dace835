using System.Diagnostics.Metrics;
using KeyedLock;

namespace CheckoutApi.Tests.Infrastructure;

/// <summary>
/// Watches the <c>keyedlock.waiters.queued</c> instrument of one app (its <see cref="IMeterFactory"/>), so a test
/// can wait until requests are provably queued behind a lock holder instead of sleeping and hoping.
/// </summary>
public sealed class QueuedWaitersProbe : IDisposable
{
    private readonly Lock _lock = new();
    private readonly List<(long Count, TaskCompletionSource Reached)> _waiters = [];
    private readonly MeterListener _listener = new();
    private long _queued;

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
        _listener.SetMeasurementEventCallback<long>((_, delta, _, _) => OnQueuedChanged(delta));
        _listener.Start();
    }

    /// <summary>Waiters queued right now, across every key of the app.</summary>
    public long Queued
    {
        get
        {
            lock (_lock)
            {
                return _queued;
            }
        }
    }

    /// <summary>Completes when at least <paramref name="count"/> waiters are queued (bounded).</summary>
    public async Task WaitForQueuedAsync(long count)
    {
        Task reached;
        lock (_lock)
        {
            if (_queued >= count)
            {
                return;
            }

            var source = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((count, source));
            reached = source.Task;
        }

        try
        {
            await reached.Bounded();
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Expected {count} request(s) queued on a keyed lock, but {Queued} are.");
        }
    }

    public void Dispose() => _listener.Dispose();

    private void OnQueuedChanged(long delta)
    {
        lock (_lock)
        {
            _queued += delta;
            foreach (var waiter in _waiters.Where(w => w.Count <= _queued).ToList())
            {
                _waiters.Remove(waiter);
                waiter.Reached.TrySetResult();
            }
        }
    }
}
