using CheckoutApi.Checkout;

namespace CheckoutApi.Tests.Infrastructure;

/// <summary>
/// Replaces the simulated payment provider: a charge (the await between reading and writing the balance) and a
/// webhook verification stop at a <see cref="Gate"/> until the test opens it.
/// </summary>
public sealed class GatedPaymentProvider : IPaymentProvider
{
    public Gate Charges { get; } = new();

    public Gate Verifications { get; } = new();

    public Task ChargeAsync(string userId, long amountCents, CancellationToken cancellationToken) => Charges.PassAsync();

    public Task VerifyWebhookAsync(string webhookId, CancellationToken cancellationToken) => Verifications.PassAsync();
}
