using System.Collections.Concurrent;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace KeyedLock.Caching.Tests.Infrastructure;

/// <summary>
/// One real <see cref="MemoryDistributedCache"/> shared by several app instances (service providers), counting reads
/// and writes. A wrapper type on purpose: HybridCache ignores a plain MemoryDistributedCache as its second level.
/// </summary>
public sealed class SharedDistributedCache : IDistributedCache
{
    private readonly MemoryDistributedCache _store = new(Options.Create(new MemoryDistributedCacheOptions()));
    private readonly ConcurrentQueue<DistributedCacheEntryOptions> _writes = new();
    private int _reads;

    public int Reads => Volatile.Read(ref _reads);

    public IReadOnlyList<DistributedCacheEntryOptions> Writes => [.. _writes];

    public byte[]? Get(string key)
    {
        Interlocked.Increment(ref _reads);
        return _store.Get(key);
    }

    public Task<byte[]?> GetAsync(string key, CancellationToken token = default)
    {
        Interlocked.Increment(ref _reads);
        return _store.GetAsync(key, token);
    }

    public void Set(string key, byte[] value, DistributedCacheEntryOptions options)
    {
        _writes.Enqueue(options);
        _store.Set(key, value, options);
    }

    public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default)
    {
        _writes.Enqueue(options);
        return _store.SetAsync(key, value, options, token);
    }

    public void Refresh(string key) => _store.Refresh(key);

    public Task RefreshAsync(string key, CancellationToken token = default) => _store.RefreshAsync(key, token);

    public void Remove(string key) => _store.Remove(key);

    public Task RemoveAsync(string key, CancellationToken token = default) => _store.RemoveAsync(key, token);
}
