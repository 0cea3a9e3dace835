namespace KeyedLock.Tests;

/// <summary>Tests that measure the whole process (memory) or load every core run alone, after the parallel ones.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class Serial
{
    public const string Name = "Serial";
}
