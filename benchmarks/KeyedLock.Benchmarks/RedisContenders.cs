using KeyedLock;
using KeyedLock.Redis;
using Medallion.Threading.Redis;
using RedLockNet.SERedis;
using RedLockNet.SERedis.Configuration;
using StackExchange.Redis;

namespace KeyedLock.Benchmarks;

/// <summary>
/// The Redis locks side by side on one server (KEYEDLOCK_REDIS_CONNECTION): KeyedLock.Redis (two app instances,
/// each on its own multiplexer), DistributedLock.Redis 1.1.1 and RedLock.net 2.3.2 (one server), each with the
/// options a user would pick: defaults, a 30 s lease, waits without a timeout.
/// </summary>
internal sealed class RedisContenders : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _owned = [];
    private ConnectionMultiplexer _distributedLockConnection = null!;
    private ConnectionMultiplexer _redLockConnection = null!;
    private RedLockFactory _redLock = null!;

    internal string Namespace { get; } = "bench-" + Guid.NewGuid().ToString("N")[..8];

    internal ConnectionMultiplexer Admin { get; private set; } = null!;

    /// <summary>Two app instances of KeyedLock.Redis (two multiplexers, two channels).</summary>
    internal RedisKeyedLockProvider KeyedA { get; private set; } = null!;

    internal RedisKeyedLockProvider KeyedB { get; private set; } = null!;

    internal static string Connection => Environment.GetEnvironmentVariable("KEYEDLOCK_REDIS_CONNECTION")
        ?? throw new InvalidOperationException("Set KEYEDLOCK_REDIS_CONNECTION (e.g. 127.0.0.1:6379) to run the Redis benchmarks.");

    internal static async Task<RedisContenders> CreateAsync()
    {
        var contenders = new RedisContenders();
        await contenders.InitializeAsync();
        return contenders;
    }

    internal Task KeyedAsync(RedisKeyedLockProvider instance, string key) => AcquireRelease(instance, key);

    internal async Task DistributedLockAsync(string key)
    {
        var handle = await new RedisDistributedLock(Namespace + ":dl:" + key, _distributedLockConnection.GetDatabase()).AcquireAsync();
        await handle.DisposeAsync();
    }

    internal async Task RedLockAsync(string key)
    {
        // Wait up to a minute, retrying every 10 ms (RedLock.net polls; a shorter retry is its best hand-off latency).
        await using var redLock = await _redLock.CreateLockAsync(Namespace + ":rl:" + key, TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(1), TimeSpan.FromMilliseconds(10));
        if (!redLock.IsAcquired)
        {
            throw new InvalidOperationException("RedLock.net did not acquire within a minute.");
        }
    }

    /// <summary>Holds <paramref name="key"/> with DistributedLock.Redis until the returned handle is disposed.</summary>
    internal async Task<IAsyncDisposable> DistributedLockHoldAsync(string key)
        => await new RedisDistributedLock(Namespace + ":dl:" + key, _distributedLockConnection.GetDatabase()).AcquireAsync();

    internal async Task<IAsyncDisposable> RedLockHoldAsync(string key)
        => await _redLock.CreateLockAsync(Namespace + ":rl:" + key, TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(1), TimeSpan.FromMilliseconds(10));

    /// <summary>Redis commands the server executed since the last reset (INFO commandstats), without the admin's own.</summary>
    internal async Task<long> CommandsSinceResetAsync()
    {
        var server = Admin.GetServers()[0];
        var info = await server.InfoAsync("commandstats");
        long calls = 0;
        foreach (var entry in info.SelectMany(g => g))
        {
            if (entry.Key.StartsWith("cmdstat_", StringComparison.Ordinal) && entry.Key is not ("cmdstat_info" or "cmdstat_config"))
            {
                var start = entry.Value.IndexOf("calls=", StringComparison.Ordinal) + 6;
                calls += long.Parse(entry.Value.AsSpan(start, entry.Value.IndexOf(',', start) - start), System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return calls;
    }

    /// <summary>Commands each contender's multiplexer sent so far (client side: one per request, however much a script does).</summary>
    internal long SentByKeyedLock => Sent(KeyedA.Connection) + Sent(KeyedB.Connection);

    internal long SentByDistributedLock => Sent(_distributedLockConnection);

    internal long SentByRedLock => Sent(_redLockConnection);

    internal Task ResetStatsAsync() => Admin.GetServers()[0].ConfigResetStatisticsAsync();

    public async ValueTask DisposeAsync()
    {
        _redLock.Dispose();
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }
    }

    private static async Task AcquireRelease(IKeyedLockProvider provider, string key)
    {
        var lease = await provider.AcquireAsync(key);
        await lease.DisposeAsync();
    }

    private static long Sent(IConnectionMultiplexer connection)
        => connection.GetServers().Sum(s => s.GetCounters().Interactive.OperationCount);

    /// <summary>The multiplexer options every Redis benchmark uses: fail fast, never abort on connect.</summary>
    internal static ConfigurationOptions Options(bool admin = false)
    {
        var options = ConfigurationOptions.Parse(Connection);
        options.AbortOnConnectFail = false;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.AllowAdmin = admin;
        return options;
    }

    private async Task InitializeAsync()
    {
        Admin = Own(await ConnectionMultiplexer.ConnectAsync(Options(admin: true)));
        var options = new RedisKeyedLockOptions { KeyNamespace = Namespace };
        KeyedA = Own(new RedisKeyedLockProvider(Own(await ConnectionMultiplexer.ConnectAsync(Options())), options));
        KeyedB = Own(new RedisKeyedLockProvider(Own(await ConnectionMultiplexer.ConnectAsync(Options())), options));
        _distributedLockConnection = Own(await ConnectionMultiplexer.ConnectAsync(Options()));
        _redLockConnection = Own(await ConnectionMultiplexer.ConnectAsync(Options()));
        _redLock = RedLockFactory.Create([new RedLockMultiplexer(_redLockConnection)]);
    }

    private T Own<T>(T disposable)
        where T : IAsyncDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }
}
