using System.Diagnostics.Metrics;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>The idempotency counter on the <c>KeyedLock</c> meter; every record is guarded by <c>Enabled</c>.</summary>
internal sealed class IdempotencyInstruments : IDisposable
{
    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _requests;

    public IdempotencyInstruments(IMeterFactory? meterFactory = null)
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

        _requests = _meter.CreateCounter<long>(IdempotencyMetrics.Requests, "{request}", "Requests to idempotent endpoints, by result.");
    }

    internal void Request(IdempotencyPlan plan, string result)
    {
        if (_requests.Enabled)
        {
            _requests.Add(1, new KeyValuePair<string, object?>(KeyedSerializationMetrics.RouteTag, plan.RouteTag), new KeyValuePair<string, object?>(KeyedLockMetrics.ResultTag, result));
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
