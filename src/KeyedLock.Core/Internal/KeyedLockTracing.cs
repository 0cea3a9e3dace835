using System.Buffers;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace KeyedLock.Internal;

/// <summary>
/// The <c>KeyedLock</c> activity source and the start/stop of a wait span, shared by every provider. Call only on
/// a slow path (an acquisition that was not granted at once): <see cref="StartWait"/> returns null at the cost of one
/// <see cref="ActivitySource.HasListeners"/> check when nobody listens.
/// </summary>
/// <remarks>
/// Starting and stopping an <see cref="Activity"/> sets <see cref="Activity.Current"/>. A wait span starts inside the
/// caller's (synchronous) acquire call and usually stops inside another request's release, so both helpers put back
/// whatever <see cref="Activity.Current"/> was: the span never becomes the parent of the caller's later work, and the
/// releasing request keeps its own current activity.
/// </remarks>
internal static class KeyedLockTracing
{
    internal const string InProcessProvider = "in-process";

    internal static readonly ActivitySource Source = new(KeyedLockDiagnostics.ActivitySourceName);

    /// <summary>Starts a wait span for <paramref name="key"/>, or returns null when nobody listens.</summary>
    internal static Activity? StartWait(string key, string provider)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var current = Activity.Current;
        var activity = Source.StartActivity(KeyedLockDiagnostics.WaitActivityName, ActivityKind.Internal);
        if (activity is null)
        {
            return null;
        }

        Activity.Current = current;
        if (activity.IsAllDataRequested)
        {
            activity.SetTag(KeyedLockDiagnostics.KeyHashTag, HashKey(key));
            activity.SetTag(KeyedLockDiagnostics.ProviderTag, provider);
        }

        return activity;
    }

    /// <summary>Stops a wait span with its result (one of the metrics' result values); does nothing for null.</summary>
    internal static void StopWait(Activity? activity, string result)
    {
        if (activity is null)
        {
            return;
        }

        var current = Activity.Current;
        if (activity.IsAllDataRequested)
        {
            activity.SetTag(KeyedLockDiagnostics.ResultTag, result);
            activity.SetTag(KeyedLockDiagnostics.WaitDurationTag, (DateTime.UtcNow - activity.StartTimeUtc).TotalSeconds);
            if (result != RegistryMetrics.Acquired)
            {
                activity.SetStatus(ActivityStatusCode.Error, result);
            }
        }

        activity.Stop();
        Activity.Current = current;
    }

    /// <summary>A span for an acquisition refused without waiting (queue full, zero timeout): started and stopped at once.</summary>
    internal static void Refused(string key, string provider, string result) => StopWait(StartWait(key, provider), result);

    /// <summary>The first 8 bytes of the SHA-256 of the key's UTF-8 bytes, as 16 lowercase hex digits.</summary>
    internal static string HashKey(string key)
    {
        var length = Encoding.UTF8.GetMaxByteCount(key.Length);
        var rented = length > 512 ? ArrayPool<byte>.Shared.Rent(length) : null;
        try
        {
            Span<byte> buffer = rented ?? stackalloc byte[512];
            var written = Encoding.UTF8.GetBytes(key, buffer);
            Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(buffer[..written], digest);
            return Convert.ToHexStringLower(digest[..8]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
