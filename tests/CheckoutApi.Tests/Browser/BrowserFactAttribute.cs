namespace CheckoutApi.Tests.Browser;

/// <summary>
/// A fact that needs Chromium: skipped on a developer machine without it, run (and failing) on CI where
/// <c>CI=true</c>, so a missing browser can never turn the browser tests green by skipping them.
/// </summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    public BrowserFactAttribute()
    {
        if (!Chromium.IsInstalled && !Chromium.IsRequired)
        {
            Skip = Chromium.MissingMessage;
        }
    }
}
