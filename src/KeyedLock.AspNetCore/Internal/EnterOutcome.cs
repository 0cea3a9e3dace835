namespace KeyedLock.AspNetCore.Internal;

/// <summary>How trying to serialize a request ended.</summary>
internal enum EnterOutcome
{
    /// <summary>The keys are held; run the request, then exit.</summary>
    Entered,

    /// <summary>No key applies (every key was skipped by <see cref="KeyedSerializationMissingKeyBehavior.SkipKey"/>); run unserialized.</summary>
    Skipped,

    /// <summary>The response is written (a rejection); run nothing.</summary>
    Rejected,

    /// <summary>The client went away while waiting; run nothing, write nothing.</summary>
    Canceled,
}
