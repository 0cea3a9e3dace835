using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CheckoutApi.Products;
using CheckoutApi.Tests.Infrastructure;
using KeyedLock.Testing;
using Npgsql;

namespace KeyedLock.Postgres.Tests;

/// <summary>
/// Two CheckoutApi processes in multi-instance mode (PostgreSQL locks, one folder's SQLite shared): 50 concurrent
/// cold reads of one product, spread over both, load it once in total.
/// </summary>
public sealed class ProductCacheTwoInstancesTests : PostgresTestBase
{
    private const int Reads = 50;

    [PostgresFact]
    public async Task FiftyColdReadsSpreadOverTwoInstances_LoadTheProductOnce()
    {
        var directory = Directory.CreateTempSubdirectory("keyedlock-product-cache-").FullName;
        var appA = TestDatabase.UniqueName("kl-products-a");
        var appB = TestDatabase.UniqueName("kl-products-b");
        try
        {
            await using var instanceA = await StartAsync(directory, appA);
            await using var instanceB = await StartAsync(directory, appB);
            using var clientA = instanceA.CreateClient();
            using var clientB = instanceB.CreateClient();

            // Hold the product's cache lock (the sample's lock namespace and the documented lock key), so that both
            // instances provably miss the cache and queue for it before anyone loads.
            var locks = CreateInstance(o => o.KeyNamespace = "checkoutapi");
            await using var held = await locks.AcquireAsync("hybridcache|product:3").Bounded();
            var reads = Enumerable.Range(0, Reads)
                .Select(i => (i % 2 == 0 ? clientA : clientB).GetAsync("/api/products/3"))
                .ToArray();
            await TestWait.UntilAsync(() => CountWaitingAsync(appA), 1, "instance A's load waits for the product's lock");
            await TestWait.UntilAsync(() => CountWaitingAsync(appB), 1, "instance B's load waits for the product's lock");
            Assert.All(reads, r => Assert.False(r.IsCompleted));

            await held.DisposeAsync(); // a second dispose at the end of the scope is harmless
            var responses = await Task.WhenAll(reads).Bounded(TimeSpan.FromSeconds(60));

            Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
            var products = await Task.WhenAll(responses.Select(r => r.Content.ReadFromJsonAsync<Product>())).Bounded();
            Assert.All(products, p => Assert.Equal(products[0], p));
            Assert.Equal(new Product(3, "Hand grinder", 89.00m), products[0]);
            var loads = await ProductLoadsAsync(clientA) + await ProductLoadsAsync(clientB);
            Assert.True(loads == 1, $"Expected one load across both instances, saw {loads}.\nA:\n{instanceA.Output}\nB:\n{instanceB.Output}");
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: a temp folder is not worth failing the test over.
            }
        }
    }

    private static async Task<long> ProductLoadsAsync(HttpClient client)
    {
        using var stats = JsonDocument.Parse(await client.GetStringAsync("/api/stats").Bounded());
        return stats.RootElement.GetProperty("productLoads").GetInt64();
    }

    private async Task<long> CountWaitingAsync(string applicationName)
    {
        await using var command = Monitor.CreateCommand(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid " +
            "WHERE l.locktype = 'advisory' AND NOT l.granted AND a.application_name = @app");
        command.Parameters.AddWithValue("app", applicationName);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>The built sample as its own process, in multi-instance mode (PostgreSQL locks under <paramref name="applicationName"/>).</summary>
    private static Task<SampleProcess> StartAsync(string contentRoot, string applicationName)
    {
        var keyedLock = new NpgsqlConnectionStringBuilder(TestDatabase.ConnectionString) { ApplicationName = applicationName };
        return SampleProcess.StartAsync(
            contentRoot,
            $"--ConnectionStrings:KeyedLock={keyedLock.ConnectionString}",
            "--Checkout:ProductLoadDelay=00:00:00");
    }
}
