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
    /// <summary>Holder slots a multi-holder entry starts with; they double as holders arrive, up to the limit.</summary>
    internal const int InitialHolderSlots = 4;

    /// <summary>An entry that becomes empty with more slots than this goes back to <see cref="InitialHolderSlots"/>.</summary>
    internal const int MaxIdleHolderSlots = 64;

    private readonly KeyedLockRegistry _registry;
    private long _holderId;          // the holder when MaxConcurrencyPerKey == 1
    private long _holderSince;

    // The holders when MaxConcurrencyPerKey > 1 (0 = free slot). The arrays grow with the holders actually present
    // (a limit of int.MaxValue must not allocate int.MaxValue slots per key); a grown array is published after its
    // copy, so a reader without the gate sees either array with every holder it had. Every slot below
    // _firstFreeSlot is taken, so filling the slots is linear.
    private long[]? _holderIds;
    private long[]? _holderSinces;
    private int _firstFreeSlot;

    internal LockEntry(KeyedLockRegistry registry, LockStripe stripe)
    {
        _registry = registry;
        Stripe = stripe;
        if (registry.MaxConcurrencyPerKey > 1)
        {
            ResetHolderSlots();
        }
    }

    /// <summary>The holder slots allocated right now (for tests).</summary>
    internal int HolderSlots => _holderIds?.Length ?? 1;

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

        var ids = _holderIds;
        var slot = _firstFreeSlot;
        while (slot < ids.Length && ids[slot] != 0)
        {
            slot++;
        }

        if (slot == ids.Length)
        {
            ids = GrowHolderSlots();
        }

        _holderSinces![slot] = since;
        ids[slot] = id;
        _firstFreeSlot = slot + 1;
    }

    /// <summary>Doubles the holder slots (up to the limit); every slot was taken. Call under the gate.</summary>
    private long[] GrowHolderSlots()
    {
        var ids = _holderIds!;
        if (ids.Length >= _registry.MaxConcurrencyPerKey)
        {
            throw new InvalidOperationException("KeyedLock invariant broken: more holders than MaxConcurrencyPerKey.");
        }

        var size = (int)Math.Min(ids.Length * 2L, _registry.MaxConcurrencyPerKey);
        var sinces = new long[size];
        _holderSinces.AsSpan().CopyTo(sinces);
        var grown = new long[size];
        ids.AsSpan().CopyTo(grown);
        _holderSinces = sinces;
        Volatile.Write(ref _holderIds, grown);
        return grown;
    }

    private void ResetHolderSlots()
    {
        var size = Math.Min(_registry.MaxConcurrencyPerKey, InitialHolderSlots);
        _holderSinces = new long[size];
        Volatile.Write(ref _holderIds, new long[size]);
        _firstFreeSlot = 0;
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
            var ids = _holderIds;
            for (var i = 0; i < ids.Length; i++)
            {
                if (ids[i] == id && id != 0)
                {
                    since = _holderSinces![i];
                    ids[i] = 0;
                    Holders--;
                    if (Holders == 0 && Queued == 0 && ids.Length > MaxIdleHolderSlots)
                    {
                        ResetHolderSlots(); // the entry is about to be pooled: do not keep a burst's slots for another key
                    }
                    else if (i < _firstFreeSlot)
                    {
                        _firstFreeSlot = i;
                    }

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
        var ids = Volatile.Read(ref _holderIds);
        if (ids is null)
        {
            return Volatile.Read(ref _holderId) == id;
        }

        for (var i = 0; i < ids.Length; i++)
        {
            if (Volatile.Read(ref ids[i]) == id)
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
