namespace KeyedLock.Tests;

/// <summary>Synchronous reads of acquisitions that the test expects to complete at once.</summary>
internal static class Acquired
{
    /// <summary>A registry with the opt-in re-entrancy diagnostic on.</summary>
    internal static KeyedLockRegistry DetectingRegistry() => new(new KeyedLockOptions { DetectReentrancy = true });

    /// <summary>
    /// Reads an acquisition that must have been granted already, in the caller's flow (reading it through
    /// <c>AsTask()</c> would record the key on another flow for the re-entrancy diagnostic).
    /// </summary>
    internal static KeyedLockLease Granted(ValueTask<KeyedLockLease> acquisition)
    {
        Assert.True(acquisition.IsCompletedSuccessfully, "expected the key to be granted at once");
        return acquisition.Result;
    }
}
