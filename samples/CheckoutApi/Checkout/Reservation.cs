namespace CheckoutApi.Checkout;

/// <summary>What <see cref="Users.UserStore.ReserveAsync"/> did: reserved the money for a pending order, or why not.</summary>
public readonly record struct Reservation(ReservationStatus Status, long OrderId = 0, long BalanceCents = 0);

/// <summary>The kinds of <see cref="Reservation"/>.</summary>
public enum ReservationStatus
{
    /// <summary>The amount left the balance and a pending order holds it.</summary>
    Reserved,

    /// <summary>The balance does not cover the amount.</summary>
    InsufficientFunds,

    /// <summary>A holder with a newer fencing token wrote the balance: this request's lock was lost.</summary>
    Stale,

    /// <summary>An order with this request's Idempotency-Key exists already (a retry on another instance).</summary>
    Duplicate,

    /// <summary>There is no such user.</summary>
    UnknownUser,
}
