using System.Net;
using KeyedLock.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KeyedLock.AspNetCore.Tests;

/// <summary>
/// <c>AddKeyedSerialization(builder.Configuration.GetSection("KeyedSerialization"))</c> on a real TestServer app:
/// defaults, policies, key sources, idempotency and lock options come from configuration and are checked at startup.
/// </summary>
public sealed class ConfigurationBindingTests
{
    private static readonly Dictionary<string, string?> s_full = new()
    {
        ["KeyedSerialization:DefaultTimeout"] = "00:00:07",
        ["KeyedSerialization:DefaultQueueLimit"] = "12",
        ["KeyedSerialization:MaxBodyBytes"] = "2048",
        ["KeyedSerialization:RejectionStatusCode"] = "503",
        ["KeyedSerialization:UnavailableStatusCode"] = "502",
        ["KeyedSerialization:RetryAfter"] = "",
        ["KeyedSerialization:MissingKeyBehavior"] = "skipkey",
        ["KeyedSerialization:Policies:checkout:Timeout"] = "00:00:02",
        ["KeyedSerialization:Policies:checkout:QueueLimit"] = "0",
        ["KeyedSerialization:Policies:checkout:RejectionStatusCode"] = "409",
        ["KeyedSerialization:Policies:checkout:MissingKeyBehavior"] = "Reject",
        ["KeyedSerialization:Policies:checkout:Scope"] = "account",
        ["KeyedSerialization:KeySources:tenant"] = "header:X-Tenant",
        ["KeyedSerialization:Idempotency:Window"] = "01:00:00",
        ["KeyedSerialization:Idempotency:KeyRequired"] = "false",
        ["KeyedSerialization:Idempotency:MaxKeyLength"] = "64",
        ["KeyedSerialization:Idempotency:Policies:payments:Wait"] = "false",
        ["KeyedSerialization:Idempotency:Policies:payments:KeyTemplate"] = "header:Payment-Id",
        ["KeyedSerialization:Lock:MaxQueueLengthPerKey"] = "100",
        ["KeyedSerialization:Lock:DetectReentrancy"] = "false",
    };

    [Fact]
    public async Task Section_BindsDefaultsPoliciesKeySourcesIdempotencyAndLockOptions()
    {
        await using var app = await StartAsync(s_full);

        var options = app.Services.GetRequiredService<IOptions<KeyedSerializationOptions>>().Value;
        Assert.Equal(TimeSpan.FromSeconds(7), options.DefaultTimeout);
        Assert.Equal(12, options.DefaultQueueLimit);
        Assert.Equal(2048, options.MaxBodyBytes);
        Assert.Equal(503, options.RejectionStatusCode);
        Assert.Equal(502, options.UnavailableStatusCode);
        Assert.Null(options.RetryAfter);
        Assert.Equal(KeyedSerializationMissingKeyBehavior.SkipKey, options.MissingKeyBehavior);
        var checkout = options.Policies["checkout"];
        Assert.Equal(TimeSpan.FromSeconds(2), checkout.Timeout);
        Assert.Equal(0, checkout.QueueLimit);
        Assert.Equal(409, checkout.RejectionStatusCode);
        Assert.Equal(KeyedSerializationMissingKeyBehavior.Reject, checkout.MissingKeyBehavior);
        Assert.Equal("account", checkout.Scope);
        Assert.True(options.KeySources.ContainsKey("tenant"));

        var idempotency = app.Services.GetRequiredService<IOptions<IdempotencyOptions>>().Value;
        Assert.Equal(TimeSpan.FromHours(1), idempotency.Window);
        Assert.False(idempotency.KeyRequired);
        Assert.Equal(64, idempotency.MaxKeyLength);
        Assert.False(idempotency.Policies["payments"].Wait);
        Assert.Equal("header:Payment-Id", idempotency.Policies["payments"].KeyTemplate);

        var locks = app.Services.GetRequiredService<IOptions<KeyedLockOptions>>().Value;
        Assert.Equal(100, locks.MaxQueueLengthPerKey);
        Assert.False(locks.DetectReentrancy);
    }

    [Fact]
    public async Task MissingSection_KeepsEveryDefault()
    {
        await using var app = await StartAsync(new Dictionary<string, string?>());

        var options = app.Services.GetRequiredService<IOptions<KeyedSerializationOptions>>().Value;
        var defaults = new KeyedSerializationOptions();
        Assert.Equal(defaults.DefaultTimeout, options.DefaultTimeout);
        Assert.Equal(defaults.RetryAfter, options.RetryAfter);
        Assert.Equal(defaults.MissingKeyBehavior, options.MissingKeyBehavior);
        Assert.Empty(options.Policies);
        Assert.True(app.Services.GetRequiredService<IOptions<IdempotencyOptions>>().Value.KeyRequired);
    }

    [Fact]
    public async Task ConfiguredPolicy_AppliesToTheEndpointThatNamesIt()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await StartAsync(s_full, map: app => app.MapPost("/accounts/{id}/pay", async () =>
        {
            entered.TrySetResult();
            await release.Task;
            return Results.Ok();
        }).SerializeBy("route:id", a => a.Policy = "checkout"));
        using var client = app.GetTestClient();

