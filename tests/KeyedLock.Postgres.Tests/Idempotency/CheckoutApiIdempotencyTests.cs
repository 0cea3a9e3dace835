using System.Net;
using System.Net.Http.Json;
using KeyedLock.AspNetCore;
using KeyedLock.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Npgsql;

namespace KeyedLock.Postgres.Tests.Idempotency;

/// <summary>
/// Two CheckoutApi instances on one PostgreSQL (locks and idempotency store): a resent checkout click is answered
/// with its first order by the other instance, and a webhook redelivered to the other instance credits nothing and
/// gets the sample's contract answer (DESIGN.md section 5: 200 {"duplicate": true}).
/// </summary>
public sealed class CheckoutApiIdempotencyTests : PostgresTestBase
{
    [PostgresFact]
    public async Task WebhookRedeliveredToTheOtherInstance_IsCreditedOnce()
    {
        var directory = Track(new TempDirectory()).Path;
        await using var instanceA = new CheckoutInstance(directory, TestDatabase.UniqueName("idem-app-a"));
        await using var instanceB = new CheckoutInstance(directory, TestDatabase.UniqueName("idem-app-b"));
        using var a = instanceA.CreateClient();
        using var b = instanceB.CreateClient();
        var user = "user-" + Guid.NewGuid().ToString("N")[..8];
        var webhookId = "evt_" + Guid.NewGuid().ToString("N");
        Assert.True((await a.PutAsJsonAsync($"/api/users/{user}/balance", new { balance = 10 }).Bounded()).IsSuccessStatusCode);

        using var delivered = await a.SendAsync(Webhook(webhookId, user)).Bounded();
        using var redelivered = await b.SendAsync(Webhook(webhookId, user)).Bounded();

        Assert.Equal($$"""{"duplicate":false,"userId":"{{user}}","balance":15}""", await delivered.Content.ReadAsStringAsync().Bounded());
        Assert.Equal(HttpStatusCode.OK, redelivered.StatusCode);
        Assert.Equal("""{"duplicate":true}""", await redelivered.Content.ReadAsStringAsync().Bounded());
        var account = await b.GetFromJsonAsync<Account>($"/api/users/{user}").Bounded();
        Assert.Equal(15m, account!.Balance);
    }

    [PostgresFact]
    public async Task CheckoutClickResentToTheOtherInstance_ReturnsTheSameOrder()
    {
        var directory = Track(new TempDirectory()).Path;
        await using var instanceA = new CheckoutInstance(directory, TestDatabase.UniqueName("idem-app-a"));
        await using var instanceB = new CheckoutInstance(directory, TestDatabase.UniqueName("idem-app-b"));
        using var a = instanceA.CreateClient();
        using var b = instanceB.CreateClient();
        var user = "user-" + Guid.NewGuid().ToString("N")[..8];
        var click = Guid.NewGuid().ToString();
        Assert.True((await a.PutAsJsonAsync($"/api/users/{user}/balance", new { balance = 100 }).Bounded()).IsSuccessStatusCode);

        using var first = await a.SendAsync(Checkout(user, click)).Bounded();
        using var resent = await b.SendAsync(Checkout(user, click)).Bounded();

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, resent.StatusCode);
        Assert.Equal(await first.Content.ReadAsByteArrayAsync().Bounded(), await resent.Content.ReadAsByteArrayAsync().Bounded());
        var account = await b.GetFromJsonAsync<Account>($"/api/users/{user}").Bounded();
        Assert.Equal(40m, account!.Balance);
        Assert.Single(account.Orders);
    }

    private static HttpRequestMessage Webhook(string webhookId, string user) => new(HttpMethod.Post, "/api/webhooks/payments")
    {
        Headers = { { "Webhook-Id", webhookId } },
        Content = JsonContent.Create(new { userId = user, amount = 5 }),
    };

    private static HttpRequestMessage Checkout(string user, string key) => new(HttpMethod.Post, $"/api/users/{user}/checkout")
    {
        Headers = { { IdempotencyOptions.DefaultHeaderName, key } },
        Content = JsonContent.Create(new { amount = 60 }),
    };

    /// <summary>The instances' shared SQLite folder, deleted after the test.</summary>
    private sealed class TempDirectory : IAsyncDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("keyedlock-idem-sample-").FullName;

        public ValueTask DisposeAsync()
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(Path, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: a file still open on this platform stays in the temp folder.
            }

            return ValueTask.CompletedTask;
        }
    }

    private sealed record Account(string UserId, decimal Balance, IReadOnlyList<object> Orders);

    /// <summary>One app instance: its own host and PostgreSQL pool, shared SQLite data, instant payments.</summary>
    private sealed class CheckoutInstance(string directory, string applicationName) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            var keyedLock = new NpgsqlConnectionStringBuilder(TestDatabase.ConnectionString) { ApplicationName = applicationName };
            builder.UseSetting("ConnectionStrings:Checkout", $"Data Source={Path.Combine(directory, "checkout.db")}");
            builder.UseSetting("ConnectionStrings:KeyedLock", keyedLock.ConnectionString);
            builder.UseSetting("Checkout:PaymentDelay", "00:00:00");
            builder.UseSetting("Checkout:WebhookVerificationDelay", "00:00:00");
        }
    }
}
