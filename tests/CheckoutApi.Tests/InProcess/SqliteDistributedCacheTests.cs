using CheckoutApi.Data;
using CheckoutApi.Products;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Caching.Distributed;

namespace CheckoutApi.Tests.InProcess;

/// <summary>The sample's shared second-level cache on a real SQLite file, with a manual clock.</summary>
public sealed class SqliteDistributedCacheTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("checkoutapi-cache-").FullName;
    private readonly ManualTimeProvider _time = new();

    [Fact]
    public async Task TwoCachesOnOneFile_SeeEachOthersEntries_UntilTheyExpire()
    {
        var first = CreateCache();
        var second = CreateCache();

        await first.SetAsync("k", [1, 2, 3], new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromMinutes(1) }).Bounded();

        Assert.Equal([1, 2, 3], await second.GetAsync("k").Bounded());
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Null(await second.GetAsync("k").Bounded());
        Assert.Null(await first.GetAsync("k").Bounded());
    }

    [Fact]
    public async Task SlidingExpiration_IsExtendedByReads_UpToTheAbsoluteExpiration()
    {
        var cache = CreateCache();
        await cache.SetAsync("k", [7], new DistributedCacheEntryOptions
        {
            SlidingExpiration = TimeSpan.FromSeconds(10),
            AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(25),
        }).Bounded();

        _time.Advance(TimeSpan.FromSeconds(8));
        Assert.NotNull(await cache.GetAsync("k").Bounded());
        _time.Advance(TimeSpan.FromSeconds(8));
        Assert.NotNull(await cache.GetAsync("k").Bounded()); // 16 s after the write: kept alive by the read at 8 s
        _time.Advance(TimeSpan.FromSeconds(9));
        Assert.Null(await cache.GetAsync("k").Bounded()); // 25 s: the absolute expiration wins
    }

    [Fact]
    public async Task SetReplaces_AndRemoveDeletes()
    {
        var cache = CreateCache();
        await cache.SetAsync("k", [1], new DistributedCacheEntryOptions()).Bounded();
        await cache.SetAsync("k", [2], new DistributedCacheEntryOptions()).Bounded();
        Assert.Equal([2], cache.Get("k"));

        await cache.RemoveAsync("k").Bounded();
        Assert.Null(await cache.GetAsync("k").Bounded());
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp folder is not worth failing a test over.
        }
    }

    private SqliteDistributedCache CreateCache() =>
        new(new CheckoutDatabase($"Data Source={Path.Combine(_directory, "checkout.db")}", _directory), _time);
}
