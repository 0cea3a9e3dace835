namespace CheckoutApi.Products;

/// <summary>Where products come from on a cache miss: slow enough that a stampede of misses hurts.</summary>
public interface IProductSource
{
    /// <summary>Loads the product, or returns <see langword="null"/> when there is no such product.</summary>
    Task<Product?> LoadAsync(long id, CancellationToken cancellationToken);
}
