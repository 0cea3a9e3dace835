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
    /// <summary>Checks out; requests for the same user run one at a time, in arrival order.</summary>
    [HttpPost("/api/users/{userId}/checkout")]
    [SerializeBy("route:userId")]
    [ProducesResponseType<Users.Order>(StatusCodes.Status201Created)]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status409Conflict)]
    public Task<IActionResult> Checkout(string userId, CheckoutRequest request) => RunAsync(userId, request);

    /// <summary>The same checkout without serialization: a double click charges twice.</summary>
    [HttpPost("/api/unsafe/users/{userId}/checkout")]
    [ProducesResponseType<Users.Order>(StatusCodes.Status201Created)]
    [ProducesResponseType<ProblemDetails>(StatusCodes.Status409Conflict)]
    public Task<IActionResult> UnsafeCheckout(string userId, CheckoutRequest request) => RunAsync(userId, request);

    private async Task<IActionResult> RunAsync(string userId, CheckoutRequest request)
    {
        if (!Money.IsValidAmount(request.Amount))
        {
            ModelState.AddModelError(nameof(request.Amount), "The amount must be positive, with at most two decimals.");
            return ValidationProblem(ModelState);
        }

        var outcome = await checkout.CheckoutAsync(userId, Money.ToCents(request.Amount), HttpContext.RequestAborted);
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
            default:
                return Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown user", detail: $"There is no user '{userId}'.");
        }
    }
}
