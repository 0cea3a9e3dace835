using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>
/// A request body read for <c>body:</c> key parts, and the evaluation of RFC 6901 JSON Pointers in it under the
/// endpoint's <see cref="JsonKeyRules"/>. A value is what binding reads, or the part fails: a segment that two
/// properties match is ambiguous; a value that cannot be read (invalid UTF-8, a lone surrogate) or that is an object
/// or an array is invalid; numbers (and strings that read as numbers) give their canonical text.
/// </summary>
internal sealed class JsonBody : IDisposable
{
    private readonly JsonDocument? _document;
    private readonly KeyFailure _failure;

    private JsonBody(JsonDocument? document, KeyFailure failure)
    {
        _document = document;
        _failure = failure;
    }

    /// <summary>
    /// Parses the body: empty gives missing values; anything that is not JSON, or a body declared in a charset other than
    /// UTF-8 (binding would transcode it, so the same bytes would mean other text), gives invalid values.
    /// </summary>
    internal static JsonBody Parse(HttpRequest request, ReadOnlyMemory<byte> body, JsonKeyRules rules)
    {
        if (MediaTypeHeaderValue.TryParse(request.ContentType, out var type) && type.Charset.HasValue &&
            !type.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) && !type.Charset.Equals("utf8", StringComparison.OrdinalIgnoreCase))
        {
            return new JsonBody(null, KeyFailure.Invalid);
        }

        // A UTF-8 byte order mark is accepted, as binding accepts it.
        if (body.Span.StartsWith("\uFEFF"u8))
        {
            body = body[3..];
        }

        if (body.IsEmpty)
        {
            return new JsonBody(null, KeyFailure.Missing);
        }

        try
        {
            return new JsonBody(JsonDocument.Parse(body, rules.Document), KeyFailure.None);
        }
        catch (JsonException)
        {
            return new JsonBody(null, KeyFailure.Invalid);
        }
    }

    internal KeyValue Evaluate(string[] tokens, JsonKeyRules rules)
    {
        if (_document is null)
        {
            return _failure == KeyFailure.Invalid ? KeyValue.Invalid : KeyValue.Missing;
        }

        try
        {
            return Evaluate(_document.RootElement, tokens, rules);
        }
        catch (InvalidOperationException)
        {
            // Property names or strings that cannot be transcoded (invalid UTF-8, lone surrogates).
            return KeyValue.Invalid;
        }
    }

    public void Dispose() => _document?.Dispose();

    private static KeyValue Evaluate(JsonElement current, string[] tokens, JsonKeyRules rules)
    {
        foreach (var token in tokens)
        {
            switch (current.ValueKind)
            {
                case JsonValueKind.Object:
                    var matches = 0;
                    foreach (var property in current.EnumerateObject())
                    {
                        if (rules.Names.Equals(property.Name, token))
                        {
                            matches++;
                            current = property.Value;
                        }
                    }

                    if (matches > 1)
                    {
                        return KeyValue.Ambiguous;
                    }

                    if (matches == 0)
                    {
                        return KeyValue.Missing;
                    }

                    break;
                case JsonValueKind.Array:
                    if (token.Length == 0 || (token.Length > 1 && token[0] == '0') ||
                        !int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var index) ||
                        index >= current.GetArrayLength())
                    {
                        return KeyValue.Missing;
                    }

                    current = current[index];
                    break;
                default:
                    return KeyValue.Missing;
            }
        }

        switch (current.ValueKind)
        {
            case JsonValueKind.String:
                var text = current.GetString()!;
                return JsonNumber.TryCanonicalize(text, out var number, out _) ? KeyValue.Of(number) : KeyValue.Of(text);
            case JsonValueKind.Number:
                var raw = current.GetRawText();
                return JsonNumber.TryCanonicalize(raw, out var canonical, out var tooPrecise) && !tooPrecise ? KeyValue.Of(canonical) : KeyValue.Ambiguous;
            case JsonValueKind.True:
                return KeyValue.Of("true");
            case JsonValueKind.False:
                return KeyValue.Of("false");
            case JsonValueKind.Null:
            case JsonValueKind.Undefined:
                return KeyValue.Missing;
            default:
                // Objects and arrays bind the same whatever their spacing and member order: not a key.
                return KeyValue.Invalid;
        }
    }
}
