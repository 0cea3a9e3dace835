namespace KeyedLock.Postgres.Tests;

/// <summary>
/// A test that needs PostgreSQL (<c>KEYEDLOCK_PG_CONNECTION</c>). Skipped locally when it is not set; with
/// <c>CI=true</c> it runs anyway and fails with a clear message, so CI can never pass by skipping.
/// </summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (!TestDatabase.IsConfigured && !TestDatabase.IsCi)
        {
            Skip = "KEYEDLOCK_PG_CONNECTION is not set (run ./build.sh test, which starts a throwaway PostgreSQL).";
        }
    }
}

/// <summary>A theory that needs PostgreSQL: skipped and failing like <see cref="PostgresFactAttribute"/>.</summary>
public sealed class PostgresTheoryAttribute : TheoryAttribute
{
    public PostgresTheoryAttribute()
    {
        if (!TestDatabase.IsConfigured && !TestDatabase.IsCi)
        {
            Skip = "KEYEDLOCK_PG_CONNECTION is not set (run ./build.sh test, which starts a throwaway PostgreSQL).";
        }
    }
}
