using System.ComponentModel.DataAnnotations;

namespace CheckoutApi;

/// <summary>The sample's knobs, bound from the <c>Checkout</c> configuration section.</summary>
public sealed class CheckoutOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "Checkout";

    /// <summary>
    /// How long the simulated payment provider takes to charge (the awaited gap between reading the balance and
    /// writing it). Default 50 ms; larger values make the race easier to see by hand.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan PaymentDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How long verifying a payment webhook with the provider takes. Default 50 ms.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan WebhookVerificationDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How long loading a product from its (slow) source takes on a cache miss. Default 200 ms.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan ProductLoadDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How long a loaded product stays in the memory cache. Default 30 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan ProductCacheDuration { get; set; } = TimeSpan.FromSeconds(30);
}
