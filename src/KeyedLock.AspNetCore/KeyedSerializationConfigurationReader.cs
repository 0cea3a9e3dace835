using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace KeyedLock.AspNetCore;

/// <summary>
/// Reads one configuration section by hand (no reflection: trim- and AOT-safe) and collects every problem with its
/// configuration path, so that startup reports them all at once. Unknown keys are problems too: a misspelt setting
/// must not be silently ignored.
/// </summary>
internal sealed class KeyedSerializationConfigurationReader(IConfiguration section, string path, List<string> errors)
{
    public string Path { get; } = path;

    public bool Exists(string name) => section.GetSection(name).Exists();

    public void RejectUnknown(params string[] known)
    {
        foreach (var child in section.GetChildren())
        {
            if (!known.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                errors.Add($"{Path}:{child.Key} is not a KeyedSerialization setting (known here: {string.Join(", ", known)}).");
            }
        }
    }

    public KeyedSerializationConfigurationReader Child(string name) => new(section.GetSection(name), $"{Path}:{name}", errors);

    public IEnumerable<(string Name, KeyedSerializationConfigurationReader Reader)> Entries(string name)
    {
        var child = section.GetSection(name);
        foreach (var entry in child.GetChildren())
        {
            yield return (entry.Key, new KeyedSerializationConfigurationReader(entry, $"{Path}:{name}:{entry.Key}", errors));
        }
    }

    public string? Value => section is IConfigurationSection s ? s.Value : null;

    public string? String(string name)
    {
        var value = section[name];
        return string.IsNullOrWhiteSpace(value) ? null : value.Trim();
    }

    public TimeSpan? TimeSpan(string name) => Parse(name, "a time span such as 00:00:05",
        static (string v, out TimeSpan r) => System.TimeSpan.TryParse(v, CultureInfo.InvariantCulture, out r));

    public int? Int32(string name) => Parse(name, "a whole number",
        static (string v, out int r) => int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out r));

    public long? Int64(string name) => Parse(name, "a whole number",
        static (string v, out long r) => long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out r));

    public bool? Boolean(string name) => Parse(name, "true or false", static (string v, out bool r) => bool.TryParse(v, out r));

    public TEnum? Enum<TEnum>(string name)
        where TEnum : struct, Enum
        => Parse(name, $"one of {string.Join(", ", System.Enum.GetNames<TEnum>())}",
            static (string v, out TEnum r) => System.Enum.TryParse(v, ignoreCase: true, out r)
                && !char.IsAsciiDigit(v[0]) && v[0] != '-' && System.Enum.IsDefined(r));

    /// <summary>
    /// An optional time span: <paramref name="current"/> when the key is absent, null when it is present with an empty
    /// value (e.g. <c>"RetryAfter": ""</c> to send none), the parsed value otherwise.
    /// </summary>
    public TimeSpan? OptionalTimeSpan(string name, TimeSpan? current)
    {
        var child = section.GetSection(name);
        if (child.Exists() && string.IsNullOrWhiteSpace(child.Value) && !child.GetChildren().Any())
        {
            return null;
        }

        return TimeSpan(name) ?? current;
    }

    private delegate bool TryParser<T>(string value, out T result);

    private T? Parse<T>(string name, string expected, TryParser<T> parse)
        where T : struct
    {
        var value = String(name);
        if (value is null)
        {
            return null;
        }

        if (parse(value, out var result))
        {
            return result;
        }

        errors.Add($"{Path}:{name} is '{value}': expected {expected}.");
        return null;
    }
}
