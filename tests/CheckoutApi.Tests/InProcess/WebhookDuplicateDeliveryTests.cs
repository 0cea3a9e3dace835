using CheckoutApi.Tests.Infrastructure;
using CheckoutApi.Webhooks;

namespace CheckoutApi.Tests.InProcess;

/// <summary>A payment provider retrying the same webhook: 20 deliveries of one id credit the user once.</summary>
public sealed class WebhookDuplicateDeliveryTests
{
    private const int Deliveries = 20;

    [Fact]
    public async Task Webhook_TwentyConcurrentDeliveriesOfOneId_CreditsOnce()
    {
        await using var factory = new CheckoutApiFactory();
        using var client = factory.CreateClient();
        await client.SetBalanceAsync("hank", 0m);
        var probe = factory.Probe;

        var deliveries = Enumerable.Range(0, Deliveries).Select(_ => client.DeliverWebhookAsync("evt_1", "hank", 25m)).ToArray();

        // The first delivery found the id unprocessed and is verifying it; the other 19 wait on the id's key.
        await factory.Payments.Verifications.WaitForEnteredAsync(1);
        await probe.WaitForQueuedAsync(Deliveries - 1);
        factory.Payments.Verifications.Open();

        var responses = await Task.WhenAll(deliveries).Bounded();
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var results = await Task.WhenAll(responses.Select(r => r.Content.ReadFromJsonAsync<WebhookResult>())).Bounded();
        Assert.Single(results, r => !r!.Duplicate);
        Assert.Equal(Deliveries - 1, results.Count(r => r!.Duplicate));
        Assert.Equal(25m, (await client.GetAccountAsync("hank")).Balance);
        Assert.Equal(1, factory.Payments.Verifications.Entered);
        Assert.Equal(1, factory.Stats.WebhooksProcessed);
        Assert.Equal(Deliveries - 1, factory.Stats.WebhooksSkipped);
    }

    [Fact]
    public async Task Webhook_DuplicateAfterTheFirstFinished_Returns200DuplicateTrue()
    {
        await using var factory = new CheckoutApiFactory();
        factory.Payments.Verifications.Open();
        using var client = factory.CreateClient();
        await client.SetBalanceAsync("ivy", 10m);

        using var first = await client.DeliverWebhookAsync("evt_2", "ivy", 5m).Bounded();
        using var second = await client.DeliverWebhookAsync("evt_2", "ivy", 5m).Bounded();

        Assert.Equal("""{"duplicate":false,"userId":"ivy","balance":15}""", await first.Content.ReadAsStringAsync().Bounded());
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal("""{"duplicate":true}""", await second.Content.ReadAsStringAsync().Bounded());
        Assert.Equal(15m, (await client.GetAccountAsync("ivy")).Balance);
    }

    [Fact]
    public async Task Webhook_DifferentIds_AreVerifiedAtTheSameTime()
    {
        await using var factory = new CheckoutApiFactory();
        using var client = factory.CreateClient();
        await client.SetBalanceAsync("jack", 0m);

        var a = client.DeliverWebhookAsync("evt_a", "jack", 1m);
        var b = client.DeliverWebhookAsync("evt_b", "jack", 2m);
        await factory.Payments.Verifications.WaitForEnteredAsync(2);
        factory.Payments.Verifications.Open();

        Assert.Equal(HttpStatusCode.OK, (await a.Bounded()).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await b.Bounded()).StatusCode);
        Assert.Equal(3m, (await client.GetAccountAsync("jack")).Balance);
    }

    [Fact]
    public async Task Webhook_WithoutWebhookId_IsRejectedWith400BeforeTheHandler()
    {
        await using var factory = new CheckoutApiFactory();
        using var client = factory.CreateClient();

        using var response = await client.PostAsJsonAsync("/api/webhooks/payments", new { userId = "alice", amount = 5m }).Bounded();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(0, factory.Payments.Verifications.Entered);
        Assert.Equal(100m, (await client.GetAccountAsync("alice")).Balance);
    }
}
