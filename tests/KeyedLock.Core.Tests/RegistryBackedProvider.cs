namespace KeyedLock.Tests;

/// <summary>
/// A test provider over a real <see cref="KeyedLockRegistry"/> whose leases carry an owner of the test's making (a
/// lock that can be lost, a release that completes later), for the provider-neutral code in Core: multi-key leases
/// and <c>RunAsync</c>. Its own awaits are bounded and never resume on the caller's context.
/// </summary>
internal abstract class RegistryBackedProvider : IKeyedLockProvider, IDisposable
{
    public KeyedLockRegistry Registry { get; } = new();

    public ValueTask<KeyedLockLease> AcquireAsync(string key, CancellationToken cancellationToken = default)
        => AcquireAsync(key, Timeout.InfiniteTimeSpan, cancellationToken);

    public async ValueTask<KeyedLockLease> AcquireAsync(string key, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var inner = await Registry.AcquireAsync(key, timeout, cancellationToken).Bounded().ConfigureAwait(false);
        return new KeyedLockLease(Wrap(key, inner), key, 1);
    }

    public async ValueTask<KeyedLockAttempt> TryAcquireAsync(string key, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var inner = await Registry.TryAcquireAsync(key, timeout, cancellationToken).Bounded().ConfigureAwait(false);
        return inner.Succeeded ? KeyedLockAttempt.Success(new KeyedLockLease(Wrap(key, inner.Lease), key, 1)) : inner;
    }

    public ValueTask<KeyedLockLease> AcquireAsync(IReadOnlyCollection<string> keys, TimeSpan timeout, CancellationToken cancellationToken = default)
        => KeyedLockMultiKey.AcquireAllAsync(this, keys, timeout, null, cancellationToken);

    public void Dispose() => Registry.Dispose();

    /// <summary>The owner of the lease handed out for <paramref name="inner"/>, the registry's grant of <paramref name="key"/>.</summary>
    protected abstract KeyedLockLeaseOwner Wrap(string key, KeyedLockLease inner);
}
