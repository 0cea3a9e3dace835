using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>One request that runs under an idempotency key: its lease, fingerprint and response capture.</summary>
internal sealed class IdempotencyScope
{
    /// <summary>The request has no key and the endpoint does not require one: run it without idempotency.</summary>
    internal static readonly IdempotencyScope Unprotected = new();

    private IdempotencyScope()
    {
        Key = string.Empty;
        Fingerprint = string.Empty;
        Plan = null!;
        Capture = null!;
        OriginalBody = null!;
        CaptureBody = null!;
    }

    internal IdempotencyScope(IdempotencyPlan plan, string key, string fingerprint, KeyedLockLease lease, IHttpResponseBodyFeature originalBody, ResponseCaptureStream capture, StreamResponseBodyFeature captureBody)
    {
        Plan = plan;
        Key = key;
        Fingerprint = fingerprint;
        Lease = lease;
        OriginalBody = originalBody;
        Capture = capture;
        CaptureBody = captureBody;
    }

    internal IdempotencyPlan Plan { get; }

    internal string Key { get; }

    internal string Fingerprint { get; }

    internal KeyedLockLease Lease { get; }

    internal IHttpResponseBodyFeature OriginalBody { get; }

    internal ResponseCaptureStream Capture { get; }

    internal StreamResponseBodyFeature CaptureBody { get; }
}
