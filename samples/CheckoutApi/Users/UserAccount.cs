namespace CheckoutApi.Users;

/// <summary>The body of <c>GET /api/users/{userId}</c>: <c>{"userId", "balance", "orders"}</c>.</summary>
public sealed record UserAccount(string UserId, decimal Balance, IReadOnlyList<Order> Orders);
