using KeyedLock.Internal;
using StackExchange.Redis;

namespace KeyedLock.Redis.Internal;

/// <summary>
/// Names in one key namespace <c>ns</c>: per lock key <c>K</c> the keys <c>ns:k:K:h</c> (holders with their deadlines
/// and fencing tokens), <c>ns:k:K:q</c> (waiters in order) and <c>ns:k:K:w</c> (waiter deadlines), all with a TTL;
/// one long-lived key <c>ns:fence</c> (the last fencing token, 24 h TTL refreshed by every grant); and one pub/sub
/// channel per provider instance, <c>ns:ch:&lt;instance id&gt;</c>.
/// </summary>
/// <remarks>
/// <c>K</c> is the key's UTF-8, with a lone surrogate written as the three bytes of its code point
/// (<see cref="LosslessUtf8"/>): keys of valid UTF-16 keep their plain UTF-8 names, and two different keys never share
/// a Redis key.
/// </remarks>
internal sealed class RedisKeys
{
    private readonly string _lockPrefix;

    internal RedisKeys(string keyNamespace)
    {
        Namespace = keyNamespace;
        _lockPrefix = keyNamespace + ":k:";
        Fence = keyNamespace + ":fence";
        ChannelPrefix = keyNamespace + ":ch:";
    }

    internal string Namespace { get; }

    /// <summary>The fencing counter's name (written into the scripts' text, never passed as a key).</summary>
    internal string Fence { get; }

    internal string ChannelPrefix { get; }

    /// <summary>The script keys of one lock key: its holders key <c>ns:k:K:h</c> (the scripts derive <c>q</c> and <c>w</c> from it).</summary>
    internal RedisKey[] For(string key) => [Lossless(_lockPrefix + key + ":h")];

    /// <summary><paramref name="name"/> as a Redis key that no other string maps to (see <see cref="LosslessUtf8"/>).</summary>
    internal static RedisKey Lossless(string name) => LosslessUtf8.HasSurrogates(name) ? LosslessUtf8.GetBytes(name) : name;
}
