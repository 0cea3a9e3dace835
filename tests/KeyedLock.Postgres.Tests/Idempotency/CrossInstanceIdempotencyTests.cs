using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Threading.Channels;
using KeyedLock.AspNetCore;
using KeyedLock.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace KeyedLock.Postgres.Tests.Idempotency;

/// <summary>
/// Two app instances (two hosts, each with its own data source, lock provider and store) on one database: a duplicate
/// sent to the other instance is serialized by the advisory lock and answered from the shared table.
/// </summary>
public sealed class CrossInstanceIdempotencyTests : PostgresTestBase
{
    private readonly string _table = "idem_" + Guid.NewGuid().ToString("N");
    private readonly Channel<string> _entered = Channel.CreateUnbounded<string>();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _gates = new();
    private readonly ConcurrentQueue<string> _runs = new();
    private bool _dropsTable;

    [PostgresFact]
    public async Task ResponseCompletedOnOneInstance_IsReplayedByteForByte_ByTheOther()
    {
        var a = await StartInstanceAsync("a");
        var b = await StartInstanceAsync("b");

        Release("r1");
        using var first = await a.Client.SendAsync(Pay("r1", "k1")).Bounded();
        Release("r2");
        using var second = await b.Client.SendAsync(Pay("r2", "k1")).Bounded();

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), await second.Content.ReadAsByteArrayAsync());
        Assert.Equal("true", second.Headers.GetValues(IdempotencyOptions.ReplayedHeaderName).Single());
        Assert.Equal("/payments/r1", second.Headers.Location?.ToString());
        Assert.Equal(["a:r1"], _runs);
    }

    [PostgresFact]
    public async Task DuplicateOnTheOtherInstance_WhileTheOriginalRuns_WaitsForItAndGetsTheReplay()
    {
        var a = await StartInstanceAsync("a");
        var b = await StartInstanceAsync("b");

        var original = a.Client.SendAsync(Pay("r1", "k1"));
        Assert.Equal("r1", await _entered.Reader.ReadAsync().AsTask().Bounded());
        var duplicate = b.Client.SendAsync(Pay("r2", "k1"));

        // b waits in PostgreSQL for the advisory lock that a holds.
        await TestWait.UntilAsync(() => TestDatabase.CountLockingSessionsAsync(Monitor, b.ApplicationName), 1, "instance b waits for the idempotency key");
        Assert.False(duplicate.IsCompleted, "the duplicate waits for the original while b holds a waiting advisory lock");

        Release("r1");
        using var first = await original.Bounded();
        using var second = await duplicate.Bounded();

        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), await second.Content.ReadAsByteArrayAsync());
        Assert.True(second.Headers.Contains(IdempotencyOptions.ReplayedHeaderName));
        Assert.Equal(["a:r1"], _runs);
        Assert.False(_entered.Reader.TryRead(out _));
    }

    [PostgresFact]
    public async Task SameKey_DifferentRequest_OnTheOtherInstance_Gets422()
    {
        var a = await StartInstanceAsync("a");
        var b = await StartInstanceAsync("b");

        Release("r1");
        using var first = await a.Client.SendAsync(Pay("r1", "k1", amount: 60)).Bounded();
        using var second = await b.Client.SendAsync(Pay("r2", "k1", amount: 70)).Bounded();

        Assert.Equal(HttpStatusCode.UnprocessableEntity, second.StatusCode);
        Assert.Equal("application/problem+json", second.Content.Headers.ContentType?.MediaType);
        Assert.Equal(["a:r1"], _runs);
    }

    private static HttpRequestMessage Pay(string id, string key, int amount = 60) => new(HttpMethod.Post, "/pay/1")
    {
        Headers = { { "X-Req", id }, { IdempotencyOptions.DefaultHeaderName, key } },
        Content = new StringContent($$"""{"amount":{{amount}}}""", Encoding.UTF8, "application/json"),
    };

    private void Release(string id) => Gate(id).TrySetResult();

    private TaskCompletionSource Gate(string id) => _gates.GetOrAdd(id, static _ => new(TaskCreationOptions.RunContinuationsAsynchronously));

    private async Task<Instance> StartInstanceAsync(string name)
    {
        var applicationName = TestDatabase.UniqueName("idem-" + name);
        var dataSource = Track(TestDatabase.CreateDataSource(applicationName));
        if (!_dropsTable)
        {
            // Disposed in reverse order: the instances stop, then the table is dropped, then the monitor pool goes.
            _dropsTable = true;
            Track(new DropTable(Monitor, _table));
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddKeyedSerialization()
            .UsePostgres(dataSource, o => o.KeyNamespace = Namespace)
            .UsePostgresIdempotencyStore(dataSource, o => o.TableName = _table);

        var app = builder.Build();
        app.UseRouting();
        app.UseKeyedSerialization();
        app.MapPost("/pay/{id}", async (HttpContext context) =>
        {
            var id = context.Request.Headers["X-Req"].ToString();
            _entered.Writer.TryWrite(id);
            await Gate(id).Task.WaitAsync(context.RequestAborted);
            _runs.Enqueue($"{name}:{id}");
            context.Response.Headers.Location = $"/payments/{id}";
            return Results.Json(new { payment = id, instance = name }, statusCode: StatusCodes.Status201Created);
        }).Idempotent();

        await app.StartAsync().Bounded();
        var instance = Track(new Instance(app, app.GetTestClient(), applicationName));

        // Create the table now, so that its DDL advisory lock never shows up while a test watches pg_locks.
        await app.Services.GetRequiredService<PostgresIdempotencyStore>().EnsureTableAsync().AsTask().Bounded();
        return instance;
    }

    private sealed record Instance(WebApplication App, HttpClient Client, string ApplicationName) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await App.StopAsync().Bounded();
            await App.DisposeAsync();
        }
    }

    private sealed class DropTable(NpgsqlDataSource monitor, string table) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await using var drop = monitor.CreateCommand($"DROP TABLE IF EXISTS {table}");
            await drop.ExecuteNonQueryAsync();
        }
    }
}
