using KeyedLock.Testing;

namespace KeyedLock.Redis.Tests;

public sealed class RedisIdempotencyStoreTests : RedisTestBase
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);

    private RedisIdempotencyStore CreateStore() => new(Monitor, new RedisIdempotencyStoreOptions { KeyPrefix = Namespace + ":idem:" });

    [RedisFact]
    public async Task FirstWriterWins_AndEveryInstanceReadsTheValue()
    {
        var first = CreateStore();
        var second = CreateStore();

        Assert.True(await first.TryAddAsync("order-1", "first"u8.ToArray(), Now.AddHours(1), Now).Bounded());
        Assert.False(await second.TryAddAsync("order-1", "second"u8.ToArray(), Now.AddHours(1), Now).Bounded());

        Assert.Equal("first"u8.ToArray(), await second.GetAsync("order-1", Now.AddMinutes(59)).Bounded());
        Assert.Null(await first.GetAsync("order-2", Now).Bounded());
    }

    [RedisFact]
    public async Task ExpiredRecord_IsAbsent_AndMayBeReplaced()
    {
        var store = CreateStore();
        Assert.True(await store.TryAddAsync("k", "old"u8.ToArray(), Now.AddMinutes(1), Now).Bounded());

        // The caller's clock says it expired (Redis still has the key: its TTL is relative and runs on the server).
        var later = Now.AddMinutes(1);
        Assert.Null(await store.GetAsync("k", later).Bounded());
        Assert.True(await store.TryAddAsync("k", "new"u8.ToArray(), later.AddMinutes(1), later).Bounded());
        Assert.Equal("new"u8.ToArray(), await store.GetAsync("k", later).Bounded());
    }

    [RedisFact]
    public async Task RecordsCarryAServerTtl_AndAnAlreadyExpiredRecordIsNotStored()
    {
        var store = CreateStore();

        Assert.False(await store.TryAddAsync("gone", "x"u8.ToArray(), Now, Now).Bounded());
        Assert.True(await store.TryAddAsync("k", ReadOnlyMemory<byte>.Empty, Now.AddSeconds(30), Now).Bounded());

        var ttl = await Db.KeyTimeToLiveAsync(Namespace + ":idem:k");
        Assert.InRange(ttl!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));
        Assert.Empty((await store.GetAsync("k", Now).Bounded())!);
        Assert.False(await Db.KeyExistsAsync(Namespace + ":idem:gone"));
    }

    [RedisFact]
    public async Task KeysThatDifferOnlyInLoneSurrogates_AreDifferentRecords()
    {
        // Plain UTF-8 turns a lone surrogate into U+FFFD: one request's response would be replayed for another key.
        var store = CreateStore();

        Assert.True(await store.TryAddAsync("order-\uD800", "first"u8.ToArray(), Now.AddHours(1), Now).Bounded());
        Assert.True(await store.TryAddAsync("order-\uDC00", "second"u8.ToArray(), Now.AddHours(1), Now).Bounded());

        Assert.Null(await store.GetAsync("order-\uFFFD", Now).Bounded());
        Assert.Equal("first"u8.ToArray(), await store.GetAsync("order-\uD800", Now).Bounded());
        Assert.Equal("second"u8.ToArray(), await store.GetAsync("order-\uDC00", Now).Bounded());
    }
}
