using System.Text.Json;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>
/// How <c>body:</c> pointers read a body: as the endpoint's JSON binding does (property names case-insensitive when its
/// options say so, comments and trailing commas as its options allow, the same depth limit).
/// </summary>
internal sealed class JsonKeyRules
{
    internal static readonly System.Text.Json.JsonSerializerOptions WebOptions = new(JsonSerializerDefaults.Web);

    internal JsonKeyRules(JsonSerializerOptions options)
    {
        Names = options.PropertyNameCaseInsensitive ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;
        Document = new JsonDocumentOptions
        {
            AllowTrailingCommas = options.AllowTrailingCommas,
            CommentHandling = options.ReadCommentHandling == JsonCommentHandling.Disallow ? JsonCommentHandling.Disallow : JsonCommentHandling.Skip,
            MaxDepth = options.MaxDepth,
        };
    }

    /// <summary>Compares a JSON property name with a pointer token as binding matches names to properties.</summary>
    internal StringComparer Names { get; }

    internal JsonDocumentOptions Document { get; }
}
