using System.Text;
using KeyedLock.Internal;

namespace KeyedLock.Tests;

/// <summary>The key bytes the distributed providers name locks with: plain UTF-8, except that a lone surrogate keeps its code point.</summary>
public sealed class LosslessUtf8Tests
{
    [Fact]
    public void TextWithoutLoneSurrogates_IsItsPlainUtf8()
    {
        foreach (var text in new[] { string.Empty, "user:42", "é€", "\U0001F600", "a\uFFFD", "\uDBFF\uDFFF\uD800\uDC00", new string('x', 600) })
        {
            Assert.Equal(Encoding.UTF8.GetBytes(text), LosslessUtf8.GetBytes(text));
            Assert.Equal(text.Any(char.IsSurrogate), LosslessUtf8.HasSurrogates(text));
        }
    }

    [Fact]
    public void ALoneSurrogate_IsTheThreeBytesOfItsCodePoint_AndTheRestStaysUtf8()
    {
        Assert.Equal(new byte[] { 0x61, 0xED, 0xA0, 0x80 }, LosslessUtf8.GetBytes("a\uD800"));
        Assert.Equal(new byte[] { 0xED, 0xBF, 0xBF, 0x62 }, LosslessUtf8.GetBytes("\uDFFFb"));
        Assert.Equal(new byte[] { 0xED, 0xAF, 0xBF, 0xED, 0xAF, 0xBF }, LosslessUtf8.GetBytes("\uDBFF\uDBFF")); // two highs: no pair
        Assert.Equal(new byte[] { 0xED, 0xB0, 0x80, 0xED, 0xA0, 0x80 }, LosslessUtf8.GetBytes("\uDC00\uD800")); // low then high: no pair
        Assert.Equal(
            [0xC3, 0xA9, 0xED, 0xA0, 0x80, 0xF0, 0x9F, 0x98, 0x80, 0xEF, 0xBF, 0xBD],
            LosslessUtf8.GetBytes("é\uD800\U0001F600\uFFFD")); // a lone surrogate among a pair and plain chars
        Assert.True(LosslessUtf8.HasSurrogates("a\uD800"));
        Assert.True(LosslessUtf8.HasSurrogates("\uDFFF"));
        Assert.False(LosslessUtf8.HasSurrogates("\uD7FF\uE000"));
    }

    [Fact]
    public void ALoneSurrogate_IsFound_WhereverItIs_AndPairsAreNot()
    {
        foreach (var text in new[] { "\uD800", "a\uDC00", "\uDBFF\uDBFF", "\uDC00\uD800", "\U0001F600\uD800", "x\U0001F600\uDFFFy" })
        {
            Assert.True(LosslessUtf8.HasLoneSurrogate(text), Convert.ToHexString(Encoding.Unicode.GetBytes(text)));
        }

        foreach (var text in new[] { string.Empty, "plain", "\U0001F600", "a\uDBFF\uDFFFb\uD800\uDC00", "\uFFFD\uD7FF\uE000" })
        {
            Assert.False(LosslessUtf8.HasLoneSurrogate(text), Convert.ToHexString(Encoding.Unicode.GetBytes(text)));
        }
    }

    [Fact]
    public void StringsThatPlainUtf8MakesEqual_StayDifferent()
    {
        string[] texts = ["a\uD800", "a\uDC00", "a\uFFFD", "a\uDBFF", "a\uDFFF", "a\uD800\uD800", "a\uFFFD\uFFFD", "a?", "a"];
        Assert.Equal(texts.Length, texts.Select(t => Convert.ToHexString(LosslessUtf8.GetBytes(t))).Distinct().Count());
    }

    [Fact]
    public void TheMaxByteCount_HoldsTheLongestEncoding_IntoASpan()
    {
        var text = new string('\uD800', 100);
        var buffer = new byte[LosslessUtf8.GetMaxByteCount(text.Length)];
        Assert.True(buffer.Length >= 300);
        var written = LosslessUtf8.GetBytes(text, buffer);

        Assert.Equal(300, written);
        Assert.Equal(LosslessUtf8.GetBytes(text), buffer[..written]);
    }
}
