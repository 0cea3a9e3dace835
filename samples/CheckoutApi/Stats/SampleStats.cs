namespace CheckoutApi.Stats;

/// <summary>Counters of this app instance, served by <c>GET /api/stats</c>.</summary>
public sealed class SampleStats
{
    private long _productLoads;
    private long _webhooksProcessed;
    private long _webhooksSkipped;
    private long _paymentsCharged;

    /// <summary>Products loaded from their source (cache misses that did the work).</summary>
    public long ProductLoads => Interlocked.Read(ref _productLoads);

    /// <summary>Webhook deliveries that credited a user.</summary>
    public long WebhooksProcessed => Interlocked.Read(ref _webhooksProcessed);

    /// <summary>Webhook deliveries skipped as duplicates.</summary>
    public long WebhooksSkipped => Interlocked.Read(ref _webhooksSkipped);

    /// <summary>Payment calls of this instance that completed (charges made).</summary>
    public long PaymentsCharged => Interlocked.Read(ref _paymentsCharged);

    internal void ProductLoaded() => Interlocked.Increment(ref _productLoads);

    internal void WebhookProcessed() => Interlocked.Increment(ref _webhooksProcessed);

    internal void WebhookSkipped() => Interlocked.Increment(ref _webhooksSkipped);

    internal void PaymentCharged() => Interlocked.Increment(ref _paymentsCharged);

    /// <summary>The JSON body of <c>GET /api/stats</c>.</summary>
    public StatsSnapshot Snapshot() => new(ProductLoads, WebhooksProcessed, WebhooksSkipped, PaymentsCharged);
}
