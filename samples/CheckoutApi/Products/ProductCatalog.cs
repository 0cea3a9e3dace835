using System.Globalization;
using CheckoutApi.Stats;
using KeyedLock;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace CheckoutApi.Products;

/// <summary>
/// Products behind an <see cref="IMemoryCache"/>, loaded from a slow <see cref="IProductSource"/> on a miss.
/// Concurrent misses for the same product would all load it (a cache stampede); here they queue on the
/// product's key, and every one but the first finds the value in the cache once it holds the lock (the re-check
/// after the lock). Cache hits never take the lock.
/// </summary>
public sealed class ProductCatalog(
    IProductSource source,
    IMemoryCache cache,
    IKeyedLockProvider locks,
    SampleStats stats,
    IOptions<CheckoutOptions> options)
{
    private static readonly TimeSpan s_lockTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The product, or <see langword="null"/> when there is no such product.</summary>
    public async Task<Product?> GetAsync(long id, CancellationToken cancellationToken)
    {
        var key = "product:" + id.ToString(CultureInfo.InvariantCulture);
        if (cache.TryGetValue(key, out Product? product))
        {
            return product;
        }

        await using var lease = await locks.AcquireAsync(key, s_lockTimeout, cancellationToken);
        if (cache.TryGetValue(key, out product))
        {
            return product; // loaded by the request we queued behind
        }

        stats.ProductLoaded();
        product = await source.LoadAsync(id, cancellationToken);
        if (product is not null)
        {
            cache.Set(key, product, options.Value.ProductCacheDuration);
        }

        return product;
    }
}
