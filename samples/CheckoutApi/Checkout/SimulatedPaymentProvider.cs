using Microsoft.Extensions.Options;

namespace CheckoutApi.Checkout;

/// <summary>A payment provider that only takes time: <see cref="CheckoutOptions.PaymentDelay"/> per call.</summary>
internal sealed class SimulatedPaymentProvider(IOptions<CheckoutOptions> options, TimeProvider timeProvider) : IPaymentProvider
{
    public Task ChargeAsync(string userId, long amountCents, CancellationToken cancellationToken) =>
        Task.Delay(options.Value.PaymentDelay, timeProvider, cancellationToken);

    public Task VerifyWebhookAsync(string webhookId, CancellationToken cancellationToken) =>
        Task.Delay(options.Value.WebhookVerificationDelay, timeProvider, cancellationToken);
}
