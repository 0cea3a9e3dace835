using System.Runtime.ExceptionServices;
using System.Threading.Tasks.Sources;

namespace KeyedLock.Internal;

/// <summary>One caller's wait for a <see cref="CoalescedFlight{TResult}"/>: the source behind its ValueTask.</summary>
/// <remarks>
/// The flight completes each waiter exactly once (with the outcome, or cancelled when its caller left), deciding
/// under its gate. Continuations run asynchronously, so completing many waiters never runs their callers inline.
/// </remarks>
internal sealed class CoalescedWaiter<TResult> : IValueTaskSource<TResult>
{
    private static readonly Action<object?> s_onCanceled = static state => ((CoalescedWaiter<TResult>)state!).OnCanceled();

    private ManualResetValueTaskSourceCore<TResult> _core = new() { RunContinuationsAsynchronously = true };
    private readonly CoalescedFlight<TResult> _flight;
    private readonly CancellationToken _cancellationToken;
    private CancellationTokenRegistration _registration;
    private int _completed;

    internal CoalescedWaiter(CoalescedFlight<TResult> flight, CancellationToken cancellationToken)
    {
        _flight = flight;
        _cancellationToken = cancellationToken;
    }

    // Guarded by the flight's gate while linked.
    internal CoalescedWaiter<TResult>? Prev;
    internal CoalescedWaiter<TResult>? Next;

    internal ValueTask<TResult> Task => new(this, _core.Version);

    internal CancellationToken CancellationToken => _cancellationToken;

    /// <summary>Registers on the caller's token once the waiter is linked (outside the flight's gate).</summary>
    internal void ArmCancellation()
    {
        if (!_cancellationToken.CanBeCanceled)
        {
            return;
        }

        // If the token fired meanwhile, the callback runs inline here.
        _registration = _cancellationToken.UnsafeRegister(s_onCanceled, this);

        // Either this read sees the completion, or the completion sees the registration (full fences on both sides).
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _completed) != 0)
        {
            _registration.Unregister();
        }
    }

    internal void Complete(TResult result, ExceptionDispatchInfo? error)
    {
        Release();
        if (error is null)
        {
            _core.SetResult(result);
        }
        else
        {
            _core.SetException(error.SourceException);
        }
    }

    internal void CompleteCanceled()
    {
        Release();
        _core.SetException(new TaskCanceledException("The wait for the shared execution was canceled.", null, _cancellationToken));
    }

    public TResult GetResult(short token) => _core.GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _core.OnCompleted(continuation, state, token, flags);

    private void OnCanceled() => _flight.Leave(this);

    private void Release()
    {
        Interlocked.Exchange(ref _completed, 1);
        _registration.Unregister();
    }
}
