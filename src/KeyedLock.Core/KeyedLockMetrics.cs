namespace KeyedLock;

/// <summary>Names of the <c>KeyedLock</c> meter and its instruments, for dashboards and tests.</summary>
public static class KeyedLockMetrics
{
    /// <summary>The meter name: <c>KeyedLock</c>.</summary>
    public const string MeterName = "KeyedLock";

    /// <summary>Histogram (s): time from asking for a key to being granted (or giving up).</summary>
    public const string WaitDuration = "keyedlock.lease.wait.duration";

    /// <summary>Histogram (s): time a lease was held.</summary>
    public const string HoldDuration = "keyedlock.lease.hold.duration";

    /// <summary>Up-down counter: leases held right now.</summary>
    public const string ActiveLeases = "keyedlock.leases.active";

    /// <summary>Up-down counter: waiters queued right now.</summary>
    public const string QueuedWaiters = "keyedlock.waiters.queued";

    /// <summary>Observable gauge: keys with a holder or a waiter right now.</summary>
    public const string ActiveKeys = "keyedlock.keys.active";

    /// <summary>Counter: acquisitions, tagged <see cref="ResultTag"/>.</summary>
    public const string Acquisitions = "keyedlock.acquisitions";

    /// <summary>The tag on <see cref="Acquisitions"/> and <see cref="WaitDuration"/>: acquired, timeout, queue_full, canceled or aborted.</summary>
    public const string ResultTag = "result";
}
