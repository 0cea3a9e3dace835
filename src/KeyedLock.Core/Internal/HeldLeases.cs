namespace KeyedLock.Internal;

/// <summary>
/// The leases the current async flow holds, for re-entrancy detection: an immutable list in an
/// <see cref="AsyncLocal{T}"/>, shared by every provider of the project. Each node carries the provider that granted
/// it (its scope: one provider is one namespace of keys). A node whose lease was released elsewhere (for example in
/// another flow) is recognised as stale through <see cref="KeyedLockLeaseOwner.IsUnreleased"/>, ignored, and dropped
/// when the list is next rebuilt.
/// </summary>
internal sealed class HeldLeases(object scope, KeyedLockLease lease, HeldLeases? next)
{
    private static readonly AsyncLocal<HeldLeases?> s_current = new();

    private readonly object _scope = scope;
    private readonly KeyedLockLease _lease = lease;
    private readonly HeldLeases? _next = next;

    private bool IsStale => !_lease.Owner!.IsUnreleased(_lease.Key, _lease.Id);

    /// <summary>How many nodes the current flow's list has, stale ones included (for tests: the list must not grow with them).</summary>
    internal static int CountInCurrentFlow()
    {
        var count = 0;
        for (var node = s_current.Value; node is not null; node = node._next)
        {
            count++;
        }

        return count;
    }

    /// <summary>Whether the current flow holds <paramref name="key"/> from the provider <paramref name="scope"/>.</summary>
    internal static bool IsHeldByCurrentFlow(object scope, string key)
    {
        for (var node = s_current.Value; node is not null; node = node._next)
        {
            if (ReferenceEquals(node._scope, scope) && string.Equals(node._lease.Key, key, StringComparison.Ordinal) && !node.IsStale)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Records <paramref name="lease"/> in the current flow. Must run in the caller's flow: a write inside an
    /// <c>async</c> method does not flow back to its caller (see <see cref="CallerFlow"/>).
    /// </summary>
    internal static void Push(object scope, KeyedLockLease lease)
    {
        var head = s_current.Value;
        for (var node = head; node is not null; node = node._next)
        {
            if (node.IsStale)
            {
                head = Rebuild(head, dropOwner: null, dropId: 0);
                break;
            }
        }

        s_current.Value = new HeldLeases(scope, lease, head);
    }

    /// <summary>Forgets the grant <paramref name="id"/> of <paramref name="owner"/> in the current flow, if it is there.</summary>
    internal static void Remove(KeyedLockLeaseOwner owner, long id)
    {
        var head = s_current.Value;
        if (head is null)
        {
            return;
        }

        if (head.Is(owner, id))
        {
            s_current.Value = head._next;
            return;
        }

        // Released out of order (rare): rebuild without the node, dropping stale nodes on the way.
        for (var node = head._next; node is not null; node = node._next)
        {
            if (node.Is(owner, id))
            {
                s_current.Value = Rebuild(head, owner, id);
                return;
            }
        }
    }

    private bool Is(KeyedLockLeaseOwner owner, long id) => ReferenceEquals(_lease.Owner, owner) && _lease.Id == id;

    private static HeldLeases? Rebuild(HeldLeases? head, KeyedLockLeaseOwner? dropOwner, long dropId)
    {
        var kept = new List<HeldLeases>();
        for (var node = head; node is not null; node = node._next)
        {
            if (!(dropOwner is not null && node.Is(dropOwner, dropId)) && !node.IsStale)
            {
                kept.Add(node);
            }
        }

        HeldLeases? rebuilt = null;
        for (var i = kept.Count - 1; i >= 0; i--)
        {
            rebuilt = new HeldLeases(kept[i]._scope, kept[i]._lease, rebuilt);
        }

        return rebuilt;
    }
}
