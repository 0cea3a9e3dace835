using System.Diagnostics.Metrics;
using StackExchange.Redis;

namespace KeyedLock.Redis.Tests;

/// <summary>
/// Creates providers ("app instances"), each on its own multiplexer, all in one fresh key namespace so that tests
/// running in parallel never share a lock, and disposes everything afterwards.
/// </summary>
public abstract class RedisTestBase : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _disposables = [];
    private ConnectionMultiplexer? _monitor;

    protected string Namespace { get; } = $"test-{Guid.NewGuid():N}";

    /// <summary>A separate connection to observe (and tamper with) the server.</summary>
    protected IConnectionMultiplexer Monitor => _monitor ?? throw new InvalidOperationException("Not initialized.");

    protected IDatabase Db => Monitor.GetDatabase();

    /// <summary>One app instance: a provider on its own multiplexer.</summary>
    protected async Task<RedisKeyedLockProvider> CreateInstanceAsync(Action<RedisKeyedLockOptions>? configure = null, IMeterFactory? meterFactory = null)
    {
        var options = new RedisKeyedLockOptions { KeyNamespace = Namespace };
        configure?.Invoke(options);
        var connection = Track(await TestRedis.ConnectAsync());
        return Track(new RedisKeyedLockProvider(connection, options, meterFactory: meterFactory));
    }

    /// <summary>How many waiters of all instances wait in the Redis queue of <paramref name="key"/>.</summary>
    protected Task<long> QueueLengthAsync(string key) => Db.ListLengthAsync($"{Namespace}:k:{key}:q");

    /// <summary>How many holders <paramref name="key"/> has in Redis.</summary>
    protected async Task<long> HolderCountAsync(string key) => await Db.HashLengthAsync($"{Namespace}:k:{key}:h") / 2;

    /// <summary>The keys left under the namespace.</summary>
    protected Task<List<string>> ScanAsync() => TestRedis.ScanAsync(Monitor, Namespace);

    /// <summary>Asserts that the namespace holds nothing but its one long-lived key, the fencing counter.</summary>
    protected async Task AssertOnlyTheFenceKeyIsLeftAsync() => Assert.Equal([Namespace + ":fence"], await ScanAsync());

    protected T Track<T>(T disposable)
        where T : IAsyncDisposable
    {
        _disposables.Add(disposable);
        return disposable;
    }

    public async Task InitializeAsync()
    {
        if (TestRedis.IsConfigured || TestRedis.IsCi)
        {
            _monitor = await TestRedis.ConnectAsync(allowAdmin: true);
        }
    }

    public async Task DisposeAsync()
    {
        for (var i = _disposables.Count - 1; i >= 0; i--)
        {
            await _disposables[i].DisposeAsync();
        }

        if (_monitor is not null)
        {
            await _monitor.DisposeAsync();
        }
    }
}
