// Ported by hand from the SemaphoreSlim tests of dotnet/runtime (src/libraries/System.Threading/tests:
// SemaphoreSlimTests, SemaphoreSlimCancellationTests) to KeyedLockRegistry with its default options. A key plays a
// SemaphoreSlim(1, 1): "count 1" is a free key, "count 0" a held one; WaitAsync(timeout) returning false is a failed
// TryAcquireAsync. Timeouts run on a ManualTimeProvider.
//
// Skipped (no counterpart here):
// - Constructor counts and Release(n), SemaphoreFullException (RunSemaphoreSlimTest0_*, Test2_Release*): a lease releases exactly its own grant.
// - CurrentCount and AvailableWaitHandle (Test5, Test7): no per-key count or wait handle in the public API.
// - Dispose then Wait/Release throwing ObjectDisposedException (Test4): the registry's Dispose only releases its meter (see RateLimitingParityTests).
// - RunSemaphoreSlimTest8_ConcWaitAndRelease / ConcWaitAsyncAndRelease: they release permits nobody acquired.
// - Synchronous Wait overloads: the registry is async-only (TestConcurrentWaitAndWaitAsync is ported with threads blocking on AsTask()).
namespace KeyedLock.Tests.Parity;

public sealed class SemaphoreSlimParityTests
{
    // SemaphoreSlimTests.RunSemaphoreSlimTest1_WaitAsync (initial 10 or 1 = a free key, initial 0 = a held key;
    // infinite, zero and positive timeouts).
    [Theory]
    [InlineData(false, -1, true)]
    [InlineData(false, 0, true)]
    [InlineData(true, 0, false)]
    [InlineData(false, 10, true)]
    [InlineData(true, 10, false)]
    public async Task WaitWithATimeout_EntersAFreeKeyAtOnce_AndFailsOnAHeldOneAfterItsTimeout(bool held, int timeoutMs, bool expected)
    {
        var time = new ManualTimeProvider();
        using var registry = new KeyedLockRegistry(null, time);
        var holder = held ? await registry.HoldAsync("k") : default;
        var timeout = TimeSpan.FromMilliseconds(timeoutMs);

        var wait = registry.TryAcquireAsync("k", timeout);

        if (held && timeoutMs > 0)
        {
            Assert.False(wait.IsCompleted, "a positive timeout waits");
            time.Advance(timeout);
        }

        Assert.True(wait.IsCompletedSuccessfully, "a free key or a spent timeout answers without waiting any longer");
        await using var result = await wait.Bounded();
        Assert.Equal(expected, result.Succeeded);
        Assert.Equal(expected ? KeyedLockFailureReason.None : KeyedLockFailureReason.TimedOut, result.FailureReason);
        Assert.False(await registry.IsFreeForOthersAsync("k"), "the key is taken (count 0) either way");
        Assert.Equal(0, time.ActiveTimers);
        holder.Dispose();
    }

    // SemaphoreSlimTests.RunSemaphoreSlimTest1_WaitAsync, the (0, 10, 10, false) row on the real clock
    // (TimeProvider.System), as upstream: a held key's 10 ms wait fails once the timer fires.
    [Fact]
    public async Task WaitWithATimeout_OnTheSystemClock_FailsOnAHeldKeyWhenTheTimerFires()
    {
        using var registry = new KeyedLockRegistry();
        var holder = await registry.HoldAsync("k");

        var result = await registry.TryAcquireAsync("k", TimeSpan.FromMilliseconds(10)).Bounded();

        Assert.Equal(KeyedLockFailureReason.TimedOut, result.FailureReason);
        Assert.Equal(0, registry.QueueLength("k"));
        Assert.True(holder.IsHeld);
        holder.Dispose();
        Assert.Equal(0, registry.Count);
    }

    public static TheoryData<TimeSpan> InvalidTimeouts => [TimeSpan.FromMilliseconds(-10), new TimeSpan(0, 0, int.MaxValue)];

    // SemaphoreSlimTests.RunSemaphoreSlimTest1_WaitAsync_NegativeCases.
    [Theory]
    [MemberData(nameof(InvalidTimeouts))]
    public void AnInvalidTimeout_IsRejected(TimeSpan timeout)
    {
        using var registry = new KeyedLockRegistry();

        Assert.Throws<ArgumentOutOfRangeException>("timeout", () => registry.AcquireAsync("k", timeout));
        Assert.Throws<ArgumentOutOfRangeException>("timeout", () => registry.TryAcquireAsync("k", timeout));
        Assert.Equal(0, registry.Count);
    }

