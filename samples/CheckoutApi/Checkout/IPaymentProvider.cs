namespace CheckoutApi.Checkout;

/// <summary>
/// The external payment provider: the slow, awaited call in the middle of a read-check-write. The sample
/// simulates it (<see cref="SimulatedPaymentProvider"/>); tests replace it to hold requests at exactly this point.
/// </summary>
public interface IPaymentProvider
{
    /// <summary>Charges the user's payment method (called after the funds check, before the balance is written).</summary>
    Task ChargeAsync(string userId, long amountCents, CancellationToken cancellationToken);

    /// <summary>
    /// Charges at most once per <paramref name="idempotencyKey"/>, as payment APIs do with their idempotency key
    /// header: a repeated key gets the first outcome instead of a second charge. The safe checkout calls this one.
    /// Cancellation before the provider answered means "not charged" for the simulated provider; with a real one
    /// the outcome is then unknown, and a retry with the same key tells.
    /// </summary>
    Task ChargeAsync(string userId, long amountCents, string idempotencyKey, CancellationToken cancellationToken) =>
        ChargeAsync(userId, amountCents, cancellationToken);

    /// <summary>Asks the provider whether a payment webhook is genuine (called before the webhook is recorded).</summary>
    Task VerifyWebhookAsync(string webhookId, CancellationToken cancellationToken);
}
