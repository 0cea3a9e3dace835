using System.Diagnostics.Metrics;
using CheckoutApi.Checkout;
using CheckoutApi.Products;
using CheckoutApi.Stats;
using CheckoutApi.Users;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CheckoutApi.Tests.Infrastructure;

/// <summary>
/// The sample in-process, on its own temporary SQLite file, with the payment provider and the product source
/// replaced by gated ones (<see cref="GatedPaymentProvider"/>, <see cref="GatedProductSource"/>) so tests decide
/// where requests stop.
/// </summary>
public sealed class CheckoutApiFactory : WebApplicationFactory<Program>
{
    private readonly string _directory = Directory.CreateTempSubdirectory("checkoutapi-tests-").FullName;
    private readonly Dictionary<string, string?> _settings = new(StringComparer.Ordinal);
    private QueuedWaitersProbe? _probe;

    public CheckoutApiFactory(IReadOnlyDictionary<string, string?>? settings = null)
    {
        _settings["ConnectionStrings:Checkout"] = $"Data Source={DatabasePath}";
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }
    }

    public string DatabasePath => Path.Combine(_directory, "checkout.db");

    public GatedPaymentProvider Payments { get; } = new();

    public GatedProductSource Products { get; } = new();

    /// <summary>Observes requests queued on keyed locks in this app (created with the server).</summary>
    public QueuedWaitersProbe Probe => _probe ??= new QueuedWaitersProbe(Services.GetRequiredService<IMeterFactory>());

    public SampleStats Stats => Services.GetRequiredService<SampleStats>();

    /// <summary>Starts the app on real Kestrel on a free loopback port and returns its address.</summary>
    public Uri StartKestrel()
    {
        UseKestrel(0);
        StartServer();
        var addresses = Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
        return new Uri(addresses.First());
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureTestServices(services =>
        {
            services.RemoveAll<IPaymentProvider>();
            services.AddSingleton<IPaymentProvider>(Payments);
            services.RemoveAll<IProductSource>();
            services.AddSingleton<IProductSource>(Products);
        });
    }

    public override async ValueTask DisposeAsync()
    {
        // A failed test may leave requests held at a gate; let them finish so the server stops promptly.
        Payments.Charges.Open();
        Payments.Verifications.Open();
        Products.Loads.Open();
        _probe?.Dispose();
        await base.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: the temp folder is not worth failing a test over.
        }
    }
}