    // SemaphoreSlimTests.RunSemaphoreSlimTest1_WaitAsync_NegativeCases, the other side: every timeout SemaphoreSlim
    // accepts (up to int.MaxValue milliseconds) is accepted here too.
    [Fact]
    public async Task TheLongestTimeoutSemaphoreSlimAccepts_IsAccepted()
    {
        var time = new ManualTimeProvider();
        using var registry = new KeyedLockRegistry(null, time);
        var holder = await registry.HoldAsync("k");
        var longest = TimeSpan.FromMilliseconds(int.MaxValue);

        var wait = registry.TryAcquireAsync("k", longest);

        Assert.False(wait.IsCompleted);
        time.Advance(longest);
        Assert.Equal(KeyedLockFailureReason.TimedOut, (await wait.Bounded()).FailureReason);
        holder.Dispose();
        Assert.Equal(0, registry.Count);
    }

    // SemaphoreSlimTests.RunSemaphoreSlimTest1_WaitAsync2: "Release() does not execute any user code synchronously".
    [Fact]
    public async Task Release_DoesNotRunTheNextWaitersCodeSynchronously()
    {
        using var registry = new KeyedLockRegistry();
        using var counter = new ThreadLocal<int>(() => 0);
        var nonZeroObserved = false;
        const int asyncActions = 20;
        var remaining = new CountWatcher();

        async Task DoWorkAsync()
        {
            var lease = await registry.AcquireAsync("k").Bounded();
            if (counter.Value > 0)
            {
                nonZeroObserved = true;
            }

            counter.Value++;
            lease.Dispose();
            counter.Value--;
            remaining.Add(1);
        }

        var holder = await registry.HoldAsync("k");
        var actions = Enumerable.Range(0, asyncActions).Select(_ => DoWorkAsync()).ToArray();
        Assert.Equal(asyncActions, registry.QueueLength("k"));
        holder.Dispose();

        await remaining.WaitForAtLeastAsync(asyncActions, done => $"only {done} of {asyncActions} actions ran");
        await Task.WhenAll(actions).Bounded();
        Assert.False(nonZeroObserved, "a release seems to have run the next waiter's continuation synchronously");
        Assert.Equal(0, registry.Count);
    }

    public static TheoryData<int, int> WaiterMixes => new()
    {
        { 10, 10 },
        { 1, 10 },
        { 10, 1 },
    };

