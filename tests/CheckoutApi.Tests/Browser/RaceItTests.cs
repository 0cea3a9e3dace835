using CheckoutApi.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace CheckoutApi.Tests.Browser;

/// <summary>
/// The page's "Race it" control and its labels, in real Chromium against the sample on real Kestrel. The payment
/// call is gated, so the race is decided by the test, not by the machine's speed.
/// </summary>
public sealed class RaceItTests(ChromiumFixture chromium) : IClassFixture<ChromiumFixture>
{
    /// <summary>Set to a file path to save the page after the race (scripts/screenshot.sh does, for README).</summary>
    public const string ScreenshotVariable = "CHECKOUTAPI_SCREENSHOT";

    private static readonly LocatorAssertionsToHaveTextOptions s_text = new() { Timeout = 15_000 };
    private static readonly LocatorAssertionsToContainTextOptions s_contains = new() { Timeout = 15_000 };

    [BrowserFact]
    public async Task RaceIt_ShowsTheDoubleChargeOnTheUnsafeRouteAndOneChargeOnTheSafeRoute()
    {
        await using var app = new CheckoutApiFactory();
        using var client = new HttpClient { BaseAddress = app.StartKestrel() };
        await using var context = await chromium.Browser.NewContextAsync(new()
        {
            BaseURL = client.BaseAddress.ToString(),
            ViewportSize = new() { Width = 1100, Height = 900 },
        }).Bounded();
        var page = await context.NewPageAsync().Bounded();
        await page.GotoAsync("/").Bounded();
        var probe = app.Probe;

        await page.ClickAsync("#race").Bounded();

        // Both unsafe checkouts read the balance and are paying; the first safe one is paying, the second waits
        // for its key. Only then do the payments complete.
        await app.Payments.Charges.WaitForEnteredAsync(3);
        await probe.WaitForQueuedAsync(1);
        app.Payments.Charges.Open();

        var unsafeLane = page.Locator("#lane-unsafe");
        var safeLane = page.Locator("#lane-safe");
        await Expect(unsafeLane.Locator(".verdict")).ToContainTextAsync("Charged twice", s_contains).Bounded();
        await Expect(unsafeLane.Locator(".verdict")).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("charged-twice")).Bounded();
        await Expect(unsafeLane.Locator(".lane-orders")).ToHaveTextAsync("2", s_text).Bounded();
        await Expect(unsafeLane.Locator(".lane-balance")).ToHaveTextAsync("-60", s_text).Bounded();
        await Expect(unsafeLane.Locator(".lane-responses li")).ToHaveCountAsync(2).Bounded();
        await Expect(unsafeLane.Locator(".lane-responses li")).ToContainTextAsync(["201 order", "201 order"], s_contains).Bounded();

        await Expect(safeLane.Locator(".verdict")).ToContainTextAsync("Charged once", s_contains).Bounded();
        await Expect(safeLane.Locator(".lane-orders")).ToHaveTextAsync("1", s_text).Bounded();
        await Expect(safeLane.Locator(".lane-balance")).ToHaveTextAsync("0", s_text).Bounded();
        await Expect(safeLane.Locator(".lane-responses")).ToContainTextAsync("409 Insufficient funds", s_contains).Bounded();
        await Expect(safeLane.Locator(".lane-responses")).ToContainTextAsync("201 order", s_contains).Bounded();

        // The page told the truth: the server holds exactly what each lane shows, for two fresh customers.
        var unsafeUser = await unsafeLane.Locator(".lane-user").InnerTextAsync().Bounded();
        var safeUser = await safeLane.Locator(".lane-user").InnerTextAsync().Bounded();
        Assert.NotEqual(unsafeUser, safeUser);
        var unsafeAccount = await client.GetAccountAsync(unsafeUser);
        var safeAccount = await client.GetAccountAsync(safeUser);
        Assert.Equal((2, -60m), (unsafeAccount.Orders.Count, unsafeAccount.Balance));
        Assert.Equal((1, 0m), (safeAccount.Orders.Count, safeAccount.Balance));
        Assert.Equal(3, app.Payments.Charges.Entered);

