namespace CheckoutApi.Users;

/// <summary>The body of <c>PUT /api/users/{userId}/balance</c>: <c>{"balance": 100}</c>.</summary>
public sealed record BalanceRequest(decimal Balance);
