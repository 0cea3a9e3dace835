using System.Text;

namespace KeyedLock.Internal;

/// <summary>
/// The bytes a distributed provider names a key with: its UTF-8, except that a lone surrogate (which UTF-8 cannot
/// encode, and which plain encoding turns into U+FFFD, so that <c>"a\uD800"</c>, <c>"a\uDC00"</c> and
/// <c>"a\uFFFD"</c> would be one lock) is written as the three bytes of its code point (<c>ED A0 80</c> to
/// <c>ED BF BF</c>, as WTF-8 does). Valid UTF-8 never contains those bytes, so a string of valid UTF-16 keeps its
/// plain UTF-8 (the names and hashes of existing keys do not change), and two different strings never give the same
/// bytes.
/// </summary>
internal static class LosslessUtf8
{
    /// <summary>The most bytes <see cref="GetBytes(ReadOnlySpan{char}, Span{byte})"/> writes for <paramref name="chars"/> UTF-16 chars.</summary>
    internal static int GetMaxByteCount(int chars) => Encoding.UTF8.GetMaxByteCount(chars);

    /// <summary>Whether <paramref name="text"/> has a surrogate (then its plain UTF-8 may be lossy).</summary>
    internal static bool HasSurrogates(ReadOnlySpan<char> text) => text.IndexOfAnyInRange('\uD800', '\uDFFF') >= 0;

    /// <summary>Whether <paramref name="text"/> has a surrogate that is not half of a pair (it is not valid UTF-16, and plain UTF-8 loses it).</summary>
    internal static bool HasLoneSurrogate(ReadOnlySpan<char> text)
    {
        for (var i = text.IndexOfAnyInRange('\uD800', '\uDFFF'); i >= 0 && i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Writes <paramref name="text"/> into <paramref name="bytes"/> (at least <see cref="GetMaxByteCount"/> long); returns the count.</summary>
    internal static int GetBytes(ReadOnlySpan<char> text, Span<byte> bytes)
    {
        if (!HasSurrogates(text))
        {
            return Encoding.UTF8.GetBytes(text, bytes);
        }

        var written = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                written += new Rune(c, text[++i]).EncodeToUtf8(bytes[written..]);
            }
            else if (char.IsSurrogate(c))
            {
                bytes[written++] = (byte)(0xE0 | (c >> 12));
                bytes[written++] = (byte)(0x80 | ((c >> 6) & 0x3F));
                bytes[written++] = (byte)(0x80 | (c & 0x3F));
            }
            else
            {
                written += new Rune(c).EncodeToUtf8(bytes[written..]);
            }
        }

        return written;
    }

    /// <summary>The bytes of <paramref name="text"/>, as a new array.</summary>
    internal static byte[] GetBytes(string text)
    {
        var buffer = new byte[GetMaxByteCount(text.Length)];
        return buffer.AsSpan(0, GetBytes(text, buffer)).ToArray();
    }
}
