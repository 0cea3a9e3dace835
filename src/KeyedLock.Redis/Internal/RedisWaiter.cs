using StackExchange.Redis;

namespace KeyedLock.Redis.Internal;

/// <summary>
/// The head of one key's in-process queue while it waits in Redis. Granted by the push on the instance's channel
/// (or by the heartbeat when the push was lost), which sends the CONFIRM script at once, from the thread that
/// received the grant; sent to queue again when the heartbeat finds it gone; or failed when Redis becomes unreachable.
/// </summary>
internal sealed class RedisWaiter(string id, string key, RedisKey[] keys)
{
    private readonly TaskCompletionSource<bool> _granted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _inRedis;
    private int _decided;

    internal string Id { get; } = id;

    internal string Key { get; } = key;

    internal RedisKey[] Keys { get; } = keys;

    /// <summary>Set once the ACQUIRE reply said "queued": from then on the heartbeat refreshes its place.</summary>
    internal bool InRedis
    {
        get => _inRedis;
        set => _inRedis = value;
    }

    /// <summary>
    /// True when the server granted the key and the CONFIRM script was sent; false when the waiter must queue again
    /// (<see cref="Requeue"/>).
    /// </summary>
    internal Task<bool> Granted => _granted.Task;

    /// <summary>The CONFIRM script (the token, or 0 when the grant is gone), once <see cref="Granted"/>.</summary>
    internal Task<RedisResult>? Confirming { get; private set; }

    /// <summary>The local timestamp at which CONFIRM was sent (the lease TTL runs from there).</summary>
    internal long ConfirmSentAt { get; private set; }

    /// <summary>The server granted the key: take the hand-off now (once, however many times the grant is reported).</summary>
    internal void Grant(TimeProvider time, Func<RedisWaiter, Task<RedisResult>> confirm)
    {
        if (!TryDecide())
        {
            return; // already granted, sent to queue again, or failed (its acquisition leaves the queue, which undoes the grant)
        }

        ConfirmSentAt = time.GetTimestamp();
        Confirming = confirm(this);
        _granted.TrySetResult(true);
    }

    internal void Fail(Exception exception) => _granted.TrySetException(exception);

    /// <summary>
    /// The heartbeat found this waiter neither queued nor granted (it was purged while its instance did not refresh
    /// it): its acquisition queues again with a new waiter, unless a grant was reported first.
    /// </summary>
    internal void Requeue()
    {
        if (TryDecide())
        {
            _granted.TrySetResult(false);
        }
    }

    /// <summary>The first of a grant and a requeue decides the waiter's outcome (a failure completes it too).</summary>
    private bool TryDecide() => !_granted.Task.IsCompleted && Interlocked.Exchange(ref _decided, 1) == 0;
}
