namespace KeyedLock.Internal;

/// <summary>
/// The keys the current async flow holds, for re-entrancy detection: an immutable list in an <see cref="AsyncLocal{T}"/>.
/// A node whose grant was released elsewhere (for example in another flow) is recognised as stale by its id.
/// </summary>
internal sealed class HeldLeases(KeyedLockRegistry registry, LockEntry entry, string key, long id, HeldLeases? next)
{
    private static readonly AsyncLocal<HeldLeases?> s_current = new();

    private readonly KeyedLockRegistry _registry = registry;
    private readonly LockEntry _entry = entry;
    private readonly string _key = key;
    private readonly long _id = id;
    private readonly HeldLeases? _next = next;

    internal static bool IsHeldByCurrentFlow(KeyedLockRegistry registry, string key)
    {
        for (var node = s_current.Value; node is not null; node = node._next)
        {
            if (ReferenceEquals(node._registry, registry) && string.Equals(node._key, key, StringComparison.Ordinal) && node._entry.HoldsUnsafe(node._id))
            {
                return true;
            }
        }

        return false;
    }

    internal static void Push(KeyedLockRegistry registry, LockEntry entry, string key, long id)
        => s_current.Value = new HeldLeases(registry, entry, key, id, s_current.Value);

    internal static void Remove(LockEntry entry, long id)
    {
        var head = s_current.Value;
        if (head is null)
        {
            return;
        }

        if (ReferenceEquals(head._entry, entry) && head._id == id)
        {
            s_current.Value = head._next;
            return;
        }

        // Released out of order: rebuild the list without the node (rare), dropping stale nodes on the way.
        var found = false;
        var kept = new List<HeldLeases>();
        for (var node = head; node is not null; node = node._next)
        {
            if (ReferenceEquals(node._entry, entry) && node._id == id)
            {
                found = true;
            }
            else if (node._entry.HoldsUnsafe(node._id))
            {
                kept.Add(node);
            }
        }

        if (!found)
        {
            return;
        }

        HeldLeases? rebuilt = null;
        for (var i = kept.Count - 1; i >= 0; i--)
        {
            var n = kept[i];
            rebuilt = new HeldLeases(n._registry, n._entry, n._key, n._id, rebuilt);
        }

        s_current.Value = rebuilt;
    }
}
