using CheckoutApi.Data;
using CheckoutApi.Users;

namespace CheckoutApi.Checkout;

/// <summary>
/// The checkout, written the way most checkouts are: read the balance, check it, call the payment provider
/// (an await), then write. Two requests for the same user that interleave at the await both pass the check and
/// both charge. This class has no protection of its own, on purpose: the safe route gets it from
/// <c>[SerializeBy("route:userId")]</c>, the unsafe route runs this same code without it.
/// </summary>
public sealed class CheckoutService(UserStore users, IPaymentProvider payments)
{
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

        // 4. Write, trusting the check made in step 2.
        var order = await users.DeductAndCreateOrderAsync(userId, amountCents, CancellationToken.None);
        return new CheckoutOutcome(CheckoutStatus.Created, order);
    }
}
