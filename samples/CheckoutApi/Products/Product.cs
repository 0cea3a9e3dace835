namespace CheckoutApi.Products;

/// <summary>The body of <c>GET /api/products/{id}</c>.</summary>
public sealed record Product(long Id, string Name, decimal Price);
