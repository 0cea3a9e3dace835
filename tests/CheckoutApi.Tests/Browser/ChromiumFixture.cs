using Microsoft.Playwright;

namespace CheckoutApi.Tests.Browser;

/// <summary>One headless Chromium (Debian's, via Playwright) shared by the tests of a class.</summary>
public sealed class ChromiumFixture : IAsyncLifetime
{
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public IBrowser Browser => _browser ?? throw new InvalidOperationException(Chromium.MissingMessage);

    public async Task InitializeAsync()
    {
        if (!Chromium.IsInstalled)
        {
            // Skipped tests never touch Browser; on CI the tests fail with this message.
            return;
        }

        _playwright = await Playwright.CreateAsync().Bounded();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium.ExecutablePath,
            Headless = true,
            Args =
            [
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        }).Bounded(TimeSpan.FromSeconds(60));
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}
