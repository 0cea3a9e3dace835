using CheckoutApi.Tests.Infrastructure;

namespace CheckoutApi.Tests.InProcess;

/// <summary><c>GET /api/users/{userId}</c> and <c>PUT /api/users/{userId}/balance</c>.</summary>
public sealed class UserEndpointTests
{
    [Fact]
    public async Task GetUser_Seeded_ReturnsUserIdBalanceAndOrders()
    {
        await using var factory = new CheckoutApiFactory();
        using var client = factory.CreateClient();

        var json = await client.GetStringAsync("/api/users/carol").Bounded();

        Assert.Equal("""{"userId":"carol","balance":250,"orders":[]}""", json);
    }

    [Fact]
    public async Task GetUser_Unknown_Returns404Problem()
    {
        await using var factory = new CheckoutApiFactory();
        using var client = factory.CreateClient();

        using var response = await client.GetAsync("/api/users/nobody").Bounded();

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task PutBalance_NewUser_CreatesTheUser()
    {
        await using var factory = new CheckoutApiFactory();
        using var client = factory.CreateClient();

        using var response = await client.PutAsJsonAsync("/api/users/pia/balance", new { balance = 12.5m }).Bounded();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var account = await client.GetAccountAsync("pia");
        Assert.Equal(12.5m, account.Balance);
        Assert.Empty(account.Orders);
    }

    [Fact]
    public async Task PutBalance_Negative_Returns400()
    {
        await using var factory = new CheckoutApiFactory();
        using var client = factory.CreateClient();

        using var response = await client.PutAsJsonAsync("/api/users/alice/balance", new { balance = -1m }).Bounded();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(100m, (await client.GetAccountAsync("alice")).Balance);
    }

    [Fact]
    public async Task PutBalance_DuringACheckoutOfTheSameUser_WaitsForItAndWinsLast()
    {
        await using var factory = new CheckoutApiFactory();
        using var client = factory.CreateClient();
        await client.SetBalanceAsync("quinn", 100m);
        var probe = factory.Probe;

        var checkout = client.CheckoutAsync("quinn", 30m);
        await factory.Payments.Charges.WaitForEnteredAsync(1);
        var put = client.PutAsJsonAsync("/api/users/quinn/balance", new { balance = 500m });

        // Same key ("route:userId", no scope) on the controller action and the minimal API: the PUT queues.
        await probe.WaitForQueuedAsync(1);
        factory.Payments.Charges.Open();

        Assert.Equal(HttpStatusCode.Created, (await checkout.Bounded()).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await put.Bounded()).StatusCode);
        var account = await client.GetAccountAsync("quinn");
        Assert.Equal(500m, account.Balance);
        Assert.Single(account.Orders);
    }
}
