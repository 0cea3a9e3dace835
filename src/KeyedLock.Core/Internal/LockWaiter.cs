using System.Diagnostics;
using System.Threading.Tasks.Sources;

namespace KeyedLock.Internal;

/// <summary>
/// One queued request for a key; the <see cref="IValueTaskSource{TResult}"/> behind the caller's ValueTask.
/// </summary>
/// <remarks>
/// <para>
/// Exactly one of grant, timeout, cancellation or abort wins: each decides under the stripe's gate by moving
/// <see cref="Outcome"/> away from <see cref="WaiterOutcome.Pending"/>. The winner then completes the waiter
/// outside the gate. Continuations run asynchronously, never inline inside a release.
/// </para>
/// <para>
/// Waiters without a timer and without a cancellable token are pooled: once the caller has read the result they
/// are reset and reused, so a contended hand-off allocates nothing. Waiters with a timer or a token are not reused,
/// because a late timer callback could otherwise hit the next use.
/// </para>
/// </remarks>
internal sealed class LockWaiter : IValueTaskSource<KeyedLockLease>, IValueTaskSource<KeyedLockAttempt>
{
    private static readonly Action<object?> s_onCanceled = static state => ((LockWaiter)state!).OnCanceled();
    private static readonly TimerCallback s_onTimeout = static state => ((LockWaiter)state!).OnTimeout();
    private static readonly Activity s_traceEnded = new("keyedlock.wait.ended");

    private ManualResetValueTaskSourceCore<KeyedLockLease> _core = new() { RunContinuationsAsynchronously = true };
    private readonly KeyedLockRegistry _registry;
    private readonly Lock _registrationGate = new();
    private ITimer? _timer;
    private CancellationTokenRegistration _cancellation;
    private bool _completed;

    internal LockWaiter(KeyedLockRegistry registry) => _registry = registry;

    // Guarded by the stripe's gate while queued.
    internal LockEntry? Entry;
    internal LockWaiter? Prev;
    internal LockWaiter? Next;
    internal WaiterOutcome Outcome;

    internal string Key = string.Empty;
    internal TimeSpan Timeout;
    internal bool IsAttempt;         // serves TryAcquireAsync: a timeout is a result, not an exception
    internal CancellationToken CancellationToken;
    internal long WaitStarted;
    internal bool Pooled;
    internal bool Traced;            // someone listened to the KeyedLock activity source when the waiter queued
    internal KeyedLockLease Lease;
    private Activity? _trace;

    internal short Version => _core.Version;

    /// <summary>Arms the timeout and the cancellation after the waiter was queued (outside the gate).</summary>
    internal void ArmRegistrations(TimeProvider time)
    {
        var timer = Timeout == System.Threading.Timeout.InfiniteTimeSpan ? null : time.CreateTimer(s_onTimeout, this, Timeout, System.Threading.Timeout.InfiniteTimeSpan);

        // If the token is already cancelled, the callback runs inline here, completes the waiter and returns.
        var cancellation = CancellationToken.CanBeCanceled ? CancellationToken.UnsafeRegister(s_onCanceled, this) : default;
        lock (_registrationGate)
        {
            if (!_completed)
            {
                _timer = timer;
                _cancellation = cancellation;
                return;
            }
        }

        // Completed before the registrations were stored: nobody else will dispose them.
        timer?.Dispose();
        cancellation.Dispose();
    }

    /// <summary>
    /// Starts the wait span after the waiter was queued (outside the gate). The waiter may already have completed on
    /// another thread: whichever of this and <see cref="Complete"/> comes second stops the span.
    /// </summary>
    internal void StartTrace()
    {
        var activity = KeyedLockTracing.StartWait(Key, KeyedLockTracing.InProcessProvider);
        if (activity is not null && Interlocked.CompareExchange(ref _trace, activity, null) is not null)
        {
            KeyedLockTracing.StopWait(activity, OutcomeResult(Outcome));
        }
    }

    private static string OutcomeResult(WaiterOutcome outcome) => outcome switch
    {
        WaiterOutcome.Granted => RegistryMetrics.Acquired,
        WaiterOutcome.TimedOut => RegistryMetrics.TimedOut,
        WaiterOutcome.Canceled => RegistryMetrics.Canceled,
        _ => RegistryMetrics.Aborted,
    };

    private void OnCanceled() => _registry.CompleteWaiterEarly(this, WaiterOutcome.Canceled);

    private void OnTimeout() => _registry.CompleteWaiterEarly(this, WaiterOutcome.TimedOut);

    /// <summary>Completes the waiter after it won under the gate. Call outside the gate.</summary>
    internal void Complete(Exception? error, string result)
    {
        if (Traced && Interlocked.Exchange(ref _trace, s_traceEnded) is { } activity)
        {
            KeyedLockTracing.StopWait(activity, result);
        }

        if (!Pooled)
        {
            ITimer? timer;
            CancellationTokenRegistration cancellation;
            lock (_registrationGate)
            {
                _completed = true;
                timer = _timer;
                cancellation = _cancellation;
                _timer = null;
                _cancellation = default;
            }

            timer?.Dispose();

            // Waits for a cancellation callback running on another thread (it finds the waiter already completed);
            // returns at once when called from that callback itself.
            cancellation.Dispose();
        }

        if (error is null)
        {
            _core.SetResult(Lease);
        }
        else
        {
            _core.SetException(error);
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _core.OnCompleted(continuation, state, token, flags);

    KeyedLockLease IValueTaskSource<KeyedLockLease>.GetResult(short token)
    {
        KeyedLockLease lease;
        WaiterOutcome outcome;
        string key;
        TimeSpan timeout;
        try
        {
            lease = _core.GetResult(token);
            outcome = Outcome;
            key = Key;
            timeout = Timeout;
        }
        finally
        {
            ReturnToPool();
        }

        if (outcome == WaiterOutcome.TimedOut)
        {
            throw new KeyedLockTimeoutException(key, timeout);
        }

        _registry.TrackHeld(lease);
        return lease;
    }

    KeyedLockAttempt IValueTaskSource<KeyedLockAttempt>.GetResult(short token)
    {
        KeyedLockLease lease;
        WaiterOutcome outcome;
        try
        {
            lease = _core.GetResult(token);
            outcome = Outcome;
        }
        finally
        {
            ReturnToPool();
        }

        if (outcome == WaiterOutcome.TimedOut)
        {
            return KeyedLockAttempt.Failure(KeyedLockFailureReason.TimedOut);
        }

        _registry.TrackHeld(lease);
        return KeyedLockAttempt.Success(lease);
    }

    private void ReturnToPool()
    {
        if (!Pooled)
        {
            return;
        }

        var stripe = Entry?.Stripe;
        Entry = null;
        Prev = null;
        Next = null;
        Key = string.Empty;
        IsAttempt = false;
        Lease = default;
        CancellationToken = default;
        Traced = false;
        _trace = null;
        Outcome = WaiterOutcome.Pending;
        _core.Reset();
        _registry.ReturnWaiter(this, stripe);
    }
}

internal enum WaiterOutcome
{
    Pending,
    Granted,
    TimedOut,
    Canceled,
    Aborted,
}
