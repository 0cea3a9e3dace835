using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace KeyedLock.Internal;

/// <summary>
/// The registry's key hashes. Like <c>Dictionary&lt;string, T&gt;</c> with the default comparer, a stripe starts
/// with a fast non-randomized hash and switches for good to the runtime's randomized (Marvin, per-process seed)
/// string hash as soon as one of its hash chains gets long (<see cref="LockStripe.CollisionThreshold"/>), which only
/// keys built to collide make happen. So the common case pays about 2 ns per key instead of about 10, and keys from
/// request input still cannot flood a bucket: after the switch their placement depends on a seed they cannot know.
/// </summary>
/// <remarks>
/// The stripe is always picked from the fast hash (entries never move between stripes). Keys built to collide all
/// land in one stripe, so they share its gate: each operation stays O(1) after the switch, but those keys no longer
/// spread over the stripes. That costs the attacker's own keys parallelism, not the registry's complexity.
/// </remarks>
internal static class KeyHash
{
    /// <summary>
    /// The runtime's non-randomized string hash (two interleaved lanes over pairs of UTF-16 code units), written over a
    /// span so it reads nothing past the string, then avalanched.
    /// </summary>
    internal static int Fast(string key)
    {
        // Reads the UTF-16 code units two at a time (a uint) without bounds checks: every read is below key.Length.
        ref var pairs = ref Unsafe.As<char, uint>(ref MemoryMarshal.GetReference(key.AsSpan()));
        var left = key.Length;
        uint hash1 = (5381 << 16) + 5381;
        var hash2 = hash1;
        nint pair = 0;
        for (; left > 3; left -= 4, pair += 2)
        {
            hash1 = (BitOperations.RotateLeft(hash1, 5) + hash1) ^ Unsafe.Add(ref pairs, pair);
            hash2 = (BitOperations.RotateLeft(hash2, 5) + hash2) ^ Unsafe.Add(ref pairs, pair + 1);
        }

        if (left > 1)
        {
            hash1 = (BitOperations.RotateLeft(hash1, 5) + hash1) ^ Unsafe.Add(ref pairs, pair);
            left -= 2;
            pair++;
        }

        if (left > 0)
        {
            hash2 = (BitOperations.RotateLeft(hash2, 5) + hash2) ^ Unsafe.As<uint, char>(ref Unsafe.Add(ref pairs, pair));
        }

        return Finish(hash1, hash2);
    }

    /// <summary>
    /// Joins the two lanes as the runtime does, then avalanches: the runtime finishes this hash with a modulo by a
    /// prime bucket count, while the registry masks with a power of two and picks stripes by the top bits, so every
    /// bit must depend on every input bit (MurmurHash3's finalizer).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Finish(uint hash1, uint hash2)
    {
        var hash = hash1 + (hash2 * 1566083941);
        hash ^= hash >> 16;
        hash *= 0x85EBCA6B;
        hash ^= hash >> 13;
        hash *= 0xC2B2AE35;
        hash ^= hash >> 16;
        return (int)hash;
    }

    /// <summary>The randomized hash a stripe uses after its switch.</summary>
    internal static int Randomized(string key) => key.GetHashCode();

    /// <summary>The stripe index of a fast hash: its top bits (a stripe's table uses the low bits).</summary>
    internal static int StripeIndex(int fastHash, int stripeShift) => (int)((uint)fastHash >> stripeShift);
}
