using CheckoutApi.Products;
using CheckoutApi.Tests.Infrastructure;
using CheckoutApi.Webhooks;

namespace CheckoutApi.Tests.OutOfProcess;

/// <summary>The built sample as its own process on Kestrel, driven by a plain <see cref="HttpClient"/>.</summary>
public sealed class KestrelSampleTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("checkoutapi-kestrel-").FullName;

    [Fact]
    public async Task Kestrel_ConcurrentDuplicateCheckouts_CreateOneOrder()
    {
        await using var sample = await SampleProcess.StartAsync(
            SampleProcess.ProjectDirectory,
            "--ConnectionStrings:Checkout", $"Data Source={Path.Combine(_directory, "checkout.db")}",
            "--Checkout:PaymentDelay", "00:00:00.200");
        using var client = sample.CreateClient();
        await client.SetBalanceAsync("kim", 60m);

        var responses = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => client.CheckoutAsync("kim", 60m))).Bounded();

        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
        Assert.Equal(4, responses.Count(r => r.StatusCode == HttpStatusCode.Conflict));
        var account = await client.GetAccountAsync("kim");
        Assert.Equal(0m, account.Balance);
        Assert.Single(account.Orders);
    }

    [Fact]
    public async Task Kestrel_RootPath_ServesThePageWithBothPayButtons()
    {
        await using var sample = await SampleProcess.StartAsync(
            SampleProcess.ProjectDirectory,
            "--ConnectionStrings:Checkout", $"Data Source={Path.Combine(_directory, "checkout.db")}");
        using var client = sample.CreateClient();

        var page = await client.GetStringAsync("/").Bounded();
        var script = await client.GetStringAsync("/app.js").Bounded();

        Assert.Contains("""<button id="pay" type="button">Pay</button>""", page, StringComparison.Ordinal);
        Assert.Contains("""<button id="unsafe-pay" type="button">unsafe Pay</button>""", page, StringComparison.Ordinal);
        Assert.Contains("/api/unsafe/users/", script, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kestrel_ConcurrentProductMisses_LoadTheSeededProductOnce()
    {
        await using var sample = await SampleProcess.StartAsync(
            SampleProcess.ProjectDirectory,
            "--ConnectionStrings:Checkout", $"Data Source={Path.Combine(_directory, "checkout.db")}");
        using var client = sample.CreateClient();

        var products = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => client.GetFromJsonAsync<Product>("/api/products/1"))).Bounded();

        Assert.All(products, p => Assert.Equal(new Product(1, "Espresso beans, 1 kg", 24.90m), p));
        Assert.Equal("""{"productLoads":1,"webhooksProcessed":0,"webhooksSkipped":0,"paymentsCharged":0}""", await client.GetStringAsync("/api/stats").Bounded());
    }

    [Fact]
    public async Task Kestrel_TwoInstancesStartedFromTheSameFolder_ShareTheDefaultDatabase()
    {
        // No connection string: both use the default, App_Data/checkout.db under their (common) content root.
        await using var first = await SampleProcess.StartAsync(_directory);
        await using var second = await SampleProcess.StartAsync(_directory);
        using var a = first.CreateClient();
        using var b = second.CreateClient();

        await a.SetBalanceAsync("lena", 40m);
        Assert.Equal(40m, (await b.GetAccountAsync("lena")).Balance);

        using var delivered = await a.DeliverWebhookAsync("evt_shared", "lena", 10m).Bounded();
        using var redelivered = await b.DeliverWebhookAsync("evt_shared", "lena", 10m).Bounded();
        Assert.False((await delivered.Content.ReadFromJsonAsync<WebhookResult>().Bounded())!.Duplicate);
        Assert.True((await redelivered.Content.ReadFromJsonAsync<WebhookResult>().Bounded())!.Duplicate);

        using var checkout = await b.CheckoutAsync("lena", 50m).Bounded();
        Assert.Equal(HttpStatusCode.Created, checkout.StatusCode);
        var seenByFirst = await a.GetAccountAsync("lena");
        Assert.Equal(0m, seenByFirst.Balance);
        Assert.Single(seenByFirst.Orders);
        Assert.True(File.Exists(Path.Combine(_directory, "App_Data", "checkout.db")));
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}
