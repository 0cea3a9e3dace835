using System.Numerics;
using KeyedLock.Internal;

namespace KeyedLock.Tests;

/// <summary>
/// Keys come from request input, so an attacker can pick them. The registry hashes keys with a fast non-randomized
/// hash and switches a stripe to the randomized one as soon as one of its chains reaches
/// <see cref="LockStripe.CollisionThreshold"/>; these tests build keys that collide on the fast hash (which is easy:
/// any 4-character key can be matched) and check the switch, its exact trigger, and that nothing is lost across it.
/// </summary>
public sealed class HashFloodingTests
{
    /// <summary>Distinct 4-character keys that all have the fast hash <paramref name="target"/>.</summary>
    internal static string[] CollidingKeys(int count, uint target = 0x5EED1234)
    {
        const uint start = (5381 << 16) + 5381;
        var lane = BitOperations.RotateLeft(start, 5) + start; // both lanes after their first step, before the xor
        var keys = new string[count];
        for (var i = 0; i < count; i++)
        {
            var pair1 = 0x00410041u + (uint)i;                  // chars 3 and 4: 'A' + i, 'A'
            var hash2 = lane ^ pair1;
            var hash1 = target - (hash2 * 1566083941u);
            var pair0 = hash1 ^ lane;                           // chars 1 and 2 chosen to hit the target
            keys[i] = new string([(char)(pair0 & 0xFFFF), (char)(pair0 >> 16), (char)(pair1 & 0xFFFF), (char)(pair1 >> 16)]);
        }

        return keys;
    }

    /// <summary>The fast hash's lanes written the plain way (bounds-checked spans), to check the registry's unchecked reads.</summary>
    private static int Reference(string key)
    {
        var chars = key.AsSpan();
        uint hash1 = (5381 << 16) + 5381;
        var hash2 = hash1;
        var i = 0;
        for (; i + 3 < chars.Length; i += 4)
        {
            hash1 = (BitOperations.RotateLeft(hash1, 5) + hash1) ^ (chars[i] | ((uint)chars[i + 1] << 16));
            hash2 = (BitOperations.RotateLeft(hash2, 5) + hash2) ^ (chars[i + 2] | ((uint)chars[i + 3] << 16));
        }

        if (i + 1 < chars.Length)
        {
            hash1 = (BitOperations.RotateLeft(hash1, 5) + hash1) ^ (chars[i] | ((uint)chars[i + 1] << 16));
            i += 2;
        }

        if (i < chars.Length)
        {
            hash2 = (BitOperations.RotateLeft(hash2, 5) + hash2) ^ chars[i];
        }

        return KeyHash.Finish(hash1, hash2); // the lane reads are what this reference checks
    }

    [Fact]
    public void FastHash_ReadsEveryCodeUnit_AndNothingPastTheKey_AtEveryLength()
    {
        var text = "k\u00e9y-\ud83d\ude00-0123456789-abcdefghijklmnopqrstuvwxyz";
        for (var length = 1; length <= text.Length; length++)
        {
            var key = text[..length];
            Assert.Equal(Reference(key), KeyHash.Fast(key));

            // Every code unit counts, the last one too (a read past the end would not change with it).
            var changed = key[..^1] + (char)(key[^1] + 1);
            Assert.NotEqual(KeyHash.Fast(key), KeyHash.Fast(changed));
        }
    }

    [Fact]
    public void CollidingKeys_ReallyCollide_OnTheFastHash_AndNotOnTheRandomizedOne()
    {
        var keys = CollidingKeys(40);
        Assert.Equal(40, keys.Distinct(StringComparer.Ordinal).Count());
        Assert.Single(keys.Select(KeyHash.Fast).Distinct());
        Assert.True(keys.Select(KeyHash.Randomized).Distinct().Count() > 30);
    }

    [Fact]
    public async Task AChainOfTheThreshold_SwitchesTheStripe_OnTheNextNewKey_AndEveryKeyStaysHeld()
    {
        using var registry = new KeyedLockRegistry();
        var keys = CollidingKeys(LockStripe.CollisionThreshold + 24);
        var stripe = registry.StripeOf(keys[0]);
        Assert.All(keys, k => Assert.Same(stripe, registry.StripeOf(k)));

        var leases = new List<KeyedLockLease>();
        for (var i = 0; i < keys.Length; i++)
        {
            leases.Add(await registry.AcquireAsync(keys[i]).Bounded());

            // Adding key i walked a chain of i colliding entries: the switch happens exactly when that reaches the threshold.
            Assert.Equal(i >= LockStripe.CollisionThreshold, stripe.IsRandomized);
        }

        Assert.Equal(keys.Length, registry.Count);
        foreach (var key in keys)
        {
            // Each key is found again after the rehash: held (a probe fails) and queued on its own entry.
            Assert.False((await registry.TryAcquireAsync(key, TimeSpan.Zero).Bounded()).Succeeded);
        }

        var waiter = registry.AcquireAsync(keys[3]);
        Assert.False(waiter.IsCompleted);
        Assert.Equal(1, registry.QueueLength(keys[3]));
        Assert.Equal(0, registry.QueueLength(keys[4]));

        leases[3].Dispose();
        var second = await waiter.Bounded();
        Assert.True(second.IsHeld);
        second.Dispose();
        foreach (var lease in leases)
        {
            lease.Dispose();
        }

        Assert.Equal(0, registry.Count);
        Assert.Equal(0, stripe.Count);
        Assert.True(stripe.IsRandomized); // for good

        // The stripe still works after it has emptied: new grants, new removals.
        foreach (var key in keys)
        {
            (await registry.AcquireAsync(key).Bounded()).Dispose();
        }

        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task AShorterChain_DoesNotSwitch()
    {
        using var registry = new KeyedLockRegistry();
        var keys = CollidingKeys(LockStripe.CollisionThreshold);
        var leases = new List<KeyedLockLease>();
        foreach (var key in keys)
        {
            leases.Add(await registry.AcquireAsync(key).Bounded());
        }

        Assert.False(registry.StripeOf(keys[0]).IsRandomized);
        leases.ForEach(l => l.Dispose());
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task OrdinaryKeys_HeldAtOnce_NeverSwitchAStripe()
    {
        using var registry = new KeyedLockRegistry();
        var leases = new List<KeyedLockLease>();
        foreach (var prefix in new[] { "user-", "order:", "tenant-", "checkout:alice:" })
        {
            for (var i = 0; i < 5_000; i++)
            {
                leases.Add(await registry.AcquireAsync(prefix + i).Bounded());
            }
        }

        Assert.Equal(20_000, registry.Count);
        var stripes = leases.Select(l => registry.StripeOf(l.Key)).Distinct().ToList();
        Assert.All(stripes, s => Assert.False(s.IsRandomized));

        // Spread: no stripe holds more than twice its share.
        var busiest = leases.GroupBy(l => registry.StripeOf(l.Key)).Max(g => g.Count());
        Assert.True(busiest < 2 * 20_000 / stripes.Count, $"busiest stripe holds {busiest} of 20000 keys over {stripes.Count} stripes");
        leases.ForEach(l => l.Dispose());
        Assert.Equal(0, registry.Count);
    }
}
