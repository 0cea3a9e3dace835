using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace KeyedLock.Internal;

/// <summary>
/// The instruments of one registry (or one distributed provider) on the <c>KeyedLock</c> meter. Every record is guarded
/// by <c>Enabled</c>. <see cref="Unpublished"/> has no meter at all: for the in-process first tier inside a distributed
/// provider, whose own instruments already count each acquisition once (a second, private <c>KeyedLock</c> meter
/// would be picked up by name by any listener, OpenTelemetry's <c>AddMeter("KeyedLock")</c> included, and count it twice).
/// </summary>
internal sealed class RegistryMetrics : IDisposable
{
    internal const string Acquired = "acquired";
    internal const string TimedOut = "timeout";
    internal const string QueueFull = "queue_full";
    internal const string Canceled = "canceled";
    internal const string Aborted = "aborted";
    internal const string Unavailable = "unavailable";

    private readonly Meter? _meter;
    private readonly bool _ownsMeter;
    private readonly Histogram<double>? _waitDuration;
    private readonly Histogram<double>? _holdDuration;
    private readonly UpDownCounter<long>? _activeLeases;
    private readonly UpDownCounter<long>? _queuedWaiters;
    private readonly Counter<long>? _acquisitions;

    private RegistryMetrics()
    {
    }

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

    /// <summary>The meter (for tests); null when <see cref="Unpublished"/>.</summary>
    internal Meter? Meter => _meter;

    internal bool WaitDurationEnabled => _waitDuration is { Enabled: true };

    internal bool HoldDurationEnabled => _holdDuration is { Enabled: true };

    /// <summary>Instruments that are never published: every record is a no-op (one shared instance; it owns nothing).</summary>
    internal static readonly RegistryMetrics Unpublished = new();

    internal void Acquisition(string result)
    {
        if (_acquisitions is { Enabled: true })
        {
            _acquisitions.Add(1, new KeyValuePair<string, object?>(KeyedLockMetrics.ResultTag, result));
        }
    }

    internal void WaitEnded(string result, long startTimestamp, TimeProvider time)
    {
        if (startTimestamp != 0 && _waitDuration is { Enabled: true })
        {
            _waitDuration.Record(time.GetElapsedTime(startTimestamp).TotalSeconds, new KeyValuePair<string, object?>(KeyedLockMetrics.ResultTag, result));
        }
    }

    internal void LeaseGranted()
    {
        if (_activeLeases is { Enabled: true })
        {
            _activeLeases.Add(1);
        }
    }

    internal void LeaseReleased(long heldSinceTimestamp, TimeProvider time)
    {
        if (_activeLeases is { Enabled: true })
        {
            _activeLeases.Add(-1);
        }

        if (heldSinceTimestamp != 0 && _holdDuration is { Enabled: true })
        {
            _holdDuration.Record(time.GetElapsedTime(heldSinceTimestamp).TotalSeconds);
        }
    }

    internal void WaiterQueued(int delta)
    {
        if (_queuedWaiters is { Enabled: true })
        {
            _queuedWaiters.Add(delta);
        }
    }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter!.Dispose();
        }
    }
}
