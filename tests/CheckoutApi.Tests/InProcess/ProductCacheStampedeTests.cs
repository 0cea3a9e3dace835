using CheckoutApi.Products;
using CheckoutApi.Tests.Infrastructure;

namespace CheckoutApi.Tests.InProcess;

/// <summary>100 concurrent reads of a product that is not cached yet load it once.</summary>
public sealed class ProductCacheStampedeTests
{
    private const int Reads = 100;

    [Fact]
    public async Task Products_HundredConcurrentMisses_LoadOnce()
    {
        await using var factory = new CheckoutApiFactory();
        using var client = factory.CreateClient();
        var probe = factory.Probe;

        var reads = Enumerable.Range(0, Reads).Select(_ => client.GetAsync("/api/products/2")).ToArray();

        // One read is loading; the 99 others missed the cache too and wait on the product's key.
        await factory.Products.Loads.WaitForEnteredAsync(1);
        await probe.WaitForQueuedAsync(Reads - 1);
        factory.Products.Loads.Open();

        var responses = await Task.WhenAll(reads).Bounded();
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var products = await Task.WhenAll(responses.Select(r => r.Content.ReadFromJsonAsync<Product>())).Bounded();
        Assert.All(products, p => Assert.Equal(new Product(2, "Product 2", 9.99m), p));
        Assert.Equal(1, factory.Products.Loads.Entered);
        Assert.Equal(1, factory.Stats.ProductLoads);

        using var stats = await client.GetAsync("/api/stats").Bounded();
        Assert.Equal("""{"productLoads":1,"webhooksProcessed":0,"webhooksSkipped":0}""", await stats.Content.ReadAsStringAsync().Bounded());
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
    public async Task Products_Unknown_Returns404AndIsNotCached()
    {
        await using var factory = new CheckoutApiFactory();
        factory.Products.Loads.Open();
        using var client = factory.CreateClient();

        using var first = await client.GetAsync("/api/products/404").Bounded();
        using var second = await client.GetAsync("/api/products/404").Bounded();

        Assert.Equal(HttpStatusCode.NotFound, first.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, second.StatusCode);
        Assert.Equal(2, factory.Stats.ProductLoads);
    }
}
