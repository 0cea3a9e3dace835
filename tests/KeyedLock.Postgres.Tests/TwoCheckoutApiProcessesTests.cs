using System.Net;
using System.Net.Http.Json;
using CheckoutApi.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace KeyedLock.Postgres.Tests;

/// <summary>
/// Two CheckoutApi processes on one PostgreSQL and one SQLite file. The instance holding a user's lock loses it in the
/// middle of its payment call (its backend is terminated), and the same user checks out on the other instance:
/// nobody is charged twice and the books agree.
/// </summary>
public sealed class TwoCheckoutApiProcessesTests(ITestOutputHelper output) : PostgresTestBase
{
    [PostgresFact]
    public async Task HolderLosesItsLockMidPayment_SameUserOnTheOtherInstance_ChargesAtMostOnce_AndTheBooksAgree()
    {
        var directory = Directory.CreateTempSubdirectory("keyedlock-two-processes-").FullName;
        var appA = TestDatabase.UniqueName("kl-proc-a");
        var appB = TestDatabase.UniqueName("kl-proc-b");
        await using var instanceA = await StartAsync(directory, appA);
        await using var instanceB = await StartAsync(directory, appB);
        using var clientA = instanceA.CreateClient();
        using var clientB = instanceB.CreateClient();
        clientA.Timeout = clientB.Timeout = TimeSpan.FromSeconds(60);
        var user = "user-" + Guid.NewGuid().ToString("N")[..8];
        Assert.True((await clientA.PutAsJsonAsync($"/api/users/{user}/balance", new { balance = 100 }).Bounded()).IsSuccessStatusCode);

        // A takes alice's lock and reserves the money; its payment call takes 8 s.
        var first = clientA.PostAsJsonAsync($"/api/users/{user}/checkout", new { amount = 60 });
        await TestWait.UntilAsync(async () => (long)(await BalanceAsync(clientB, user)), 40, "instance A reserved the amount and is in its payment call");
        var pid = await TestDatabase.HolderPidOfApplicationAsync(Monitor, appA);

        // The lock is lost mid-payment; the same user checks out on B at once.
        await LostLockDetectionTests.TerminateAsync(Monitor, pid);
        var second = clientB.PostAsJsonAsync($"/api/users/{user}/checkout", new { amount = 60 });
        var responses = await Task.WhenAll(first, second).Bounded(TimeSpan.FromSeconds(60));
        output.WriteLine($"A: {(int)responses[0].StatusCode}, B: {(int)responses[1].StatusCode}");

        // A stopped before charging (its lock was lost), so its answer is 503; B then went through or found the money
        // reserved, depending on whether A had given it back yet.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, responses[0].StatusCode);
        Assert.Contains(responses[1].StatusCode, new[] { HttpStatusCode.Created, HttpStatusCode.Conflict });
        var created = responses.Count(r => r.StatusCode == HttpStatusCode.Created);
        Assert.InRange(created, 0, 1);

        var charged = await ChargedAsync(clientA) + await ChargedAsync(clientB);
        Assert.Equal(created, charged);
        var account = await clientB.GetFromJsonAsync<Account>($"/api/users/{user}").Bounded();
        Assert.Equal(100m - (60m * created), account!.Balance);
        Assert.Equal(created, account.Orders.Count);

        await TestWait.UntilAsync(() => TestDatabase.CountLockingSessionsAsync(Monitor, appA), 0, "no advisory lock of A is left");
        await TestWait.UntilAsync(() => TestDatabase.CountLockingSessionsAsync(Monitor, appB), 0, "no advisory lock of B is left");
    }

    private static async Task<SampleProcess> StartAsync(string directory, string applicationName)
    {
        var keyedLock = new NpgsqlConnectionStringBuilder(TestDatabase.ConnectionString) { ApplicationName = applicationName };
        return await SampleProcess.StartAsync(
            directory,
            $"--ConnectionStrings:Checkout=Data Source={Path.Combine(directory, "checkout.db")}",
            $"--ConnectionStrings:KeyedLock={keyedLock.ConnectionString}",
            "--Checkout:PaymentDelay=00:00:08");
    }

    private static async Task<decimal> BalanceAsync(HttpClient client, string user) =>
        (await client.GetFromJsonAsync<Account>($"/api/users/{user}").Bounded())!.Balance;

    private static async Task<long> ChargedAsync(HttpClient client) =>
        (await client.GetFromJsonAsync<Stats>("/api/stats").Bounded())!.PaymentsCharged;

    private sealed record Account(string UserId, decimal Balance, IReadOnlyList<object> Orders);

    private sealed record Stats(long PaymentsCharged);
}
