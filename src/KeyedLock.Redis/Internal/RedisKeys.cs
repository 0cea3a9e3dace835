using System.Text;
using StackExchange.Redis;

namespace KeyedLock.Redis.Internal;

/// <summary>
/// Names in one key namespace <c>ns</c>: per lock key <c>K</c> the keys <c>ns:k:K:h</c> (holders with their deadlines
/// and fencing tokens), <c>ns:k:K:q</c> (waiters in order) and <c>ns:k:K:w</c> (waiter deadlines), all with a TTL;
/// one long-lived key <c>ns:fence</c> (the last fencing token, 24 h TTL refreshed by every grant); and one pub/sub
/// channel per provider instance, <c>ns:ch:&lt;instance id&gt;</c>.
/// </summary>
/// <remarks>
/// <c>K</c> is the key's UTF-8; a lone surrogate, which UTF-8 cannot encode (plain encoding turns it into U+FFFD, so
/// <c>"a\uD800"</c>, <c>"a\uDC00"</c> and <c>"a\uFFFD"</c> would be one Redis key), is written as the three bytes
/// of its code point (<c>ED A0 80</c> to <c>ED BF BF</c>, as WTF-8 does), which no valid UTF-8 contains. So keys of
/// valid UTF-16 keep their plain UTF-8 names, and two different keys never share a Redis key.
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

    /// <summary>
    /// <paramref name="name"/> as a Redis key that no other string maps to: its UTF-8, with a lone surrogate written
    /// as the three bytes of its code point (see the remarks).
    /// </summary>
    internal static RedisKey Lossless(string name)
        => name.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') < 0 ? name : WithSurrogates(name);

    private static byte[] WithSurrogates(string name)
    {
        var bytes = new List<byte>(name.Length * 3);
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsHighSurrogate(c) && i + 1 < name.Length && char.IsLowSurrogate(name[i + 1]))
            {
                var written = new Rune(c, name[++i]).EncodeToUtf8(utf8);
                bytes.AddRange(utf8[..written]);
            }
            else if (char.IsSurrogate(c))
            {
                bytes.Add((byte)(0xE0 | (c >> 12)));
                bytes.Add((byte)(0x80 | ((c >> 6) & 0x3F)));
                bytes.Add((byte)(0x80 | (c & 0x3F)));
            }
            else
            {
                var written = new Rune(c).EncodeToUtf8(utf8);
                bytes.AddRange(utf8[..written]);
            }
        }

        return [.. bytes];
    }
}
