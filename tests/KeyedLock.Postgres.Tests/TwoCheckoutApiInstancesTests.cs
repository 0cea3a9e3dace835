using System.Net;
using System.Net.Http.Json;
using CheckoutApi.Checkout;
using KeyedLock.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;

namespace KeyedLock.Postgres.Tests;

/// <summary>Two CheckoutApi instances sharing one SQLite file and one PostgreSQL: a duplicated checkout charges once.</summary>
public sealed class TwoCheckoutApiInstancesTests : PostgresTestBase
{
    [PostgresFact]
    public async Task DuplicateCheckouts_SpreadOverTwoInstances_ChargeExactlyOnce()
    {
        var directory = Directory.CreateTempSubdirectory("keyedlock-two-instances-").FullName;
        var payments = new GatedPayments();
        var appA = TestDatabase.UniqueName("kl-app-a");
        var appB = TestDatabase.UniqueName("kl-app-b");
        await using var instanceA = new CheckoutInstance(directory, appA, payments);
        await using var instanceB = new CheckoutInstance(directory, appB, payments);
        using var clientA = instanceA.CreateClient();
        using var clientB = instanceB.CreateClient();
        var user = "user-" + Guid.NewGuid().ToString("N")[..8];

        Assert.True((await clientA.PutAsJsonAsync($"/api/users/{user}/balance", new { balance = 100 }).Bounded()).IsSuccessStatusCode);

        // The first checkout (instance A) stops inside the payment call, holding the user's lock.
        var first = clientA.PostAsJsonAsync($"/api/users/{user}/checkout", new { amount = 60 });
        await payments.FirstChargeStarted.Task.Bounded();

        // Duplicates land on both instances; each instance sends one of them to wait in PostgreSQL.
        var duplicates = new List<Task<HttpResponseMessage>>();
        for (var i = 0; i < 6; i++)
        {
            duplicates.Add((i % 2 == 0 ? clientB : clientA).PostAsJsonAsync($"/api/users/{user}/checkout", new { amount = 60 }));
        }

        await TestWait.UntilAsync(() => CountWaitingAsync(appB), 1, "instance B's duplicate waits in PostgreSQL");
        await TestWait.UntilAsync(() => CountWaitingAsync(appA), 1, "instance A's duplicate waits in PostgreSQL");
        Assert.All(duplicates, d => Assert.False(d.IsCompleted));

        payments.Release.SetResult();
        var responses = await Task.WhenAll(duplicates.Prepend(first)).Bounded(TimeSpan.FromSeconds(60));

        Assert.Equal(HttpStatusCode.Created, responses[0].StatusCode);
        Assert.All(responses.Skip(1), r => Assert.Equal(HttpStatusCode.Conflict, r.StatusCode));
        Assert.Equal(1, payments.Charges);
        var account = await clientB.GetFromJsonAsync<Account>($"/api/users/{user}").Bounded();
        Assert.Equal(40m, account!.Balance);
        Assert.Single(account.Orders);
    }

    private Task<long> CountWaitingAsync(string applicationName) => CountAsync(Monitor, applicationName);

    private static async Task<long> CountAsync(NpgsqlDataSource monitor, string applicationName)
    {
        await using var command = monitor.CreateCommand(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid " +
            "WHERE l.locktype = 'advisory' AND NOT l.granted AND a.application_name = @app");
        command.Parameters.AddWithValue("app", applicationName);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private sealed record Account(string UserId, decimal Balance, IReadOnlyList<object> Orders);

    /// <summary>Counts charges; the first one waits until the test releases it.</summary>
    private sealed class GatedPayments : IPaymentProvider
    {
        private int _charges;

        public TaskCompletionSource FirstChargeStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Charges => Volatile.Read(ref _charges);

        public async Task ChargeAsync(string userId, long amountCents, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _charges);
            FirstChargeStarted.TrySetResult();
            await Release.Task.WaitAsync(TestWait.Default, cancellationToken);
        }

        public Task VerifyWebhookAsync(string webhookId, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>One app instance: its own host and its own PostgreSQL pool (application name), shared data.</summary>
    private sealed class CheckoutInstance(string directory, string applicationName, IPaymentProvider payments) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            var keyedLock = new NpgsqlConnectionStringBuilder(TestDatabase.ConnectionString) { ApplicationName = applicationName };
            builder.UseSetting("ConnectionStrings:Checkout", $"Data Source={Path.Combine(directory, "checkout.db")}");
            builder.UseSetting("ConnectionStrings:KeyedLock", keyedLock.ConnectionString);
            builder.ConfigureTestServices(services =>
            {
                services.RemoveAll<IPaymentProvider>();
                services.AddSingleton(payments);
            });
        }
    }
}
