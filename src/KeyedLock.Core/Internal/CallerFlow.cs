using System.Threading.Tasks.Sources;

namespace KeyedLock.Internal;

/// <summary>
/// Finishes an acquisition in the flow that awaits it. Acquisitions that run inside an <c>async</c> method cannot
/// record held keys for re-entrancy detection there (their <see cref="AsyncLocal{T}"/> writes do not flow back to
/// the caller); the <c>inCallerFlow</c> delegate runs where the caller reads the result instead: right away when the
/// acquisition completed synchronously (this method is not <c>async</c>), otherwise in <c>GetResult</c>.
/// </summary>
internal static class CallerFlow
{
    internal static ValueTask<TResult> Complete<TSource, TResult>(ValueTask<TSource> pending, Func<TSource, TResult> inCallerFlow)
    {
        if (pending.IsCompletedSuccessfully)
        {
            return new ValueTask<TResult>(inCallerFlow(pending.Result));
        }

        var source = new Source<TSource, TResult>(pending, inCallerFlow);
        return new ValueTask<TResult>(source, source.Version);
    }

    private sealed class Source<TSource, TResult> : IValueTaskSource<TResult>
    {
        private readonly Func<TSource, TResult> _inCallerFlow;
        private readonly System.Runtime.CompilerServices.ConfiguredValueTaskAwaitable<TSource>.ConfiguredValueTaskAwaiter _awaiter;
        // The caller's continuation runs on the thread that completed the acquisition, without another hop through
        // the thread pool (which cost a distributed acquisition tens of microseconds and most of its tail latency).
        // That thread is never inside a lock or a release: providers finish acquisitions in their own async methods,
        // resumed by a reply from the server or by a waiter that completes asynchronously.
        private ManualResetValueTaskSourceCore<TSource> _core = new() { RunContinuationsAsynchronously = false };

        internal Source(ValueTask<TSource> pending, Func<TSource, TResult> inCallerFlow)
        {
            _inCallerFlow = inCallerFlow;
            _awaiter = pending.ConfigureAwait(false).GetAwaiter();
            _awaiter.UnsafeOnCompleted(OnPendingCompleted);
        }

        internal short Version => _core.Version;

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

        public TResult GetResult(short token) => _inCallerFlow(_core.GetResult(token));
    }
}
