namespace KeyedLock.AspNetCore.Internal;

/// <summary>Where a key part's value comes from.</summary>
internal enum KeyPartSource
{
    Route,
    Query,
    Header,
    Claim,
    User,
    Body,
    Custom,
}
