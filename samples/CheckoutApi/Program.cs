using CheckoutApi;
using CheckoutApi.Data;
using CheckoutApi.Products;
using CheckoutApi.Stats;
using CheckoutApi.Users;
using CheckoutApi.Webhooks;
using KeyedLock.AspNetCore;
using KeyedLock.Postgres;

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddCheckoutSample();
builder.Services.AddControllers();
builder.Services.AddProblemDetails();

// Keyed serialization: the one place that decides how requests are serialized. In-process locks by default;
// a distributed provider (several app instances sharing one lock) is registered here and nothing else changes.
var keyedLock = builder.Services.AddKeyedSerialization(options =>
{
    // A request waits at most 10 s behind earlier ones with the same key, then gets 429 with Retry-After.
    options.DefaultTimeout = TimeSpan.FromSeconds(10);
});

// Several instances (processes, servers) of the app: set ConnectionStrings:KeyedLock to a PostgreSQL connection
// string and the same keys are serialized across all of them with PostgreSQL advisory locks.
// Or set ConnectionStrings:Redis (e.g. 127.0.0.1:6379) to do the same on Redis. One distributed backend at a time:
// when both connection strings are set, PostgreSQL wins and ConnectionStrings:Redis is ignored (else if below), so
// the app never registers two lock providers or two idempotency stores.
var keyedLockConnection = builder.Configuration.GetConnectionString("KeyedLock") is { Length: > 0 } configured ? configured : null;
var redisConnection = builder.Configuration.GetConnectionString("Redis") is { Length: > 0 } redis ? redis : null;
if (keyedLockConnection is not null)
{
    keyedLock.UsePostgres(keyedLockConnection, o => o.KeyNamespace = "checkoutapi");

    // Idempotent responses (checkout with an Idempotency-Key, webhook redeliveries) are replayed by every instance.
    keyedLock.UsePostgresIdempotencyStore(keyedLockConnection);
    builder.Services.AddHealthChecks().AddKeyedLockPostgres("keyedlock");

    // A cold product is loaded once across all instances: HybridCache over the shared SQLite file, and each load
    // under the product's distributed lock (AddHybridCache().AddKeyedLockStampedeProtection()).
    builder.Services.AddProductCacheAcrossInstances();
}
else if (redisConnection is not null)
{
    keyedLock.UseRedis(redisConnection, o => o.KeyNamespace = "checkoutapi");

    // Idempotent responses are replayed by every instance, stored on the lock provider's Redis connection.
    keyedLock.UseRedisIdempotencyStore();
    builder.Services.AddHealthChecks().AddKeyedLockRedis("keyedlock");

    // A cold product is loaded once across all instances, each load under the product's Redis lock.
    builder.Services.AddProductCacheAcrossInstances();
}

var app = builder.Build();

await app.Services.GetRequiredService<CheckoutDatabase>().InitializeAsync();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseDefaultFiles();
app.UseStaticFiles();
app.UseRouting();
app.UseIdempotency();
app.UseKeyedSerialization();

app.MapControllers();
app.MapUserEndpoints();
app.MapWebhookEndpoints();
app.MapProductEndpoints();
app.MapStatsEndpoints();
if (keyedLockConnection is not null || redisConnection is not null)
{
    app.MapHealthChecks("/health/keyedlock");
}

app.Run();

/// <summary>Entry point; public so that tests can use WebApplicationFactory&lt;Program&gt;.</summary>
public partial class Program;
