using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>
/// A completed response kept for idempotent replay, and its compact binary form (what an
/// <see cref="KeyedLock.Idempotency.IIdempotencyStore"/> keeps): no reflection, a version byte first so that a later
/// format never misreads an older one.
/// </summary>
/// <remarks>
/// Version 1: <c>0x01</c>, the 32-byte request fingerprint, the status code (2 bytes, little endian), the header count
/// (varint), each header as name and value (varint byte length, UTF-8), then the body (the rest).
/// </remarks>
internal sealed class StoredResponse(byte[] fingerprint, int statusCode, IReadOnlyList<KeyValuePair<string, string>> headers, ReadOnlyMemory<byte> body)
{
    internal const byte Version = 1;

    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The SHA-256 fingerprint of the original request (<see cref="RequestFingerprint"/>).</summary>
    internal byte[] Fingerprint { get; } = fingerprint;

    internal int StatusCode { get; } = statusCode;

    /// <summary>The response headers kept for replay, in order; a name may repeat.</summary>
    internal IReadOnlyList<KeyValuePair<string, string>> Headers { get; } = headers;

    internal ReadOnlyMemory<byte> Body { get; } = body;

    internal byte[] Encode()
    {
        var writer = new ArrayBufferWriter<byte>(64 + Body.Length);
        var head = writer.GetSpan(1 + SHA256.HashSizeInBytes + 2);
        head[0] = Version;
        Fingerprint.CopyTo(head[1..]);
        BinaryPrimitives.WriteUInt16LittleEndian(head[(1 + SHA256.HashSizeInBytes)..], (ushort)StatusCode);
        writer.Advance(1 + SHA256.HashSizeInBytes + 2);
        WriteVarint(writer, (uint)Headers.Count);
        foreach (var (name, value) in Headers)
        {
            WriteString(writer, name);
            WriteString(writer, value);
        }

        writer.Write(Body.Span);
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>Reads a stored value; null when it is not a version this code understands, or is damaged.</summary>
    internal static StoredResponse? TryDecode(byte[] value)
    {
        ReadOnlySpan<byte> span = value;
        if (span.Length < 1 + SHA256.HashSizeInBytes + 2 + 1 || span[0] != Version)
        {
            return null;
        }

        var fingerprint = span.Slice(1, SHA256.HashSizeInBytes).ToArray();
        int status = BinaryPrimitives.ReadUInt16LittleEndian(span[(1 + SHA256.HashSizeInBytes)..]);
        var offset = 1 + SHA256.HashSizeInBytes + 2;
        if (status is < 100 or > 999 || !TryReadVarint(span, ref offset, out var count) || count > (uint)(span.Length - offset))
        {
            return null;
        }

        var headers = new KeyValuePair<string, string>[count];
        for (var i = 0; i < headers.Length; i++)
        {
            if (!TryReadString(span, ref offset, out var name) || !TryReadString(span, ref offset, out var headerValue))
            {
                return null;
            }

            headers[i] = new(name, headerValue);
        }

        return new StoredResponse(fingerprint, status, headers, value.AsMemory(offset));
    }

    private static void WriteString(ArrayBufferWriter<byte> writer, string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        WriteVarint(writer, (uint)length);
        var written = Encoding.UTF8.GetBytes(value, writer.GetSpan(length));
        writer.Advance(written);
    }

    private static void WriteVarint(ArrayBufferWriter<byte> writer, uint value)
    {
        var span = writer.GetSpan(5);
        var i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[i++] = (byte)value;
        writer.Advance(i);
    }

    private static bool TryReadVarint(ReadOnlySpan<byte> span, ref int offset, out uint value)
    {
        value = 0;
        for (var shift = 0; shift < 35; shift += 7)
        {
            if (offset >= span.Length)
            {
                return false;
            }

            var b = span[offset++];
            value |= (uint)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }

        return false;
    }

    private static bool TryReadString(ReadOnlySpan<byte> span, ref int offset, out string value)
    {
        value = string.Empty;
        if (!TryReadVarint(span, ref offset, out var length) || length > (uint)(span.Length - offset))
        {
            return false;
        }

        try
        {
            value = s_strictUtf8.GetString(span.Slice(offset, (int)length));
        }
        catch (DecoderFallbackException)
        {
            return false;
        }

        offset += (int)length;
        return true;
    }
}
