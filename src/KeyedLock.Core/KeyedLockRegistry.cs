using System.Diagnostics.Metrics;
using System.Numerics;
using System.Runtime.CompilerServices;
using KeyedLock.Internal;

namespace KeyedLock;

/// <summary>
/// The in-process <see cref="IKeyedLockProvider"/>: a registry of keyed async locks. One instance is one namespace
/// of keys (there is no static global).
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Per key, waiters are granted strictly in arrival order; nobody barges past queued waiters.</item>
/// <item>Up to <see cref="KeyedLockOptions.MaxConcurrencyPerKey"/> holders per key.</item>
/// <item>Leak-free: a key's state exists only while it has a holder or a waiter (<see cref="Count"/>).</item>
/// <item>Timeouts and cancellation remove the waiter at once.</item>
/// <item>The uncontended acquire and release allocate nothing; a steady queue of waiters without timeout or token allocates nothing either.</item>
/// <item>Waits that are not granted at once are traced on the <c>KeyedLock</c> activity source (<see cref="KeyedLockDiagnostics"/>).</item>
/// </list>
/// </remarks>
public sealed class KeyedLockRegistry : IKeyedLockProvider, IDisposable
{
    private readonly LockStripe[] _stripes;
    private readonly int _stripeShift;
    private readonly int _maxQueue;
    private readonly bool _detectReentrancy;
    private readonly TimeProvider _time;
    private readonly RegistryMetrics _metrics;
    private const int MaxPooledWaiters = 1024;
    private readonly StripeGate _waiterPoolGate = new();
    private LockWaiter?[] _waiterPool = new LockWaiter?[16];
    private int _waiterPoolCount;
    private readonly Func<KeyedLockLease, KeyedLockLease> _trackHeldInCallerFlow;
    private readonly GrantCounter _grants = new();

    /// <summary>Creates a registry with default options.</summary>
    public KeyedLockRegistry()
        : this(null)
    {
    }

    /// <summary>Creates a registry.</summary>
    /// <param name="options">The options (validated and copied); defaults when null.</param>
    /// <param name="timeProvider">The clock for timeouts and metrics; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="meterFactory">Creates the <c>KeyedLock</c> meter; a private meter when null.</param>
    public KeyedLockRegistry(KeyedLockOptions? options, TimeProvider? timeProvider = null, IMeterFactory? meterFactory = null)
        : this(options, timeProvider, meterFactory, publishMetrics: true)
    {
    }

    /// <summary>Creates a registry; with <paramref name="publishMetrics"/> false it has no instruments at all (<see cref="RegistryMetrics.Unpublished"/>).</summary>
    internal KeyedLockRegistry(KeyedLockOptions? options, TimeProvider? timeProvider, IMeterFactory? meterFactory, bool publishMetrics)
    {
        options = (options ?? new KeyedLockOptions()).Clone();
        options.Validate();
        MaxConcurrencyPerKey = options.MaxConcurrencyPerKey;
        _maxQueue = options.MaxQueueLengthPerKey;
        _detectReentrancy = options.DetectReentrancy;
        _time = timeProvider ?? TimeProvider.System;

        var stripeCount = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Clamp(Environment.ProcessorCount * 8, 16, 1024));
        _stripes = new LockStripe[stripeCount];
        for (var i = 0; i < _stripes.Length; i++)
        {
            _stripes[i] = new LockStripe(this);
        }

