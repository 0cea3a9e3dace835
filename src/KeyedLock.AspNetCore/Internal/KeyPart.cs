namespace KeyedLock.AspNetCore.Internal;

/// <summary>One part of a key template, e.g. <c>route:userId</c>.</summary>
/// <param name="Source">Where the value comes from.</param>
/// <param name="Name">The route value, query, header, claim type, JSON pointer or custom source name.</param>
/// <param name="Text">The part as written in the template; it labels the value in the final key.</param>
internal sealed record KeyPart(KeyPartSource Source, string Name, string Text)
{
    /// <summary>For <see cref="KeyPartSource.Body"/>: the unescaped JSON Pointer reference tokens.</summary>
    public string[] PointerTokens { get; init; } = [];

    /// <summary>
    /// For a route, query or header part that the endpoint's handler binds to a typed parameter: the canonical text of
    /// the value it binds (see <see cref="BoundValue"/>), so every spelling of one value is one key.
    /// </summary>
    public Func<string, string>? Bound { get; init; }

    /// <summary>Whether the part needs an authenticated user.</summary>
    public bool NeedsUser => Source is KeyPartSource.Claim or KeyPartSource.User;
}
