using StackExchange.Redis;

namespace KeyedLock.Redis.Internal;

/// <summary>
/// The head of one key's in-process queue while it waits in Redis. Completed with the fencing token by the push on
/// the instance's channel (or by the heartbeat when the push was lost), or failed when Redis becomes unreachable.
/// </summary>
internal sealed class RedisWaiter(string id, string key, RedisKey[] keys)
{
    private readonly TaskCompletionSource<long> _granted = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal string Id { get; } = id;

    internal string Key { get; } = key;

    internal RedisKey[] Keys { get; } = keys;

    private volatile bool _inRedis;

    /// <summary>Set once the ACQUIRE reply said "queued": from then on the heartbeat refreshes its place.</summary>
    internal bool InRedis
    {
        get => _inRedis;
        set => _inRedis = value;
    }

    internal Task<long> Granted => _granted.Task;

    internal void Grant(long token) => _granted.TrySetResult(token);

    internal void Fail(Exception exception) => _granted.TrySetException(exception);
}
