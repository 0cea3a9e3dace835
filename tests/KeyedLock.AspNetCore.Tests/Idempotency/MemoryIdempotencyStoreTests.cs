using System.Text;
using KeyedLock.Idempotency;
using KeyedLock.Testing;

namespace KeyedLock.AspNetCore.Tests.Idempotency;

public sealed class MemoryIdempotencyStoreTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static IdempotencyRecord Record(string body, TimeSpan? lifetime = null, DateTimeOffset? at = null) =>
        new("fp", 200, [new("Content-Type", "text/plain")], Encoding.UTF8.GetBytes(body), at ?? Now, (at ?? Now) + (lifetime ?? TimeSpan.FromHours(1)));

    [Fact]
    public async Task TryAdd_FirstWriterWins_WhileLive()
    {
        using var store = new MemoryIdempotencyStore(1024 * 1024);

        Assert.True(await store.TryAddAsync("k", Record("first"), Now).Bounded());
        Assert.False(await store.TryAddAsync("k", Record("second"), Now).Bounded());

        Assert.Equal("first", Encoding.UTF8.GetString((await store.GetAsync("k", Now).Bounded())!.Body.Span));
    }

    [Fact]
    public async Task ExpiredRecord_IsAbsent_AndReplaceable()
    {
        using var store = new MemoryIdempotencyStore(1024 * 1024);
        await store.TryAddAsync("k", Record("old", TimeSpan.FromMinutes(1)), Now).Bounded();

        Assert.NotNull(await store.GetAsync("k", Now.AddSeconds(59)).Bounded());
        Assert.Null(await store.GetAsync("k", Now.AddMinutes(1)).Bounded());
        Assert.Equal(0, store.Count);
        Assert.True(await store.TryAddAsync("k", Record("new", at: Now.AddMinutes(1)), Now.AddMinutes(1)).Bounded());
    }

    [Fact]
    public async Task RecordLargerThanTheSizeLimit_IsDeclined()
    {
        using var store = new MemoryIdempotencyStore(1000);

        Assert.False(await store.TryAddAsync("big", Record(new string('x', 2000)), Now).Bounded());
        Assert.Null(await store.GetAsync("big", Now).Bounded());
        Assert.True(await store.TryAddAsync("small", Record("x"), Now).Bounded());
    }

    [Fact]
    public async Task AlreadyExpiredRecord_IsNotStored()
    {
        using var store = new MemoryIdempotencyStore(1000);

        Assert.False(await store.TryAddAsync("k", Record("x"), Now.AddHours(1)).Bounded());
        Assert.Equal(0, store.Count);
    }
}
