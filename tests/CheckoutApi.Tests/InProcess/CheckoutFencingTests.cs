using CheckoutApi.Checkout;
using CheckoutApi.Tests.Infrastructure;
using CheckoutApi.Users;
using Microsoft.Extensions.DependencyInjection;

namespace CheckoutApi.Tests.InProcess;

/// <summary>
/// The safe checkout's data-store guard, which holds even when a distributed lock was lost: the reservation is one
/// conditional, fenced write, and the stats count completed charges.
/// </summary>
public sealed class CheckoutFencingTests
{
    [Fact]
    public async Task Reserve_WithAnOlderFencingToken_IsRefused_AndWritesNothing()
    {
        await using var factory = new CheckoutApiFactory();
        using var client = factory.CreateClient();
        await client.SetBalanceAsync("erin", 100m);
        var users = factory.Services.GetRequiredService<UserStore>();

        var newer = await users.ReserveAsync("erin", 1000, fencingToken: 7, requestKey: null).Bounded();
        var stale = await users.ReserveAsync("erin", 1000, fencingToken: 6, requestKey: null).Bounded();
        var same = await users.ReserveAsync("erin", 1000, fencingToken: 7, requestKey: null).Bounded();

        Assert.Equal(ReservationStatus.Reserved, newer.Status);
        Assert.Equal(ReservationStatus.Stale, stale.Status);
        Assert.Equal(ReservationStatus.Stale, same.Status);
        Assert.Equal(90m, (await client.GetAccountAsync("erin")).Balance);
    }

    [Fact]
    public async Task Reserve_BeyondTheBalance_IsRefused_AndARepeatedRequestKeyReservesOnce()
    {
        await using var factory = new CheckoutApiFactory();
        using var client = factory.CreateClient();
        await client.SetBalanceAsync("erin", 100m);
        var users = factory.Services.GetRequiredService<UserStore>();

        var first = await users.ReserveAsync("erin", 6000, fencingToken: 1, requestKey: "click-1").Bounded();
        var retry = await users.ReserveAsync("erin", 1000, fencingToken: 2, requestKey: "click-1").Bounded();
        var tooMuch = await users.ReserveAsync("erin", 6000, fencingToken: 3, requestKey: "click-2").Bounded();

        Assert.Equal(ReservationStatus.Reserved, first.Status);
        Assert.Equal(ReservationStatus.Duplicate, retry.Status);
        Assert.Equal(ReservationStatus.InsufficientFunds, tooMuch.Status);
        Assert.Equal(4000, tooMuch.BalanceCents);

        // Giving the reservation back refunds it and removes the pending order.
        await users.CancelReservationAsync(first.OrderId).Bounded();
        var account = await client.GetAccountAsync("erin");
        Assert.Equal(100m, account.Balance);
        Assert.Empty(account.Orders);
    }

    [Fact]
    public async Task Stats_CountCompletedPayments()
    {
        await using var factory = new CheckoutApiFactory();
        using var client = factory.CreateClient();
        await client.SetBalanceAsync("erin", 100m);
        factory.Payments.Charges.Open();

        var created = await client.CheckoutAsync("erin", 60m).Bounded();
        var refused = await client.CheckoutAsync("erin", 60m).Bounded();

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        var stats = await client.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/stats").Bounded();
        Assert.Equal(1, stats.GetProperty("paymentsCharged").GetInt64());
    }
}
