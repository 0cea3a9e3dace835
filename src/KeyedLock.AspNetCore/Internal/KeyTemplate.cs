namespace KeyedLock.AspNetCore.Internal;

/// <summary>Parses key templates: parts joined with <c>+</c>, each <c>source:name</c>, <c>user</c> or a custom source name.</summary>
internal static class KeyTemplate
{
    internal const char PartSeparator = '+';

    private static readonly string[] s_builtInNames = ["route", "query", "header", "claim", "user", "body"];

    internal static KeyPart[] Parse(string template)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(template);
        var texts = template.Split(PartSeparator, StringSplitOptions.TrimEntries);
        var parts = new KeyPart[texts.Length];
        for (var i = 0; i < texts.Length; i++)
        {
            parts[i] = ParsePart(texts[i], template);
        }

        return parts;
    }

    internal static bool IsValidCustomSourceName(string? name)
    {
        if (string.IsNullOrEmpty(name) || Array.IndexOf(s_builtInNames, name) >= 0)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    private static KeyPart ParsePart(string text, string template)
    {
        if (text.Length == 0)
        {
            throw Invalid(template, "a part is empty");
        }

        if (text == "user")
        {
            return new KeyPart(KeyPartSource.User, string.Empty, text);
        }

        var colon = text.IndexOf(':');
        if (colon < 0)
        {
            return IsValidCustomSourceName(text)
                ? new KeyPart(KeyPartSource.Custom, text, text)
                : throw Invalid(template, $"'{text}' is neither a built-in source nor a valid custom key source name");
        }

        var source = text[..colon];
        var name = text[(colon + 1)..];
        if (name.Length == 0)
        {
            throw Invalid(template, $"the part '{text}' has no name after ':'");
        }

        return source switch
        {
            "route" => new KeyPart(KeyPartSource.Route, name, text),
            "query" => new KeyPart(KeyPartSource.Query, name, text),
            "header" => new KeyPart(KeyPartSource.Header, name, text),
            "claim" => new KeyPart(KeyPartSource.Claim, name, text),
            "body" => new KeyPart(KeyPartSource.Body, name, text) { PointerTokens = ParsePointer(name, template) },
            _ => throw Invalid(template, $"'{source}' is not a key source (use route, query, header, claim, body, user or a custom source name)"),
        };
    }

    /// <summary>The unescaped reference tokens of an RFC 6901 JSON Pointer.</summary>
    private static string[] ParsePointer(string pointer, string template)
    {
        if (pointer[0] != '/')
        {
            throw Invalid(template, $"the JSON Pointer '{pointer}' must start with '/'");
        }

        var tokens = pointer[1..].Split('/');
        for (var i = 0; i < tokens.Length; i++)
        {
            var token = tokens[i];
            for (var j = 0; j < token.Length; j++)
            {
                if (token[j] == '~' && (j + 1 >= token.Length || token[j + 1] is not ('0' or '1')))
                {
                    throw Invalid(template, $"the JSON Pointer '{pointer}' has a '~' not followed by 0 or 1");
                }
            }

            tokens[i] = token.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
        }

        return tokens;
    }

    internal static ArgumentException Invalid(string template, string why) =>
        new($"The key template '{template}' is invalid: {why}.", nameof(template));
}