        var first = client.PostAsync("/accounts/7/pay", null);
        await entered.Task.Bounded();
        // The configured policy allows no queue and rejects with 409: the second request is refused at once.
        using var second = await client.PostAsync("/accounts/7/pay", null).Bounded();
        release.SetResult();
        using var firstResponse = await first.Bounded();

        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Equal(HttpStatusCode.OK, firstResponse.StatusCode);
    }

    [Fact]
    public async Task ConfiguredKeySource_ReadsItsHeader_AndRejectsAmbiguousOrMissingValues()
    {
        var settings = new Dictionary<string, string?> { ["KeyedSerialization:KeySources:tenant"] = "header:X-Tenant" };
        await using var app = await StartAsync(settings, map: app => app.MapPost("/reports", (HttpContext context) =>
            Results.Text(string.Join(",", context.Features.Get<IKeyedSerializationFeature>()!.Keys))).SerializeBy("tenant"));
        using var client = app.GetTestClient();

        using var one = await SendAsync(client, "acme");
        using var none = await SendAsync(client);
        using var two = await SendAsync(client, "acme", "globex");

        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
        Assert.Contains("acme", await one.Content.ReadAsStringAsync().Bounded(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, none.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, two.StatusCode);
    }

    [Theory]
    [InlineData("KeyedSerialization:Policies:checkout:Timout", "00:00:01", "KeyedSerialization:Policies:checkout:Timout")]
    [InlineData("KeyedSerialization:DefaultTimeot", "00:00:01", "KeyedSerialization:DefaultTimeot")]
    [InlineData("KeyedSerialization:DefaultTimeout", "soon", "KeyedSerialization:DefaultTimeout is 'soon'")]
    [InlineData("KeyedSerialization:MissingKeyBehavior", "7", "KeyedSerialization:MissingKeyBehavior is '7'")]
    [InlineData("KeyedSerialization:Policies:checkout:QueueLimit", "many", "KeyedSerialization:Policies:checkout:QueueLimit")]
    [InlineData("KeyedSerialization:KeySources:tenant", "cookie:t", "KeyedSerialization:KeySources:tenant")]
    [InlineData("KeyedSerialization:KeySources:route", "header:X", "KeyedSerialization:KeySources:route")]
    [InlineData("KeyedSerialization:Idempotency:Window", "a day", "KeyedSerialization:Idempotency:Window")]
    [InlineData("KeyedSerialization:Idempotency:KeyRequierd", "false", "KeyedSerialization:Idempotency:KeyRequierd")]
    [InlineData("KeyedSerialization:Lock:MaxConcurrencyPerKey", "two", "KeyedSerialization:Lock:MaxConcurrencyPerKey")]
    public async Task BadSetting_FailsAtStartup_NamingItsPath(string key, string value, string expected)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(new Dictionary<string, string?> { [key] = value }));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("KeyedSerialization:DefaultTimeout", "-00:00:05")]
    [InlineData("KeyedSerialization:Policies:checkout:QueueLimit", "-1")]
    [InlineData("KeyedSerialization:Idempotency:Window", "00:00:00")]
    [InlineData("KeyedSerialization:Lock:MaxConcurrencyPerKey", "0")]
    public async Task ConfiguredValueOutOfRange_FailsValidationAtStartup(string key, string value)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(new Dictionary<string, string?> { [key] = value }));

        Assert.NotEmpty(error.Failures);
    }

    [Fact]
    public async Task CodeConfiguration_RunsAfterTheSection()
    {
        var settings = new Dictionary<string, string?> { ["KeyedSerialization:DefaultTimeout"] = "00:00:07" };
        await using var app = await StartAsync(settings, configure: o => o.DefaultTimeout = TimeSpan.FromSeconds(3));

        Assert.Equal(TimeSpan.FromSeconds(3), app.Services.GetRequiredService<IOptions<KeyedSerializationOptions>>().Value.DefaultTimeout);
    }

    private static Task<HttpResponseMessage> SendAsync(HttpClient client, params string[] tenants)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/reports");
        foreach (var tenant in tenants)
        {
            request.Headers.TryAddWithoutValidation("X-Tenant", tenant);
        }

        return client.SendAsync(request).Bounded();
    }

    private static async Task<WebApplication> StartAsync(
        Dictionary<string, string?> settings,
        Action<WebApplication>? map = null,
        Action<KeyedSerializationOptions>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(settings);
        var section = builder.Configuration.GetSection("KeyedSerialization");
        if (configure is null)
        {
            builder.Services.AddKeyedSerialization(section);
        }
        else
        {
            builder.Services.AddKeyedSerialization(section, configure);
        }

        var app = builder.Build();
        app.UseRouting();
        app.UseKeyedSerialization();
        map?.Invoke(app);
        try
        {
            await app.StartAsync().Bounded();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return app;
    }
}
