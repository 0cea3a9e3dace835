namespace KeyedLock.AspNetCore;

/// <summary>
/// Set on <see cref="Microsoft.AspNetCore.Http.HttpContext.Features"/> when a request is granted its keys: the keys it
/// holds and its lease (for the <see cref="KeyedLockLease.FencingToken"/>). After the keys are released the feature
/// stays on the request, with <see cref="KeyedLockLease.IsHeld"/> false.
/// </summary>
public interface IKeyedSerializationFeature
{
    /// <summary>The keys held by the request, sorted ordinally.</summary>
    IReadOnlyList<string> Keys { get; }

    /// <summary>The lease over all <see cref="Keys"/>.</summary>
    KeyedLockLease Lease { get; }
}
