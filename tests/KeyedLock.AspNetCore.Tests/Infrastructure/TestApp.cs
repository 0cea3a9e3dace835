using System.Net;
using KeyedLock.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace KeyedLock.AspNetCore.Tests.Infrastructure;

/// <summary>A real ASP.NET Core app on TestServer (or Kestrel on 127.0.0.1:0) with the observed registry as the lock provider.</summary>
public sealed class TestApp : IAsyncDisposable
{
    private TestApp(WebApplication app, HttpClient client)
    {
        App = app;
        Client = client;
        Probe = app.Services.GetRequiredService<Probe>();
        Locks = app.Services.GetRequiredService<ObservedLockProvider>();
    }

    public WebApplication App { get; }

    public HttpClient Client { get; }

    public Probe Probe { get; }

    public ObservedLockProvider Locks { get; }

    public KeyedLockRegistry Registry => Locks.Registry;

    public static async Task<TestApp> StartAsync(
        Action<WebApplication> map,
        Action<KeyedSerializationOptions>? configure = null,
        Action<IServiceCollection>? services = null,
        bool useMiddleware = true,
        bool controllers = false,
        bool kestrel = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        if (kestrel)
        {
            builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        }
        else
        {
            builder.WebHost.UseTestServer();
        }

        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<Probe>();
        builder.Services.AddKeyedSerialization(configure ?? (_ => { }));
        builder.Services.AddSingleton(sp => new ObservedLockProvider(sp.GetRequiredService<KeyedLockRegistry>()));
        builder.Services.Replace(ServiceDescriptor.Singleton<IKeyedLockProvider>(sp => sp.GetRequiredService<ObservedLockProvider>()));
        builder.Services.AddAuthentication(TestAuthHandler.Scheme).AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, TestAuthHandler>(TestAuthHandler.Scheme, null);
        builder.Services.AddAuthorization();
        if (controllers)
        {
            builder.Services.AddControllers().AddApplicationPart(typeof(TestApp).Assembly);
        }

        services?.Invoke(builder.Services);

        var app = builder.Build();
        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();
        if (useMiddleware)
        {
            app.UseIdempotency();
            app.UseKeyedSerialization();
        }

        map(app);
        await app.StartAsync().Bounded();

        HttpClient client;
        if (kestrel)
        {
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            client = new HttpClient { BaseAddress = new Uri(address) };
        }
        else
        {
            client = app.GetTestClient();
        }

        client.Timeout = TestWait.Default;
        return new TestApp(app, client);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync().Bounded();
        await App.DisposeAsync();
    }
}
