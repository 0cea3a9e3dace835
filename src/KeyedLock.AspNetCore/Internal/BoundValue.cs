using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Numerics;
using System.Reflection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>
/// Route, query and header values that the handler binds to a typed parameter (an integer, a <see cref="Guid"/>, a
/// <see cref="bool"/>, an enum, a <see cref="decimal"/>, a <see cref="double"/>, a <see cref="float"/> or a
/// <see cref="DateOnly"/>) are keyed by the value it binds, not by their text: <c>/accounts/7</c>,
/// <c>/accounts/07</c> and <c>/accounts/+7</c> all bind <c>int id = 7</c> and must lock one account. The value is
/// parsed the way the framework's binder parses it (minimal APIs: <c>TryParse</c> with the invariant culture; MVC:
/// its type converters, which also read hex such as <c>0x7</c>) and printed in one canonical form. Text the binder
/// cannot parse keeps its text (the handler never runs for it). Parsing more leniently than the binder only ever
/// merges keys, which serializes more, never less.
/// </summary>
internal static class BoundValue
{
    /// <summary>
    /// <paramref name="parts"/> with the canonical form of the bound type set on every route, query and header part
    /// that names a typed parameter of <paramref name="endpoint"/>'s handler (the same array when there is none).
    /// </summary>
    internal static KeyPart[] Apply(Endpoint endpoint, KeyPart[] parts)
    {
        KeyPart[]? typed = null;
        var mvc = EndpointJson.IsMvc(endpoint);
        for (var i = 0; i < parts.Length; i++)
        {
            if (BoundType(endpoint, parts[i]) is { } type && For(type, mvc) is { } canonical)
            {
                typed ??= (KeyPart[])parts.Clone();
                typed[i] = parts[i] with { Bound = canonical };
            }
        }

        return typed ?? parts;
    }

