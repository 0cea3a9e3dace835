using CheckoutApi.Tests.Infrastructure;
using CheckoutApi.Users;
using Microsoft.AspNetCore.Mvc;

namespace CheckoutApi.Tests.InProcess;

/// <summary>
/// A double (or quintuple) click: identical checkouts at the same moment against a balance that covers one.
/// The payment call is held open by a gate, so the interleaving that double-charges is forced, not hoped for.
/// </summary>
public sealed class CheckoutDuplicateClickTests
{
    private const int Clicks = 5;

    [Fact]
    public async Task SafeCheckout_DuplicatesWhileFirstIsPaying_ChargesOnceAndRejectsTheRestWith409()
    {
        await using var factory = new CheckoutApiFactory();
        using var client = factory.CreateClient();
        await client.SetBalanceAsync("dana", 60m);
        var probe = factory.Probe;

        var clicks = Enumerable.Range(0, Clicks).Select(_ => client.CheckoutAsync("dana", 60m)).ToArray();

        // The first click is inside the payment call (it has read 60 and passed the check); every duplicate is
        // queued behind it on the user's key, so none of them has read the balance yet.
        await factory.Payments.Charges.WaitForEnteredAsync(1);
        await probe.WaitForQueuedAsync(Clicks - 1);
        Assert.Equal(1, factory.Payments.Charges.Entered);
        factory.Payments.Charges.Open();

        var responses = await Task.WhenAll(clicks).Bounded();
        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
        var rejected = responses.Where(r => r.StatusCode == HttpStatusCode.Conflict).ToList();
        Assert.Equal(Clicks - 1, rejected.Count);
        foreach (var response in rejected)
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = await response.Content.ReadFromJsonAsync<ProblemDetails>().Bounded();
            Assert.Equal("Insufficient funds", problem!.Title);
            Assert.Equal(0m, ((System.Text.Json.JsonElement)problem.Extensions["balance"]!).GetDecimal());
        }

        var account = await client.GetAccountAsync("dana");
        Assert.Equal(0m, account.Balance);
        Assert.Single(account.Orders);
        Assert.Equal(1, factory.Payments.Charges.Entered); // the card was charged once
    }

    [Fact]
    public async Task UnsafeCheckout_DuplicatesReadBeforeAnyWrites_ChargesEveryClick()
    {
        await using var factory = new CheckoutApiFactory();
        using var client = factory.CreateClient();
        await client.SetBalanceAsync("dana", 60m);

        var clicks = Enumerable.Range(0, Clicks).Select(_ => client.CheckoutAsync("dana", 60m, safe: false)).ToArray();

        // Without serialization every click reads 60, passes the check and reaches the payment call.
        await factory.Payments.Charges.WaitForEnteredAsync(Clicks);
        factory.Payments.Charges.Open();

        var responses = await Task.WhenAll(clicks).Bounded();
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        var account = await client.GetAccountAsync("dana");
        Assert.Equal(60m - (Clicks * 60m), account.Balance); // the bug this library exists for
        Assert.Equal(Clicks, account.Orders.Count);
    }

    [Fact]
    public async Task SafeCheckout_DifferentUsers_RunTheirPaymentsAtTheSameTime()
    {
        await using var factory = new CheckoutApiFactory();
        using var client = factory.CreateClient();
        await client.SetBalanceAsync("erin", 100m);
        await client.SetBalanceAsync("frank", 100m);
        var probe = factory.Probe;

        var erin = client.CheckoutAsync("erin", 30m);
        var frank = client.CheckoutAsync("frank", 40m);

        // Both are inside their critical section at once: the lock is per user, not global.
        await factory.Payments.Charges.WaitForEnteredAsync(2);
        Assert.Equal(0, probe.Queued);
        factory.Payments.Charges.Open();

        Assert.Equal(HttpStatusCode.Created, (await erin.Bounded()).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await frank.Bounded()).StatusCode);
        Assert.Equal(70m, (await client.GetAccountAsync("erin")).Balance);
        Assert.Equal(60m, (await client.GetAccountAsync("frank")).Balance);
    }

    [Fact]
    public async Task SafeCheckout_Created_ReturnsTheOrderAndItsLocation()
    {
        await using var factory = new CheckoutApiFactory();
        factory.Payments.Charges.Open();
        using var client = factory.CreateClient();
        await client.SetBalanceAsync("gina", 100m);

        using var response = await client.CheckoutAsync("gina", 12.34m).Bounded();

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("/api/users/gina", response.Headers.Location?.OriginalString);
        var order = await response.Content.ReadFromJsonAsync<Order>().Bounded();
        Assert.Equal("gina", order!.UserId);
        Assert.Equal(12.34m, order.Amount);
        var account = await client.GetAccountAsync("gina");
        Assert.Equal(87.66m, account.Balance);
        Assert.Equal(order.OrderId, Assert.Single(account.Orders).OrderId);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-5")]
    [InlineData("1.001")]
    public async Task Checkout_InvalidAmount_Returns400WithoutCharging(string amount)
    {
        await using var factory = new CheckoutApiFactory();
        using var client = factory.CreateClient();
        using var body = new StringContent($$"""{"amount": {{amount}}}""", System.Text.Encoding.UTF8, "application/json");

        using var response = await client.PostAsync("/api/users/alice/checkout", body).Bounded();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(0, factory.Payments.Charges.Entered);
        Assert.Equal(100m, (await client.GetAccountAsync("alice")).Balance);
    }

    [Fact]
    public async Task Checkout_UnknownUser_Returns404()
    {
        await using var factory = new CheckoutApiFactory();
        using var client = factory.CreateClient();

        using var response = await client.CheckoutAsync("nobody", 1m).Bounded();

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(0, factory.Payments.Charges.Entered);
    }
}
