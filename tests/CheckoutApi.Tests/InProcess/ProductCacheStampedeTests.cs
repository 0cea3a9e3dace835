using CheckoutApi.Products;
using CheckoutApi.Stats;
using CheckoutApi.Tests.Infrastructure;
using KeyedLock.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;

namespace CheckoutApi.Tests.InProcess;

/// <summary>100 concurrent reads of a product that is not cached yet load it once.</summary>
public sealed class ProductCacheStampedeTests
{
    private const int Reads = 100;

    [Fact]
    public async Task Products_HundredConcurrentMisses_LoadOnce()
    {
        await using var factory = new CheckoutApiFactory();
        var reading = new CountWatcher();
        await using var observed = factory.WithWebHostBuilder(b => b.ConfigureTestServices(s => ObservedCache.Register(s, reading)));
        using var client = observed.CreateClient();

        var reads = Enumerable.Range(0, Reads).Select(_ => client.GetAsync("/api/products/2")).ToArray();

        // One read is loading; every read (that one included) is inside the cache's GetOrCreateAsync for the product.
        await factory.Products.Loads.WaitForEnteredAsync(1);
        await reading.WaitForAtLeastAsync(Reads, n => $"Expected {Reads} reads waiting in the cache, saw {n}.");
        factory.Products.Loads.Open();

        var responses = await Task.WhenAll(reads).Bounded();
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var products = await Task.WhenAll(responses.Select(r => r.Content.ReadFromJsonAsync<Product>())).Bounded();
        Assert.All(products, p => Assert.Equal(new Product(2, "Product 2", 9.99m), p));
        Assert.Equal(1, factory.Products.Loads.Entered);

        using var stats = await client.GetAsync("/api/stats").Bounded();
        Assert.Equal("""{"productLoads":1,"webhooksProcessed":0,"webhooksSkipped":0,"paymentsCharged":0}""", await stats.Content.ReadAsStringAsync().Bounded());
    }

    [Fact]
    public async Task Products_CachedProduct_IsServedWithoutLoadingAgain()
    {
        await using var factory = new CheckoutApiFactory();
        factory.Products.Loads.Open();
        using var client = factory.CreateClient();

        var first = await client.GetFromJsonAsync<Product>("/api/products/3").Bounded();
        var second = await client.GetFromJsonAsync<Product>("/api/products/3").Bounded();

        Assert.Equal(first, second);
        Assert.Equal(1, factory.Stats.ProductLoads);
    }

    [Fact]
    public async Task Products_Unknown_Returns404AndTheMissIsCachedToo()
    {
        await using var factory = new CheckoutApiFactory();
        factory.Products.Loads.Open();
        using var client = factory.CreateClient();

        using var first = await client.GetAsync("/api/products/404").Bounded();
        using var second = await client.GetAsync("/api/products/404").Bounded();

        Assert.Equal(HttpStatusCode.NotFound, first.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, second.StatusCode);
        Assert.Equal(1, factory.Stats.ProductLoads);
    }

    [Fact]
    public async Task Products_ReaderThatDisconnects_DoesNotStopTheLoadForTheOthers()
    {
        await using var factory = new CheckoutApiFactory();
        var reading = new CountWatcher();
        await using var observed = factory.WithWebHostBuilder(b => b.ConfigureTestServices(s => ObservedCache.Register(s, reading)));
        using var client = observed.CreateClient();
        using var leaving = new CancellationTokenSource();

        var first = client.GetAsync("/api/products/5", leaving.Token);
        await factory.Products.Loads.WaitForEnteredAsync(1);
        var second = client.GetAsync("/api/products/5");
        await reading.WaitForAtLeastAsync(2, n => $"Expected 2 reads waiting in the cache, saw {n}.");
        leaving.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first).Bounded();
        factory.Products.Loads.Open();

        using var response = await second.Bounded();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, observed.Services.GetRequiredService<SampleStats>().ProductLoads);
    }

    /// <summary>The app's HybridCache, counting the reads that are inside <c>GetOrCreateAsync</c> right now.</summary>
    private sealed class ObservedCache(HybridCache inner, CountWatcher reading) : HybridCache
    {
        public static void Register(IServiceCollection services, CountWatcher reading)
        {
            var descriptor = services.Last(d => d.ServiceType == typeof(HybridCache));
            services.Remove(descriptor);
            services.AddSingleton<HybridCache>(sp => new ObservedCache(
                (HybridCache)(descriptor.ImplementationInstance ?? ActivatorUtilities.CreateInstance(sp, descriptor.ImplementationType!)),
                reading));
        }

        public override async ValueTask<T> GetOrCreateAsync<TState, T>(string key, TState state, Func<TState, CancellationToken, ValueTask<T>> factory, HybridCacheEntryOptions? options = null, IEnumerable<string>? tags = null, CancellationToken cancellationToken = default)
        {
            reading.Add(1);
            try
            {
                return await inner.GetOrCreateAsync(key, state, factory, options, tags, cancellationToken);
            }
            finally
            {
                reading.Add(-1);
            }
        }

        public override ValueTask SetAsync<T>(string key, T value, HybridCacheEntryOptions? options = null, IEnumerable<string>? tags = null, CancellationToken cancellationToken = default)
            => inner.SetAsync(key, value, options, tags, cancellationToken);

        public override ValueTask RemoveAsync(string key, CancellationToken cancellationToken = default) => inner.RemoveAsync(key, cancellationToken);

        public override ValueTask RemoveByTagAsync(string tag, CancellationToken cancellationToken = default) => inner.RemoveByTagAsync(tag, cancellationToken);
    }
}
