using KeyedLock.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace KeyedLock.AspNetCore.Tests.Idempotency;

public sealed class IdempotencyStartupTests
{
    [Theory]
    [InlineData("window")]
    [InlineData("timeout")]
    [InlineData("template")]
    [InlineData("policy-template")]
    [InlineData("max-key")]
    [InlineData("response-size")]
    public async Task InvalidOptions_FailAtStartup(string which)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => TestApp.StartAsync(
            a => a.MapPost("/pay/{id}", () => "ok").Idempotent(),
            services: s => s.AddKeyedSerialization().AddIdempotency(o =>
            {
                switch (which)
                {
                    case "window": o.Window = TimeSpan.Zero; break;
                    case "timeout": o.WaitTimeout = TimeSpan.FromSeconds(-2); break;
                    case "template": o.KeyTemplate = "nope:x"; break;
                    case "policy-template": o.AddPolicy("p", p => p.KeyTemplate = "header:"); break;
                    case "max-key": o.MaxKeyLength = 0; break;
                    default: o.MaxResponseBodyBytes = -1; break;
                }
            })));

        Assert.Contains(nameof(IdempotencyOptions), error.OptionsType.Name);
    }

    [Fact]
    public void MalformedTemplate_IsRejectedWhenDeclared()
    {
        Assert.Throws<ArgumentException>(() => new IdempotentAttribute("header:"));
    }

    [Fact]
    public void AddPolicy_RejectsDuplicateNames()
    {
        var options = new IdempotencyOptions().AddPolicy("p", _ => { });

        Assert.Throws<ArgumentException>(() => options.AddPolicy("p", _ => { }));
    }
}
