using KeyedLock.Internal;
using static KeyedLock.Tests.Acquired;

namespace KeyedLock.Tests;

/// <summary>
/// The per-stripe hash table: it grows at load factor 1, shrinks below 1/8 (so a burst gives its memory back), and
/// keeps at most 1 + 32 entries for reuse. Observed through the stripe of chosen keys, deterministically.
/// </summary>
public sealed class StripeTableTests
{
    private static string[] KeysInOneStripe(KeyedLockRegistry registry, int count)
    {
        var stripe = registry.StripeOf("anchor");
        return Enumerable.Range(0, 1_000_000)
            .Select(i => "stripe-key-" + i)
            .Where(k => ReferenceEquals(registry.StripeOf(k), stripe))
            .Take(count)
            .ToArray();
    }

    [Fact]
    public void Pool_KeepsAtMost33Entries_AndCountsEveryReuse()
    {
        using var registry = new KeyedLockRegistry();
        var keys = KeysInOneStripe(registry, 40);
        var stripe = registry.StripeOf(keys[0]);
        var leases = keys.Select(k => Granted(registry.AcquireAsync(k))).ToList();
        leases.ForEach(l => l.Dispose());
        Assert.Equal(33, stripe.PooledEntries); // 40 entries existed; the spare and 32 on the free list stay

        // Three keys at once take the spare and two from the free list, and give them back.
        var three = keys.Take(3).Select(k => Granted(registry.AcquireAsync(k))).ToList();
        Assert.Equal(30, stripe.PooledEntries);
        three.ForEach(l => l.Dispose());
        Assert.Equal(33, stripe.PooledEntries);
    }

    [Fact]
    public void TheHashSwitch_RehashesEveryEntry_EvenWhenTheTableDoesNotGrow()
    {
        using var registry = new KeyedLockRegistry();
        var colliding = HashFloodingTests.CollidingKeys(LockStripe.CollisionThreshold + 1);
        var stripe = registry.StripeOf(colliding[0]);
        var others = Enumerable.Range(0, 1_000_000).Select(i => "other-" + i)
            .Where(k => ReferenceEquals(registry.StripeOf(k), stripe)).Take(40).ToArray();

        // 40 ordinary keys first: the table has 64 buckets, so adding 17 more (57 < 64) does not grow it.
        var leases = others.Select(k => Granted(registry.AcquireAsync(k))).ToList();
        Assert.Equal(64, stripe.BucketCount);
        leases.AddRange(colliding.Select(k => Granted(registry.AcquireAsync(k))));
        Assert.True(stripe.IsRandomized);
        Assert.Equal(64, stripe.BucketCount);

        // Every key, old or colliding, is still found in its new bucket: held, so a probe fails and nothing is added.
        foreach (var key in others.Concat(colliding))
        {
            Assert.False(registry.TryAcquireAsync(key, TimeSpan.Zero).Result.Succeeded);
        }

        Assert.Equal(57, stripe.Count);
        leases.ForEach(l => l.Dispose());
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task Table_GrowsAtLoadFactorOne_AndShrinksBelowAnEighth_AndPoolsAtMost33Entries()
    {
        using var registry = new KeyedLockRegistry();
        var keys = KeysInOneStripe(registry, 33);
        var stripe = registry.StripeOf(keys[0]);
        Assert.Equal(8, stripe.BucketCount);
        Assert.Equal(0, stripe.PooledEntries);

        var leases = new List<KeyedLockLease>();
        for (var i = 0; i < keys.Length; i++)
        {
            leases.Add(await registry.AcquireAsync(keys[i]).Bounded());
            var expected = i + 1 <= 8 ? 8 : i + 1 <= 16 ? 16 : i + 1 <= 32 ? 32 : 64;
            Assert.Equal(expected, stripe.BucketCount);
            Assert.Equal(i + 1, stripe.Count);
        }

        // Release down to 8 active keys: still 64 buckets (8 is not below 64 / 8); the 8th release from there shrinks.
        while (stripe.Count > 8)
        {
            leases[^1].Dispose();
            leases.RemoveAt(leases.Count - 1);
        }

        Assert.Equal(64, stripe.BucketCount);
        leases[^1].Dispose();
        leases.RemoveAt(leases.Count - 1);
        Assert.Equal(32, stripe.BucketCount);

        foreach (var lease in leases)
        {
            lease.Dispose();
        }

        Assert.Equal(8, stripe.BucketCount);
        Assert.Equal(0, stripe.Count);
        Assert.Equal(33, stripe.PooledEntries); // the spare plus a free list of 32; the rest were dropped
        Assert.Equal(0, registry.Count);

        // Every key still works after the table shrank (entries are found in their new buckets).
        foreach (var key in keys)
        {
            (await registry.AcquireAsync(key).Bounded()).Dispose();
        }

        Assert.Equal(33, stripe.PooledEntries);
    }

    [Fact]
    public async Task OneKeyAtATime_ReusesTheSpareEntry_WithoutGrowingThePool()
    {
        using var registry = new KeyedLockRegistry();
        var keys = KeysInOneStripe(registry, 3);
        var stripe = registry.StripeOf(keys[0]);
        foreach (var key in keys)
        {
            (await registry.AcquireAsync(key).Bounded()).Dispose();
            Assert.Equal(1, stripe.PooledEntries);
        }

        var a = await registry.AcquireAsync(keys[0]).Bounded();
        var b = await registry.AcquireAsync(keys[1]).Bounded();
        Assert.Equal(0, stripe.PooledEntries); // the spare went to the first, a new entry to the second
        a.Dispose();
        Assert.Equal(1, stripe.PooledEntries);
        b.Dispose();
        Assert.Equal(2, stripe.PooledEntries); // spare taken: the second goes to the free list
        Assert.Equal(8, stripe.BucketCount);
    }

    [Fact]
    public async Task KeysCollidingInOneBucket_AreAllFoundAndRemoved()
    {
        using var registry = new KeyedLockRegistry();
        var stripe = registry.StripeOf("anchor");
        var colliding = Enumerable.Range(0, 1_000_000)
            .Select(i => "bucket-key-" + i)
            .Where(k => ReferenceEquals(registry.StripeOf(k), stripe) && (KeyHash.Fast(k) & 7) == 3)
            .Take(5)
            .ToArray();
        var leases = new List<KeyedLockLease>();
        foreach (var key in colliding)
        {
            leases.Add(await registry.AcquireAsync(key).Bounded());
        }

        // Each is held (a second attempt fails) and each is found by its own key in the shared chain.
        foreach (var key in colliding)
        {
            Assert.False((await registry.TryAcquireAsync(key, TimeSpan.Zero).Bounded()).Succeeded);
        }

        // Remove from the middle, the head and the tail of the chain.
        foreach (var i in new[] { 2, 4, 0, 3, 1 })
        {
            leases[i].Dispose();
            Assert.True((await registry.TryAcquireAsync(colliding[i], TimeSpan.Zero).Bounded()) is { Succeeded: true } again && Release(again));
        }

        Assert.Equal(0, registry.Count);

        static bool Release(KeyedLockAttempt attempt)
        {
            attempt.Dispose();
            return true;
        }
    }
}
