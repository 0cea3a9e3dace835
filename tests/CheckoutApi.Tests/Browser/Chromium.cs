namespace CheckoutApi.Tests.Browser;

/// <summary>Debian's Chromium, which the browser tests drive (Playwright never downloads a browser here).</summary>
internal static class Chromium
{
    public const string ExecutablePath = "/usr/bin/chromium";

    public static bool IsInstalled => File.Exists(ExecutablePath);

    /// <summary>On CI a missing browser is a failure, not a reason to skip.</summary>
    public static bool IsRequired => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public const string MissingMessage =
        "Chromium is not installed at " + ExecutablePath + ". Install it with: sudo apt-get update && sudo apt-get install -y chromium";
}
