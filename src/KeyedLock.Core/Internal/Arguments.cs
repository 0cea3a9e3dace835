using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace KeyedLock.Internal;

internal static class Arguments
{
    /// <summary>The longest finite timeout a timer accepts.</summary>
    internal static readonly TimeSpan MaxTimeout = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    internal static void ValidateKey(string key, string paramName = "key")
    {
        ArgumentNullException.ThrowIfNull(key, paramName);
        if (key.Length == 0)
        {
            throw new ArgumentException("A lock key must not be empty.", paramName);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void ValidateTimeout(TimeSpan timeout, string paramName = "timeout")
    {
        if ((timeout < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan) || timeout > MaxTimeout)
        {
            ThrowTimeoutOutOfRange(timeout, paramName);
        }
    }

    [DoesNotReturn]
    private static void ThrowTimeoutOutOfRange(TimeSpan timeout, string paramName)
        => throw new ArgumentOutOfRangeException(paramName, timeout, "The timeout must be Timeout.InfiniteTimeSpan, zero, or a positive time up to about 49 days.");

    /// <summary>Validates, de-duplicates and sorts (ordinal) the keys of a multi-key acquisition.</summary>
    internal static string[] NormalizeKeys(IReadOnlyCollection<string> keys, string paramName = "keys")
    {
        ArgumentNullException.ThrowIfNull(keys, paramName);
        if (keys.Count == 0)
        {
            throw new ArgumentException("At least one key is required.", paramName);
        }

        var sorted = new string[keys.Count];
        var i = 0;
        foreach (var key in keys)
        {
            if (string.IsNullOrEmpty(key))
            {
                throw new ArgumentException("Lock keys must not be null or empty.", paramName);
            }

            sorted[i++] = key;
        }

        Array.Sort(sorted, StringComparer.Ordinal);
        var unique = 1;
        for (var j = 1; j < sorted.Length; j++)
        {
            if (!string.Equals(sorted[j], sorted[unique - 1], StringComparison.Ordinal))
            {
                sorted[unique++] = sorted[j];
            }
        }

        return unique == sorted.Length ? sorted : sorted[..unique];
    }
}
