using CheckoutApi.Users;

namespace CheckoutApi.Tests.Infrastructure;

/// <summary>The sample's HTTP contract, as any client sees it.</summary>
public static class CheckoutClient
{
    public static async Task SetBalanceAsync(this HttpClient client, string userId, decimal balance)
    {
        using var response = await client.PutAsJsonAsync($"/api/users/{userId}/balance", new { balance }).Bounded();
        response.EnsureSuccessStatusCode();
    }

    public static async Task<UserAccount> GetAccountAsync(this HttpClient client, string userId)
    {
        var account = await client.GetFromJsonAsync<UserAccount>($"/api/users/{userId}").Bounded();
        return account ?? throw new InvalidOperationException("Empty body.");
    }

    public static Task<HttpResponseMessage> CheckoutAsync(this HttpClient client, string userId, decimal amount, bool safe = true) =>
        client.PostAsJsonAsync(safe ? $"/api/users/{userId}/checkout" : $"/api/unsafe/users/{userId}/checkout", new { amount });

    public static Task<HttpResponseMessage> DeliverWebhookAsync(this HttpClient client, string webhookId, string userId, decimal amount)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/webhooks/payments")
        {
            Content = JsonContent.Create(new { userId, amount }),
        };
        request.Headers.Add("Webhook-Id", webhookId);
        return client.SendAsync(request);
    }
}
