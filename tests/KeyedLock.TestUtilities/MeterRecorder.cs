using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace KeyedLock.Testing;

/// <summary>One recorded measurement: the instrument, the value and its tags.</summary>
public sealed record RecordedMeasurement(string Instrument, double Value, IReadOnlyDictionary<string, object?> Tags)
{
    /// <summary>The value of tag <paramref name="name"/> as a string, or null.</summary>
    public string? Tag(string name) => Tags.TryGetValue(name, out var value) ? value?.ToString() : null;
}

/// <summary>
/// Records every measurement of the instruments of meters named <c>meterName</c> whose scope is
/// <c>scope</c> (for example a <see cref="TestMeterFactory"/>). A real <see cref="MeterListener"/>, no mocks.
/// </summary>
public sealed class MeterRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<RecordedMeasurement> _measurements = new();

    public MeterRecorder(string meterName, object scope)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == meterName && ReferenceEquals(instrument.Meter.Scope, scope))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, t, _) => Add(i, v, t));
        _listener.SetMeasurementEventCallback<int>((i, v, t, _) => Add(i, v, t));
        _listener.SetMeasurementEventCallback<double>((i, v, t, _) => Add(i, v, t));
        _listener.Start();
    }

    /// <summary>Every measurement so far, in recording order.</summary>
    public IReadOnlyList<RecordedMeasurement> Measurements => [.. _measurements];

    /// <summary>The measurements of one instrument.</summary>
    public IReadOnlyList<RecordedMeasurement> Of(string instrument) => [.. _measurements.Where(m => m.Instrument == instrument)];

    /// <summary>The sum of an instrument's values, optionally only those whose <paramref name="tag"/> equals <paramref name="tagValue"/>.</summary>
    public double Sum(string instrument, string? tag = null, string? tagValue = null)
        => _measurements.Where(m => m.Instrument == instrument && (tag is null || m.Tag(tag) == tagValue)).Sum(m => m.Value);

    /// <summary>Polls the observable instruments now (their measurements are recorded like the others).</summary>
    public void RecordObservableInstruments() => _listener.RecordObservableInstruments();

    /// <summary>Forgets what was recorded so far.</summary>
    public void Clear() => _measurements.Clear();

    public void Dispose() => _listener.Dispose();

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var dict = new Dictionary<string, object?>(tags.Length);
        foreach (var tag in tags)
        {
            dict[tag.Key] = tag.Value;
        }

        _measurements.Enqueue(new RecordedMeasurement(instrument.Name, value, dict));
    }
}