    /// <summary>The canonical text of values bound as <paramref name="type"/>; null for text and for types kept as text.</summary>
    internal static Func<string, string>? For(Type type, bool mvc)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return Type.GetTypeCode(type) switch
        {
            _ when type.IsEnum => text => Enum(type, text),
            TypeCode.Int32 => text => Integer<int>(text, mvc),
            TypeCode.Int64 => text => Integer<long>(text, mvc),
            TypeCode.Int16 => text => Integer<short>(text, mvc),
            TypeCode.SByte => text => Integer<sbyte>(text, mvc),
            TypeCode.Byte => text => Integer<byte>(text, mvc),
            TypeCode.UInt16 => text => Integer<ushort>(text, mvc),
            TypeCode.UInt32 => text => Integer<uint>(text, mvc),
            TypeCode.UInt64 => text => Integer<ulong>(text, mvc),
            TypeCode.Boolean => static text => bool.TryParse(text, out var value) ? (value ? "true" : "false") : text,
            TypeCode.Decimal => static text => decimal.TryParse(text, Lenient, CultureInfo.InvariantCulture, out var value)
                ? (value / 1.0000000000000000000000000000m).ToString(CultureInfo.InvariantCulture) // 1.0 and 1 are one value
                : text,
            TypeCode.Double => static text => double.TryParse(text, Lenient, CultureInfo.InvariantCulture, out var value) ? Float(value) : text,
            TypeCode.Single => static text => float.TryParse(text, Lenient, CultureInfo.InvariantCulture, out var value) ? Float(value) : text,
            _ when type == typeof(Guid) => static text => Guid.TryParse(text, out var value) ? value.ToString("D") : text,
            _ when type == typeof(DateOnly) => static text => DateOnly.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AllowWhiteSpaces, out var value)
                ? value.ToString("O", CultureInfo.InvariantCulture) // a day has no time zone: 2024-1-5 and 2024-01-05 are one
                : text,
            _ when type == typeof(Int128) => text => Integer<Int128>(text, mvc),
            _ when type == typeof(UInt128) => text => Integer<UInt128>(text, mvc),
            _ => null,
        };
    }

    /// <summary>
    /// The number styles of every binder's reading of a decimal or floating-point value, together (exponents, thousands
    /// separators, surrounding white space): reading more than one binder does can only merge keys.
    /// </summary>
    private const NumberStyles Lenient = NumberStyles.Float | NumberStyles.AllowThousands;

    /// <summary>The shortest text that reads back as <paramref name="value"/> (<c>0.1</c> and <c>0.10</c> are one double; <c>-0</c> is <c>0</c>).</summary>
    private static string Float(double value) => (value == 0 ? 0d : value).ToString("R", CultureInfo.InvariantCulture);

    private static string Integer<T>(string text, bool mvc)
        where T : IBinaryInteger<T>
    {
        if (T.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
        {
            return value.ToString(null, CultureInfo.InvariantCulture);
        }

        // MVC's number converters also read hex: "#7", "0x7" and "&H7".
        var trimmed = text.AsSpan().Trim();
        var digits = trimmed.StartsWith("#") ? trimmed[1..]
            : trimmed.StartsWith("0x", StringComparison.OrdinalIgnoreCase) || trimmed.StartsWith("&h", StringComparison.OrdinalIgnoreCase) ? trimmed[2..]
            : [];
        return mvc && !digits.IsEmpty && T.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value)
            ? value.ToString(null, CultureInfo.InvariantCulture)
            : text;
    }

    // Names in any case and numbers give the member's number (flags combine); both binders read names, and the
    // case-insensitive reading can only merge keys.
    private static string Enum(Type type, string text) =>
        System.Enum.TryParse(type, text, ignoreCase: true, out var value) ? ((System.Enum)value!).ToString("D") : text;

    /// <summary>The type of the handler's parameter that <paramref name="part"/> binds, or null (not a route, query or header part; not found).</summary>
    private static Type? BoundType(Endpoint endpoint, KeyPart part)
    {
        if (part.Source is not (KeyPartSource.Route or KeyPartSource.Query or KeyPartSource.Header))
        {
            return null;
        }

        if (endpoint.Metadata.GetMetadata<ActionDescriptor>() is { } action)
        {
            foreach (var parameter in action.Parameters.Concat(action.BoundProperties))
            {
                var name = parameter.BindingInfo?.BinderModelName ?? parameter.Name;
                if (string.Equals(name, part.Name, StringComparison.OrdinalIgnoreCase) && Reads(parameter.BindingInfo?.BindingSource, part.Source))
                {
                    return parameter.ParameterType;
                }
            }

            return null;
        }

        if (endpoint.Metadata.GetMetadata<MethodInfo>() is not { } method)
        {
            return null;
        }

        var pattern = (endpoint as RouteEndpoint)?.RoutePattern;
        foreach (var parameter in method.GetParameters())
        {
            if (parameter.IsDefined(typeof(AsParametersAttribute), inherit: false))
            {
                if (AsParametersMember(parameter.ParameterType, part, pattern) is { } member)
                {
                    return member;
                }

                continue;
            }

            if (Binds(parameter, parameter.Name, part, pattern))
            {
                return parameter.ParameterType;
            }
        }

        return null;
    }

    /// <summary>
    /// The type of the <c>[AsParameters]</c> member that <paramref name="part"/> binds: a parameter of the type's one
    /// public parameterized constructor, or else a settable property.
    /// </summary>
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "The members [AsParameters] binds are used by the handler's binding code, so they are kept; a member trimmed away is simply not found, and the part is keyed by its text.")]
    private static Type? AsParametersMember(Type type, KeyPart part, RoutePattern? pattern)
    {
        // As the framework binds it: the parameters of a public parameterized constructor, else the settable properties.
        var constructors = type.GetConstructors();
        if (constructors.Length == 1 && constructors[0].GetParameters() is { Length: > 0 } parameters)
        {
            foreach (var parameter in parameters)
            {
                if (Binds(parameter, parameter.Name, part, pattern))
                {
                    return parameter.ParameterType;
                }
            }

            return null;
        }

        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.CanWrite && Binds(property, property.Name, part, pattern))
            {
                return property.PropertyType;
            }
        }

        return null;
    }

    private static bool Binds(ICustomAttributeProvider member, string? name, KeyPart part, RoutePattern? pattern)
    {
        var (source, bound) = MinimalBinding(member, name, pattern);
        return source == part.Source && string.Equals(bound, part.Name, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Whether an MVC binding source reads values of <paramref name="part"/>'s kind (no source: route values, then the query).</summary>
    private static bool Reads(BindingSource? source, KeyPartSource part)
    {
        if (source is null || source == BindingSource.ModelBinding)
        {
            return part is KeyPartSource.Route or KeyPartSource.Query;
        }

        return part switch
        {
            KeyPartSource.Route => source == BindingSource.Path,
            KeyPartSource.Query => source == BindingSource.Query,
            _ => source == BindingSource.Header,
        };
    }

    /// <summary>Where a minimal-API parameter is bound from, as the framework decides it for simple types.</summary>
    private static (KeyPartSource? Source, string? Name) MinimalBinding(ICustomAttributeProvider member, string? name, RoutePattern? pattern)
    {
        foreach (var attribute in member.GetCustomAttributes(inherit: true))
        {
            switch (attribute)
            {
                case IFromRouteMetadata route:
                    return (KeyPartSource.Route, route.Name ?? name);
                case IFromQueryMetadata query:
                    return (KeyPartSource.Query, query.Name ?? name);
                case IFromHeaderMetadata header:
                    return (KeyPartSource.Header, header.Name ?? name);
                case IFromBodyMetadata or IFromFormMetadata or IFromServiceMetadata:
                    return (null, null);
            }
        }

        return name is not null && pattern?.GetParameter(name) is not null
            ? (KeyPartSource.Route, name)
            : (KeyPartSource.Query, name);
    }
}
