using System.Text;
using KeyedLock.Testing;

namespace KeyedLock.AspNetCore.Tests.Idempotency;

public sealed class MemoryIdempotencyStoreTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static byte[] Value(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public async Task TryAdd_FirstWriterWins_WhileLive()
    {
        using var store = new MemoryIdempotencyStore(1024 * 1024);

        Assert.True(await store.TryAddAsync("k", Value("first"), Now.AddHours(1), Now).Bounded());
        Assert.False(await store.TryAddAsync("k", Value("second"), Now.AddHours(1), Now).Bounded());

        Assert.Equal(Value("first"), await store.GetAsync("k", Now).Bounded());
    }

    [Fact]
    public async Task ExpiredRecord_IsAbsent_AndReplaceable()
    {
        using var store = new MemoryIdempotencyStore(1024 * 1024);
        await store.TryAddAsync("k", Value("old"), Now.AddMinutes(1), Now).Bounded();

        Assert.NotNull(await store.GetAsync("k", Now.AddSeconds(59)).Bounded());
        Assert.Null(await store.GetAsync("k", Now.AddMinutes(1)).Bounded());
        Assert.Equal(0, store.Count);
        Assert.True(await store.TryAddAsync("k", Value("new"), Now.AddMinutes(61), Now.AddMinutes(1)).Bounded());
    }

    [Fact]
    public async Task RecordLargerThanTheSizeLimit_IsDeclined()
    {
        using var store = new MemoryIdempotencyStore(1000);

        Assert.False(await store.TryAddAsync("big", Value(new string('x', 2000)), Now.AddHours(1), Now).Bounded());
        Assert.Null(await store.GetAsync("big", Now).Bounded());
        Assert.True(await store.TryAddAsync("small", Value("x"), Now.AddHours(1), Now).Bounded());
    }

    [Fact]
    public async Task AlreadyExpiredRecord_IsNotStored()
    {
        using var store = new MemoryIdempotencyStore(1000);

        Assert.False(await store.TryAddAsync("k", Value("x"), Now.AddHours(1), Now.AddHours(1)).Bounded());
        Assert.Equal(0, store.Count);
    }
}
