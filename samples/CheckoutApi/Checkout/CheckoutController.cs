using CheckoutApi.Data;
using KeyedLock.AspNetCore;
using Microsoft.AspNetCore.Mvc;

namespace CheckoutApi.Checkout;

/// <summary>
/// <c>POST /api/users/{userId}/checkout</c> (serialized per user) and <c>POST /api/unsafe/users/{userId}/checkout</c>
/// (the same code, unprotected, to show the double charge). The only difference is one attribute.
/// </summary>
[ApiController]
public sealed class CheckoutController(CheckoutService checkout) : ControllerBase
{
    /// <summary>
    /// Checks out; requests for the same user run one at a time, in arrival order. A request that repeats an
    /// <c>Idempotency-Key</c> (the page sends one per click of "Pay", and resends it when a response is lost) gets
    /// the first response again instead of paying twice; requests without the header are not deduplicated. The
    /// checkout itself does not trust the lock alone (see <see cref="CheckoutService.CheckoutFencedAsync"/>): with
    /// several instances, a lost lock gives 503 before anything is charged, never a second charge.
    /// </summary>
    [HttpPost("/api/users/{userId}/checkout")]
    [SerializeBy("route:userId")]
    [Idempotent(KeyRequired = false)]
    [ProducesResponseType<Users.Order>(StatusCodes.Status201Created)]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status409Conflict)]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status503ServiceUnavailable)]
    public Task<IActionResult> Checkout(string userId, CheckoutRequest request) => RunAsync(userId, request, fenced: true);

    /// <summary>The same checkout without serialization: a double click charges twice.</summary>
    [HttpPost("/api/unsafe/users/{userId}/checkout")]
    [ProducesResponseType<Users.Order>(StatusCodes.Status201Created)]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status409Conflict)]
    public Task<IActionResult> UnsafeCheckout(string userId, CheckoutRequest request) => RunAsync(userId, request, fenced: false);

    private async Task<IActionResult> RunAsync(string userId, CheckoutRequest request, bool fenced)
    {
        if (!Money.IsValidAmount(request.Amount))
        {
            ModelState.AddModelError(nameof(request.Amount), "The amount must be positive, with at most two decimals.");
            return ValidationProblem(ModelState);
        }

        var outcome = fenced
            ? await checkout.CheckoutFencedAsync(
                userId,
                Money.ToCents(request.Amount),
                HttpContext.Features.Get<IKeyedSerializationFeature>()?.Lease,
                Request.Headers["Idempotency-Key"] is [{ Length: > 0 } key] ? key : null,
                HttpContext.RequestAborted)
            : await checkout.CheckoutAsync(userId, Money.ToCents(request.Amount), HttpContext.RequestAborted);
        switch (outcome.Status)
        {
            case CheckoutStatus.Created:
                return Created($"/api/users/{Uri.EscapeDataString(userId)}", outcome.Order);
            case CheckoutStatus.InsufficientFunds:
                var problem = ProblemDetailsFactory.CreateProblemDetails(
                    HttpContext,
                    StatusCodes.Status409Conflict,
                    title: "Insufficient funds",
                    detail: $"The balance {outcome.Balance:0.00} does not cover {request.Amount:0.00}.");
                problem.Extensions["balance"] = outcome.Balance;
                problem.Extensions["amount"] = request.Amount;
                return Conflict(problem);
            case CheckoutStatus.LockLost:
                Response.Headers.RetryAfter = "1";
                return Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "The lock was lost", detail: "Another request for this user went ahead; nothing was charged. Retry.");
            case CheckoutStatus.AlreadyInProgress:
                return Problem(statusCode: StatusCodes.Status409Conflict, title: "Checkout in progress", detail: "A checkout with this Idempotency-Key is being processed; retry later to get its response.");
            default:
                return Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown user", detail: $"There is no user '{userId}'.");
        }
    }
}
