using System.Threading.Tasks.Sources;

namespace KeyedLock.Postgres.Internal;

/// <summary>
/// Exposes an acquisition task as a <see cref="ValueTask{TResult}"/> whose <c>GetResult</c>, which runs in the
/// awaiting caller's async flow, records the granted lease for re-entrancy detection (an <see cref="AsyncLocal{T}"/>
/// written inside the acquisition's own async method would not flow back to the caller) and converts the
/// <see cref="Grant"/> into the caller's result type.
/// </summary>
internal sealed class TrackingValueTaskSource<T>(Task<Grant> task, Func<Grant, T> convert, bool track) : IValueTaskSource<T>
{
    private readonly Task<Grant> _task = task;
    private readonly Func<Grant, T> _convert = convert;
    private readonly bool _track = track;

    internal static ValueTask<T> Create(Task<Grant> task, Func<Grant, T> convert, bool track)
    {
        if (task.IsCompletedSuccessfully)
        {
            // Completed synchronously: this non-async method runs in the caller's flow, so record right here.
            return new ValueTask<T>(Complete(task.Result, convert, track));
        }

        return new ValueTask<T>(new TrackingValueTaskSource<T>(task, convert, track), 0);
    }

    public T GetResult(short token) => Complete(_task.GetAwaiter().GetResult(), _convert, _track);

    public ValueTaskSourceStatus GetStatus(short token) => _task.Status switch
    {
        TaskStatus.RanToCompletion => ValueTaskSourceStatus.Succeeded,
        TaskStatus.Faulted => ValueTaskSourceStatus.Faulted,
        TaskStatus.Canceled => ValueTaskSourceStatus.Canceled,
        _ => ValueTaskSourceStatus.Pending,
    };

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        var awaiter = _task.ConfigureAwait((flags & ValueTaskSourceOnCompletedFlags.UseSchedulingContext) != 0).GetAwaiter();
        if ((flags & ValueTaskSourceOnCompletedFlags.FlowExecutionContext) != 0)
        {
            awaiter.OnCompleted(() => continuation(state));
        }
        else
        {
            awaiter.UnsafeOnCompleted(() => continuation(state));
        }
    }

    private static T Complete(Grant grant, Func<Grant, T> convert, bool track)
    {
        if (track && grant.Lease is { } lease)
        {
            HeldKeys.Push(lease);
        }

        return convert(grant);
    }
}
