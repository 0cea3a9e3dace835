namespace KeyedLock.Tests;

/// <summary>Bounded acquisitions on behalf of "another request", so that no test await can hang.</summary>
internal static class OtherFlow
{
    /// <summary>Acquires <paramref name="key"/> as another request would, bounded.</summary>
    public static Task<KeyedLockLease> HoldAsync(this IKeyedLockProvider provider, string key)
        => provider.AcquireAsync(key).Bounded();

    /// <summary>
    /// Whether <paramref name="key"/> could be granted right now to a newcomer (a zero-timeout attempt, which never
    /// queues). Releases what it got.
    /// </summary>
    public static async Task<bool> IsFreeForOthersAsync(this IKeyedLockProvider provider, string key)
    {
        await using var attempt = await provider.TryAcquireAsync(key, TimeSpan.Zero).Bounded();
        return attempt.Succeeded;
    }

    /// <summary>Acquires all <paramref name="keys"/> as another request would, bounded.</summary>
    public static Task<KeyedLockLease> HoldAsync(this IKeyedLockProvider provider, IReadOnlyCollection<string> keys)
        => provider.AcquireAsync(keys, Timeout.InfiniteTimeSpan).Bounded();
}
