using System.Diagnostics.Metrics;

namespace KeyedLock.Testing;

/// <summary>
/// A real <see cref="IMeterFactory"/> whose meters carry this factory as their scope, so a
/// <see cref="MeterRecorder"/> can listen to exactly the meters one test created, even while other tests run in
/// parallel with meters of the same name.
/// </summary>
public sealed class TestMeterFactory : IMeterFactory
{
    private readonly List<Meter> _meters = [];

    public Meter Create(MeterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var meter = new Meter(new MeterOptions(options.Name)
        {
            Version = options.Version,
            Tags = options.Tags,
            Scope = this,
        });
        lock (_meters)
        {
            _meters.Add(meter);
        }

        return meter;
    }

    public void Dispose()
    {
        lock (_meters)
        {
            foreach (var meter in _meters)
            {
                meter.Dispose();
            }

            _meters.Clear();
        }
    }
}
