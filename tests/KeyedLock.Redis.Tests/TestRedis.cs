using StackExchange.Redis;

namespace KeyedLock.Redis.Tests;

/// <summary>The Redis the tests run against, and helpers to look into it.</summary>
internal static class TestRedis
{
    internal static string? RawConnection => Environment.GetEnvironmentVariable("KEYEDLOCK_REDIS_CONNECTION");

    internal static bool IsConfigured => !string.IsNullOrWhiteSpace(RawConnection);

    internal static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    internal static string Connection => IsConfigured
        ? RawConnection!
        : throw new InvalidOperationException("KEYEDLOCK_REDIS_CONNECTION is not set but CI=true: the Redis tests must run in CI. Run them through ./build.sh test.");

    /// <summary>A multiplexer configured the way the provider configures its own: fail fast, never abort on connect.</summary>
    internal static ConfigurationOptions Options(bool allowAdmin = false)
    {
        var options = ConfigurationOptions.Parse(Connection);
        options.AbortOnConnectFail = false;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.AllowAdmin = allowAdmin;
        options.ConnectTimeout = 2000;
        options.ReconnectRetryPolicy = new LinearRetry(100);
        return options;
    }

    /// <summary>
    /// A multiplexer whose subscription connection is up too. <c>ConnectAsync</c> can return while that second
    /// connection is still being established; with <c>BacklogPolicy.FailFast</c> a provider's first acquisition then
    /// fails closed (503) on its <c>SUBSCRIBE</c>, which is right for the product and a flaky start for a test.
    /// </summary>
    internal static async Task<ConnectionMultiplexer> ConnectAsync(bool allowAdmin = false)
    {
        var connection = await ConnectionMultiplexer.ConnectAsync(Options(allowAdmin));
        var subscriber = connection.GetSubscriber();
        await TestWait.UntilAsync(
            async () =>
            {
                try
                {
                    await subscriber.PingAsync();
                    return 1;
                }
                catch (RedisConnectionException)
                {
                    return 0;
                }
            },
            1,
            "the multiplexer's subscription connection is up",
            TimeSpan.FromSeconds(10));
        return connection;
    }

    /// <summary>Every key under <paramref name="keyNamespace"/> (SCAN, not KEYS).</summary>
    internal static async Task<List<string>> ScanAsync(IConnectionMultiplexer redis, string keyNamespace)
    {
        var server = redis.GetServers()[0];
        var keys = new List<string>();
        await foreach (var key in server.KeysAsync(pattern: keyNamespace + ":*", pageSize: 500))
        {
            keys.Add(key.ToString());
        }

        keys.Sort(StringComparer.Ordinal);
        return keys;
    }
}
