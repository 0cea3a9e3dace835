namespace KeyedLock.Internal;

/// <summary>
/// Counts a distributed provider's work that is on its way to its server or waiting there (a server-tier acquisition,
/// and whatever undoes one: a LEAVE, a release, a heartbeat), so that a disposal waits for it to end on the server
/// before it closes the connection. Without that wait, a command already sent could still grant the key (or queue a
/// waiter) after the disposal returned, to a provider that nobody renews or releases any more.
/// </summary>
internal sealed class InFlightWork(CancellationToken disposing)
{
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _count;

    /// <summary>Counts one piece of work, unless the disposal has begun (then nothing is counted, and it must not start).</summary>
    internal bool TryEnter()
    {
        Interlocked.Increment(ref _count);
        if (!disposing.IsCancellationRequested)
        {
            return true;
        }

        Exit();
        return false;
    }

    /// <summary>Counts work that must run even during the disposal: it undoes work counted already (a LEAVE, a release).</summary>
    internal void Enter() => Interlocked.Increment(ref _count);

    /// <summary>Ends one piece of counted work.</summary>
    internal void Exit()
    {
        if (Interlocked.Decrement(ref _count) == 0 && disposing.IsCancellationRequested)
        {
            _drained.TrySetResult();
        }
    }

    /// <summary>
    /// Once the disposal token is cancelled: waits until nothing is counted, for at most <paramref name="timeout"/>.
    /// False when the timeout elapsed first (what is still on its way then expires on the server).
    /// </summary>
    internal async Task<bool> DrainAsync(TimeSpan timeout, TimeProvider time)
    {
        if (Volatile.Read(ref _count) == 0)
        {
            return true;
        }

        try
        {
            await _drained.Task.WaitAsync(timeout, time).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }
}
