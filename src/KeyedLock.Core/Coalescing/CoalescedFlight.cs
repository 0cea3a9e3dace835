using System.Runtime.ExceptionServices;

namespace KeyedLock.Internal;

/// <summary>
/// One execution of a <see cref="KeyedCoalescer{TResult}"/> factory and the callers waiting for it.
/// </summary>
/// <remarks>
/// The flight closes exactly once, under <see cref="_gate"/>: when the factory completes (every waiter still linked
/// gets the outcome) or when the last caller leaves (the factory's token is cancelled and its outcome discarded).
/// A closed flight accepts no caller; it is then removed from the coalescer, by whoever gets there first.
/// </remarks>
internal sealed class CoalescedFlight<TResult>
{
    private readonly KeyedCoalescer<TResult> _owner;
    private readonly CancellationTokenSource? _abandoned;
    private readonly Lock _gate = new();
    private CoalescedWaiter<TResult>? _head;
    private int _callers;
    private bool _closed;

    internal CoalescedFlight(KeyedCoalescer<TResult> owner, string key, bool firstCallerCanLeave)
    {
        _owner = owner;
        Key = key;

        // A first caller that can never leave keeps the execution alive to the end: its factory needs no token.
        _abandoned = firstCallerCanLeave ? new CancellationTokenSource() : null;
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

    /// <summary>Adds the first caller before the flight is published (nobody else can see it yet).</summary>
    internal CoalescedWaiter<TResult> JoinFirst(CancellationToken cancellationToken)
    {
        var waiter = new CoalescedWaiter<TResult>(this, cancellationToken);
        Link(waiter);
        return waiter;
    }

    /// <summary>Adds a caller, or returns null when the flight has closed already.</summary>
    internal CoalescedWaiter<TResult>? TryJoin(CancellationToken cancellationToken)
    {
        var waiter = new CoalescedWaiter<TResult>(this, cancellationToken);
        lock (_gate)
        {
            if (_closed)
            {
                return null;
            }

            Link(waiter);
        }

        waiter.ArmCancellation();
        return waiter;
    }

    /// <summary>Starts the factory on the calling thread; completes the flight when it finishes.</summary>
    internal void Start<TState>(TState state, Func<TState, CancellationToken, ValueTask<TResult>> factory)
    {
        ValueTask<TResult> pending;
        try
        {
            pending = factory(state, _abandoned?.Token ?? CancellationToken.None);
        }
        catch (Exception ex)
        {
            Complete(default!, ExceptionDispatchInfo.Capture(ex));
            return;
        }

        if (pending.IsCompletedSuccessfully)
        {
            Complete(pending.Result, null);
        }
        else
        {
            _ = AwaitAsync(pending);
        }
    }

    /// <summary>A caller's token fired: it leaves, and the last one to leave abandons the execution.</summary>
    internal void Leave(CoalescedWaiter<TResult> waiter)
    {
        bool abandon;
        lock (_gate)
        {
            if (_closed)
            {
                return; // completed first: the waiter gets the outcome
            }

            Unlink(waiter);
            abandon = --_callers == 0;
            _closed = abandon;
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
        lock (_gate)
        {
            if (_closed)
            {
                return; // abandoned by every caller: nobody wants the outcome
            }

            _closed = true;
            waiters = _head;
            _head = null;
        }

        _owner.Forget(this);
        while (waiters is not null)
        {
            var next = waiters.Next;
            waiters.Complete(result, error);
            waiters = next;
        }

        // Closed without being abandoned: nobody can cancel the token any more.
        _abandoned?.Dispose();
    }

    private void Link(CoalescedWaiter<TResult> waiter)
    {
        waiter.Next = _head;
        if (_head is not null)
        {
            _head.Prev = waiter;
        }

        _head = waiter;
        _callers++;
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
