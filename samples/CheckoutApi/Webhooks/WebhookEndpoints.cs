using CheckoutApi.Checkout;
using CheckoutApi.Data;
using CheckoutApi.Stats;
using CheckoutApi.Users;
using KeyedLock.AspNetCore;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CheckoutApi.Webhooks;

/// <summary><c>POST /api/webhooks/payments</c>: credits a payment once per <c>Webhook-Id</c>.</summary>
internal static class WebhookEndpoints
{
    /// <summary>The header that identifies a delivery; providers resend the same id when they retry.</summary>
    public const string WebhookIdHeader = "Webhook-Id";

    public static IEndpointRouteBuilder MapWebhookEndpoints(this IEndpointRouteBuilder app)
    {
        // Deliveries with the same id run one at a time, so the "already processed?" check below sees the
        // first delivery's record. A request without the header is rejected (400) before the handler runs.
        app.MapPost("/api/webhooks/payments", HandleAsync)
            .SerializeBy("header:" + WebhookIdHeader);
        return app;
    }

    private static async Task<Results<Ok<WebhookResult>, ValidationProblem>> HandleAsync(
        HttpRequest request,
        PaymentWebhook webhook,
        UserStore users,
        IPaymentProvider payments,
        SampleStats stats,
        CancellationToken cancellationToken)
    {
        var webhookId = request.Headers[WebhookIdHeader].ToString();
        if (string.IsNullOrWhiteSpace(webhook.UserId) || !Money.IsValidAmount(webhook.Amount))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["body"] = ["A payment webhook needs a userId and a positive amount with at most two decimals."],
            });
        }

        if (await users.IsWebhookProcessedAsync(webhookId, cancellationToken))
        {
            stats.WebhookSkipped();
            return TypedResults.Ok(new WebhookResult(Duplicate: true));
        }

        await payments.VerifyWebhookAsync(webhookId, cancellationToken);
        var balanceCents = await users.RecordWebhookAndCreditAsync(webhookId, webhook.UserId, Money.ToCents(webhook.Amount), CancellationToken.None);
        stats.WebhookProcessed();
        return TypedResults.Ok(new WebhookResult(Duplicate: false, webhook.UserId, Money.FromCents(balanceCents)));
    }
}
