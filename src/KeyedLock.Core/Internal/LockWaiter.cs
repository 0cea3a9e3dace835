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
/// Waiters without a timer and without a cancellable token are pooled, so a contended hand-off allocates nothing.
/// With one holder per key, a granted waiter is recycled when its grant is released (under the stripe's gate, which
/// that release holds anyway: see <see cref="LockEntry.HolderWaiter"/>); otherwise, and for a waiter that was not
/// granted, once the caller has read the result. Waiters with a timer or a token are not reused, because a late
/// timer callback could otherwise hit the next use; their timer and token live in a <see cref="Registrations"/>.
/// </para>
/// </remarks>
internal sealed class LockWaiter : IValueTaskSource<KeyedLockLease>, IValueTaskSource<KeyedLockAttempt>
{
    private static readonly Action<object?> s_onCanceled = static state => ((LockWaiter)state!).OnCanceled();
    private static readonly TimerCallback s_onTimeout = static state => ((LockWaiter)state!).OnTimeout();
    private static readonly Activity s_traceEnded = new("keyedlock.wait.ended");

    // The result is the grant (Entry and Grant, set before completion); the core carries only completion, version
    // and continuation.
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private readonly KeyedLockRegistry _registry;

    // The timer and the token registration of a waiter that is not pooled (null for pooled waiters). Kept out of the
    // waiter itself: a contended hand-off moves the waiter between cores several times, so every field a pooled
    // waiter does not need is a cache line less to move.
    private readonly Registrations? _registrations;

    internal LockWaiter(KeyedLockRegistry registry, bool pooled)
    {
        _registry = registry;
        _registrations = pooled ? null : new Registrations();
    }

    // Guarded by the stripe's gate while queued.
    internal LockEntry? Entry;
    internal LockWaiter? Prev;
    internal LockWaiter? Next;
    internal WaiterOutcome Outcome;

    internal bool IsAttempt;         // serves TryAcquireAsync: a timeout is a result, not an exception
    internal long WaitStarted;
    internal bool Traced;            // someone listened to the KeyedLock activity source when the waiter queued
    internal bool RecycledOnRelease; // granted as its entry's HolderWaiter: the release recycles it, not GetResult
    internal long Grant;             // the grant's id once Outcome is Granted (the lease is built from Entry in GetResult)
    private Activity? _trace;

    /// <summary>Whether the waiter is reused: it has no timer and no cancellable token, so it needs no <see cref="Registrations"/>.</summary>
    internal bool Pooled => _registrations is null;

    /// <summary>The caller's timeout; always infinite for a pooled waiter.</summary>
    internal TimeSpan Timeout => _registrations?.Timeout ?? System.Threading.Timeout.InfiniteTimeSpan;

    /// <summary>The caller's token; never cancellable for a pooled waiter.</summary>
    internal CancellationToken CancellationToken => _registrations?.CancellationToken ?? default;

    /// <summary>Sets the timeout and the token of a waiter that is not pooled (a pooled one has neither).</summary>
    internal void SetDeadline(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var registrations = _registrations!;
        registrations.Timeout = timeout;
        registrations.CancellationToken = cancellationToken;
    }

    internal short Version => _core.Version;

    /// <summary>Arms the timeout and the cancellation after the waiter was queued (outside the gate).</summary>
    internal void ArmRegistrations(TimeProvider time)
    {
        var registrations = _registrations!;
        var timeout = registrations.Timeout;
        var timer = timeout == System.Threading.Timeout.InfiniteTimeSpan ? null : time.CreateTimer(s_onTimeout, this, timeout, System.Threading.Timeout.InfiniteTimeSpan);

        // If the token is already cancelled, the callback runs inline here, completes the waiter and returns.
        var token = registrations.CancellationToken;
        var cancellation = token.CanBeCanceled ? token.UnsafeRegister(s_onCanceled, this) : default;
        lock (registrations)
        {
            if (!registrations.Completed)
            {
                registrations.Timer = timer;
                registrations.Cancellation = cancellation;
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
        // The entry still holds the key: the waiter's timer and token are armed only after this, and a grant makes it
        // the key's holder, so the entry cannot be emptied and reused for another key yet.
        var activity = KeyedLockTracing.StartWait(Entry!.Key, KeyedLockTracing.InProcessProvider);
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

        if (_registrations is { } registrations)
        {
            ITimer? timer;
            CancellationTokenRegistration cancellation;
            lock (registrations)
            {
                registrations.Completed = true;
                timer = registrations.Timer;
                cancellation = registrations.Cancellation;
                registrations.Timer = null;
                registrations.Cancellation = default;
            }

            timer?.Dispose();

            // Waits for a cancellation callback running on another thread (it finds the waiter already completed);
            // returns at once when called from that callback itself.
            cancellation.Dispose();
        }

        if (error is null)
        {
            _core.SetResult(true);
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
        // Only a grant completes an AcquireAsync waiter successfully: a timeout, a cancellation or an abort completes it
        // with its exception, which the core's GetResult throws.
        KeyedLockLease lease;
        try
        {
            _core.GetResult(token);
            lease = GrantedLease();
        }
        finally
        {
            ReturnToPool();
        }

        _registry.TrackHeld(lease);
        return lease;
    }

    KeyedLockAttempt IValueTaskSource<KeyedLockAttempt>.GetResult(short token)
    {
        // A TryAcquireAsync waiter completes successfully when granted or timed out (a result, not an exception).
        KeyedLockLease lease = default;
        bool granted;
        try
        {
            _core.GetResult(token);
            granted = Outcome != WaiterOutcome.TimedOut;
            if (granted)
            {
                lease = GrantedLease();
            }
        }
        finally
        {
            ReturnToPool();
        }

        if (!granted)
        {
            return KeyedLockAttempt.Failure(KeyedLockFailureReason.TimedOut);
        }

        _registry.TrackHeld(lease);
        return KeyedLockAttempt.Success(lease);
    }

    /// <summary>The lease of a granted waiter. Its entry stays the key's until that lease is released, which needs this lease first.</summary>
    private KeyedLockLease GrantedLease() => new(Entry!, Entry!.Key, Grant, trusted: true);

    /// <summary>
    /// After the caller read the result: a pooled waiter goes back to the pool, unless its grant is the entry's
    /// <see cref="LockEntry.HolderWaiter"/>, which the release of that grant recycles under the stripe's gate.
    /// </summary>
    private void ReturnToPool()
    {
        if (Pooled && !RecycledOnRelease)
        {
            Reset();
            _registry.ReturnWaiter(this);
        }
    }

    /// <summary>
    /// Readies a pooled waiter for its next use. Prev and Next were cleared when it left its queue, and the fields
    /// TryEnter sets on every use are not reset; only the references that would keep the caller's key alive are dropped.
    /// </summary>
    internal void Reset()
    {
        Entry = null;
        _trace = null;
        Outcome = WaiterOutcome.Pending;
        RecycledOnRelease = false;
        _core.Reset();
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

/// <summary>The timeout, the token and their registrations of a waiter that is not pooled; locked while they are stored or taken.</summary>
internal sealed class Registrations
{
    internal TimeSpan Timeout;
    internal CancellationToken CancellationToken;
    internal ITimer? Timer;
    internal CancellationTokenRegistration Cancellation;
    internal bool Completed;
}
