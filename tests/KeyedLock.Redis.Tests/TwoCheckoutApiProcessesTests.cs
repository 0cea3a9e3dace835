using System.Net;
using System.Net.Http.Json;
using CheckoutApi.Tests.Infrastructure;
using KeyedLock.Testing;

namespace KeyedLock.Redis.Tests;

/// <summary>Two CheckoutApi processes (real Kestrel) sharing one SQLite file and one Redis: duplicated checkouts charge once.</summary>
public sealed class TwoCheckoutApiProcessesTests : RedisTestBase, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("keyedlock-redis-two-processes-").FullName;

    [RedisFact]
    public async Task TenDuplicateCheckouts_SpreadOverTwoProcesses_ChargeExactlyOnce()
    {
        string[] arguments =
        [
            "--ConnectionStrings:Checkout", $"Data Source={Path.Combine(_directory, "checkout.db")}",
            "--ConnectionStrings:Redis", TestRedis.Connection,
            "--Checkout:PaymentDelay", "00:00:00.200",
        ];
        await using var first = await SampleProcess.StartAsync(SampleProcess.ProjectDirectory, arguments);
        await using var second = await SampleProcess.StartAsync(SampleProcess.ProjectDirectory, arguments);
        using var clientA = first.CreateClient();
        using var clientB = second.CreateClient();
        var user = "user-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(HttpStatusCode.OK, (await clientA.GetAsync("/health/keyedlock").Bounded()).StatusCode);
        Assert.True((await clientA.PutAsJsonAsync($"/api/users/{user}/balance", new { balance = 60 }).Bounded()).IsSuccessStatusCode);

        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(i =>
            (i % 2 == 0 ? clientA : clientB).PostAsJsonAsync($"/api/users/{user}/checkout", new { amount = 60 }))).Bounded(TimeSpan.FromSeconds(60));

        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
        Assert.Equal(9, responses.Count(r => r.StatusCode == HttpStatusCode.Conflict));
        var account = await clientB.GetFromJsonAsync<Account>($"/api/users/{user}").Bounded();
        Assert.Equal(0m, account!.Balance);
        Assert.Single(account.Orders);

        // Both processes took their locks in the sample's namespace on this Redis, and left only the fence key.
        var left = await TestRedis.ScanAsync(Monitor, "checkoutapi");
        Assert.DoesNotContain(left, k => k.Contains(user, StringComparison.Ordinal));
        Assert.Contains("checkoutapi:fence", left);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A process may still hold the database file for a moment; the temp folder is cleaned up later.
        }
    }

    private sealed record Account(string UserId, decimal Balance, IReadOnlyList<object> Orders);
}
