using System.Globalization;
using System.Text;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>
/// The canonical text of a number, so that every spelling of one value gives one key: <c>7</c>, <c>7.0</c>,
/// <c>7e0</c>, <c>0.7E1</c>, <c>+7</c> and <c>007</c> all give <c>7</c>. The value is kept exactly (no rounding
/// through <see cref="double"/>): digits without leading or trailing zeros, then, by size, an integer, a decimal
/// fraction, or <c>digitsEexponent</c>.
/// </summary>
internal static class JsonNumber
{
    /// <summary>More significant digits than this in a non-integer may bind (as double) equal to another number.</summary>
    internal const int MaxFractionalSignificantDigits = 15;

    /// <summary>
    /// Canonicalizes <paramref name="text"/> when it is a number (<c>[+-]digits[.digits][(e|E)[+-]digits]</c>, leading
    /// zeros allowed, as the binders read numbers from JSON strings); false otherwise.
    /// </summary>
    internal static bool TryCanonicalize(ReadOnlySpan<char> text, out string canonical, out bool tooPrecise)
    {
        canonical = string.Empty;
        tooPrecise = false;
        var i = 0;
        var negative = false;
        if (i < text.Length && text[i] is '+' or '-')
        {
            negative = text[i] == '-';
            i++;
        }

        // Significant digits (integer and fraction run together) and the exponent of their last digit.
        Span<char> buffer = text.Length <= 256 ? stackalloc char[text.Length] : new char[text.Length];
        var length = 0;
        var digitsSeen = 0;
        long exponent = 0;
        while (i < text.Length && char.IsAsciiDigit(text[i]))
        {
            if (length > 0 || text[i] != '0')
            {
                buffer[length++] = text[i];
            }

            digitsSeen++;
            i++;
        }

        if (i < text.Length && text[i] == '.')
        {
            i++;
            var fractionDigits = 0;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                if (length > 0 || text[i] != '0')
                {
                    buffer[length++] = text[i];
                }

                exponent--;
                fractionDigits++;
                i++;
            }

            if (fractionDigits == 0 && digitsSeen == 0)
            {
                return false;
            }

            digitsSeen += fractionDigits;
        }

        if (digitsSeen == 0)
        {
            return false;
        }

        if (i < text.Length && text[i] is 'e' or 'E')
        {
            i++;
            var exponentNegative = false;
            if (i < text.Length && text[i] is '+' or '-')
            {
                exponentNegative = text[i] == '-';
                i++;
            }

            long written = 0;
            var exponentDigits = 0;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                // Past 10^12 the exponent is absurd for a key; cap it so that it cannot overflow.
                written = Math.Min(written * 10 + (text[i] - '0'), 1_000_000_000_000);
                exponentDigits++;
                i++;
            }

            if (exponentDigits == 0)
            {
                return false;
            }

            exponent += exponentNegative ? -written : written;
        }

        if (i != text.Length)
        {
            return false;
        }

        var digits = buffer[..length].TrimEnd('0');
        exponent += length - digits.Length;
        if (digits.Length == 0)
        {
            canonical = "0";
            return true;
        }

        tooPrecise = exponent < 0 && digits.Length > MaxFractionalSignificantDigits;
        var builder = new StringBuilder(digits.Length + 24);
        if (negative)
        {
            builder.Append('-');
        }

        var point = digits.Length + exponent; // digits before the decimal point
        if (exponent >= 0 && point <= 40)
        {
            builder.Append(digits).Append('0', (int)exponent);
        }
        else if (exponent < 0 && point > 0)
        {
            builder.Append(digits[..(int)point]).Append('.').Append(digits[(int)point..]);
        }
        else if (exponent < 0 && point > -6)
        {
            builder.Append("0.").Append('0', (int)-point).Append(digits);
        }
        else
        {
            builder.Append(digits).Append('E').Append(exponent.ToString(CultureInfo.InvariantCulture));
        }

        canonical = builder.ToString();
        return true;
    }
}
