using CheckoutApi.Users;

namespace CheckoutApi.Checkout;

/// <summary>What a checkout did: created an order, found too little money, or found no such user.</summary>
public sealed record CheckoutOutcome(CheckoutStatus Status, Order? Order = null, decimal Balance = 0m);

/// <summary>The kinds of <see cref="CheckoutOutcome"/>.</summary>
public enum CheckoutStatus
{
    /// <summary>The order was created and the balance deducted.</summary>
    Created,

    /// <summary>The balance read at the start did not cover the amount; nothing was charged.</summary>
    InsufficientFunds,

    /// <summary>There is no such user.</summary>
    UnknownUser,

    /// <summary>A newer lock holder wrote the balance first: this request's lock was lost; nothing was charged.</summary>
    LockLost,

    /// <summary>A checkout with the same Idempotency-Key already reserved the money (a retry on another instance).</summary>
    AlreadyInProgress,
}
