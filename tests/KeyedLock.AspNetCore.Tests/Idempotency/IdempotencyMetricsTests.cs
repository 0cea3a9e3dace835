using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using KeyedLock.AspNetCore.Tests.Infrastructure;
using KeyedLock.Testing;
using Microsoft.Extensions.DependencyInjection;
using static KeyedLock.AspNetCore.Tests.Idempotency.IdempotencyApp;

namespace KeyedLock.AspNetCore.Tests.Idempotency;

public sealed class IdempotencyMetricsTests
{
    [Fact]
    public async Task Requests_AreCountedByResult_WithTheRouteTag()
    {
        await using var app = await IdempotencyApp.StartAsync();
        var factory = app.App.Services.GetRequiredService<IMeterFactory>();
        var results = new ConcurrentQueue<(string Route, string Result)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == KeyedLockMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, factory) && instrument.Name == IdempotencyMetrics.Requests)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? route = null, result = null;
            foreach (var tag in tags)
            {
                route = tag.Key == KeyedSerializationMetrics.RouteTag ? (string?)tag.Value : route;
                result = tag.Key == KeyedLockMetrics.ResultTag ? (string?)tag.Value : result;
            }

            Assert.Equal(1, value);
            results.Enqueue((route!, result!));
        });
        listener.Start();

        await app.SendReleasedAsync(Pay("a", "k1"));
        await app.SendReleasedAsync(Pay("b", "k1"));
        await app.SendReleasedAsync(Pay("c", "k1", json: """{"amount":1}"""));
        await app.SendReleasedAsync(Pay("d", key: null));
        await app.SendReleasedAsync(Pay("e", "k2", headers: ("X-Status", "500")));

        Assert.Equal(
            [
                ("/pay/{id}", IdempotencyMetrics.ResultStored),
                ("/pay/{id}", IdempotencyMetrics.ResultReplayed),
                ("/pay/{id}", IdempotencyMetrics.ResultKeyReused),
                ("/pay/{id}", IdempotencyMetrics.ResultInvalidKey),
                ("/pay/{id}", IdempotencyMetrics.ResultNotStored),
            ],
            results);
    }
}
