using CheckoutApi.Products;

namespace CheckoutApi.Tests.Infrastructure;

/// <summary>A product source whose loads stop at a <see cref="Gate"/>, then return a fixed product.</summary>
public sealed class GatedProductSource : IProductSource
{
    public Gate Loads { get; } = new();

    public async Task<Product?> LoadAsync(long id, CancellationToken cancellationToken)
    {
        await Loads.PassAsync();
        return id == 404 ? null : new Product(id, $"Product {id}", 9.99m);
    }
}
