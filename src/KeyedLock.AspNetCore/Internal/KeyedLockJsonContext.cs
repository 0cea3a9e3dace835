using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Mvc;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>The source-generated JSON metadata of everything the package writes, so that trimmed and native AOT apps work without reflection.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ProblemDetails))]
[JsonSerializable(typeof(string))]
internal sealed partial class KeyedLockJsonContext : JsonSerializerContext
{
}
