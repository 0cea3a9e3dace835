using KeyedLock.Testing;

namespace CheckoutApi.Tests.Infrastructure;

/// <summary>
/// A point in the server's code where requests stop until the test opens the gate. Tests wait until an exact
/// number of requests have arrived at it, so interleavings are chosen, not hoped for.
/// </summary>
public sealed class Gate
{
    private readonly CountWatcher _entered = new();
    private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Gate(bool open = false)
    {
        if (open)
        {
            Open();
        }
    }

    /// <summary>How many callers have arrived at the gate so far (passed or waiting).</summary>
    public int Entered => (int)_entered.Value;

    /// <summary>Called by the server: counts the arrival, then waits until the gate is open.</summary>
    public Task PassAsync()
    {
        _entered.Add(1);
        return _open.Task;
    }

    /// <summary>Completes when at least <paramref name="count"/> callers have arrived (bounded).</summary>
    public Task WaitForEnteredAsync(int count) =>
        _entered.WaitForAtLeastAsync(count, arrived => $"Expected {count} request(s) at the gate, but only {arrived} arrived.");

    /// <summary>Lets every waiting and future caller through.</summary>
    public void Open() => _open.TrySetResult();
}
