using System.Collections.Concurrent;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>
/// Counts the requests of this process that wait for or hold each key, to enforce per-policy queue limits whatever
/// the provider. An entry exists only while its count is above zero.
/// </summary>
internal sealed class KeyInFlightCounter
{
    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);

    internal int Count => _counts.Count;

    /// <summary>Enters unless <paramref name="queueLimit"/> requests already wait behind the holder.</summary>
    internal bool TryEnter(string key, int queueLimit)
    {
        while (true)
        {
            if (_counts.TryGetValue(key, out var count))
            {
                if (count > queueLimit)
                {
                    return false;
                }

                if (_counts.TryUpdate(key, count + 1, count))
                {
                    return true;
                }
            }
            else if (_counts.TryAdd(key, 1))
            {
                return true;
            }
        }
    }

    internal void Exit(string key)
    {
        while (true)
        {
            var count = _counts[key];
            if (count == 1)
            {
                if (_counts.TryRemove(KeyValuePair.Create(key, 1)))
                {
                    return;
                }
            }
            else if (_counts.TryUpdate(key, count - 1, count))
            {
                return;
            }
        }
    }
}
