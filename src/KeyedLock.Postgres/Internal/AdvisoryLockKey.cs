using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using KeyedLock.Internal;

namespace KeyedLock.Postgres.Internal;

/// <summary>
/// Maps a string key to the <c>bigint</c> of a PostgreSQL advisory lock: the first 8 bytes (big-endian) of
/// SHA-256 over the length-prefixed UTF-8 namespace followed by the UTF-8 key (a lone surrogate written as the
/// three bytes of its code point, see <see cref="LosslessUtf8"/>, so keys that differ only there stay different).
/// Stable across processes, machines and .NET versions (never <see cref="string.GetHashCode()"/>).
/// </summary>
internal sealed class AdvisoryLockKey
{
    private const int StackLimit = 512;
    private readonly byte[] _prefix;

    internal AdvisoryLockKey(string keyNamespace)
    {
        var ns = LosslessUtf8.GetBytes(keyNamespace);
        _prefix = new byte[4 + ns.Length];
        BinaryPrimitives.WriteInt32BigEndian(_prefix, ns.Length);
        ns.CopyTo(_prefix, 4);
    }

    internal long Compute(string key)
    {
        var length = _prefix.Length + LosslessUtf8.GetMaxByteCount(key.Length);
        byte[]? rented = null;
        var buffer = length <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            _prefix.CopyTo(buffer);
            var written = _prefix.Length + LosslessUtf8.GetBytes(key, buffer[_prefix.Length..]);
            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(buffer[..written], hash);
            return BinaryPrimitives.ReadInt64BigEndian(hash);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
