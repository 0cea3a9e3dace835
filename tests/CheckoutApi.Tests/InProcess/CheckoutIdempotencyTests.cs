using CheckoutApi.Tests.Infrastructure;

namespace CheckoutApi.Tests.InProcess;

/// <summary>The page sends one <c>Idempotency-Key</c> per click of "Pay"; resending a click never pays twice.</summary>
public sealed class CheckoutIdempotencyTests
{
    private static HttpRequestMessage Checkout(string userId, decimal amount, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/api/users/{userId}/checkout") { Content = JsonContent.Create(new { amount }) };
        request.Headers.Add("Idempotency-Key", key);
        return request;
    }

    [Fact]
    public async Task SameClickResent_ReturnsTheFirstOrder_AndChargesOnce()
    {
        await using var factory = new CheckoutApiFactory();
        factory.Payments.Charges.Open();
        using var client = factory.CreateClient();
        await client.SetBalanceAsync("olga", 100m);

        using var first = await client.SendAsync(Checkout("olga", 30m, "click-1")).Bounded();
        using var resent = await client.SendAsync(Checkout("olga", 30m, "click-1")).Bounded();

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, resent.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync().Bounded(), await resent.Content.ReadAsStringAsync().Bounded());
        Assert.Equal(first.Headers.Location, resent.Headers.Location);
        Assert.Equal("true", resent.Headers.GetValues("Idempotent-Replayed").Single());
        var account = await client.GetAccountAsync("olga");
        Assert.Equal(70m, account.Balance);
        Assert.Single(account.Orders);
    }

    [Fact]
    public async Task ResentWhileTheFirstIsPaying_WaitsAndGetsTheSameOrder()
    {
        await using var factory = new CheckoutApiFactory();
        using var client = factory.CreateClient();
        await client.SetBalanceAsync("pia", 100m);

        var first = client.SendAsync(Checkout("pia", 30m, "click-1"));
        await factory.Payments.Charges.WaitForEnteredAsync(1);
        var resent = client.SendAsync(Checkout("pia", 30m, "click-1"));
        await factory.Probe.WaitForQueuedAsync(1);
        factory.Payments.Charges.Open();

        using var a = await first.Bounded();
        using var b = await resent.Bounded();
        Assert.Equal(await a.Content.ReadAsStringAsync().Bounded(), await b.Content.ReadAsStringAsync().Bounded());
        Assert.Equal(1, factory.Payments.Charges.Entered);
        Assert.Single((await client.GetAccountAsync("pia")).Orders);
    }

    [Fact]
    public async Task TwoClicks_TwoKeys_AreTwoPayments()
    {
        await using var factory = new CheckoutApiFactory();
        factory.Payments.Charges.Open();
        using var client = factory.CreateClient();
        await client.SetBalanceAsync("quinn", 100m);

        using var first = await client.SendAsync(Checkout("quinn", 30m, "click-1")).Bounded();
        using var second = await client.SendAsync(Checkout("quinn", 30m, "click-2")).Bounded();

        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.False(second.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(40m, (await client.GetAccountAsync("quinn")).Balance);
    }

    [Fact]
    public async Task SameKeyForAnotherAmount_Returns422_AndChargesNothing()
    {
        await using var factory = new CheckoutApiFactory();
        factory.Payments.Charges.Open();
        using var client = factory.CreateClient();
        await client.SetBalanceAsync("rita", 100m);

        using var first = await client.SendAsync(Checkout("rita", 30m, "click-1")).Bounded();
        using var reused = await client.SendAsync(Checkout("rita", 50m, "click-1")).Bounded();

        Assert.Equal(HttpStatusCode.UnprocessableEntity, reused.StatusCode);
        Assert.Equal("application/problem+json", reused.Content.Headers.ContentType?.MediaType);
        Assert.Equal(70m, (await client.GetAccountAsync("rita")).Balance);
    }
}
