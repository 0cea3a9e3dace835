namespace KeyedLock.Postgres.Internal;

/// <summary>
/// Quotes a validated name (<c>identifier</c> or <c>schema.identifier</c>, letters, digits and underscores) for SQL
/// text. Each part is folded to lower case first, as PostgreSQL folds an unquoted identifier, so that a name refers to
/// the object it always did; quoting makes SQL keywords (<c>user</c>, <c>order</c>) usable names.
/// </summary>
internal static class SqlIdentifier
{
    internal static string Quote(string name) =>
        string.Join('.', name.Split('.').Select(static part => "\"" + part.ToLowerInvariant() + "\""));
}
