using System.Collections.Concurrent;
using System.Threading.Channels;
using KeyedLock.Testing;

namespace KeyedLock.AspNetCore.Tests.Infrastructure;

/// <summary>
/// The real <see cref="KeyedLockRegistry"/>, observed: reports every acquisition, and which acquisitions had to wait,
/// so tests know exactly when a request is queued. Can also fail like a provider whose store is down, or lose a lease.
/// </summary>
public sealed class ObservedLockProvider(KeyedLockRegistry registry) : IKeyedLockProvider
{
    private readonly Channel<string> _queued = Channel.CreateUnbounded<string>();
    private readonly Channel<string> _leftQueue = Channel.CreateUnbounded<string>();
    private readonly ConcurrentQueue<string> _acquired = new();
    private readonly CancellationTokenSource _lose = new();

    public KeyedLockRegistry Registry { get; } = registry;

    public bool Unavailable { get; set; }

    /// <summary>When set, leases expose a <see cref="KeyedLockLease.LostToken"/> that <see cref="LoseLeases"/> fires.</summary>
    public bool Losable { get; set; }

    public int AcquireCalls => _acquired.Count;

    public IReadOnlyList<string> AcquiredKeys => [.. _acquired];

    public Task<string> NextQueuedAsync() => _queued.Reader.ReadAsync().AsTask().Bounded();

    public Task<string> NextLeftQueueAsync() => _leftQueue.Reader.ReadAsync().AsTask().Bounded();

    public void LoseLeases() => _lose.Cancel();

    public ValueTask<KeyedLockLease> AcquireAsync(string key, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        ObserveAsync(key, () => Registry.AcquireAsync(key, timeout, cancellationToken));

    public ValueTask<KeyedLockLease> AcquireAsync(string key, CancellationToken cancellationToken = default) =>
        ObserveAsync(key, () => Registry.AcquireAsync(key, cancellationToken));

    public ValueTask<KeyedLockAttempt> TryAcquireAsync(string key, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        Registry.TryAcquireAsync(key, timeout, cancellationToken);

    public ValueTask<KeyedLockLease> AcquireAsync(IReadOnlyCollection<string> keys, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        KeyedLockMultiKey.AcquireAllAsync(this, keys, timeout, null, cancellationToken);

    private async ValueTask<KeyedLockLease> ObserveAsync(string key, Func<ValueTask<KeyedLockLease>> acquire)
    {
        if (Unavailable)
        {
            throw new KeyedLockUnavailableException(key, "The test lock store is down.");
        }

        _acquired.Enqueue(key);
        var pending = acquire();
        if (pending.IsCompleted)
        {
            return Wrap(await pending);
        }

        _queued.Writer.TryWrite(key);
        try
        {
            return Wrap(await pending);
        }
        finally
        {
            _leftQueue.Writer.TryWrite(key);
        }
    }

    private KeyedLockLease Wrap(KeyedLockLease lease) =>
        Losable ? new KeyedLockLease(new LosableOwner(lease, _lose.Token), lease.Key, 1) : lease;

    private sealed class LosableOwner(KeyedLockLease inner, CancellationToken lost) : KeyedLockLeaseOwner
    {
        protected override void Release(string key, long id) => inner.Dispose();

        protected override ValueTask ReleaseAsync(string key, long id) => inner.DisposeAsync();

        protected override bool IsHeld(string key, long id) => inner.IsHeld && !lost.IsCancellationRequested;

        protected override CancellationToken GetLostToken(string key, long id) => lost;
    }
}
