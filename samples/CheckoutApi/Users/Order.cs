namespace CheckoutApi.Users;

/// <summary>An order created by a checkout; this is the 201 body of <c>POST /api/users/{userId}/checkout</c>.</summary>
public sealed record Order(long OrderId, string UserId, decimal Amount, DateTimeOffset CreatedAt);
