namespace KeyedLock.Internal;

/// <summary>
/// One shard of the registry: a lock, an intrusive hash table of the active entries whose key hashes here, and a
/// small free list of entries for reuse. All per-key state is read and written under the stripe's gate (the stripe
/// is its own <see cref="StripeGate"/>: <c>using (stripe.EnterScope())</c>), so a
/// lookup can never see an entry that is being removed or reused.
/// </summary>
/// <remarks>
/// The table chains entries through <see cref="LockEntry.NextInBucket"/>, so adding and removing a key allocates
/// nothing once the table and the free list are warm. It grows at load factor 1 and shrinks when it falls below
/// 1/8, so a burst of keys does not keep memory after it has passed.
/// </remarks>
internal sealed class LockStripe(KeyedLockRegistry registry) : StripeGate
{
    private const int MinBuckets = 8;
    private const int MaxPooledEntries = 32;

    private LockEntry?[] _buckets = new LockEntry?[MinBuckets];
    private LockEntry? _spare;   // the last removed entry: the common add-then-remove cycle reuses it directly
    private LockEntry? _free;
    private int _freeCount;
    private int _count;

    /// <summary>One pooled waiter kept by the stripe, taken and put back under its gate; the registry's pool holds the rest.</summary>
    internal LockWaiter? SpareWaiter;

    /// <summary>Active keys in this stripe. Written under the gate, read without it for observation.</summary>
    internal int Count => Volatile.Read(ref _count);

    /// <summary>The table's bucket count (for tests: it grows at load factor 1 and shrinks below 1/8).</summary>
    internal int BucketCount => _buckets.Length;

    /// <summary>Entries kept for reuse: the spare plus the free list (for tests: at most 1 + 32).</summary>
    internal int PooledEntries => _freeCount + (_spare is null ? 0 : 1);

    /// <summary>
    /// A hash chain this long (walked while adding a key) switches the stripe from the fast hash to the randomized
    /// one for good (see <see cref="KeyHash"/>). At load factor 1, a chain of 16 among keys that were not built to
    /// collide is too rare to matter (and would only cost the switch).
    /// </summary>
    internal const int CollisionThreshold = 16;

    private bool _randomized;

    /// <summary>Whether the stripe has switched to the randomized hash (for tests).</summary>
    internal bool IsRandomized => _randomized;

    /// <summary>The hash this stripe places <paramref name="key"/> by: the fast one until the switch, then the randomized one.</summary>
    private int HashOf(string key, int fastHash) => _randomized ? KeyHash.Randomized(key) : fastHash;

    /// <summary>Finds the entry of <paramref name="key"/>, or null. Call under the gate.</summary>
    /// <param name="key">The key.</param>
    /// <param name="fastHash">The key's <see cref="KeyHash.Fast"/> hash (the stripe rehashes it when randomized).</param>
    internal LockEntry? FindLocked(string key, int fastHash)
    {
        var hash = HashOf(key, fastHash);
        for (var entry = _buckets[BucketOf(hash, _buckets.Length)]; entry is not null; entry = entry.NextInBucket)
        {
            if (entry.Hash == hash && string.Equals(entry.Key, key, StringComparison.Ordinal))
            {
                return entry;
            }
        }

        return null;
    }

    /// <summary>Finds or creates the entry of <paramref name="key"/>. Call under the gate.</summary>
    /// <param name="key">The key.</param>
    /// <param name="fastHash">The key's <see cref="KeyHash.Fast"/> hash (the stripe rehashes it when randomized).</param>
    internal LockEntry GetOrAddLocked(string key, int fastHash)
    {
        var hash = HashOf(key, fastHash);
        var buckets = _buckets;
        ref var head = ref buckets[BucketOf(hash, buckets.Length)];
        var chain = 0;
        for (var entry = head; entry is not null; entry = entry.NextInBucket)
        {
            if (entry.Hash == hash && string.Equals(entry.Key, key, StringComparison.Ordinal))
            {
                return entry;
            }

            chain++;
        }

        if (chain >= CollisionThreshold && !_randomized)
        {
            // Keys built to collide on the fast hash: place every entry of this stripe by the randomized hash from now on.
            Randomize();
            hash = KeyHash.Randomized(key);
            buckets = _buckets;
            head = ref buckets[BucketOf(hash, buckets.Length)];
        }

        var added = _spare;
        if (added is not null)
        {
            _spare = null;
        }
        else if (_free is not null)
        {
            added = _free;
            _free = added.NextInBucket;
            _freeCount--;
        }
        else
        {
            added = new LockEntry(registry, this);
        }

        added.Key = key;
        added.Hash = hash;
        if (_count >= buckets.Length)
        {
            Resize(buckets.Length * 2);
            buckets = _buckets;
            head = ref buckets[BucketOf(hash, buckets.Length)];
        }

        // The bucket is usually empty, and a store of a null constant needs no GC write barrier.
        if (head is null)
        {
            added.NextInBucket = null;
        }
        else
        {
            added.NextInBucket = head;
        }

        head = added;
        Volatile.Write(ref _count, _count + 1);
        return added;
    }

    /// <summary>Removes an entry that has no holder and no waiter, and keeps it for reuse. Call under the gate.</summary>
    internal void RemoveLocked(LockEntry entry)
    {
        var buckets = _buckets;
        ref var link = ref buckets[BucketOf(entry.Hash, buckets.Length)];
        while (link is not null && !ReferenceEquals(link, entry))
        {
            link = ref link.NextInBucket;
        }

        if (link is null)
        {
            throw new InvalidOperationException("KeyedLock invariant broken: removing an entry that is not in its stripe.");
        }

        // Usually the entry is alone in its bucket: storing a null constant needs no GC write barrier.
        if (entry.NextInBucket is { } next)
        {
            link = next;
        }
        else
        {
            link = null;
        }

        Volatile.Write(ref _count, _count - 1);

        // The pooled entry keeps its last key string until reuse (no extra store on the hot path); leases are matched
        // by grant id, never by the entry's key, so a stale key cannot be mistaken for a grant.
        if (_spare is null)
        {
            _spare = entry;
        }
        else if (_freeCount < MaxPooledEntries)
        {
            entry.NextInBucket = _free;
            _free = entry;
            _freeCount++;
        }

        if (buckets.Length > MinBuckets && _count < buckets.Length / 8)
        {
            Resize(buckets.Length / 2);
        }
    }

    /// <summary>Switches to the randomized hash: rehashes every active entry in place (same stripe, same table size).</summary>
    private void Randomize()
    {
        _randomized = true;
        foreach (var head in _buckets)
        {
            for (var entry = head; entry is not null; entry = entry.NextInBucket)
            {
                entry.Hash = KeyHash.Randomized(entry.Key);
            }
        }

        Resize(_buckets.Length);
    }

    // Bucket counts are powers of two.
    private static int BucketOf(int hash, int length) => hash & (length - 1);

    private void Resize(int length)
    {
        var resized = new LockEntry?[length];
        foreach (var head in _buckets)
        {
            var entry = head;
            while (entry is not null)
            {
                var next = entry.NextInBucket;
                ref var target = ref resized[BucketOf(entry.Hash, length)];
                entry.NextInBucket = target;
                target = entry;
                entry = next;
            }
        }

        _buckets = resized;
    }
}