        if (Environment.GetEnvironmentVariable(ScreenshotVariable) is { Length: > 0 } path)
        {
            // The explanation and the two lanes: what README shows.
            var box = await page.Locator("#race-it").BoundingBoxAsync().Bounded();
            await page.ScreenshotAsync(new() { Path = path, Clip = new() { X = 0, Y = 0, Width = 1100, Height = box!.Y + box.Height + 16 } }).Bounded();
        }
    }

    [BrowserFact]
    public async Task PayClick_ResponseLost_ResendWithTheSameKeyReplaysTheFirstOrder()
    {
        await using var app = new CheckoutApiFactory();
        app.Payments.Charges.Open();
        using var client = new HttpClient { BaseAddress = app.StartKestrel() };
        await client.SetBalanceAsync("rhea", 100m);
        await using var context = await chromium.Browser.NewContextAsync(new() { BaseURL = client.BaseAddress.ToString() }).Bounded();
        var page = await context.NewPageAsync().Bounded();
        var keys = new List<string>();
        var attempts = 0;
        await page.RouteAsync("**/api/users/rhea/checkout", async route =>
        {
            lock (keys)
            {
                keys.Add(route.Request.Headers["idempotency-key"]);
            }

            if (Interlocked.Increment(ref attempts) == 1)
            {
                // The checkout reaches the server and completes, but its response never reaches the page.
                await using var response = await route.FetchAsync();
                await route.AbortAsync();
                return;
            }

            await route.ContinueAsync();
        }).Bounded();
        await page.GotoAsync("/?user=rhea").Bounded();
        await Expect(page.Locator("#balance")).ToHaveTextAsync("100", s_text).Bounded();

        await page.ClickAsync("#pay").Bounded();

        await Expect(page.Locator("#log")).ToContainTextAsync("(replayed)", s_contains).Bounded();
        await Expect(page.Locator("#order-count")).ToHaveTextAsync("1", s_text).Bounded();
        await Expect(page.Locator("#balance")).ToHaveTextAsync("40", s_text).Bounded();
        Assert.Equal(2, keys.Count);
        Assert.Equal(keys[0], keys[1]);
        var account = await client.GetAccountAsync("rhea");
        Assert.Single(account.Orders);
        Assert.Equal(1, app.Payments.Charges.Entered);
    }

    [BrowserFact]
    public async Task OrdersTable_LabelsEachOrderWithTheRouteThatMadeIt_AndEachClickHasItsOwnKey()
    {
        await using var app = new CheckoutApiFactory();
        app.Payments.Charges.Open();
        using var client = new HttpClient { BaseAddress = app.StartKestrel() };
        await client.SetBalanceAsync("ines", 200m);
        await using var context = await chromium.Browser.NewContextAsync(new() { BaseURL = client.BaseAddress.ToString() }).Bounded();
        var page = await context.NewPageAsync().Bounded();
        var keys = new List<string>();
        page.Request += (_, request) =>
        {
            if (request.Method == "POST")
            {
                lock (keys)
                {
                    keys.Add(request.Headers["idempotency-key"]);
                }
            }
        };
        await page.GotoAsync("/?user=ines").Bounded();
        await Expect(page.Locator("#balance")).ToHaveTextAsync("200", s_text).Bounded();

        await page.ClickAsync("#pay").Bounded();
        await Expect(page.Locator("#order-count")).ToHaveTextAsync("1", s_text).Bounded();
        await page.ClickAsync("#unsafe-pay").Bounded();
        await Expect(page.Locator("#order-count")).ToHaveTextAsync("2", s_text).Bounded();

        await Expect(page.Locator("#orders tr[data-route=safe]")).ToHaveCountAsync(1).Bounded();
        await Expect(page.Locator("#orders tr[data-route=unsafe]")).ToHaveCountAsync(1).Bounded();
        await Expect(page.Locator("#orders tr[data-route=safe] .route")).ToHaveTextAsync("safe").Bounded();
        await Expect(page.Locator("#balance-warning")).ToBeHiddenAsync().Bounded();
        lock (keys)
        {
            Assert.Equal(2, keys.Count);
            Assert.NotEqual(keys[0], keys[1]);
        }
    }
}
