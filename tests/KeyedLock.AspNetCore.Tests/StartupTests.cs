using KeyedLock.AspNetCore.Tests.Infrastructure;
using KeyedLock.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace KeyedLock.AspNetCore.Tests;

public sealed class StartupTests
{
    [Fact]
    public async Task UseKeyedSerialization_WithoutAddKeyedSerialization_FailsWhenThePipelineIsBuilt()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        await using var app = builder.Build();

        var error = Assert.Throws<InvalidOperationException>(() => app.UseKeyedSerialization());
        Assert.Contains("AddKeyedSerialization", error.Message);
    }

    [Fact]
    public async Task AddKeyedSerialization_RegistersTheRegistryAsDefaultProvider()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddKeyedSerialization();
        await using var app = builder.Build();

        Assert.Same(app.Services.GetRequiredService<KeyedLockRegistry>(), app.Services.GetRequiredService<IKeyedLockProvider>());
    }

    [Theory]
    [InlineData("timeout")]
    [InlineData("body")]
    [InlineData("status")]
    [InlineData("policy")]
    public async Task InvalidOptions_FailAtStartup(string which)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddKeyedSerialization(o =>
        {
            switch (which)
            {
                case "timeout": o.DefaultTimeout = TimeSpan.FromSeconds(-5); break;
                case "body": o.MaxBodyBytes = 0; break;
                case "status": o.RejectionStatusCode = 200; break;
                default: o.AddPolicy("p", p => p.QueueLimit = -1); break;
            }
        });
        await using var app = builder.Build();

        await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync().Bounded());
    }

    [Theory]
    [InlineData("")]
    [InlineData("route:")]
    [InlineData("nope:x")]
    [InlineData("route:a++route:b")]
    [InlineData("body:id")]
    [InlineData("body:/a~2")]
    [InlineData("bad name")]
    public void MalformedTemplate_IsRejectedWhenDeclared(string template)
    {
        Assert.ThrowsAny<ArgumentException>(() => new SerializeByAttribute(template));
    }

    [Fact]
    public void AddKeySource_RejectsBuiltInAndDuplicateNames()
    {
        var options = new KeyedSerializationOptions().AddKeySource("tenant", _ => "t");
        Assert.Throws<ArgumentException>(() => options.AddKeySource("tenant", _ => "t"));
        Assert.Throws<ArgumentException>(() => options.AddKeySource("route", _ => "t"));
        Assert.Throws<ArgumentException>(() => options.AddPolicy("p", _ => { }).AddPolicy("p", _ => { }));
    }

    [Theory]
    [InlineData("policy")]
    [InlineData("source")]
    [InlineData("idempotency-policy")]
    public async Task UnknownPolicyOrKeySource_FailsAtStartup_NamingTheEndpointAndTheName(string which)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddKeyedSerialization();
        await using var app = builder.Build();
        app.UseIdempotency();
        app.UseKeyedSerialization();
        var endpoint = app.MapPost("/op/{id}", () => Results.Ok()).WithDisplayName("the-op");
        _ = which switch
        {
            "policy" => endpoint.SerializeBy("route:id", k => k.Policy = "missing"),
            "source" => endpoint.SerializeBy("missing+route:id"),
            _ => endpoint.Idempotent(k => k.Policy = "missing"),
        };

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => app.StartAsync().Bounded());
        Assert.Contains("'missing'", error.Message);
        Assert.Contains("'the-op'", error.Message);
    }

    [Theory]
    [InlineData("serialize", "UseKeyedSerialization")]
    [InlineData("idempotent", "UseIdempotency")]
    public async Task AttributeOnAMinimalApiHandler_WithoutItsMiddleware_FailsAtStartup(string which, string expected)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddKeyedSerialization();
        await using var app = builder.Build();
        if (which == "serialize")
        {
            app.UseIdempotency();
            app.MapPost("/op/{id}", [SerializeBy("route:id")] () => Results.Ok()).WithDisplayName("the-op");
        }
        else
        {
            app.UseKeyedSerialization();
            app.MapPost("/op/{id}", [Idempotent] () => Results.Ok()).WithDisplayName("the-op");
        }

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => app.StartAsync().Bounded());
        Assert.Contains("'the-op'", error.Message);
        Assert.Contains(expected, error.Message);
    }
}
