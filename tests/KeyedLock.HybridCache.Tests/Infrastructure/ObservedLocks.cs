using System.Collections.Concurrent;

namespace KeyedLock.Caching.Tests.Infrastructure;

/// <summary>
/// A real <see cref="KeyedLockRegistry"/> shared by several app instances, standing for a distributed provider:
/// records every acquisition and counts those still waiting, so tests know when an instance is queued.
/// </summary>
public sealed class ObservedLocks(KeyedLockRegistry registry) : IKeyedLockProvider
{
    private readonly ConcurrentQueue<string> _keys = new();

    public KeyedLockRegistry Registry { get; } = registry;

    public CountWatcher Waiting { get; } = new();

    public IReadOnlyList<string> AcquiredKeys => [.. _keys];

    public ValueTask<KeyedLockLease> AcquireAsync(string key, TimeSpan timeout, CancellationToken cancellationToken = default)
        => ObserveAsync(key, Registry.AcquireAsync(key, timeout, cancellationToken));

    public ValueTask<KeyedLockLease> AcquireAsync(string key, CancellationToken cancellationToken = default)
        => ObserveAsync(key, Registry.AcquireAsync(key, cancellationToken));

    public ValueTask<KeyedLockAttempt> TryAcquireAsync(string key, TimeSpan timeout, CancellationToken cancellationToken = default)
        => Registry.TryAcquireAsync(key, timeout, cancellationToken);

    public ValueTask<KeyedLockLease> AcquireAsync(IReadOnlyCollection<string> keys, TimeSpan timeout, CancellationToken cancellationToken = default)
        => Registry.AcquireAsync(keys, timeout, cancellationToken);

    private async ValueTask<KeyedLockLease> ObserveAsync(string key, ValueTask<KeyedLockLease> acquisition)
    {
        _keys.Enqueue(key);
        if (acquisition.IsCompleted)
        {
            return await acquisition;
        }

        Waiting.Add(1);
        try
        {
            return await acquisition;
        }
        finally
        {
            Waiting.Add(-1);
        }
    }
}
