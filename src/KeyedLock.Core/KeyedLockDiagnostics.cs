namespace KeyedLock;

/// <summary>
/// Names of KeyedLock's tracing: the <c>KeyedLock</c> <see cref="System.Diagnostics.ActivitySource"/> and the tags of
/// its spans. Register it with OpenTelemetry as
/// <c>builder.Services.AddOpenTelemetry().WithTracing(t =&gt; t.AddSource(KeyedLockDiagnostics.ActivitySourceName))</c>.
/// </summary>
/// <remarks>
/// A span (<see cref="WaitActivityName"/>) covers every acquisition that is not granted at once: it starts when the
/// request queues (or is refused) and stops when it is granted, times out, is cancelled, rejected or aborted. An
/// acquisition granted at once starts no span. With no listener, nothing is created.
/// </remarks>
public static class KeyedLockDiagnostics
{
    /// <summary>The activity source name: <c>KeyedLock</c>.</summary>
    public const string ActivitySourceName = "KeyedLock";

    /// <summary>The span of one wait for a key: <c>keyedlock.wait</c>.</summary>
    public const string WaitActivityName = "keyedlock.wait";

    /// <summary>
    /// Tag: a short hex digest of the key (the first 8 bytes of its SHA-256), never the key itself, which often
    /// carries user ids. The same key gives the same digest in every process, so spans of one key can be grouped.
    /// </summary>
    public const string KeyHashTag = "keyedlock.key.hash";

    /// <summary>Tag: the provider that served the wait, e.g. <c>in-process</c>, <c>postgres</c>, <c>redis</c>.</summary>
    public const string ProviderTag = "keyedlock.provider";

    /// <summary>Tag: how the wait ended: acquired, timeout, queue_full, canceled or aborted.</summary>
    public const string ResultTag = "keyedlock.result";

    /// <summary>Tag: the time waited, in seconds (a double).</summary>
    public const string WaitDurationTag = "keyedlock.wait.duration";
}
