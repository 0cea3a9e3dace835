using System.Net;
using System.Net.Http.Json;
using CheckoutApi.Tests.Infrastructure;
using KeyedLock.Testing;

namespace KeyedLock.Redis.Tests;

/// <summary>Two CheckoutApi processes (real Kestrel) sharing one SQLite file and one Redis: duplicated checkouts charge once, and a resent checkout is replayed by the other process.</summary>
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

        // A checkout resent with the same Idempotency-Key on the other process gets the first one's 201, replayed
        // from the Redis idempotency store, and pays once.
        Assert.True((await clientA.PutAsJsonAsync($"/api/users/{user}/balance", new { balance = 60 }).Bounded()).IsSuccessStatusCode);
        var click = "click-" + Guid.NewGuid().ToString("N");
        using var paid = await clientA.SendAsync(Checkout(user, click)).Bounded(TimeSpan.FromSeconds(60));
        using var resent = await clientB.SendAsync(Checkout(user, click)).Bounded(TimeSpan.FromSeconds(60));
        Assert.Equal(HttpStatusCode.Created, paid.StatusCode);
        Assert.Equal(HttpStatusCode.Created, resent.StatusCode);
        Assert.Equal("true", resent.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(await paid.Content.ReadAsStringAsync().Bounded(), await resent.Content.ReadAsStringAsync().Bounded());
        Assert.Equal(paid.Headers.Location, resent.Headers.Location);
        account = await clientA.GetFromJsonAsync<Account>($"/api/users/{user}").Bounded();
        Assert.Equal(0m, account!.Balance);
        Assert.Equal(2, account.Orders.Count);

        // Both processes took their locks in the sample's namespace on this Redis, and left only the fence key.
        var left = await TestRedis.ScanAsync(Monitor, "checkoutapi");
        Assert.DoesNotContain(left, k => k.Contains(user, StringComparison.Ordinal));
        Assert.Contains("checkoutapi:fence", left);
    }

    private static HttpRequestMessage Checkout(string user, string idempotencyKey) => new(HttpMethod.Post, $"/api/users/{user}/checkout")
    {
        Headers = { { "Idempotency-Key", idempotencyKey } },
        Content = JsonContent.Create(new { amount = 60 }),
    };

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
