using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>
/// What tells a reuse of an idempotency key for a different request: the SHA-256 of the method, path and query, and
/// the SHA-256 of the body.
/// </summary>
internal static class RequestFingerprint
{
    internal static byte[] Compute(HttpRequest request, ReadOnlySpan<byte> body)
    {
        Span<byte> bodyHash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(body, bodyHash);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(string.Concat(request.Method, "\n", request.PathBase.Value, request.Path.Value, "\n", request.QueryString.Value, "\n")));
        hash.AppendData(bodyHash);
        return hash.GetHashAndReset();
    }

    internal static bool Matches(byte[] stored, byte[] fingerprint) => CryptographicOperations.FixedTimeEquals(stored, fingerprint);
}
