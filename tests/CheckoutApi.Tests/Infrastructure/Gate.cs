namespace CheckoutApi.Tests.Infrastructure;

/// <summary>
/// A point in the server's code where requests stop until the test opens the gate. Tests wait until an exact
/// number of requests have arrived at it, so interleavings are chosen, not hoped for.
/// </summary>
public sealed class Gate
{
    private readonly Lock _lock = new();
    private readonly List<(int Count, TaskCompletionSource Reached)> _waiters = [];
    private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _entered;

    public Gate(bool open = false)
    {
        if (open)
        {
            Open();
        }
    }

    /// <summary>How many callers have arrived at the gate so far (passed or waiting).</summary>
    public int Entered
    {
        get
        {
            lock (_lock)
            {
                return _entered;
            }
        }
    }

    /// <summary>Called by the server: counts the arrival, then waits until the gate is open.</summary>
    public Task PassAsync()
    {
        lock (_lock)
        {
            _entered++;
            foreach (var waiter in _waiters.Where(w => w.Count <= _entered).ToList())
            {
                _waiters.Remove(waiter);
                waiter.Reached.TrySetResult();
            }
        }

        return _open.Task;
    }

    /// <summary>Completes when at least <paramref name="count"/> callers have arrived (bounded).</summary>
    public async Task WaitForEnteredAsync(int count)
    {
        Task reached;
        lock (_lock)
        {
            if (_entered >= count)
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
            throw new TimeoutException($"Expected {count} request(s) at the gate, but only {Entered} arrived.");
        }
    }

    /// <summary>Lets every waiting and future caller through.</summary>
    public void Open() => _open.TrySetResult();
}
