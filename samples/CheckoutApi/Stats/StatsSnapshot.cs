namespace CheckoutApi.Stats;

/// <summary>The body of <c>GET /api/stats</c>.</summary>
public sealed record StatsSnapshot(long ProductLoads, long WebhooksProcessed, long WebhooksSkipped, long PaymentsCharged);
