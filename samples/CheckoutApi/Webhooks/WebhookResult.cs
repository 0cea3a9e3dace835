using System.Text.Json.Serialization;

namespace CheckoutApi.Webhooks;

/// <summary>
/// The 200 body of <c>POST /api/webhooks/payments</c>: <c>{"duplicate": true}</c> for a repeated id; for a first
/// delivery, <c>{"duplicate": false, "userId", "balance"}</c> with the credited user's new balance.
/// </summary>
public sealed record WebhookResult(
    bool Duplicate,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? UserId = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] decimal? Balance = null);
