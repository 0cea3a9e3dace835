namespace KeyedLock.Redis.Internal;

/// <summary>The outcome of one acquisition: a lease, or why there is none.</summary>
internal readonly record struct Grant(RedisLease? Lease, KeyedLockFailureReason Reason, string Key, TimeSpan Timeout, int QueueLimit)
{
    internal static readonly Func<Grant, KeyedLockLease> ToLease = static grant => grant.Reason switch
    {
        KeyedLockFailureReason.None => grant.Lease!.ToLease(),
        KeyedLockFailureReason.QueueFull => throw new KeyedLockQueueFullException(grant.Key, grant.QueueLimit),
        _ => throw new KeyedLockTimeoutException(grant.Key, grant.Timeout),
    };

    internal static readonly Func<Grant, KeyedLockAttempt> ToAttempt = static grant => grant.Reason == KeyedLockFailureReason.None
        ? KeyedLockAttempt.Success(grant.Lease!.ToLease())
        : KeyedLockAttempt.Failure(grant.Reason);
}
