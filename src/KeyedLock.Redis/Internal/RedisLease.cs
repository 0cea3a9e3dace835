using KeyedLock.Internal;
using StackExchange.Redis;

namespace KeyedLock.Redis.Internal;

/// <summary>
/// One grant of a <see cref="RedisKeyedLockProvider"/>: the holder entry <see cref="HolderId"/> in the key's holder set.
/// Its <see cref="KeyedLockLease.LostToken"/> fires at the local loss deadline (the send time of the last confirmed
/// renewal + 99 % of the lease TTL - the safety margin), or at once when a renewal finds the entry gone.
/// </summary>
internal sealed class RedisLease : KeyedLockLeaseOwner, IDistributedLeaseOwner
{
    /// <summary>The <see cref="LostReason"/> when renewals did not get through before the loss deadline.</summary>
    internal const string LostAtDeadline = "its renewals did not reach Redis before the loss deadline";

    /// <summary>The <see cref="LostReason"/> when the reply to the grant or to a renewal came after the loss deadline.</summary>
    internal const string LostLateAnswer = "its last renewal answered after the loss deadline";

    /// <summary>The <see cref="LostReason"/> when a renewal found the lease gone.</summary>
    internal const string LostOnRenewal = "a renewal found it gone from Redis";

    private static readonly TimerCallback s_onDeadline = static state => ((RedisLease)state!).MarkLost(LostAtDeadline, null);

    private readonly CancellationTokenSource _lost = new();
    private readonly ITimer _deadline;
    private long _renewedAt;
    private int _released;
    private volatile bool _isLost;

    internal RedisLease(RedisKeyedLockProvider provider, string key, RedisKey[] keys, string holderId, long id, long fencingToken, long confirmedSentAt)
    {
        Provider = provider;
        Key = key;
        Keys = keys;
        HolderId = holderId;
        Id = id;
        FencingToken = fencingToken;
        GrantedAt = provider.Time.GetTimestamp();
        _renewedAt = confirmedSentAt;
        _deadline = provider.Time.CreateTimer(s_onDeadline, this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        Renewed(confirmedSentAt);
    }

    internal RedisKeyedLockProvider Provider { get; }

    internal string Key { get; }

    internal RedisKey[] Keys { get; }

    internal string HolderId { get; }

    internal long Id { get; }

    internal long FencingToken { get; }

    internal long GrantedAt { get; }

    /// <summary>The local timestamp at which the last confirmed renewal was sent.</summary>
    internal long RenewedAt => Volatile.Read(ref _renewedAt);

    /// <summary>Not released yet (it may be lost: the caller still owns it until it releases).</summary>
    internal bool IsActive => Volatile.Read(ref _released) == 0;

    internal bool IsLost => _isLost;

    /// <summary>Why the lease was lost, or null.</summary>
    internal string? LostReason { get; private set; }

    public KeyedLockLease ToLease() => new(this, Key, Id);

    /// <summary>A renewal sent at <paramref name="sentAt"/> was confirmed: move the loss deadline.</summary>
    internal void Renewed(long sentAt)
    {
        if (!IsActive || _isLost)
        {
            return;
        }

        long previous;
        do
        {
            previous = Volatile.Read(ref _renewedAt);
            if (sentAt < previous)
            {
                return; // an older renewal answered late
            }
        }
        while (Interlocked.CompareExchange(ref _renewedAt, sentAt, previous) != previous);

        var dueIn = Provider.LossWindow - Provider.Time.GetElapsedTime(sentAt);
        if (dueIn <= TimeSpan.Zero)
        {
            MarkLost(LostLateAnswer, null);
            return;
        }

        try
        {
            _deadline.Change(dueIn, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // Released meanwhile.
        }
    }

    /// <summary>Marks the lease lost and fires its <see cref="KeyedLockLease.LostToken"/>.</summary>
    internal void MarkLost(string reason, Exception? exception)
    {
        if (_isLost || !IsActive)
        {
            return;
        }

        LostReason = reason;
        _isLost = true;
        _deadline.Dispose();
        Provider.OnLost(this, reason, exception);
        try
        {
            _lost.Cancel();
        }
        catch (AggregateException ex)
        {
            Provider.OnLostCallbackFailed(this, ex);
        }
    }

    protected internal override void Release(string key, long id)
    {
        if (TryBeginRelease(id))
        {
            Provider.Release(this);
        }
    }

    protected internal override ValueTask ReleaseAsync(string key, long id)
        => TryBeginRelease(id) ? new ValueTask(Provider.ReleaseAsync(this)) : default;

    protected internal override bool IsHeld(string key, long id) => id == Id && IsActive && !_isLost;

    // A lost lock stays the holder's until it releases it: re-acquiring the key in the same flow is still re-entrancy.
    internal override bool IsUnreleased(string key, long id) => id == Id && IsActive;

    protected internal override long GetFencingToken(string key, long id) => FencingToken;

    // The source is never disposed (it owns no timer), so the token stays readable after the release.
    protected internal override CancellationToken GetLostToken(string key, long id) => id == Id ? _lost.Token : CancellationToken.None;

    private bool TryBeginRelease(long id)
    {
        if (id != Id || Interlocked.Exchange(ref _released, 1) != 0)
        {
            return false;
        }

        _deadline.Dispose();
        return true;
    }
}
