namespace KeyedLock.AspNetCore;

/// <summary>
/// Present on <see cref="Microsoft.AspNetCore.Http.HttpContext.Features"/> while a request runs serialized: the keys
/// it holds and its lease (for the <see cref="KeyedLockLease.FencingToken"/>).
/// </summary>
public interface IKeyedSerializationFeature
{
    /// <summary>The keys held by the request, sorted ordinally.</summary>
    IReadOnlyList<string> Keys { get; }

    /// <summary>The lease over all <see cref="Keys"/>.</summary>
    KeyedLockLease Lease { get; }
}
