using System.Runtime.InteropServices;

namespace KeyedLock.Internal;

/// <summary>
/// One shard of the registry: a lock, the active entries whose key hashes here, and a small free list of entries
/// for reuse. All per-key state is read and written under <see cref="Gate"/>, so a lookup can never see an entry
/// that is being removed or reused.
/// </summary>
internal sealed class LockStripe(KeyedLockRegistry registry)
{
    private const int MaxPooledEntries = 32;

    private readonly Dictionary<string, LockEntry> _entries = new(StringComparer.Ordinal);
    private LockEntry? _free;
    private int _freeCount;

    internal readonly Lock Gate = new();

    /// <summary>Active keys in this stripe. Written under <see cref="Gate"/>, read without it for observation.</summary>
    internal int Count => Volatile.Read(ref _count);

    private int _count;

    /// <summary>Finds or creates the entry of <paramref name="key"/>. Call under <see cref="Gate"/>.</summary>
    internal LockEntry GetOrAddLocked(string key)
    {
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_entries, key, out var exists);
        if (!exists)
        {
            var entry = _free;
            if (entry is null)
            {
                entry = new LockEntry(registry, this);
            }
            else
            {
                _free = entry.NextFree;
                entry.NextFree = null;
                _freeCount--;
            }

            entry.Key = key;
            slot = entry;
            Volatile.Write(ref _count, _count + 1);
        }

        return slot!;
    }

    /// <summary>Removes an entry that has no holder and no waiter, and keeps it for reuse. Call under <see cref="Gate"/>.</summary>
    internal void RemoveLocked(LockEntry entry)
    {
        _entries.Remove(entry.Key);
        Volatile.Write(ref _count, _count - 1);
        entry.Key = string.Empty;
        if (_freeCount < MaxPooledEntries)
        {
            entry.NextFree = _free;
            _free = entry;
            _freeCount++;
        }
    }
}
