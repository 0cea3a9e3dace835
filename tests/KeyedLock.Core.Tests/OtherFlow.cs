namespace KeyedLock.Tests;

/// <summary>
/// Acquisitions made on behalf of "another request". Re-entrancy detection (on by default) tracks the keys each
/// async flow holds, so a test that plays several requests from one method acquires the holders here: the lease is
/// recorded in this helper's own flow, which ends when it returns, not in the test's flow.
/// </summary>
internal static class OtherFlow
{
    /// <summary>Acquires <paramref name="key"/> as another request would, bounded.</summary>
    public static Task<KeyedLockLease> HoldAsync(this IKeyedLockProvider provider, string key)
        => AcquireAsync(provider, key).Bounded();

    /// <summary>
    /// Whether <paramref name="key"/> could be granted right now to a newcomer from an unrelated flow (one that
    /// does not inherit the caller's held keys, e.g. from inside a RunAsync body). Releases what it got.
    /// </summary>
    public static Task<bool> IsFreeForOthersAsync(this IKeyedLockProvider provider, string key)
    {
        Task<bool> probe;
        using (ExecutionContext.SuppressFlow())
        {
            probe = Task.Run(async () =>
            {
                await using var attempt = await provider.TryAcquireAsync(key, TimeSpan.Zero);
                return attempt.Succeeded;
            });
        }

        return probe.Bounded();
    }

    /// <summary>Acquires all <paramref name="keys"/> as another request would, bounded.</summary>
    public static Task<KeyedLockLease> HoldAsync(this IKeyedLockProvider provider, IReadOnlyCollection<string> keys)
        => AcquireAsync(provider, keys).Bounded();

    private static async Task<KeyedLockLease> AcquireAsync(IKeyedLockProvider provider, string key)
        => await provider.AcquireAsync(key);

    private static async Task<KeyedLockLease> AcquireAsync(IKeyedLockProvider provider, IReadOnlyCollection<string> keys)
        => await provider.AcquireAsync(keys, Timeout.InfiniteTimeSpan);
}
