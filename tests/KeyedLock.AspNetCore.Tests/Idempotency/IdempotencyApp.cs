using System.Net;
using System.Text;
using KeyedLock.AspNetCore.Tests.Infrastructure;
using KeyedLock.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace KeyedLock.AspNetCore.Tests.Idempotency;

/// <summary>Counts handler runs, so a test can tell a replay (no run) from a second run.</summary>
public sealed class RunCounter
{
    private int _runs;

    public int Runs => Volatile.Read(ref _runs);

    public int Next() => Interlocked.Increment(ref _runs);
}

/// <summary>An idempotent test app: <c>POST /pay/{id}</c> waits on the probe (gate per <c>X-Req</c>), then answers.</summary>
public static class IdempotencyApp
{
    public const string Key = "Idempotency-Key";

    /// <summary>
    /// The handler: enters the probe, then answers with the status from the <c>X-Status</c> request header (201 by
    /// default), a <c>Location</c>, an <c>X-Run</c> header (not replayed) and a JSON body naming the run number.
    /// </summary>
    public static async Task<IResult> PayHandler(HttpContext context, Probe probe, RunCounter runs)
    {
        await probe.RunAsync(context.Request.Headers["X-Req"].ToString(), context.RequestAborted);
        var run = runs.Next();
        var status = int.TryParse(context.Request.Headers["X-Status"], out var s) ? s : StatusCodes.Status201Created;
        context.Response.Headers["X-Run"] = run.ToString(System.Globalization.CultureInfo.InvariantCulture);
        context.Response.Headers.Location = $"/payments/{run}";
        return Results.Json(new { run, id = context.Request.RouteValues["id"], note = "déjà vu ✓" }, statusCode: status);
    }

    public static Task<TestApp> StartAsync(
        Action<WebApplication>? map = null,
        Action<IdempotencyOptions>? configure = null,
        Action<IServiceCollection>? services = null,
        bool useMiddleware = true,
        bool kestrel = false) =>
        TestApp.StartAsync(
            map ?? (static a => a.MapPost("/pay/{id}", PayHandler).Idempotent()),
            services: s =>
            {
                s.AddSingleton<RunCounter>();
                s.Configure<IdempotencyOptions>(o => configure?.Invoke(o));
                services?.Invoke(s);
            },
            useMiddleware: useMiddleware,
            kestrel: kestrel);

    public static RunCounter Runs(this TestApp app) => app.App.Services.GetRequiredService<RunCounter>();

    public static HttpRequestMessage Pay(string id, string? key, string url = "/pay/1", string json = """{"amount":60}""", params (string Name, string Value)[] headers)
    {
        var all = key is null ? headers : [(Key, key), .. headers];
        return Requests.Post(url, id, json, all);
    }

    /// <summary>Sends <paramref name="request"/> with the probe already told to let it through.</summary>
    public static async Task<Response> SendReleasedAsync(this TestApp app, HttpRequestMessage request)
    {
        app.Probe.Release(request.Headers.GetValues("X-Req").Single());
        return await Response.ReadAsync(await app.SendAsync(request).Bounded());
    }

    /// <summary>A response read in full: status, headers and the exact body bytes.</summary>
    public sealed record Response(HttpStatusCode Status, byte[] Body, HttpResponseMessage Message)
    {
        public bool Replayed => Message.Headers.TryGetValues(IdempotencyOptions.ReplayedHeaderName, out var v) && v.Single() == "true";

        public string Text => Encoding.UTF8.GetString(Body);

        public string? Header(string name) =>
            Message.Headers.TryGetValues(name, out var v) || Message.Content.Headers.TryGetValues(name, out v) ? string.Join(",", v) : null;

        public static async Task<Response> ReadAsync(HttpResponseMessage message) =>
            new(message.StatusCode, await message.Content.ReadAsByteArrayAsync().Bounded(), message);
    }
}
