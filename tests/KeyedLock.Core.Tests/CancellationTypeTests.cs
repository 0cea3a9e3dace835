namespace KeyedLock.Tests;

/// <summary>
/// One cancellation type: a cancelled acquisition ends as <see cref="TaskCanceledException"/> carrying the caller's
/// token, whether the token fired before the call, while the request was queued, or the result is read through
/// <c>AsTask()</c>; for every entry point.
/// </summary>
public sealed class CancellationTypeTests
{
    public enum Moment
    {
        BeforeTheCall,
        WhileQueued,
        WhileQueuedReadThroughAsTask,
    }

    public enum EntryPoint
    {
        AcquireAsync,
        AcquireAsyncWithTimeout,
        TryAcquireAsync,
        MultiKey,
        RunAsync,
        RunAsyncWithResult,
    }

    public static TheoryData<EntryPoint, Moment> Cases()
    {
        var data = new TheoryData<EntryPoint, Moment>();
        foreach (var entry in Enum.GetValues<EntryPoint>())
        {
            foreach (var moment in Enum.GetValues<Moment>())
            {
                data.Add(entry, moment);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task CancelledAcquisition_ThrowsTaskCanceledException_WithTheCallersToken(EntryPoint entry, Moment moment)
    {
        using var registry = new KeyedLockRegistry();
        using var cts = new CancellationTokenSource();
        var holder = await registry.HoldAsync("k");
        if (moment == Moment.BeforeTheCall)
        {
            cts.Cancel();
        }

        var (awaited, asTask) = Start(registry, entry, cts.Token);
        if (moment != Moment.BeforeTheCall)
        {
            // Queued behind the holder (the multi-key request holds "a" and queues on "k"; RunAsync queues inside).
            Assert.Equal(1, registry.QueueLength("k"));
            cts.Cancel();
        }

        Assert.Equal(0, registry.QueueLength("k"));
        var ex = moment == Moment.WhileQueuedReadThroughAsTask
            ? await Assert.ThrowsAsync<TaskCanceledException>(asTask).Bounded()
            : await Assert.ThrowsAsync<TaskCanceledException>(awaited).Bounded();
        Assert.Equal(cts.Token, ex.CancellationToken);

        holder.Dispose();
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task CancelledWhileQueued_TheTaskIsCanceled_NotFaulted()
    {
        using var registry = new KeyedLockRegistry();
        using var cts = new CancellationTokenSource();
        var holder = await registry.HoldAsync("k");
        var waiter = registry.AcquireAsync("k", cts.Token).AsTask();
        cts.Cancel();
        await Assert.ThrowsAsync<TaskCanceledException>(() => waiter).Bounded();
        Assert.True(waiter.IsCanceled);
        holder.Dispose();
    }

    /// <summary>Starts the acquisition and returns a way to await it directly and a way through AsTask().</summary>
    private static (Func<Task> Awaited, Func<Task> AsTask) Start(KeyedLockRegistry registry, EntryPoint entry, CancellationToken token)
    {
        switch (entry)
        {
            case EntryPoint.AcquireAsync:
                {
                    var pending = registry.AcquireAsync("k", token);
                    return (async () => (await pending).Dispose(), () => pending.AsTask());
                }

            case EntryPoint.AcquireAsyncWithTimeout:
                {
                    var pending = registry.AcquireAsync("k", TimeSpan.FromMinutes(5), token);
                    return (async () => (await pending).Dispose(), () => pending.AsTask());
                }

            case EntryPoint.TryAcquireAsync:
                {
                    var pending = registry.TryAcquireAsync("k", Timeout.InfiniteTimeSpan, token);
                    return (async () => (await pending).Dispose(), () => pending.AsTask());
                }

            case EntryPoint.MultiKey:
                {
                    var pending = registry.AcquireAsync(["k", "a"], Timeout.InfiniteTimeSpan, token);
                    return (async () => (await pending).Dispose(), () => pending.AsTask());
                }

            case EntryPoint.RunAsync:
                {
                    var run = registry.RunAsync("k", _ => { }, cancellationToken: token);
                    return (async () => await run, () => run);
                }

            default:
                {
                    var run = registry.RunAsync("k", _ => 1, cancellationToken: token);
                    return (async () => await run, () => run);
                }
        }
    }
}
