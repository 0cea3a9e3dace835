using KeyedLock.Internal;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace KeyedLock.Caching.Internal;

/// <summary>
/// Checks at startup that the options are valid and that the two shared parts exist: without a distributed cache or
/// a lock provider the protection across instances would silently be lost.
/// </summary>
internal sealed class StampedeProtectionValidator(IServiceProvider services, IOptions<HybridCacheOptions> hybridCacheOptions) : IValidateOptions<KeyedLockStampedeProtectionOptions>
{
    public ValidateOptionsResult Validate(string? name, KeyedLockStampedeProtectionOptions options)
    {
        var failures = new List<string>();
        if (options.LockKeyPrefix is null)
        {
            failures.Add("KeyedLockStampedeProtectionOptions.LockKeyPrefix must not be null.");
        }

        try
        {
            Arguments.ValidateTimeout(options.LockTimeout, nameof(options.LockTimeout));
        }
        catch (ArgumentOutOfRangeException ex)
        {
            failures.Add(ex.Message);
        }

        if (services.GetService<IServiceProviderIsService>() is { } isService)
        {
            if (!isService.IsService(typeof(IKeyedLockProvider)))
            {
                failures.Add("KeyedLock stampede protection needs the app's IKeyedLockProvider: call AddKeyedLock() (or AddKeyedSerialization()) and register a distributed provider, for example UsePostgres(...).");
            }

            var cacheKey = hybridCacheOptions.Value.DistributedCacheServiceKey;
            var hasCache = cacheKey is null
                ? isService.IsService(typeof(IDistributedCache))
                : services.GetService<IServiceProviderIsKeyedService>()?.IsKeyedService(typeof(IDistributedCache), cacheKey) ?? true;
            if (!hasCache)
            {
                failures.Add("KeyedLock stampede protection needs an IDistributedCache shared by every app instance (HybridCache's second level): register one, for example AddStackExchangeRedisCache(...).");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
