using KeyedLock.Internal;

namespace KeyedLock.Tests;

public sealed class PerKeyConcurrencyTests
{
    [Fact]
    public async Task ConcurrencyN_GrantsNHoldersAtOnce_ThenFifoForTheRest()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = 3 });
        var holders = new List<KeyedLockLease>();
        for (var i = 0; i < 3; i++)
        {
            Assert.True(await registry.IsFreeForOthersAsync("k"), $"holder {i} of 3 must be granted at once");
            holders.Add(await registry.HoldAsync("k"));
        }

        Assert.False(await registry.IsFreeForOthersAsync("k"), "a fourth holder must wait");

        var waiters = Enumerable.Range(0, 4).Select(_ => registry.AcquireAsync("k")).ToArray();
        Assert.All(waiters, w => Assert.False(w.IsCompleted));
        Assert.Equal(1, registry.Count);

        // Releasing any holder (not only the oldest) grants exactly the oldest waiter.
        holders[1].Dispose();
        Assert.True(waiters[0].IsCompletedSuccessfully);
        Assert.False(waiters[1].IsCompleted);
        holders[2].Dispose();
        Assert.True(waiters[1].IsCompletedSuccessfully);
        Assert.False(waiters[2].IsCompleted);
        holders[0].Dispose();
        Assert.True(waiters[2].IsCompletedSuccessfully);
        Assert.False(waiters[3].IsCompleted);

        var w0 = await waiters[0].Bounded();
        var w1 = await waiters[1].Bounded();
        var w2 = await waiters[2].Bounded();
        w0.Dispose();
        Assert.True(waiters[3].IsCompletedSuccessfully);
        w1.Dispose();
        w2.Dispose();
        Assert.Equal(1, registry.Count);
        (await waiters[3].Bounded()).Dispose();
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task ConcurrencyN_ReleasingOneHolderTwice_FreesOnlyOneSlot()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = 2 });
        var a = await registry.HoldAsync("k");
        var b = await registry.HoldAsync("k");
        var w1 = registry.AcquireAsync("k");
        var w2 = registry.AcquireAsync("k");

        a.Dispose();
        a.Dispose();
        await a.DisposeAsync();
        Assert.True(w1.IsCompletedSuccessfully);
        Assert.False(w2.IsCompleted, "a double release must not free a second slot");
        Assert.True(b.IsHeld);

        b.Dispose();
        (await w1.Bounded()).Dispose();
        (await w2.Bounded()).Dispose();
        Assert.Equal(0, registry.Count);
    }

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(1_000_000)]
    [InlineData(7)]
    [InlineData(LockEntry.MaxIdleHolderSlots)]
    public async Task ConcurrencyN_HolderSlotsGrowWithTheHolders_NotWithTheLimit(int limit)
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = limit });
        var count = Math.Min(limit, 300);
        var holders = new List<KeyedLockLease>();
        for (var i = 0; i < count; i++)
        {
            var acquiring = registry.AcquireAsync("k");
            Assert.True(acquiring.IsCompletedSuccessfully, $"holder {i + 1} is below the limit {limit}: granted at once");
            holders.Add(await acquiring.Bounded());
        }

        var entry = (LockEntry)holders[0].Owner!;
        var slots = entry.HolderSlots;
        Assert.InRange(slots, count, Math.Max(LockEntry.InitialHolderSlots, count * 2));
        Assert.All(holders, h => Assert.True(h.IsHeld));

        // Released out of order, the freed slots are found again, and the others stay held.
        for (var i = 0; i < count; i += 2)
        {
            holders[i].Dispose();
            Assert.False(holders[i].IsHeld);
        }

        Assert.All(holders.Where((_, i) => i % 2 == 1), h => Assert.True(h.IsHeld));
        for (var i = 0; i < count; i += 2)
        {
            var again = registry.AcquireAsync("k");
            Assert.True(again.IsCompletedSuccessfully);
            holders[i] = await again.Bounded();
        }

        Assert.Equal(slots, entry.HolderSlots);
        var next = registry.AcquireAsync("k");
        Assert.Equal(limit > count, next.IsCompletedSuccessfully); // at the limit, the next one waits
        foreach (var holder in holders)
        {
            holder.Dispose();
        }

        (await next.Bounded()).Dispose();
        Assert.Equal(0, registry.Count);

        // An emptied entry does not keep a burst's slots for the next key that reuses it (up to 64 it keeps them).
        Assert.Equal(slots > LockEntry.MaxIdleHolderSlots ? LockEntry.InitialHolderSlots : slots, entry.HolderSlots);
    }

    [Fact]
    public async Task ConcurrencyN_UnderLoad_NeverExceedsNHoldersPerKey()
    {
        const int n = 3;
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = n });
        var detector = new OverlapDetector(n);
        var tasks = Enumerable.Range(0, 16).Select(t => Task.Run(async () =>
        {
            for (var i = 0; i < 500; i++)
            {
                var key = "k" + ((t + i) % 2);
                using var lease = await registry.AcquireAsync(key).Bounded();
                detector.Enter(key);
                await Task.Yield();
                detector.Exit(key);
            }
        }));
        await Task.WhenAll(tasks).Bounded();
        detector.AssertNoViolations();
        Assert.InRange(detector.MaxSeen, 1, n);
        Assert.Equal(0, registry.Count);
    }
}
