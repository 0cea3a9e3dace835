namespace CheckoutApi.Webhooks;

/// <summary>The body of <c>POST /api/webhooks/payments</c>: <c>{"userId", "amount"}</c>.</summary>
public sealed record PaymentWebhook(string? UserId, decimal Amount);
