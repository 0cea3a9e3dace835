namespace KeyedLock.Testing;

/// <summary>
/// Seeds for randomized tests: taken from <c>KEYEDLOCK_TEST_SEED</c> when set (to replay a failure), otherwise
/// fresh. Put <see cref="Describe"/> in every assertion message so a failure prints the seed.
/// </summary>
public static class TestSeed
{
    public const string EnvironmentVariable = "KEYEDLOCK_TEST_SEED";

    /// <summary>The seed to use for one randomized test.</summary>
    public static int Next()
        => int.TryParse(Environment.GetEnvironmentVariable(EnvironmentVariable), out var seed) ? seed : Random.Shared.Next();

    /// <summary>A message that lets a reader replay a failure.</summary>
    public static string Describe(int seed) => $"(seed {seed}; replay with {EnvironmentVariable}={seed})";
}
