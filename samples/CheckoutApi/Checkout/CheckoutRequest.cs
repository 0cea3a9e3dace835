namespace CheckoutApi.Checkout;

/// <summary>The body of a checkout: <c>{"amount": 60}</c>.</summary>
public sealed record CheckoutRequest(decimal Amount);
