namespace CheckoutApi.Products;

/// <summary><c>GET /api/products/{id}</c>: cached, and concurrent misses load the product once.</summary>
internal static class ProductEndpoints
{
    public static IEndpointRouteBuilder MapProductEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/products/{id:long}", async Task<IResult> (long id, ProductCatalog catalog, CancellationToken cancellationToken) =>
            await catalog.GetAsync(id, cancellationToken) is { } product
                ? TypedResults.Ok(product)
                : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown product", detail: $"There is no product {id}."));
        return app;
    }
}
