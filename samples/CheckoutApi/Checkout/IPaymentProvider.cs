namespace CheckoutApi.Checkout;

/// <summary>
/// The external payment provider: the slow, awaited call in the middle of a read-check-write. The sample
/// simulates it (<see cref="SimulatedPaymentProvider"/>); tests replace it to hold requests at exactly this point.
/// </summary>
public interface IPaymentProvider
{
    /// <summary>Charges the user's payment method (called after the funds check, before the balance is written).</summary>
    Task ChargeAsync(string userId, long amountCents, CancellationToken cancellationToken);

    /// <summary>Asks the provider whether a payment webhook is genuine (called before the webhook is recorded).</summary>
    Task VerifyWebhookAsync(string webhookId, CancellationToken cancellationToken);
}
