using CheckoutApi.Data;
using CheckoutApi.Stats;
using CheckoutApi.Users;
using KeyedLock;

namespace CheckoutApi.Checkout;

/// <summary>
/// Two checkouts. <see cref="CheckoutAsync"/> is written the way most checkouts are: read the balance, check it,
/// call the payment provider (an await), then write; two requests for the same user that interleave at the await
/// both pass the check and both charge (the unsafe route runs it without a lock, to show that).
/// <see cref="CheckoutFencedAsync"/> is what the serialized route runs: the lock orders and deduplicates the
/// requests, and correctness does not rest on it alone (a distributed lock can be lost mid-request): the money is
/// reserved by a conditional, fenced write before the charge, the charge carries an idempotency key, and a lost
/// lock stops the request before it charges.
/// </summary>
public sealed class CheckoutService(UserStore users, IPaymentProvider payments, SampleStats stats, IKeyedLockProvider locks)
{
    // The in-process registry's tokens restart with the process (and an in-process lock is never lost), so the
    // fence column is only compared with tokens of a distributed provider, which increase across instances and restarts.
    private readonly bool _fenced = locks is not KeyedLockRegistry;

    /// <summary>Read, check, charge, write: safe only while nothing else runs for this user (the unsafe route's code).</summary>
    public async Task<CheckoutOutcome> CheckoutAsync(string userId, long amountCents, CancellationToken cancellationToken)
    {
        // 1. Read.
        var balanceCents = await users.GetBalanceCentsAsync(userId, cancellationToken);
        if (balanceCents is null)
        {
            return new CheckoutOutcome(CheckoutStatus.UnknownUser);
        }

        // 2. Check.
        if (balanceCents.Value < amountCents)
        {
            return new CheckoutOutcome(CheckoutStatus.InsufficientFunds, Balance: Money.FromCents(balanceCents.Value));
        }

        // 3. The slow external call. Once the provider is asked to charge, the order must be written even if the
        //    client goes away, so nothing from here on listens to the request's cancellation.
        await payments.ChargeAsync(userId, amountCents, CancellationToken.None);
        stats.PaymentCharged();

        // 4. Write, trusting the check made in step 2.
        var order = await users.DeductAndCreateOrderAsync(userId, amountCents, CancellationToken.None);
        return new CheckoutOutcome(CheckoutStatus.Created, order);
    }

    /// <summary>
    /// The checkout of the serialized route, safe even when its lock is lost: reserve (a fenced conditional write),
    /// stop if the lock or the client is gone, charge with an idempotency key, confirm.
    /// </summary>
    /// <param name="userId">The user.</param>
    /// <param name="amountCents">The amount.</param>
    /// <param name="lease">The request's lease (its fencing token and lost token), when the request holds one.</param>
    /// <param name="requestKey">The client's Idempotency-Key, when it sent one.</param>
    /// <param name="requestAborted">The request's token: fires when the client goes away or the lock is lost.</param>
    public async Task<CheckoutOutcome> CheckoutFencedAsync(string userId, long amountCents, KeyedLockLease? lease, string? requestKey, CancellationToken requestAborted)
    {
        requestAborted.ThrowIfCancellationRequested();

        // 1. Check and write at once: the balance covers the amount, and no newer lock holder wrote it.
        var fence = _fenced && lease is { } held ? held.FencingToken : (long?)null;
        var reservation = await users.ReserveAsync(userId, amountCents, fence, requestKey, requestAborted);
        switch (reservation.Status)
        {
            case ReservationStatus.UnknownUser:
                return new CheckoutOutcome(CheckoutStatus.UnknownUser);
            case ReservationStatus.InsufficientFunds:
                return new CheckoutOutcome(CheckoutStatus.InsufficientFunds, Balance: Money.FromCents(reservation.BalanceCents));
            case ReservationStatus.Stale:
                return new CheckoutOutcome(CheckoutStatus.LockLost);
            case ReservationStatus.Duplicate:
                return new CheckoutOutcome(CheckoutStatus.AlreadyInProgress);
        }

        // 2. The lock or the client went away before the charge: give the money back, charge nothing.
        var lost = lease?.LostToken ?? CancellationToken.None;
        if (requestAborted.IsCancellationRequested)
        {
            await users.CancelReservationAsync(reservation.OrderId, CancellationToken.None);
            requestAborted.ThrowIfCancellationRequested();
        }

        // 3. Charge once per order, whoever retries. A lost lock cancels a charge the provider has not made yet; a
        //    client that goes away does not (the order is recorded and an Idempotency-Key retry replays it).
        try
        {
            await payments.ChargeAsync(userId, amountCents, $"order-{reservation.OrderId}", lost);
        }
        catch (Exception)
        {
            await users.CancelReservationAsync(reservation.OrderId, CancellationToken.None);
            throw;
        }

        stats.PaymentCharged();

        // 4. Charged: record it, whatever happened to the lock meanwhile (the reservation already holds the money).
        var order = await users.ConfirmOrderAsync(reservation.OrderId, CancellationToken.None);
        return new CheckoutOutcome(CheckoutStatus.Created, order);
    }
}
