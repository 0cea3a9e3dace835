using System.Net;
using KeyedLock.AspNetCore.Internal;
using KeyedLock.AspNetCore.Tests.Infrastructure;
using KeyedLock.Idempotency;
using KeyedLock.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using static KeyedLock.AspNetCore.Tests.Idempotency.IdempotencyApp;

namespace KeyedLock.AspNetCore.Tests.Idempotency;

/// <summary>Idempotency rejections: one reason enum, configurable statuses, OnRejected, and a stored value that cannot be read.</summary>
public sealed class IdempotencyRejectionTests
{
    [Fact]
    public async Task OnRejected_SeesTheReason_AndConfiguredStatusesApply()
    {
        var seen = new List<IdempotencyRejectionReason>();
        await using var app = await IdempotencyApp.StartAsync(
            a => a.MapPost("/pay/{id}", PayHandler).Idempotent(k => k.Wait = false),
            o =>
            {
                o.KeyReusedStatusCode = StatusCodes.Status409Conflict;
                o.InProgressStatusCode = StatusCodes.Status423Locked;
                o.OnRejected = (rejected, _) =>
                {
                    lock (seen)
                    {
                        seen.Add(rejected.Reason);
                    }

                    return ValueTask.CompletedTask;
                };
            });

        var original = app.SendAsync(Pay("a", "k1"));
        await app.Probe.ExpectEnteredAsync("a");
        using var inProgress = await app.SendAsync(Pay("b", "k1")).Bounded();
        app.Probe.Release("a");
        (await original.Bounded()).Dispose();
        using var reused = await app.SendAsync(Pay("c", "k1", json: """{"amount":70}""")).Bounded();
        using var missing = await app.SendAsync(Pay("d", null)).Bounded();

        Assert.Equal("keyedlock_idempotency_in_progress", (await inProgress.ReadProblemAsync(HttpStatusCode.Locked)).GetProperty("reason").GetString());
        Assert.Equal("keyedlock_idempotency_key_reused", (await reused.ReadProblemAsync(HttpStatusCode.Conflict)).GetProperty("reason").GetString());
        await missing.ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal([IdempotencyRejectionReason.InProgress, IdempotencyRejectionReason.KeyReused, IdempotencyRejectionReason.MissingKey], seen);
    }

    [Fact]
    public async Task OnRejected_ThatWritesItsOwnResponse_ReplacesTheProblem()
    {
        await using var app = await IdempotencyApp.StartAsync(configure: o => o.OnRejected = async (rejected, ct) =>
        {
            rejected.HttpContext.Response.StatusCode = StatusCodes.Status418ImATeapot;
            await rejected.HttpContext.Response.WriteAsync("no key", ct);
        });

        using var response = await app.SendAsync(Pay("a", null)).Bounded();

        Assert.Equal((HttpStatusCode)418, response.StatusCode);
        Assert.Equal("no key", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task StoredValueOfAnUnknownFormat_Is503_AndTheHandlerDoesNotRunAgain()
    {
        var store = new FutureFormatStore();
        await using var app = await IdempotencyApp.StartAsync(services: s => s.AddSingleton<IIdempotencyStore>(store));

        var first = await app.SendReleasedAsync(Pay("a", "k1"));
        Assert.Equal(HttpStatusCode.Created, first.Status);

        // From now on the store returns the value as a later format version would have written it.
        store.FutureFormat = true;
        var again = await app.SendReleasedAsync(Pay("b", "k1"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, again.Status);
        Assert.Equal(1, app.Runs().Runs);
    }

    [Fact]
    public void StoredResponse_RoundTrips_AndRejectsDamagedValues()
    {
        var fingerprint = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var response = new StoredResponse(fingerprint, 201, [new("Content-Type", "application/json"), new("Link", "</a>"), new("Link", "</é>")], "{\"a\":\"✓\"}"u8.ToArray());

        var encoded = response.Encode();
        var decoded = StoredResponse.TryDecode(encoded);

        Assert.Equal(StoredResponse.Version, encoded[0]);
        Assert.NotNull(decoded);
        Assert.Equal(fingerprint, decoded.Fingerprint);
        Assert.Equal(201, decoded.StatusCode);
        Assert.Equal(response.Headers, decoded.Headers);
        Assert.Equal(response.Body.ToArray(), decoded.Body.ToArray());
        Assert.Null(StoredResponse.TryDecode([2, .. encoded[1..]]));
        Assert.Null(StoredResponse.TryDecode(encoded[..40]));
        Assert.Null(StoredResponse.TryDecode([]));
    }

    [Fact]
    public async Task ControllerWithTheAttribute_WithoutAnyMiddleware_Replays()
    {
        await using var app = await TestApp.StartAsync(
            a => a.MapControllers(),
            services: s => s.AddSingleton<RunCounter>(),
            useMiddleware: false,
            controllers: true);

        using var first = await app.SendAsync(Requests.Post("/idem/charges", "a", """{"amount":5}""", (Key, "k1"))).Bounded();
        using var second = await app.SendAsync(Requests.Post("/idem/charges", "b", """{"amount":5}""", (Key, "k1"))).Bounded();

        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), await second.Content.ReadAsByteArrayAsync());
        Assert.True(second.Headers.Contains(IdempotencyOptions.ReplayedHeaderName));
        Assert.Equal(1, app.App.Services.GetRequiredService<RunCounter>().Runs);
    }

    /// <summary>A memory store that can return its values with another format version in the first byte.</summary>
    private sealed class FutureFormatStore : IIdempotencyStore
    {
        private readonly MemoryIdempotencyStore _inner = new(1024 * 1024);

        public bool FutureFormat { get; set; }

        public async ValueTask<byte[]?> GetAsync(string key, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            await _inner.GetAsync(key, now, cancellationToken) is { } value && FutureFormat ? [2, .. value[1..]] : await _inner.GetAsync(key, now, cancellationToken);

        public ValueTask<bool> TryAddAsync(string key, ReadOnlyMemory<byte> value, DateTimeOffset expiresAt, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            _inner.TryAddAsync(key, value, expiresAt, now, cancellationToken);
    }
}
