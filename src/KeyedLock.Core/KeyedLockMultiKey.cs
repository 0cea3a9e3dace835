using KeyedLock.Internal;

namespace KeyedLock;

/// <summary>
/// Deadlock-free acquisition of several keys on any <see cref="IKeyedLockProvider"/>: keys are de-duplicated,
/// sorted ordinally and acquired one by one in that order; if one fails, those already taken are released in
/// reverse order and the failure is rethrown. Providers implement their multi-key overload with it.
/// </summary>
public static class KeyedLockMultiKey
{
    /// <summary>Acquires all <paramref name="keys"/> or none.</summary>
    /// <param name="provider">The provider whose single-key acquisition is used.</param>
    /// <param name="keys">The keys.</param>
    /// <param name="timeout">The total time to wait for all keys.</param>
    /// <param name="timeProvider">The clock that measures the total time; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="cancellationToken">Stops waiting; nothing stays held.</param>
    /// <returns>One lease that releases every key in reverse order.</returns>
    public static ValueTask<KeyedLockLease> AcquireAllAsync(IKeyedLockProvider provider, IReadOnlyCollection<string> keys, TimeSpan timeout, TimeProvider? timeProvider, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(provider);
        Arguments.ValidateTimeout(timeout);
        var sorted = Arguments.NormalizeKeys(keys);
        return sorted.Length == 1
            ? provider.AcquireAsync(sorted[0], timeout, cancellationToken)
            : AcquireSortedAsync(provider, sorted, timeout, timeProvider ?? TimeProvider.System, cancellationToken);
    }

    private static async ValueTask<KeyedLockLease> AcquireSortedAsync(IKeyedLockProvider provider, string[] keys, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        var leases = new KeyedLockLease[keys.Length];
        var started = time.GetTimestamp();
        var taken = 0;
        try
        {
            for (; taken < keys.Length; taken++)
            {
                var remaining = timeout;
                if (timeout != Timeout.InfiniteTimeSpan)
                {
                    remaining = timeout - time.GetElapsedTime(started);
                    if (remaining < TimeSpan.Zero)
                    {
                        remaining = TimeSpan.Zero;
                    }
                }

                try
                {
                    leases[taken] = await provider.AcquireAsync(keys[taken], remaining, cancellationToken).ConfigureAwait(false);
                }
                catch (KeyedLockTimeoutException ex) when (ex.Timeout != timeout)
                {
                    // Report the caller's total timeout, not the remainder that was left for this key.
                    throw new KeyedLockTimeoutException(ex.Key, timeout);
                }
            }
        }
        catch
        {
            for (var i = taken - 1; i >= 0; i--)
            {
                await leases[i].DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }

        var owner = new MultiKeyLeaseOwner(leases);
        return new KeyedLockLease(owner, string.Join(',', keys), 1);
    }
}
