using CheckoutApi.Checkout;
using CheckoutApi.Data;
using CheckoutApi.Products;
using CheckoutApi.Stats;
using CheckoutApi.Users;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CheckoutApi;

/// <summary>Registers the sample's own services: data, checkout, products, stats.</summary>
internal static class CheckoutServiceCollectionExtensions
{
    public static IServiceCollection AddCheckoutSample(this IServiceCollection services)
    {
        services.AddOptions<CheckoutOptions>()
            .BindConfiguration(CheckoutOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        // Read when first resolved (after the host is built), so configuration from tests and the command line applies.
        services.AddSingleton(static sp => new CheckoutDatabase(
            sp.GetRequiredService<IConfiguration>().GetConnectionString("Checkout") ?? CheckoutDatabase.DefaultConnectionString,
            sp.GetRequiredService<IHostEnvironment>().ContentRootPath));

        services.TryAddSingleton(TimeProvider.System);
        services.AddMemoryCache();
        services.AddSingleton<SampleStats>();
        services.AddSingleton<UserStore>();
        services.AddProductCatalog();
        services.TryAddSingleton<IProductSource, SqliteProductSource>();
        services.AddSingleton<CheckoutService>();
        services.TryAddSingleton<IPaymentProvider, SimulatedPaymentProvider>();
        return services;
    }
}
