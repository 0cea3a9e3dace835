using System.Globalization;
using CheckoutApi.Stats;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Options;

namespace CheckoutApi.Products;

/// <summary>
/// Products behind <see cref="HybridCache"/>, loaded from a slow <see cref="IProductSource"/> on a miss.
/// Concurrent misses for the same product would all load it (a cache stampede); HybridCache runs one load per
/// product and hands its result to every caller that missed meanwhile. With several instances
/// (<c>AddKeyedLockStampedeProtection()</c> in Program.cs) that one load also takes the product's distributed lock
/// and re-checks the shared cache first, so a cold product is loaded once across all instances.
/// Unknown products are cached too (as <see langword="null"/>): a burst of requests for a missing id costs one load.
/// </summary>
public sealed class ProductCatalog(IProductSource source, HybridCache cache, SampleStats stats, IOptions<CheckoutOptions> options)
{
    private readonly HybridCacheEntryOptions _entry = new() { Expiration = options.Value.ProductCacheDuration };

    /// <summary>The product, or <see langword="null"/> when there is no such product.</summary>
    public ValueTask<Product?> GetAsync(long id, CancellationToken cancellationToken) =>
        cache.GetOrCreateAsync(
            "product:" + id.ToString(CultureInfo.InvariantCulture),
            (Catalog: this, Id: id),
            static (state, ct) => state.Catalog.LoadAsync(state.Id, ct),
            _entry,
            cancellationToken: cancellationToken);

    private async ValueTask<Product?> LoadAsync(long id, CancellationToken cancellationToken)
    {
        stats.ProductLoaded();
        return await source.LoadAsync(id, cancellationToken);
    }
}
