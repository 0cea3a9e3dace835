using CheckoutApi;
using CheckoutApi.Data;
using CheckoutApi.Products;
using CheckoutApi.Stats;
using CheckoutApi.Users;
using CheckoutApi.Webhooks;
using KeyedLock.AspNetCore;

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddCheckoutSample();
builder.Services.AddControllers();
builder.Services.AddProblemDetails();

// Keyed serialization: the one place that decides how requests are serialized. In-process locks by default;
// a distributed provider (several app instances sharing one lock) is registered here and nothing else changes.
builder.Services.AddKeyedSerialization(options =>
{
    // A request waits at most 10 s behind earlier ones with the same key, then gets 429 with Retry-After.
    options.DefaultTimeout = TimeSpan.FromSeconds(10);
});

var app = builder.Build();

await app.Services.GetRequiredService<CheckoutDatabase>().InitializeAsync();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseDefaultFiles();
app.UseStaticFiles();
app.UseRouting();
app.UseKeyedSerialization();

app.MapControllers();
app.MapUserEndpoints();
app.MapWebhookEndpoints();
app.MapProductEndpoints();
app.MapStatsEndpoints();

app.Run();

/// <summary>Entry point; public so that tests can use WebApplicationFactory&lt;Program&gt;.</summary>
public partial class Program;
