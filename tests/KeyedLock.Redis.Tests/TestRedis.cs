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

    internal static Task<ConnectionMultiplexer> ConnectAsync(bool allowAdmin = false) => ConnectionMultiplexer.ConnectAsync(Options(allowAdmin));

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
