using System.Net;
using System.Text;
using System.Text.Json;
using KeyedLock.Testing;

namespace KeyedLock.AspNetCore.Tests.Infrastructure;

/// <summary>Request helpers: every request carries its probe id in <c>X-Req</c>.</summary>
public static class Requests
{
    public static HttpRequestMessage Post(string url, string id, string? json = null, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url);
        request.Headers.Add("X-Req", id);
        foreach (var (name, value) in headers)
        {
            request.Headers.Add(name, value);
        }

        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        return request;
    }

    public static Task<HttpResponseMessage> SendAsync(this TestApp app, HttpRequestMessage request, CancellationToken cancellationToken = default) =>
        app.Client.SendAsync(request, cancellationToken);

    /// <summary>
    /// Proves an endpoint serializes by a key: a holds the key, b (same key) queues behind it, c (another key) runs
    /// alongside a; b enters only after a leaves.
    /// </summary>
    public static async Task AssertSerializedAsync(this TestApp app, Func<string, string, HttpRequestMessage> request, string sameValue, string otherValue)
    {
        var a = app.SendAsync(request("a", sameValue));
        await app.Probe.ExpectEnteredAsync("a");
        var b = app.SendAsync(request("b", sameValue));
        await app.Locks.NextQueuedAsync();
        var c = app.SendAsync(request("c", otherValue));
        await app.Probe.ExpectEnteredAsync("c");
        Assert.Equal(2, app.Probe.Inside);
        Assert.False(b.IsCompleted);

        app.Probe.Release("a");
        await app.Probe.ExpectEnteredAsync("b");
        app.Probe.Release("b");
        app.Probe.Release("c");
        foreach (var response in await Task.WhenAll(a, b, c).Bounded())
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(["a", "c", "b"], app.Probe.EnteredOrder);
        await TestWait.UntilAsync(() => app.Registry.Count == 0, "every key is released");
    }

    public static async Task<JsonElement> ReadProblemAsync(this HttpResponseMessage response, HttpStatusCode expected)
    {
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal((int)expected, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
        return problem;
    }
}
