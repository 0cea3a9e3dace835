using KeyedLock.AspNetCore.Internal;

namespace KeyedLock.AspNetCore.Tests;

public sealed class KeyFormatterTests
{
    private static string Key(string template, string? scope, params string[] values)
    {
        var parts = KeyTemplate.Parse(template);
        var labels = Array.ConvertAll(parts, p => KeyFormatter.Label(p, scoped: !string.IsNullOrEmpty(scope)));
        return values.Length == 1
            ? KeyFormatter.Build(KeyFormatter.Prefix(scope), labels[0], values[0])
            : KeyFormatter.Build(KeyFormatter.Prefix(scope), labels, values);
    }

    [Fact]
    public void SeparatorsInValues_NeverMakeTwoInputsCollide()
    {
        var keys = new[]
        {
            Key("route:a+route:b", null, "x", "y"),
            Key("route:a+route:b", null, "x|route:b=y", "z"),
            Key("route:a+route:b", null, "x", "y|z"),
            Key("route:a", null, "x|route:b=y"),
            Key("route:a+route:b", "s", "x", "y"),
            Key("route:a", "s", "x|y"),
            Key("route:a", "s|x", "y"),
            Key("route:a", "s", "x\\"),
            Key("route:a", "s", "x\\\\"),
            Key("route:a", null, "s|x"),
            Key("route:a", null, "#ABC"),
        };

        Assert.Equal(keys.Length, keys.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void LongValues_AreHashed_SoKeysStayShort_AndDistinct()
    {
        var a = new string('a', 10_000);
        var b = new string('a', 9_999) + "b";

        var keyA = Key("header:X", null, a);
        var keyB = Key("header:X", null, b);

        Assert.True(keyA.Length < 100, keyA);
        Assert.NotEqual(keyA, keyB);
        Assert.StartsWith("|header:X=#", keyA);
        Assert.NotEqual(keyA, Key("header:X", null, keyA["|header:X=".Length..]));
    }

    [Fact]
    public void ScopedKeys_ShareValuesAcrossParts()
    {
        Assert.Equal(Key("route:from", "account", "a"), Key("route:to", "account", "a"));
        Assert.NotEqual(Key("route:from", null, "a"), Key("route:to", null, "a"));
        Assert.Equal("account|a", Key("route:from", "account", "a"));
    }
}
