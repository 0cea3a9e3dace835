using System.Globalization;
using System.Text.Json;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>RFC 6901 JSON Pointers over <see cref="JsonElement"/>.</summary>
internal static class JsonPointer
{
    internal static string[] Parse(string pointer, string template)
    {
        if (pointer[0] != '/')
        {
            throw KeyTemplate.Invalid(template, $"the JSON Pointer '{pointer}' must start with '/'");
        }

        var tokens = pointer[1..].Split('/');
        for (var i = 0; i < tokens.Length; i++)
        {
            var token = tokens[i];
            for (var j = 0; j < token.Length; j++)
            {
                if (token[j] == '~' && (j + 1 >= token.Length || token[j + 1] is not ('0' or '1')))
                {
                    throw KeyTemplate.Invalid(template, $"the JSON Pointer '{pointer}' has a '~' not followed by 0 or 1");
                }
            }

            tokens[i] = token.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
        }

        return tokens;
    }

    /// <summary>
    /// Finds the value at <paramref name="tokens"/>. Strings give their value, numbers and booleans their JSON text,
    /// objects and arrays their raw JSON; null or absent gives null.
    /// </summary>
    internal static string? Evaluate(JsonElement root, string[] tokens)
    {
        var current = root;
        foreach (var token in tokens)
        {
            switch (current.ValueKind)
            {
                case JsonValueKind.Object:
                    if (!current.TryGetProperty(token, out current))
                    {
                        return null;
                    }

                    break;
                case JsonValueKind.Array:
                    if (token.Length == 0 || (token.Length > 1 && token[0] == '0') ||
                        !int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var index) ||
                        index >= current.GetArrayLength())
                    {
                        return null;
                    }

                    current = current[index];
                    break;
                default:
                    return null;
            }
        }

        return current.ValueKind switch
        {
            JsonValueKind.String => current.GetString(),
            JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => current.GetRawText(),
            JsonValueKind.Object or JsonValueKind.Array => current.GetRawText(),
            _ => null,
        };
    }
}
