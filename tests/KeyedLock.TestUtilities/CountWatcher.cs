namespace KeyedLock.Testing;

/// <summary>
/// A counter that tests can wait on: <see cref="WaitForAtLeastAsync"/> completes once the count reaches a threshold
/// (bounded by <see cref="TestWait.Default"/>), so tests wait for an exact state instead of sleeping.
/// </summary>
public sealed class CountWatcher
{
    private readonly Lock _lock = new();
    private readonly List<(long Count, TaskCompletionSource Reached)> _waiters = [];
    private long _value;

    /// <summary>The current count.</summary>
    public long Value
    {
        get
        {
            lock (_lock)
            {
                return _value;
            }
        }
    }

    /// <summary>Changes the count and releases the waiters whose threshold is reached.</summary>
    public void Add(long delta)
    {
        lock (_lock)
        {
            _value += delta;
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Count <= _value)
                {
                    _waiters[i].Reached.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    /// <summary>Completes when the count is at least <paramref name="count"/>; throws a described timeout otherwise.</summary>
    /// <param name="count">The threshold.</param>
    /// <param name="describeTimeout">The message for a timeout, given the count at that moment.</param>
    public async Task WaitForAtLeastAsync(long count, Func<long, string> describeTimeout)
    {
        Task reached;
        lock (_lock)
        {
            if (_value >= count)
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
            throw new TimeoutException(describeTimeout(Value));
        }
    }
}
