using System.Diagnostics.Metrics;
using KeyedLock.AspNetCore.Tests.Infrastructure;
using KeyedLock.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace KeyedLock.AspNetCore.Tests;

public sealed class MetricsAndKestrelTests
{
    private static Task Handle(HttpContext context, Probe probe) => probe.RunAsync(context.Request.Headers["X-Req"].ToString(), context.RequestAborted);

    [Fact]
    public async Task OverKestrel_SameKeySerializes_AndDifferentKeysOverlap()
    {
        await using var app = await TestApp.StartAsync(a => a.MapPost("/users/{id}", Handle).SerializeBy("route:id"), kestrel: true);
        await app.AssertSerializedAsync((id, value) => Requests.Post($"/users/{value}", id), "1", "2");
    }

    [Fact]
    public async Task Requests_AreCountedOnTheKeyedLockMeter_WithRouteAndPolicyTags()
    {
        await using var app = await TestApp.StartAsync(
            a => a.MapPost("/users/{id}", () => Results.Ok()).SerializeBy("route:id", k => k.Policy = "checkout"),
            o => o.AddPolicy("checkout", _ => { }));
        var factory = app.App.Services.GetRequiredService<IMeterFactory>();
        var measurements = new List<(long Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == KeyedLockMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, factory) && instrument.Name == KeyedSerializationMetrics.Requests)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            lock (measurements)
            {
                measurements.Add((value, tags.ToArray().ToDictionary(t => t.Key, t => t.Value)));
            }
        });
        listener.Start();

        using var ok = await app.SendAsync(Requests.Post("/users/1", "a")).Bounded();

        var (value, tags) = Assert.Single(measurements);
        Assert.Equal(1, value);
        Assert.Equal("/users/{id}", tags[KeyedSerializationMetrics.RouteTag]);
        Assert.Equal("checkout", tags[KeyedSerializationMetrics.PolicyTag]);
        Assert.Equal("acquired", tags[KeyedLockMetrics.ResultTag]);
    }
}
