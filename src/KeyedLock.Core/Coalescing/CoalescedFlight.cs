using System.Runtime.ExceptionServices;

namespace KeyedLock.Internal;

/// <summary>
/// One execution of a <see cref="KeyedCoalescer{TResult}"/> factory and the callers waiting for it.
/// </summary>
/// <remarks>
/// <para>
/// Callers with a cancellable token wait on their own <see cref="CoalescedWaiter{TResult}"/> (so each can leave);
/// callers without one can never leave, so they share one task, created on demand. Both count as callers.
/// </para>
/// <para>
/// The flight closes exactly once, under <see cref="_gate"/>: when the factory completes (every waiter still linked
/// and the shared task get the outcome) or when the last caller leaves (the factory's token is cancelled and its
/// outcome discarded). A closed flight accepts no caller; it is then removed from the coalescer, by whoever gets
/// there first.
/// </para>
/// <para>
/// A wait with the factory's own token (the factory, or work it started, waiting for its own key) does not count as
/// a caller: that token fires only once the callers have gone, so counting it would keep the execution alive for
/// ever. It is cancelled with the factory's token when the execution is abandoned.
/// </para>
/// </remarks>
internal sealed class CoalescedFlight<TResult>
{
    private readonly KeyedCoalescer<TResult> _owner;
    private readonly CancellationTokenSource? _abandoned;
    private readonly CancellationToken _factoryToken;
    private readonly Lock _gate = new();
    private CoalescedWaiter<TResult>? _first;
    private CoalescedWaiter<TResult>? _head;
    private TaskCompletionSource<TResult>? _shared;
    private int _callers;
    private bool _closed;
    private bool _wasAbandoned;
    private TResult _result = default!;
    private ExceptionDispatchInfo? _error;

    /// <summary>Creates the flight with its first caller, before it is published (nobody else can see it yet).</summary>
    internal CoalescedFlight(KeyedCoalescer<TResult> owner, string key, CancellationToken firstCaller)
    {
        _owner = owner;
        Key = key;
        if (firstCaller.CanBeCanceled)
        {
            _abandoned = new CancellationTokenSource();
            _factoryToken = _abandoned.Token;
            _first = new CoalescedWaiter<TResult>(this, firstCaller);
            Link(_first, counts: true);
        }
        else
        {
            // A first caller that can never leave keeps the execution alive to the end: its factory needs no token.
            _callers = 1;
        }
    }

    internal string Key { get; }

    internal int CallerCount
    {
        get
        {
            lock (_gate)
            {
                return _callers;
            }
        }
    }

    /// <summary>Adds a caller, or returns false when the flight has closed already.</summary>
    internal bool TryJoin(CancellationToken cancellationToken, out ValueTask<TResult> joined)
    {
        if (!cancellationToken.CanBeCanceled)
        {
            lock (_gate)
            {
                if (_closed)
                {
                    joined = default;
                    return false;
                }

                _callers++;
                joined = SharedLocked();
                return true;
            }
        }

        var waiter = new CoalescedWaiter<TResult>(this, cancellationToken);
        lock (_gate)
        {
            if (_closed)
            {
                joined = default;
                return false;
            }

            Link(waiter, counts: cancellationToken != _factoryToken);
        }

        waiter.ArmCancellation();
        joined = waiter.Task;
        return true;
    }

    /// <summary>Starts the factory on the calling thread and returns the first caller's wait.</summary>
    internal ValueTask<TResult> Start<TState>(TState state, Func<TState, CancellationToken, ValueTask<TResult>> factory)
    {
        ValueTask<TResult> pending;
        try
        {
            pending = factory(state, _factoryToken);
        }
        catch (Exception ex)
        {
            pending = ValueTask.FromException<TResult>(ex);
        }

        if (pending.IsCompletedSuccessfully)
        {
            Complete(pending.Result, null);
        }
        else
        {
            _ = AwaitAsync(pending);
        }

        if (_first is { } first)
        {
            _first = null;
            first.ArmCancellation();
            return first.Task;
        }

        lock (_gate)
        {
            // The first caller cannot leave, so a closed flight here is a completed one: its outcome is this caller's.
            return _closed ? (_error is null ? new ValueTask<TResult>(_result) : ValueTask.FromException<TResult>(_error.SourceException)) : SharedLocked();
        }
    }

    /// <summary>A caller's token fired: it leaves, and the last one to leave abandons the execution.</summary>
    internal void Leave(CoalescedWaiter<TResult> waiter)
    {
        bool abandon;
        lock (_gate)
        {
            if (_closed && !_wasAbandoned)
            {
                return; // completed first: the waiter gets the outcome
            }

            // Once abandoned, only waits with the factory's own token are still linked: they end with it.
            Unlink(waiter);
            abandon = !_closed && waiter.CancellationToken != _factoryToken && --_callers == 0;
            _closed |= abandon;
            _wasAbandoned |= abandon;
        }

        if (abandon)
        {
            _owner.Forget(this);
        }

        waiter.CompleteCanceled();

        // The token is not disposed: the abandoned factory may still be observing it.
        if (abandon)
        {
            _abandoned!.Cancel();
        }
    }

    private ValueTask<TResult> SharedLocked() =>
        new((_shared ??= new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously)).Task);

    private async Task AwaitAsync(ValueTask<TResult> pending)
    {
        TResult result;
        try
        {
            result = await pending.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Complete(default!, ExceptionDispatchInfo.Capture(ex));
            return;
        }

        Complete(result, null);
    }

    private void Complete(TResult result, ExceptionDispatchInfo? error)
    {
        CoalescedWaiter<TResult>? waiters;
        TaskCompletionSource<TResult>? shared;
        lock (_gate)
        {
            if (_closed)
            {
                return; // abandoned by every caller: nobody wants the outcome
            }

            _closed = true;
            _result = result;
            _error = error;
            waiters = _head;
            _head = null;
            shared = _shared;
        }

        _owner.Forget(this);
        while (waiters is not null)
        {
            var next = waiters.Next;
            waiters.Complete(result, error);
            waiters = next;
        }

        if (error is null)
        {
            shared?.SetResult(result);
        }
        else
        {
            shared?.SetException(error.SourceException);
        }

        // Closed without being abandoned: nobody can cancel the token any more.
        _abandoned?.Dispose();
    }

    private void Link(CoalescedWaiter<TResult> waiter, bool counts)
    {
        waiter.Next = _head;
        if (_head is not null)
        {
            _head.Prev = waiter;
        }

        _head = waiter;
        if (counts)
        {
            _callers++;
        }
    }

    private void Unlink(CoalescedWaiter<TResult> waiter)
    {
        if (waiter.Prev is null)
        {
            _head = waiter.Next;
        }
        else
        {
            waiter.Prev.Next = waiter.Next;
        }

        if (waiter.Next is not null)
        {
            waiter.Next.Prev = waiter.Prev;
        }

        waiter.Prev = null;
        waiter.Next = null;
    }
}
