using CheckoutApi.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace CheckoutApi.Tests.Browser;

/// <summary>
/// A real double click in a real browser on the sample's page, served by real Kestrel. The page's buttons do not
/// disable themselves, so a double click sends two checkouts; the payment call is gated so both clicks are in
/// flight at the worst moment.
/// </summary>
public sealed class DoubleClickTests(ChromiumFixture chromium) : IClassFixture<ChromiumFixture>
{
    private static readonly LocatorAssertionsToHaveTextOptions s_textTimeout = new() { Timeout = 15_000 };

    [BrowserFact]
    public async Task DoubleClickPay_SecondClickWaitsForTheFirst_OneOrder()
    {
        await using var app = new CheckoutApiFactory();
        using var client = new HttpClient { BaseAddress = app.StartKestrel() };
        await using var context = await chromium.Browser.NewContextAsync(new() { BaseURL = client.BaseAddress.ToString() }).Bounded();
        var page = await OpenPageAsync(context, client, "nora", balance: 60m);
        var probe = app.Probe;

        await page.DblClickAsync("#pay").Bounded();

        // The first click's checkout is paying; the second click's request is queued behind it.
        await app.Payments.Charges.WaitForEnteredAsync(1);
        await probe.WaitForQueuedAsync(1);
        app.Payments.Charges.Open();

        await Expect(page.Locator("#order-count")).ToHaveTextAsync("1", s_textTimeout).Bounded();
        await Expect(page.Locator("#log")).ToContainTextAsync("409", new() { Timeout = 15_000 }).Bounded();
        await Expect(page.Locator("#balance")).ToHaveTextAsync("0", s_textTimeout).Bounded();
        var account = await client.GetAccountAsync("nora");
        Assert.Single(account.Orders);
        Assert.Equal(0m, account.Balance);
        Assert.Equal(1, app.Payments.Charges.Entered);
    }

    [BrowserFact]
    public async Task DoubleClickUnsafePay_BothClicksPassTheCheck_TwoOrders()
    {
        await using var app = new CheckoutApiFactory();
        using var client = new HttpClient { BaseAddress = app.StartKestrel() };
        await using var context = await chromium.Browser.NewContextAsync(new() { BaseURL = client.BaseAddress.ToString() }).Bounded();
        var page = await OpenPageAsync(context, client, "otto", balance: 60m);

        await page.DblClickAsync("#unsafe-pay").Bounded();

        // Both clicks read 60 and reach the payment call before either writes.
        await app.Payments.Charges.WaitForEnteredAsync(2);
        app.Payments.Charges.Open();

        await Expect(page.Locator("#order-count")).ToHaveTextAsync("2", s_textTimeout).Bounded();
        await Expect(page.Locator("#balance")).ToHaveTextAsync("-60", s_textTimeout).Bounded();
        var account = await client.GetAccountAsync("otto");
        Assert.Equal(2, account.Orders.Count);
        Assert.Equal(-60m, account.Balance);
    }

    private static async Task<IPage> OpenPageAsync(IBrowserContext context, HttpClient client, string userId, decimal balance)
    {
        await client.SetBalanceAsync(userId, balance);
        var page = await context.NewPageAsync().Bounded();
        await page.GotoAsync($"/?user={userId}").Bounded();
        await Expect(page.Locator("#balance")).ToHaveTextAsync(balance.ToString(System.Globalization.CultureInfo.InvariantCulture), s_textTimeout).Bounded();
        return page;
    }
}
