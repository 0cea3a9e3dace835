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

    [Fact]
    public async Task UnknownPolicy_FailsTheRequestLoudly_InsteadOfRunningUnserialized()
    {
        await using var app = await TestApp.StartAsync(a => a.MapPost("/op/{id}", () => Results.Ok()).SerializeBy("route:id", k => k.Policy = "missing"));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => app.SendAsync(Requests.Post("/op/1", "a")).Bounded());
        Assert.Contains("'missing'", error.Message);
        Assert.Equal(0, app.Locks.AcquireCalls);
    }
}
