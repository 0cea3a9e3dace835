namespace KeyedLock.Postgres.Internal;

/// <summary>
/// The Postgres leases the current async flow holds, for re-entrancy detection: an immutable list in an
/// <see cref="AsyncLocal{T}"/>. Released leases are recognised by <see cref="PostgresLease.IsActive"/> and pruned
/// when a new lease is pushed, so the list only holds what the flow still holds.
/// </summary>
internal sealed class HeldKeys(PostgresLease lease, HeldKeys? next)
{
    private static readonly AsyncLocal<HeldKeys?> s_current = new();

    private readonly PostgresLease _lease = lease;
    private readonly HeldKeys? _next = next;

    internal static bool IsHeldByCurrentFlow(PostgresKeyedLockProvider provider, string key)
    {
        for (var node = s_current.Value; node is not null; node = node._next)
        {
            var lease = node._lease;
            if (ReferenceEquals(lease.Provider, provider) && lease.IsActive && string.Equals(lease.Key, key, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Records <paramref name="lease"/> in the current flow. Must run in the caller's flow (see <see cref="TrackingValueTaskSource{T}"/>).</summary>
    internal static void Push(PostgresLease lease)
    {
        HeldKeys? kept = null;
        var stale = false;
        for (var node = s_current.Value; node is not null; node = node._next)
        {
            stale |= !node._lease.IsActive;
        }

        if (stale)
        {
            var live = new List<PostgresLease>();
            for (var node = s_current.Value; node is not null; node = node._next)
            {
                if (node._lease.IsActive)
                {
                    live.Add(node._lease);
                }
            }

            for (var i = live.Count - 1; i >= 0; i--)
            {
                kept = new HeldKeys(live[i], kept);
            }
        }
        else
        {
            kept = s_current.Value;
        }

        s_current.Value = new HeldKeys(lease, kept);
    }
}
