using System.Buffers;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>
/// Builds final keys: <c>{scope}|{value}|...</c> when a scope is set (the scope names what the values identify, so
/// <c>route:from</c> and <c>route:to</c> in scope <c>account</c> lock the same accounts), otherwise
/// <c>|{part=value}|...</c> (the part text, e.g. <c>route:userId</c>, names the value). The characters <c>\ | = #</c> are escaped with <c>\</c> in the
/// scope, the part labels and the values, so two different inputs never give the same key. Values longer than
/// <see cref="MaxValueLength"/> are replaced by <c>#</c> and the hex SHA-256 of their UTF-8 bytes (an unescaped
/// <c>#</c> only ever starts a hash).
/// </summary>
internal static class KeyFormatter
{
    internal const int MaxValueLength = 128;

    private static readonly SearchValues<char> s_special = SearchValues.Create("\\|=#");

    /// <summary>The constant start of a key: the escaped scope (may be empty).</summary>
    internal static string Prefix(string? scope) => Escape(scope ?? string.Empty);

    /// <summary>The constant label of a part: <c>|</c>, then, without a scope, the escaped part text and <c>=</c>.</summary>
    internal static string Label(KeyPart part, bool scoped) => scoped ? "|" : "|" + Escape(part.Text) + "=";

    internal static string Build(string prefix, string[] labels, string?[] values)
    {
        var handler = new DefaultInterpolatedStringHandler(0, 0, null, stackalloc char[256]);
        handler.AppendLiteral(prefix);
        for (var i = 0; i < labels.Length; i++)
        {
            if (values[i] is not { } value)
            {
                continue;
            }

            handler.AppendLiteral(labels[i]);
            AppendValue(ref handler, value);
        }

        return handler.ToStringAndClear();
    }

    internal static string Build(string prefix, string label, string value)
    {
        if (value.Length <= MaxValueLength && !value.AsSpan().ContainsAny(s_special))
        {
            return string.Concat(prefix, label, value);
        }

        var handler = new DefaultInterpolatedStringHandler(0, 0, null, stackalloc char[256]);
        handler.AppendLiteral(prefix);
        handler.AppendLiteral(label);
        AppendValue(ref handler, value);
        return handler.ToStringAndClear();
    }

    private static void AppendValue(ref DefaultInterpolatedStringHandler handler, string value)
    {
        if (value.Length > MaxValueLength)
        {
            handler.AppendLiteral("#");
            handler.AppendLiteral(Hash(value));
            return;
        }

        AppendEscaped(ref handler, value);
    }

    private static void AppendEscaped(ref DefaultInterpolatedStringHandler handler, ReadOnlySpan<char> value)
    {
        while (true)
        {
            var i = value.IndexOfAny(s_special);
            if (i < 0)
            {
                handler.AppendFormatted(value);
                return;
            }

            handler.AppendFormatted(value[..i]);
            handler.AppendLiteral("\\");
            handler.AppendFormatted(value.Slice(i, 1));
            value = value[(i + 1)..];
        }
    }

    internal static string Escape(string value)
    {
        if (!value.AsSpan().ContainsAny(s_special))
        {
            return value;
        }

        var handler = new DefaultInterpolatedStringHandler(0, 0, null, stackalloc char[256]);
        AppendEscaped(ref handler, value);
        return handler.ToStringAndClear();
    }

    private static string Hash(string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        return Convert.ToHexString(SHA256.HashData(bytes));
    }
}
