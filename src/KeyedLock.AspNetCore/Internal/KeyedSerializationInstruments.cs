using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>Request-level instruments on the <c>KeyedLock</c> meter. Every record is guarded by <c>Enabled</c>.</summary>
internal sealed class KeyedSerializationInstruments : IDisposable
{
    internal const string Serialized = "acquired";
    internal const string Skipped = "skipped";
    internal const string Canceled = "canceled";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _requests;
    private readonly Histogram<double> _waitDuration;
    private readonly UpDownCounter<long> _active;

    public KeyedSerializationInstruments(IMeterFactory? meterFactory = null)
    {
        if (meterFactory is null)
        {
            _meter = new Meter(KeyedLockMetrics.MeterName);
            _ownsMeter = true;
        }
        else
        {
            // Same name (and no version or tags) as the registry's meter, so the factory returns the same Meter.
            _meter = meterFactory.Create(KeyedLockMetrics.MeterName);
        }

        _requests = _meter.CreateCounter<long>(KeyedSerializationMetrics.Requests, "{request}", "Requests to serialized endpoints, by result.");
        _waitDuration = _meter.CreateHistogram<double>(KeyedSerializationMetrics.WaitDuration, "s", "How long requests waited for their serialization keys.");
        _active = _meter.CreateUpDownCounter<long>(KeyedSerializationMetrics.ActiveRequests, "{request}", "Requests running serialized right now.");
    }

    internal bool WaitDurationEnabled => _waitDuration.Enabled;

    internal void Request(EndpointPlan plan, string result, long startedTimestamp)
    {
        if (_requests.Enabled)
        {
            _requests.Add(1, Tags(plan, result));
        }

        if (startedTimestamp != 0 && _waitDuration.Enabled)
        {
            _waitDuration.Record(Stopwatch.GetElapsedTime(startedTimestamp).TotalSeconds, Tags(plan, result));
        }
    }

    internal void Active(EndpointPlan plan, int delta)
    {
        if (_active.Enabled)
        {
            _active.Add(delta, new TagList
            {
                { KeyedSerializationMetrics.RouteTag, plan.RouteTag },
                { KeyedSerializationMetrics.PolicyTag, plan.PolicyTag },
            });
        }
    }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    private static TagList Tags(EndpointPlan plan, string result) => new()
    {
        { KeyedSerializationMetrics.RouteTag, plan.RouteTag },
        { KeyedSerializationMetrics.PolicyTag, plan.PolicyTag },
        { KeyedLockMetrics.ResultTag, result },
    };
}
