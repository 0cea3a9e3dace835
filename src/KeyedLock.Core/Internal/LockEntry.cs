using System.Runtime.CompilerServices;

namespace KeyedLock.Internal;

/// <summary>
/// The state of one active key: its holders (by grant id) and its FIFO queue of waiters. Every field is guarded by
/// the stripe's gate. An entry exists only while its key has a holder or a waiter; then it is removed and may be
/// reused for another key. Leases identify their grant by id (unique for the registry's lifetime), so a stale
/// lease can never release or observe a later grant, even of a reused entry.
/// </summary>
internal sealed class LockEntry : KeyedLockLeaseOwner
{
    private readonly KeyedLockRegistry _registry;
    private long _holderId;          // the holder when MaxConcurrencyPerKey == 1
    private long _holderSince;
    private readonly long[]? _holderIds;     // the holders when MaxConcurrencyPerKey > 1 (0 = free slot)
    private readonly long[]? _holderSinces;

    internal LockEntry(KeyedLockRegistry registry, LockStripe stripe)
    {
        _registry = registry;
        Stripe = stripe;
        if (registry.MaxConcurrencyPerKey > 1)
        {
            _holderIds = new long[registry.MaxConcurrencyPerKey];
            _holderSinces = new long[registry.MaxConcurrencyPerKey];
        }
    }

    internal LockStripe Stripe { get; }

    internal string Key = string.Empty;
    internal int Hash;                 // the stripe's hash of Key: fast, or randomized after the stripe switched (KeyHash)
    internal LockEntry? NextInBucket;  // the stripe's hash chain while active, its free list while pooled
    internal int Holders;
    internal int Queued;
    internal LockWaiter? Head;
    internal LockWaiter? Tail;

    /// <summary>
    /// The pooled waiter whose grant is the key's holder right now (one holder per key only; null when the holder
    /// was granted at once). Its caller has read the result before it can release the lease, so the release puts
    /// the waiter back under the gate it holds anyway, and neither rent nor return needs an atomic of its own.
    /// </summary>
    internal LockWaiter? HolderWaiter;

    /// <summary>Whether holders are tracked one per key (MaxConcurrencyPerKey == 1), which <see cref="HolderWaiter"/> needs.</summary>
    internal bool SingleHolder => _holderIds is null;

    internal bool IsEmpty => Holders == 0 && Queued == 0;

    /// <summary>Adds a holder. Call under the gate.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void AddHolderLocked(long id, long since)
    {
        Holders++;
        if (_holderIds is null)
        {
            _holderId = id;
            _holderSince = since;
            return;
        }

        for (var i = 0; i < _holderIds.Length; i++)
        {
            if (_holderIds[i] == 0)
            {
                _holderIds[i] = id;
                _holderSinces![i] = since;
                return;
            }
        }

        throw new InvalidOperationException("KeyedLock invariant broken: more holders than MaxConcurrencyPerKey.");
    }

    /// <summary>Removes the holder <paramref name="id"/>; false when it is not a holder (already released). Call under the gate.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryRemoveHolderLocked(long id, out long since)
    {
        if (_holderIds is null)
        {
            if (_holderId == id && id != 0)
            {
                since = _holderSince;
                _holderId = 0;
                Holders--;
                return true;
            }
        }
        else
        {
            for (var i = 0; i < _holderIds.Length; i++)
            {
                if (_holderIds[i] == id && id != 0)
                {
                    since = _holderSinces![i];
                    _holderIds[i] = 0;
                    Holders--;
                    return true;
                }
            }
        }

        since = 0;
        return false;
    }

    /// <summary>Whether <paramref name="id"/> holds this entry. Safe without the gate (reads a 64-bit id).</summary>
    internal bool HoldsUnsafe(long id)
    {
        if (_holderIds is null)
        {
            return Volatile.Read(ref _holderId) == id;
        }

        for (var i = 0; i < _holderIds.Length; i++)
        {
            if (Volatile.Read(ref _holderIds[i]) == id)
            {
                return true;
            }
        }

        return false;
    }

    internal void EnqueueLocked(LockWaiter waiter)
    {
        waiter.Prev = Tail;
        waiter.Next = null;
        if (Tail is null)
        {
            Head = waiter;
        }
        else
        {
            Tail.Next = waiter;
        }

        Tail = waiter;
        Queued++;
    }

    internal void RemoveWaiterLocked(LockWaiter waiter)
    {
        if (waiter.Prev is null)
        {
            Head = waiter.Next;
        }
        else
        {
            waiter.Prev.Next = waiter.Next;
        }

        if (waiter.Next is null)
        {
            Tail = waiter.Prev;
        }
        else
        {
            waiter.Next.Prev = waiter.Prev;
        }

        waiter.Prev = null;
        waiter.Next = null;
        Queued--;
    }

    protected internal override void Release(string key, long id) => _registry.Release(this, id);

    protected internal override bool IsHeld(string key, long id) => HoldsUnsafe(id);

    protected internal override int AbortWaiters(string key, long id, Exception reason) => _registry.AbortWaiters(this, id, reason);
}
