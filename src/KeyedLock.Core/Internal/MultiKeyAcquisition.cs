using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace KeyedLock.Internal;

/// <summary>
/// Wraps a pending multi-key acquisition so that the keys are recorded for re-entrancy detection in the flow that
/// awaits it. The acquisition itself runs in an <c>async</c> method, whose <see cref="AsyncLocal{T}"/> writes do not
/// flow back to its caller; <see cref="GetResult"/> runs in the awaiting flow, so it records them there.
/// </summary>
internal sealed class MultiKeyAcquisition : IValueTaskSource<KeyedLockLease>
{
    private ManualResetValueTaskSourceCore<KeyedLockLease> _core = new() { RunContinuationsAsynchronously = true };
    private readonly KeyedLockRegistry _registry;
    private ConfiguredValueTaskAwaitable<KeyedLockLease>.ConfiguredValueTaskAwaiter _awaiter;

    private MultiKeyAcquisition(KeyedLockRegistry registry) => _registry = registry;

    internal static ValueTask<KeyedLockLease> Track(KeyedLockRegistry registry, ValueTask<KeyedLockLease> pending)
    {
        var source = new MultiKeyAcquisition(registry);
        source._awaiter = pending.ConfigureAwait(false).GetAwaiter();
        source._awaiter.UnsafeOnCompleted(source.OnPendingCompleted);
        return new ValueTask<KeyedLockLease>(source, source._core.Version);
    }

    private void OnPendingCompleted()
    {
        try
        {
            _core.SetResult(_awaiter.GetResult());
        }
        catch (Exception ex)
        {
            _core.SetException(ex);
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _core.OnCompleted(continuation, state, token, flags);

    public KeyedLockLease GetResult(short token)
    {
        var lease = _core.GetResult(token);
        _registry.TrackHeld(lease);
        return lease;
    }
}
