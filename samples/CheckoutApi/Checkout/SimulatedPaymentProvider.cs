using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace CheckoutApi.Checkout;

/// <summary>
/// A payment provider that only takes time: <see cref="CheckoutOptions.PaymentDelay"/> per call. A charge counts
/// when the call completes; a call cancelled before that charged nothing. Calls with an idempotency key charge
/// once per key (in this process, as a real provider would across all its clients).
/// </summary>
internal sealed class SimulatedPaymentProvider(IOptions<CheckoutOptions> options, TimeProvider timeProvider) : IPaymentProvider
{
    private readonly ConcurrentDictionary<string, Lazy<Task>> _byKey = new(StringComparer.Ordinal);

    public Task ChargeAsync(string userId, long amountCents, CancellationToken cancellationToken) =>
        Task.Delay(options.Value.PaymentDelay, timeProvider, cancellationToken);

    public Task ChargeAsync(string userId, long amountCents, string idempotencyKey, CancellationToken cancellationToken) =>
        _byKey.GetOrAdd(idempotencyKey, key => new Lazy<Task>(() => ChargeOnceAsync(key, cancellationToken))).Value;

    public Task VerifyWebhookAsync(string webhookId, CancellationToken cancellationToken) =>
        Task.Delay(options.Value.WebhookVerificationDelay, timeProvider, cancellationToken);

    private async Task ChargeOnceAsync(string idempotencyKey, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(options.Value.PaymentDelay, timeProvider, cancellationToken);
        }
        catch
        {
            _byKey.TryRemove(idempotencyKey, out _); // not charged: a retry with the key may charge
            throw;
        }
    }
}
