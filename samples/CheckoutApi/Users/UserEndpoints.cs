using CheckoutApi.Data;
using KeyedLock.AspNetCore;

namespace CheckoutApi.Users;

/// <summary><c>GET /api/users/{userId}</c> and <c>PUT /api/users/{userId}/balance</c>.</summary>
internal static class UserEndpoints
{
    public static IEndpointRouteBuilder MapUserEndpoints(this IEndpointRouteBuilder app)
    {
        var users = app.MapGroup("/api/users/{userId}");

        users.MapGet("", async Task<IResult> (string userId, UserStore store, CancellationToken cancellationToken) =>
            await store.GetAccountAsync(userId, cancellationToken) is { } account
                ? TypedResults.Ok(account)
                : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown user", detail: $"There is no user '{userId}'."));

        // Same key as the checkout ("route:userId", no scope): setting a balance waits for a running checkout.
        users.MapPut("balance", async Task<IResult> (string userId, BalanceRequest request, UserStore store, CancellationToken cancellationToken) =>
            {
                if (request.Balance < 0m || !(request.Balance == 0m || Money.IsValidAmount(request.Balance)))
                {
                    return TypedResults.ValidationProblem(new Dictionary<string, string[]>
                    {
                        ["balance"] = ["The balance must be zero or positive, with at most two decimals."],
                    });
                }

                await store.SetBalanceAsync(userId, Money.ToCents(request.Balance), cancellationToken);
                return TypedResults.Ok(await store.GetAccountAsync(userId, cancellationToken));
            })
            .SerializeBy("route:userId");

        return app;
    }
}
