using System.Collections.Concurrent;
using KeyedLock.AspNetCore;

namespace KeyedLock.AotSmoke;

/// <summary>Holds handlers of <c>/hold/{id}</c> until released, so that a second request can be rejected while one runs.</summary>
public sealed class Gate
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _entered = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _released = new();

    public Task Entered(string id) => Get(_entered, id).Task;

    public void Release(string id) => Get(_released, id).TrySetResult();

    internal async Task HoldAsync(string id, CancellationToken cancellationToken)
    {
        Get(_entered, id).TrySetResult();
        await Get(_released, id).Task.WaitAsync(cancellationToken);
    }

    private static TaskCompletionSource Get(ConcurrentDictionary<string, TaskCompletionSource> map, string id) =>
        map.GetOrAdd(id, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
}

/// <summary>Every feature: attribute and convention keys, body keys, a custom key source, policies, idempotency, both middleware.</summary>
public static class SmokeApp
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Services.AddSingleton<Gate>();
        builder.Services
            .AddKeyedSerialization(o =>
            {
                o.AddPolicy("no-wait", p => p.Timeout = TimeSpan.Zero);
                o.AddKeySource("tenant", context => context.Request.Headers["X-Tenant"].ToString());
            })
            .AddIdempotency(o => o.Window = TimeSpan.FromMinutes(5));
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseRouting();
        app.UseIdempotency();
        app.UseKeyedSerialization();

        app.MapPost("/users/{id}", [SerializeBy("route:id")] (string id) => id);
        app.MapPost("/hold/{id}", (string id, Gate gate, HttpContext context) => gate.HoldAsync(id, context.RequestAborted))
            .SerializeBy("route:id", k => k.Policy = "no-wait");
        app.MapPost("/balances/{id}", (int id, Gate gate, HttpContext context) => gate.HoldAsync("balance-" + id, context.RequestAborted))
            .SerializeBy("route:id", k => k.Policy = "no-wait");
        app.MapPost("/accounts", (HttpRequest request) => request.Headers["X-Account"].ToString()).SerializeBy("header:X-Account+tenant");
        app.MapPost("/hooks", async (HttpRequest request) => await new StreamReader(request.Body).ReadToEndAsync()).SerializeBy("body:/id");
        app.MapPost("/pay", () => Results.Text("paid", statusCode: StatusCodes.Status201Created)).Idempotent();
        return app;
    }
}