        _stripeShift = 32 - BitOperations.Log2((uint)stripeCount);
        _metrics = publishMetrics ? new RegistryMetrics(meterFactory, () => Count) : RegistryMetrics.Unpublished;
        _trackHeldInCallerFlow = lease =>
        {
            TrackHeld(lease);
            return lease;
        };
    }

    /// <summary>The number of keys that have a holder or a waiter right now. Returns to 0 when all leases are released.</summary>
    public int Count
    {
        get
        {
            var count = 0;
            foreach (var stripe in _stripes)
            {
                count += stripe.Count;
            }

            return count;
        }
    }

    /// <summary>How many holders one key may have at once.</summary>
    public int MaxConcurrencyPerKey { get; }

    /// <summary>How many waiters may queue on one key.</summary>
    public int MaxQueueLengthPerKey => _maxQueue;

    /// <inheritdoc />
    public ValueTask<KeyedLockLease> AcquireAsync(string key, CancellationToken cancellationToken = default)
        => AcquireAsync(key, Timeout.InfiniteTimeSpan, cancellationToken);

    /// <inheritdoc />
    public ValueTask<KeyedLockLease> AcquireAsync(string key, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        Arguments.ValidateKey(key);
        Arguments.ValidateTimeout(timeout);
        if (cancellationToken.IsCancellationRequested)
        {
            _metrics.Acquisition(RegistryMetrics.Canceled);
            return ValueTask.FromCanceled<KeyedLockLease>(cancellationToken);
        }

        var target = TryEnter(key, timeout, cancellationToken, isAttempt: false, out var grant, out var status);
        switch (status)
        {
            case EnterStatus.Acquired:
                var lease = new KeyedLockLease(Unsafe.As<LockEntry>(target!), key, grant, trusted: true);
                TrackHeld(lease);
                return new ValueTask<KeyedLockLease>(lease);
            case EnterStatus.Queued:
                var waiter = Unsafe.As<LockWaiter>(target!);
                return new ValueTask<KeyedLockLease>(waiter, waiter.Version);
            case EnterStatus.QueueFull:
                return ValueTask.FromException<KeyedLockLease>(new KeyedLockQueueFullException(key, _maxQueue));
            default:
                return ValueTask.FromException<KeyedLockLease>(new KeyedLockTimeoutException(key, timeout));
        }
    }

    /// <inheritdoc />
    public ValueTask<KeyedLockAttempt> TryAcquireAsync(string key, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        Arguments.ValidateKey(key);
        Arguments.ValidateTimeout(timeout);
        if (cancellationToken.IsCancellationRequested)
        {
            _metrics.Acquisition(RegistryMetrics.Canceled);
            return ValueTask.FromCanceled<KeyedLockAttempt>(cancellationToken);
        }

        var target = TryEnter(key, timeout, cancellationToken, isAttempt: true, out var grant, out var status);
        switch (status)
        {
            case EnterStatus.Acquired:
                var lease = new KeyedLockLease(Unsafe.As<LockEntry>(target!), key, grant, trusted: true);
                TrackHeld(lease);
                return new ValueTask<KeyedLockAttempt>(KeyedLockAttempt.Success(lease));
            case EnterStatus.Queued:
                var waiter = Unsafe.As<LockWaiter>(target!);
                return new ValueTask<KeyedLockAttempt>(waiter, waiter.Version);
            case EnterStatus.QueueFull:
                return new ValueTask<KeyedLockAttempt>(KeyedLockAttempt.Failure(KeyedLockFailureReason.QueueFull));
            default:
                return new ValueTask<KeyedLockAttempt>(KeyedLockAttempt.Failure(KeyedLockFailureReason.TimedOut));
        }
    }

    /// <inheritdoc />
    public ValueTask<KeyedLockLease> AcquireAsync(IReadOnlyCollection<string> keys, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var acquisition = KeyedLockMultiKey.AcquireAllAsync(this, keys, timeout, _time, cancellationToken);
        if (!_detectReentrancy || acquisition.IsFaulted || acquisition.IsCanceled)
        {
            return acquisition;
        }

        // The keys are acquired inside an async method, whose AsyncLocal writes do not reach this caller: record
        // them in the caller's flow, now or when the caller reads the result. A single key granted at once tracked
        // itself already; one that waited was completed outside the caller's flow, so it is recorded here too.
        if (acquisition.IsCompletedSuccessfully)
        {
            var lease = acquisition.Result;
            if (lease.Owner is MultiKeyLeaseOwner)
            {
                TrackHeld(lease);
            }

            return new ValueTask<KeyedLockLease>(lease);
        }

        return CallerFlow.Complete(acquisition, _trackHeldInCallerFlow);
    }

    /// <summary>The registry's instruments (for tests).</summary>
    internal RegistryMetrics Metrics => _metrics;

    /// <summary>The stripe that holds <paramref name="key"/>'s entry (for tests).</summary>
    internal LockStripe StripeOf(string key) => _stripes[KeyHash.StripeIndex(KeyHash.Fast(key), _stripeShift)];

    /// <summary>How many waiters are queued on <paramref name="key"/> right now (holders not counted); for tests.</summary>
    internal int QueueLength(string key)
    {
        var hash = KeyHash.Fast(key);
        var stripe = _stripes[KeyHash.StripeIndex(hash, _stripeShift)];
        using (stripe.EnterScope())
        {
            return stripe.FindLocked(key, hash)?.Queued ?? 0;
        }
    }

    /// <summary>Disposes the registry's private meter, if it created one. Held leases stay valid.</summary>
    public void Dispose() => _metrics.Dispose();

    private enum EnterStatus
    {
        Acquired,
        Queued,
        TimedOut,
        QueueFull,
    }

    /// <summary>
    /// Grants <paramref name="key"/> at once, queues a waiter for it, or refuses. Returns the key's entry when granted
    /// (<paramref name="grant"/> is the grant's id), the queued waiter when queued, null when refused. Nothing is
    /// returned through a reference-typed <c>out</c> parameter: a store through one is a checked write barrier each.
    /// </summary>
    private object? TryEnter(string key, TimeSpan timeout, CancellationToken cancellationToken, bool isAttempt, out long grant, out EnterStatus status)
    {
        if (_detectReentrancy && HeldLeases.IsHeldByCurrentFlow(this, key))
        {
            throw new KeyedLockRecursionException(key);
        }

        // One fast hash per operation picks the stripe (and the bucket, until the stripe sees a long chain and switches
        // to the randomized hash: keys often come from request input, so the table must not be open to hash flooding).
        var hash = KeyHash.Fast(key);
        var stripe = _stripes[KeyHash.StripeIndex(hash, _stripeShift)];
        LockEntry entry;
        LockWaiter? waiter = null;
        grant = 0;
        using (stripe.EnterScope())
        {
            entry = stripe.GetOrAddLocked(key, hash);
            if (entry.Queued == 0 && entry.Holders < MaxConcurrencyPerKey)
            {
                grant = NextGrantId();
                entry.AddHolderLocked(grant, _metrics.HoldDurationEnabled ? _time.GetTimestamp() : 0);
                status = EnterStatus.Acquired;
            }
            else if (entry.Queued >= _maxQueue)
            {
                status = EnterStatus.QueueFull;
            }
            else if (timeout == TimeSpan.Zero)
            {
                status = EnterStatus.TimedOut;
            }
            else
            {
                waiter = RentWaiter(stripe, pooled: timeout == Timeout.InfiniteTimeSpan && !cancellationToken.CanBeCanceled);
                waiter.Entry = entry;
                waiter.IsAttempt = isAttempt;
                if (!waiter.Pooled)
                {
                    waiter.SetDeadline(timeout, cancellationToken);
                }

                waiter.WaitStarted = _metrics.WaitDurationEnabled ? _time.GetTimestamp() : 0;
                waiter.Traced = KeyedLockTracing.Source.HasListeners();
                entry.EnqueueLocked(waiter);
                status = EnterStatus.Queued;
            }
        }

        switch (status)
        {
            case EnterStatus.Acquired:
                _metrics.LeaseGranted();
                _metrics.Acquisition(RegistryMetrics.Acquired);
                return entry;
            case EnterStatus.Queued:
                _metrics.WaiterQueued(1);
                if (waiter!.Traced)
                {
                    waiter.StartTrace();
                }

                if (!waiter.Pooled)
                {
                    waiter.ArmRegistrations(_time);
                }

                return waiter;
            case EnterStatus.QueueFull:
                _metrics.Acquisition(RegistryMetrics.QueueFull);
                KeyedLockTracing.Refused(key, KeyedLockTracing.InProcessProvider, RegistryMetrics.QueueFull);
                return null;
            default:
                _metrics.Acquisition(RegistryMetrics.TimedOut);
                KeyedLockTracing.Refused(key, KeyedLockTracing.InProcessProvider, RegistryMetrics.TimedOut);
                return null;
        }
    }

    /// <summary>Releases the grant <paramref name="id"/> of <paramref name="entry"/> and hands the key to the next waiter.</summary>
    internal void Release(LockEntry entry, long id)
    {
        var stripe = entry.Stripe;
        LockWaiter? next = null;
        long heldSince;
        using (stripe.EnterScope())
        {
            if (!entry.TryRemoveHolderLocked(id, out heldSince))
            {
                return; // released before (a copy of the lease), or never granted: a no-op
            }

            if (entry.HolderWaiter is not null)
            {
                RecycleHolderWaiterLocked(stripe, entry);
            }

            if (entry.Head is not null)
            {
                next = HandOffLocked(entry);
            }
            else if (entry.IsEmpty)
            {
                stripe.RemoveLocked(entry);
            }
        }

        _metrics.LeaseReleased(heldSince, _time);
        if (_detectReentrancy)
        {
            HeldLeases.Remove(entry, id);
        }

        if (next is not null)
        {
            CompleteGranted(next);
        }
    }

    /// <summary>
    /// The hand-off of a release to the oldest waiter, under the gate (kept out of <see cref="Release"/> so that the
    /// uncontended release stays small).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private LockWaiter HandOffLocked(LockEntry entry)
    {
        // Direct hand-off to the oldest waiter: the key never becomes free, so nobody can barge in.
        var head = entry.Head!;
        entry.RemoveWaiterLocked(head);
        var grant = NextGrantId();
        entry.AddHolderLocked(grant, _metrics.HoldDurationEnabled ? _time.GetTimestamp() : 0);
        head.Outcome = WaiterOutcome.Granted;
        head.Grant = grant;
        if (head.Pooled && entry.SingleHolder)
        {
            head.RecycledOnRelease = true;
            entry.HolderWaiter = head;
        }

        return head;
    }

    /// <summary>Records and completes a waiter that a release granted (outside the gate).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void CompleteGranted(LockWaiter next)
    {
        _metrics.WaiterQueued(-1);
        _metrics.LeaseGranted();
        _metrics.Acquisition(RegistryMetrics.Acquired);
        _metrics.WaitEnded(RegistryMetrics.Acquired, next.WaitStarted, _time);
        next.Complete(null, RegistryMetrics.Acquired);
    }

    /// <summary>Timeout or cancellation of a queued waiter: removes it at once unless it was granted first.</summary>
    internal void CompleteWaiterEarly(LockWaiter waiter, WaiterOutcome outcome)
    {
        string key;
        using (waiter.Entry!.Stripe.EnterScope())
        {
            // Read the entry under the gate: a waiter is only ever queued on one entry, and Entry is cleared only
            // after the waiter completed, which requires winning here first.
            if (waiter.Outcome != WaiterOutcome.Pending)
            {
                return; // granted (or aborted) first: the grant stands and the caller must release it
            }

            var entry = waiter.Entry;
            key = entry.Key; // read under the gate: once the waiter left, its entry may be emptied and reused
            entry.RemoveWaiterLocked(waiter);
            waiter.Outcome = outcome;
            if (entry.IsEmpty)
            {
                entry.Stripe.RemoveLocked(entry);
            }
        }

        var result = outcome == WaiterOutcome.TimedOut ? RegistryMetrics.TimedOut : RegistryMetrics.Canceled;
        _metrics.WaiterQueued(-1);
        _metrics.Acquisition(result);
        _metrics.WaitEnded(result, waiter.WaitStarted, _time);

        // A timed-out AcquireAsync completes faulted (so the ValueTask reports IsFaulted, not IsCompletedSuccessfully);
        // a timed-out TryAcquireAsync completes with a result that its GetResult turns into a failed attempt.
        // A cancelled one throws TaskCanceledException with the caller's token, as when the token fired before the
        // call (ValueTask.FromCanceled) and as SemaphoreSlim.WaitAsync does: one type whatever the moment.
        waiter.Complete(
            outcome switch
            {
                WaiterOutcome.Canceled => new TaskCanceledException(null, null, waiter.CancellationToken),
                WaiterOutcome.TimedOut when !waiter.IsAttempt => new KeyedLockTimeoutException(key, waiter.Timeout),
                _ => null,
            },
            result);
    }

    /// <summary>Rejects every waiter queued on the entry right now; only a current holder may do it.</summary>
    internal int AbortWaiters(LockEntry entry, long id, Exception reason)
    {
        List<LockWaiter>? aborted = null;
        string key;
        using (entry.Stripe.EnterScope())
        {
            if (!entry.HoldsUnsafe(id))
            {
                return 0;
            }

            key = entry.Key;
            while (entry.Head is { } head)
            {
                entry.RemoveWaiterLocked(head);
                head.Outcome = WaiterOutcome.Aborted;
                (aborted ??= []).Add(head);
            }
        }

        if (aborted is null)
        {
            return 0;
        }

        foreach (var waiter in aborted)
        {
            _metrics.WaiterQueued(-1);
            _metrics.Acquisition(RegistryMetrics.Aborted);
            _metrics.WaitEnded(RegistryMetrics.Aborted, waiter.WaitStarted, _time);
            waiter.Complete(new KeyedLockAbortedException(key, reason), RegistryMetrics.Aborted);
        }

        return aborted.Count;
    }

    /// <summary>Records a grant in the current async flow for re-entrancy detection (inlined: off by default).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void TrackHeld(in KeyedLockLease lease)
    {
        if (_detectReentrancy)
        {
            TrackHeldCore(lease);
        }
    }

    private void TrackHeldCore(KeyedLockLease lease)
    {
        if (lease.Owner is LockEntry)
        {
            HeldLeases.Push(this, lease);
        }
        else if (lease.Owner is MultiKeyLeaseOwner multi)
        {
            foreach (var part in multi.Leases)
            {
                TrackHeldCore(part);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long NextGrantId() => Interlocked.Increment(ref _grants.Last);

    /// <summary>
    /// Takes a reusable waiter (no timer, no cancellable token) or creates one; call under the stripe's gate. The
    /// stripe's spare first (a plain field under that gate), then the registry's pool: a stack behind its own gate
    /// (taken inside a stripe's gate, never the other way round) that grows to the largest number of such waiters
    /// queued at once, up to <see cref="MaxPooledWaiters"/>, so a steady queue of any depth allocates nothing.
    /// </summary>
    private LockWaiter RentWaiter(LockStripe stripe, bool pooled)
    {
        if (pooled)
        {
            if (stripe.SpareWaiter is { } spare)
            {
                stripe.SpareWaiter = null;
                return spare;
            }

            using (_waiterPoolGate.EnterScope())
            {
                if (_waiterPoolCount > 0)
                {
                    var waiter = _waiterPool[--_waiterPoolCount]!;
                    _waiterPool[_waiterPoolCount] = null;
                    return waiter;
                }
            }
        }

        return new LockWaiter(this, pooled);
    }

    /// <summary>
    /// Recycles the waiter that the released grant came through (one holder per key; see
    /// <see cref="LockEntry.HolderWaiter"/>): its caller read the result before releasing, so it is free for its
    /// next use now. It goes to the stripe's spare, else to the registry's pool. Call under the stripe's gate.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RecycleHolderWaiterLocked(LockStripe stripe, LockEntry entry)
    {
        var finished = entry.HolderWaiter!;
        entry.HolderWaiter = null;
        finished.Reset();
        if (stripe.SpareWaiter is null)
        {
            stripe.SpareWaiter = finished;
        }
        else
        {
            ReturnWaiter(finished);
        }
    }

    /// <summary>Puts a reset waiter back into the registry's pool (dropped when the pool is full).</summary>
    internal void ReturnWaiter(LockWaiter waiter)
    {
        using (_waiterPoolGate.EnterScope())
        {
            if (_waiterPoolCount == _waiterPool.Length)
            {
                if (_waiterPool.Length >= MaxPooledWaiters)
                {
                    return;
                }

                Array.Resize(ref _waiterPool, _waiterPool.Length * 2);
            }

            _waiterPool[_waiterPoolCount++] = waiter;
        }
    }

    /// <summary>How many waiters are pooled for reuse right now (for tests).</summary>
    internal int PooledWaiters
    {
        get
        {
            var spares = 0;
            foreach (var stripe in _stripes)
            {
                spares += Volatile.Read(ref stripe.SpareWaiter) is null ? 0 : 1;
            }

            using (_waiterPoolGate.EnterScope())
            {
                return _waiterPoolCount + spares;
            }
        }
    }
}