    // SemaphoreSlimTests.TestConcurrentWaitAndWaitAsync: blocking and asynchronous waiters loop over one semaphore of
    // half their number. Here MaxConcurrencyPerKey is that half, the blocking waiters are threads blocking on AsTask().
    [Theory]
    [MemberData(nameof(WaiterMixes))]
    public async Task BlockingAndAsynchronousWaiters_TogetherOnOneKey_AllFinish(int syncWaiters, int asyncWaiters)
    {
        const int iterations = 10;
        var total = syncWaiters + asyncWaiters;
        var slots = Math.Max(1, total / 2);
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = slots });
        var detector = new OverlapDetector(slots);

        var blocking = Enumerable.Range(0, syncWaiters).Select(_ => BlockingCaller.OnNewThread(() =>
        {
            for (var i = 0; i < iterations; i++)
            {
                using (BlockingCaller.Acquire(registry, "k"))
                {
                    detector.Enter("k");
                    detector.Exit("k");
                }
            }
        }));
        var asynchronous = Enumerable.Range(0, asyncWaiters).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < iterations; i++)
            {
                await using var lease = await registry.AcquireAsync("k").Bounded();
                detector.Enter("k");
                await Task.Yield();
                detector.Exit("k");
            }
        }));

        await Task.WhenAll(blocking.Concat(asynchronous).ToArray()).Bounded();

        detector.AssertNoViolations();
        Assert.Equal(0, registry.Count);
    }

    // SemaphoreSlimTests.WaitAsync_Timeout_NoUnhandledException: awaited timeouts leave no unobserved task exception.
    [Fact]
    public async Task AwaitedTimeouts_LeaveNoUnobservedTaskException()
    {
        var time = new ManualTimeProvider();
        using var registry = new KeyedLockRegistry(null, time);
        var key = "unobserved-" + Guid.NewGuid().ToString("N");
        var errors = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        void OnUnobserved(object? sender, UnobservedTaskExceptionEventArgs e)
        {
            // Process-wide event: keep only what mentions this test's key.
            if (e.Exception.Flatten().InnerExceptions.Any(x => x is KeyedLockException k && k.Key.Contains(key, StringComparison.Ordinal)))
            {
                errors.Enqueue(e.Exception);
            }
        }

        TaskScheduler.UnobservedTaskException += OnUnobserved;
        try
        {
            var holder = await registry.HoldAsync(key);
            var lastHolder = await registry.HoldAsync(key + "-z");
            for (var i = 0; i < 2; i++)
            {
                var attempt = registry.TryAcquireAsync(key, TimeSpan.FromMilliseconds(1));
                var acquire = registry.AcquireAsync(key, TimeSpan.FromMilliseconds(1)).AsTask();

                // Takes "-a", then times out on "-z" and releases "-a" again.
                var multi = registry.AcquireAsync([key + "-z", key + "-a"], TimeSpan.FromMilliseconds(1)).AsTask();
                time.Advance(TimeSpan.FromMilliseconds(1));
                Assert.False((await attempt.Bounded()).Succeeded);
                await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => acquire).Bounded();
                await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => multi).Bounded();
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }

            holder.Dispose();
            lastHolder.Dispose();
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        finally
        {
            TaskScheduler.UnobservedTaskException -= OnUnobserved;
        }

        Assert.Empty(errors);
        Assert.Equal(0, registry.Count);
    }

    // SemaphoreSlimCancellationTests.CancelBeforeWait (a semaphore with free slots: the cancelled token still wins,
    // for every overload).
    [Fact]
    public async Task CancelBeforeWait_ThrowsWithTheToken_EvenThoughTheKeyIsFree()
    {
        using var registry = new KeyedLockRegistry();
        using var cs = new CancellationTokenSource();
        cs.Cancel();
        var ct = cs.Token;

        await EnsureCanceledAsync(() => registry.AcquireAsync("k", ct).AsTask(), ct);
        await EnsureCanceledAsync(() => registry.AcquireAsync("k", TimeSpan.FromMilliseconds(100), ct).AsTask(), ct);
        await EnsureCanceledAsync(() => registry.AcquireAsync("k", new TimeSpan(100), ct).AsTask(), ct);
        await EnsureCanceledAsync(() => registry.TryAcquireAsync("k", TimeSpan.Zero, ct).AsTask(), ct);
        Assert.Equal(0, registry.Count);
        Assert.True(await registry.IsFreeForOthersAsync("k"));
    }

    // SemaphoreSlimCancellationTests.CancelAfterWait (a semaphore of count 0; another thread cancels the wait).
    [Fact]
    public async Task CancelAfterWait_FromAnotherThread_ThrowsWithTheToken_AndLeavesTheQueue()
    {
        using var registry = new KeyedLockRegistry();
        using var cts = new CancellationTokenSource();
        var holder = await registry.HoldAsync("k");

        var wait = registry.AcquireAsync("k", cts.Token);
        Assert.Equal(1, registry.QueueLength("k"));
        await Task.Run(cts.Cancel).Bounded();

        await EnsureCanceledAsync(() => wait.AsTask(), cts.Token);
        Assert.Equal(0, registry.QueueLength("k"));
        holder.Dispose();
        Assert.Equal(0, registry.Count);
    }

    // SemaphoreSlimCancellationTests.Cancel_WaitAsync_ContinuationInvokedAsynchronously.
    [Fact]
    public async Task Cancel_DoesNotRunTheWaitersContinuationOnTheCancellingThread()
    {
        await Task.Run(async () => // escape any SynchronizationContext, as the original does
        {
            using var registry = new KeyedLockRegistry();
            using var cts = new CancellationTokenSource();
            using var tl = new ThreadLocal<object?>();
            var sentinel = new object();
            var holder = await registry.HoldAsync("k");
            var observed = new TaskCompletionSource<(TaskStatus Status, bool OnCancellingThread)>(TaskCreationOptions.RunContinuationsAsynchronously);

            var continuation = registry.AcquireAsync("k", cts.Token).AsTask().ContinueWith(
                prev => observed.SetResult((prev.Status, ReferenceEquals(sentinel, tl.Value))),
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);

            Assert.Equal(TaskStatus.WaitingForActivation, continuation.Status);
            Assert.Equal(1, registry.QueueLength("k"));

            tl.Value = sentinel;
            cts.Cancel();
            tl.Value = null;

            var (status, onCancellingThread) = await observed.Task.Bounded();
            Assert.Equal(TaskStatus.Canceled, status);
            Assert.False(onCancellingThread, "the continuation ran inside Cancel() on the cancelling thread");
            await continuation.Bounded();
            holder.Dispose();
            Assert.Equal(0, registry.Count);
        }).Bounded();
    }

    private static async Task EnsureCanceledAsync(Func<Task> action, CancellationToken token)
    {
        var ex = await Assert.ThrowsAsync<TaskCanceledException>(action).Bounded();
        Assert.Equal(token, ex.CancellationToken);
    }
}
