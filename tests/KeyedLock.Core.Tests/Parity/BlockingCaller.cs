namespace KeyedLock.Tests.Parity;

/// <summary>
/// A caller that blocks a thread of its own, as the ported synchronous upstream tests do (the registry is async-only,
/// so it blocks on <c>AsTask()</c>, bounded). Kept out of the test methods, which must not block.
/// </summary>
internal static class BlockingCaller
{
    /// <summary>Blocks the current thread until <paramref name="key"/> is granted (at most <see cref="TestWait.Default"/>).</summary>
    public static KeyedLockLease Acquire(KeyedLockRegistry registry, string key)
        => registry.AcquireAsync(key).AsTask().WaitAsync(TestWait.Default).GetAwaiter().GetResult();

    /// <summary>Runs <paramref name="body"/> on a new background thread; the task completes (or faults) with it.</summary>
    public static Task OnNewThread(Action body)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                body();
                done.SetResult();
            }
            catch (Exception ex)
            {
                done.SetException(ex);
            }
        })
        { IsBackground = true };
        thread.Start();
        return done.Task;
    }
}
