using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace KeyedLock.Internal;

/// <summary>The instruments of one registry on the <c>KeyedLock</c> meter. Every record is guarded by <c>Enabled</c>.</summary>
internal sealed class RegistryMetrics : IDisposable
{
    internal const string Acquired = "acquired";
    internal const string TimedOut = "timeout";
    internal const string QueueFull = "queue_full";
    internal const string Canceled = "canceled";
    internal const string Aborted = "aborted";
    internal const string Unavailable = "unavailable";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Histogram<double> _waitDuration;
    private readonly Histogram<double> _holdDuration;
    private readonly UpDownCounter<long> _activeLeases;
    private readonly UpDownCounter<long> _queuedWaiters;
    private readonly Counter<long> _acquisitions;

    internal RegistryMetrics(IMeterFactory? meterFactory, Func<int> activeKeys)
    {
        if (meterFactory is null)
        {
            _meter = new Meter(KeyedLockMetrics.MeterName);
            _ownsMeter = true;
        }
        else
        {
            _meter = meterFactory.Create(KeyedLockMetrics.MeterName);
        }

        _waitDuration = _meter.CreateHistogram<double>(KeyedLockMetrics.WaitDuration, "s", "Time from asking for a key to being granted or giving up.");
        _holdDuration = _meter.CreateHistogram<double>(KeyedLockMetrics.HoldDuration, "s", "Time a lease was held.");
        _activeLeases = _meter.CreateUpDownCounter<long>(KeyedLockMetrics.ActiveLeases, "{lease}", "Leases held right now.");
        _queuedWaiters = _meter.CreateUpDownCounter<long>(KeyedLockMetrics.QueuedWaiters, "{waiter}", "Waiters queued right now.");
        _acquisitions = _meter.CreateCounter<long>(KeyedLockMetrics.Acquisitions, "{acquisition}", "Acquisitions by result.");
        _meter.CreateObservableGauge(KeyedLockMetrics.ActiveKeys, activeKeys, "{key}", "Keys with a holder or a waiter right now.");
    }

    /// <summary>The meter (for tests).</summary>
    internal Meter Meter => _meter;

    internal bool WaitDurationEnabled => _waitDuration.Enabled;

    internal bool HoldDurationEnabled => _holdDuration.Enabled;

    internal void Acquisition(string result)
    {
        if (_acquisitions.Enabled)
        {
            _acquisitions.Add(1, new KeyValuePair<string, object?>(KeyedLockMetrics.ResultTag, result));
        }
    }

    internal void WaitEnded(string result, long startTimestamp, TimeProvider time)
    {
        if (startTimestamp != 0 && _waitDuration.Enabled)
        {
            _waitDuration.Record(time.GetElapsedTime(startTimestamp).TotalSeconds, new KeyValuePair<string, object?>(KeyedLockMetrics.ResultTag, result));
        }
    }

    internal void LeaseGranted()
    {
        if (_activeLeases.Enabled)
        {
            _activeLeases.Add(1);
        }
    }

    internal void LeaseReleased(long heldSinceTimestamp, TimeProvider time)
    {
        if (_activeLeases.Enabled)
        {
            _activeLeases.Add(-1);
        }

        if (heldSinceTimestamp != 0 && _holdDuration.Enabled)
        {
            _holdDuration.Record(time.GetElapsedTime(heldSinceTimestamp).TotalSeconds);
        }
    }

    internal void WaiterQueued(int delta)
    {
        if (_queuedWaiters.Enabled)
        {
            _queuedWaiters.Add(delta);
        }
    }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
