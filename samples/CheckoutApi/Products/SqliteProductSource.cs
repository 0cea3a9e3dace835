using CheckoutApi.Data;
using Microsoft.Extensions.Options;

namespace CheckoutApi.Products;

/// <summary>Reads products from SQLite after <see cref="CheckoutOptions.ProductLoadDelay"/>, standing for a slow query or service.</summary>
internal sealed class SqliteProductSource(CheckoutDatabase database, IOptions<CheckoutOptions> options, TimeProvider timeProvider) : IProductSource
{
    public async Task<Product?> LoadAsync(long id, CancellationToken cancellationToken)
    {
        await Task.Delay(options.Value.ProductLoadDelay, timeProvider, cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT name, price_cents FROM products WHERE product_id = $id";
        command.Parameters.AddWithValue("$id", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new Product(id, reader.GetString(0), Money.FromCents(reader.GetInt64(1)))
            : null;
    }
}
