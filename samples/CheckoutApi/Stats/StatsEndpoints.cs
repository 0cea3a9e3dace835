namespace CheckoutApi.Stats;

/// <summary><c>GET /api/stats</c>: this instance's counters.</summary>
internal static class StatsEndpoints
{
    public static IEndpointRouteBuilder MapStatsEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/stats", (SampleStats stats) => TypedResults.Ok(stats.Snapshot()));
        return app;
    }
}
