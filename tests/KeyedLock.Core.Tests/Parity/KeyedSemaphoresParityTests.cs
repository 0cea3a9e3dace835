// Ported by hand from the tests of KeyedSemaphores (amoerie/keyed-semaphores, KeyedSemaphores.Tests:
// TestsForKeyedSemaphore, TestsForKeyedSemaphoresCollection, TestsForKeyedSemaphoresDictionary, which share their
// cases) to KeyedLockRegistry with its default options. Their timeouts of 9 and 11 ms (just below and above the
// library's synchronous spin) are kept as the two theory rows, played on a ManualTimeProvider instead of the clock.
//
// Skipped (no counterpart here):
// - The synchronous Lock/TryLock overloads: the registry is async-only (Sync.ShouldApplyParallelismCorrectly is ported with threads blocking on AsTask()).
// - The minimum-parallelism bounds of ShouldApplyParallelismCorrectly: they depend on timing; parallelism across keys is asserted deterministically instead.
// - Integer (non-string) keys and ShouldRunThreadsWithDistinctStringKeysInParallel as a separate case: keys are always strings here.
// - The collection/dictionary split and its indexers: one registry type.
namespace KeyedLock.Tests.Parity;

public sealed class KeyedSemaphoresParityTests
{
    // KeyedSemaphores: TestsForKeyedSemaphoresCollection.ThreeDifferentLocksShouldWork.
    [Fact]
    public async Task ThreeDifferentKeys_AreAllGrantedAtOnce_ToOneFlow()
    {
        using var registry = new KeyedLockRegistry();

        var one = registry.AcquireAsync("1");
        var two = registry.AcquireAsync("2");
        var three = registry.AcquireAsync("3");

        Assert.True(one.IsCompletedSuccessfully && two.IsCompletedSuccessfully && three.IsCompletedSuccessfully, "distinct keys never wait for each other");
        Assert.Equal(3, registry.Count);
        (await one.Bounded()).Dispose();
        (await two.Bounded()).Dispose();
        (await three.Bounded()).Dispose();
        Assert.Equal(0, registry.Count);
    }

    // KeyedSemaphores: TestsForKeyedSemaphoresCollection.ThreeIdenticalLocksShouldWork.
    [Fact]
    public async Task ThreeTasksOnTheSameKey_AllComplete_OneAfterTheOther()
    {
        using var registry = new KeyedLockRegistry();
        var detector = new OverlapDetector();

        async Task OneAsync()
        {
            await using var lease = await registry.AcquireAsync("1").Bounded();
            detector.Enter("1");
            await Task.Yield();
            detector.Exit("1");
        }

        await Task.WhenAll(Task.Run(OneAsync), Task.Run(OneAsync), Task.Run(OneAsync)).Bounded();

        detector.AssertNoViolations();
        Assert.Equal(1, detector.MaxSeen);
        Assert.Equal(0, registry.Count);
    }

    // KeyedSemaphores: TestsForKeyedSemaphore.Async.ShouldApplyParallelismCorrectly (upper bounds; yields instead of delays).
    [Theory]
    [InlineData(100, 100)]
    [InlineData(100, 10)]
    [InlineData(100, 50)]
    [InlineData(100, 1)]
    public async Task ManyTasksOverSomeKeys_NeverRunTwoOnOneKey_NorMoreAtOnceThanThereAreKeys(int numberOfTasks, int numberOfKeys)
    {
        using var registry = new KeyedLockRegistry();
        var detector = new OverlapDetector();
        var current = 0;
        var peak = 0;

        async Task OccupyAsync(int key)
        {
            var name = key.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await using var lease = await registry.AcquireAsync(name).Bounded();
            detector.Enter(name);
            var now = Interlocked.Increment(ref current);
            InterlockedMax(ref peak, now);
            await Task.Yield();
            Interlocked.Decrement(ref current);
            detector.Exit(name);
        }

        await Task.WhenAll(Enumerable.Range(0, numberOfTasks).Select(i => Task.Run(() => OccupyAsync(i % numberOfKeys)))).Bounded();

        detector.AssertNoViolations();
        Assert.InRange(peak, 1, numberOfKeys);
        Assert.Equal(0, registry.Count);
    }

    // KeyedSemaphores: TestsForKeyedSemaphore.Sync.ShouldApplyParallelismCorrectly: plain threads that block on the
    // acquisition (here through AsTask(), the way a blocking caller waits on this async-only API).
    [Theory]
    [InlineData(100, 10)]
    [InlineData(100, 1)]
    public async Task BlockingThreadsOverSomeKeys_NeverRunTwoOnOneKey(int numberOfThreads, int numberOfKeys)
    {
        using var registry = new KeyedLockRegistry();
        var detector = new OverlapDetector();
        var threads = Enumerable.Range(0, numberOfThreads).Select(i => BlockingCaller.OnNewThread(() =>
        {
            var key = (i % numberOfKeys).ToString(System.Globalization.CultureInfo.InvariantCulture);
            using (BlockingCaller.Acquire(registry, key))
            {
                detector.Enter(key);
                Thread.Yield();
                detector.Exit(key);
            }
        })).ToArray();

        await Task.WhenAll(threads).Bounded();

        detector.AssertNoViolations();
        Assert.Equal(1, detector.MaxSeen);
        Assert.Equal(0, registry.Count);
    }

    // KeyedSemaphores: TestsForKeyedSemaphoresCollection.ShouldRunThreadsWithDistinctKeysInParallel (and
    // ...DistinctStringKeysInParallel): instead of measuring overlap with delays, every holder waits until all
    // 100 are inside at once, which only a registry that runs distinct keys in parallel lets happen.
    [Fact]
    public async Task HundredDistinctKeys_AreAllHeldAtTheSameTime()
    {
        using var registry = new KeyedLockRegistry();
        var inside = new CountWatcher();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var tasks = Enumerable.Range(0, 100).Select(i => Task.Run(async () =>
        {
            await using var lease = await registry.AcquireAsync("key-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).Bounded();
            inside.Add(1);
            await release.Task.Bounded();
        })).ToArray();

        await inside.WaitForAtLeastAsync(100, seen => $"only {seen} of 100 distinct keys were held at once");
        Assert.Equal(100, registry.Count);
        release.SetResult();
        await Task.WhenAll(tasks).Bounded();
        Assert.Equal(0, registry.Count);
    }

    // KeyedSemaphores: TestsForKeyedSemaphoresCollection.ShouldRunThreadsWithSameKeysLinearly (100 tasks, 10 keys).
    [Fact]
    public async Task HundredTasksOverTenKeys_RunLinearlyPerKey()
    {
        using var registry = new KeyedLockRegistry();
        var detector = new OverlapDetector();
        var running = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
        var violations = 0;

        async Task OccupyAsync(int key, int task)
        {
            await using var lease = await registry.AcquireAsync(key.ToString(System.Globalization.CultureInfo.InvariantCulture)).Bounded();
            if (!running.TryAdd(key, task))
            {
                Interlocked.Increment(ref violations);
            }

            await Task.Yield();
            if (!running.TryRemove(key, out var value) || value != task)
            {
                Interlocked.Increment(ref violations);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 100).Select(i => Task.Run(() => OccupyAsync(i % 10, i)))).Bounded();

        Assert.Equal(0, violations);
        Assert.Empty(running);
        Assert.Equal(0, registry.Count);
        foreach (var key in Enumerable.Range(0, 10))
        {
            Assert.True(await registry.IsFreeForOthersAsync(key.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
    }

    // KeyedSemaphores: TestsForKeyedSemaphoresCollection.ShouldNeverCreateTwoSemaphoresForTheSameKey (100 tasks
    // arriving at random moments on one key; random yields instead of random delays, seeded).
    [Fact]
    public async Task HundredTasksArrivingAtRandomOnOneKey_NeverOverlap_AndTheKeyIsFreedAfterwards()
    {
        var seed = TestSeed.Next();
        var random = new Random(seed);
        var yields = Enumerable.Range(0, 100).Select(_ => random.Next(20)).ToArray();
        using var registry = new KeyedLockRegistry();
        var detector = new OverlapDetector();

        async Task OccupyAsync(int task)
        {
            for (var y = 0; y < yields[task]; y++)
            {
                await Task.Yield();
            }

            await using var lease = await registry.AcquireAsync("1").Bounded();
            detector.Enter("1");
            detector.Exit("1");
        }

        await Task.WhenAll(Enumerable.Range(0, 100).Select(i => Task.Run(() => OccupyAsync(i)))).Bounded();

        detector.AssertNoViolations(TestSeed.Describe(seed));
        Assert.True(detector.MaxSeen == 1, TestSeed.Describe(seed));
        Assert.Equal(0, registry.Count);
    }

    // KeyedSemaphores: TestsForKeyedSemaphoresCollection.IsInUseShouldReturnTrueWhenLockedAndFalseWhenNotLocked.
    [Fact]
    public async Task AKeyIsInUseExactlyWhileItIsHeld()
    {
        using var registry = new KeyedLockRegistry();
        var results = new System.Collections.Concurrent.ConcurrentBag<string>();

        async Task OccupyAsync(int key)
        {
            var name = key.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (!await registry.IsFreeForOthersAsync(name))
            {
                results.Add($"{name} in use before");
            }

            await using (var lease = await registry.AcquireAsync(name).Bounded())
            {
                await Task.Yield();
                if (await registry.IsFreeForOthersAsync(name))
                {
                    results.Add($"{name} free while held");
                }
            }

            if (!await registry.IsFreeForOthersAsync(name))
            {
                results.Add($"{name} in use after");
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 10).Select(i => Task.Run(() => OccupyAsync(i)))).Bounded();

        Assert.Empty(results);
        Assert.Equal(0, registry.Count);
    }

    // KeyedSemaphores: TestsForKeyedSemaphoresCollection.Lock_WhenCancelled_ShouldReleaseKeyedSemaphoreAndThrowOperationCanceledException,
    // LockAsync_WhenCancelled_ShouldReleaseKeyedSemaphoreAndThrowOperationCanceledException.
    [Fact]
    public async Task AcquireWithACancelledToken_Throws_AndLeavesNothingBehind()
    {
        using var registry = new KeyedLockRegistry();
        var cancelled = new CancellationToken(true);

        var ex = await Assert.ThrowsAsync<TaskCanceledException>(async () =>
        {
            await using var lease = await registry.AcquireAsync("test", cancelled);
        }).Bounded();

        Assert.Equal(cancelled, ex.CancellationToken);
        Assert.Equal(0, registry.Count);
    }

    // KeyedSemaphores: TestsForKeyedSemaphoresCollection.Lock_WhenNotCancelled_ShouldReturnDisposable,
    // LockAsync_WhenNotCancelled_ShouldReturnDisposable.
    [Fact]
    public async Task AcquireWithALiveToken_ReturnsALease_ThatFreesTheKeyWhenDisposed()
    {
        using var registry = new KeyedLockRegistry();

        var lease = await registry.AcquireAsync("test", CancellationToken.None).Bounded();

        Assert.True(lease.IsHeld);
        Assert.False(await registry.IsFreeForOthersAsync("test"));
        lease.Dispose();
        Assert.True(await registry.IsFreeForOthersAsync("test"));
        Assert.Equal(0, registry.Count);
    }

    public static TheoryData<bool, bool> CallbackKinds => new()
    {
        { true, true },
        { true, false },
        { false, true },
        { false, false },
    };

    // KeyedSemaphores: TestsForKeyedSemaphoresCollection.TryLock_WhenCancelled_...AndNotInvokeCallback,
    // TryLockAsync_WithSynchronousCallback_WhenCancelled_..., TryLockAsync_WithAsynchronousCallback_WhenCancelled_...
    [Theory]
    [MemberData(nameof(CallbackKinds))]
    public async Task RunWithATimeoutAndACancelledToken_Throws_WithoutInvokingTheCallback(bool asynchronousCallback, bool useShortTimeout)
    {
        using var registry = new KeyedLockRegistry();
        var invoked = false;
        var cancelled = new CancellationToken(true);

        var run = asynchronousCallback
            ? registry.RunAsync("test", async _ => { await Task.Yield(); invoked = true; }, timeout: UpstreamTimeout(useShortTimeout), cancellationToken: cancelled)
            : registry.RunAsync("test", _ => { invoked = true; }, timeout: UpstreamTimeout(useShortTimeout), cancellationToken: cancelled);

        var ex = await Assert.ThrowsAsync<TaskCanceledException>(() => run).Bounded();
        Assert.Equal(cancelled, ex.CancellationToken);
        Assert.False(invoked);
        Assert.Equal(0, registry.Count);
    }

    // KeyedSemaphores: TestsForKeyedSemaphoresCollection.TryLock_WhenNotCancelled_ShouldInvokeCallbackAndReturnDisposable,
    // TryLockAsync_WithSynchronousCallback_WhenNotCancelled_..., TryLockAsync_WithAsynchronousCallback_WhenNotCancelled_...,
    // TryLock_WhenNotTimedOut_ShouldInvokeCallbackAndReturnTrue, TryLockAsync_WhenNotTimedOut_...
    [Theory]
    [MemberData(nameof(CallbackKinds))]
    public async Task RunWithATimeoutOnAFreeKey_InvokesTheCallbackUnderTheKey_AndFreesItAfterwards(bool asynchronousCallback, bool useShortTimeout)
    {
        using var registry = new KeyedLockRegistry();
        var heldDuringCallback = false;

        async Task CallbackAsync()
        {
            await Task.Yield();
            heldDuringCallback = !await registry.IsFreeForOthersAsync("test");
        }

        if (asynchronousCallback)
        {
            await registry.RunAsync("test", _ => CallbackAsync(), timeout: UpstreamTimeout(useShortTimeout)).Bounded();
        }
        else
        {
            await registry.RunAsync("test", _ => { heldDuringCallback = registry.QueueLength("test") == 0 && registry.Count == 1; }, timeout: UpstreamTimeout(useShortTimeout)).Bounded();
        }

        Assert.True(heldDuringCallback, "the callback runs while the key is held");
        Assert.Equal(0, registry.Count);
        Assert.True(await registry.IsFreeForOthersAsync("test"));
    }

    // KeyedSemaphores: TestsForKeyedSemaphoresCollection.TryLock_WhenTimedOut_ShouldNotInvokeCallbackAndReturnFalse,
    // TryLockAsync_WhenTimedOut_ShouldNotInvokeCallbackAndReturnFalse.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task RunWithATimeout_WhileTheKeyIsHeld_TimesOutWithoutInvokingTheCallback(bool useShortTimeout)
    {
        var time = new ManualTimeProvider();
        using var registry = new KeyedLockRegistry(null, time);
        await using var holder = await registry.AcquireAsync("test").Bounded();
        var invoked = false;

        var run = registry.RunAsync("test", _ => { invoked = true; }, timeout: UpstreamTimeout(useShortTimeout));

        Assert.Equal(1, registry.QueueLength("test"));
        time.Advance(UpstreamTimeout(useShortTimeout) - TimeSpan.FromTicks(1));
        Assert.False(run.IsCompleted, "the run waits until its timeout");
        time.Advance(TimeSpan.FromTicks(1));
        await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => run).Bounded();
        Assert.False(invoked);
        Assert.True(holder.IsHeld, "the key is still in use by its holder");
        Assert.Equal(0, registry.QueueLength("test"));
    }

    // KeyedSemaphores: TestsForKeyedSemaphoresCollection.TryLockAsync_WithoutCallback_ShouldReturnDisposable.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task TryWithATimeoutOnAFreeKey_ReturnsALease_ThatFreesTheKeyWhenDisposed(bool useShortTimeout)
    {
        using var registry = new KeyedLockRegistry();

        await using (var attempt = await registry.TryAcquireAsync("test", UpstreamTimeout(useShortTimeout)).Bounded())
        {
            Assert.True(attempt.Succeeded);
            Assert.False(await registry.IsFreeForOthersAsync("test"));
        }

        Assert.True(await registry.IsFreeForOthersAsync("test"));
        Assert.Equal(0, registry.Count);
    }

    // KeyedSemaphores: TestsForKeyedSemaphoresCollection.TryLockAsync_WithoutCallback_ShouldBlockConflictingTryLockAsync
    // (the same flow tries the key it holds: it waits out its timeout and fails, as on a semaphore).
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task TryWithATimeout_ByTheHolderItself_WaitsOutTheTimeout_AndFails(bool useShortTimeout)
    {
        var time = new ManualTimeProvider();
        using var registry = new KeyedLockRegistry(null, time);
        await using var first = await registry.TryAcquireAsync("test", UpstreamTimeout(useShortTimeout)).Bounded();

        var second = registry.TryAcquireAsync("test", UpstreamTimeout(useShortTimeout));

        Assert.False(second.IsCompleted);
        Assert.Equal(1, registry.QueueLength("test"));
        time.Advance(UpstreamTimeout(useShortTimeout));
        var result = await second.Bounded();
        Assert.True(first.Succeeded);
        Assert.False(result.Succeeded);
        Assert.Equal(KeyedLockFailureReason.TimedOut, result.FailureReason);
        Assert.True(first.Lease.IsHeld);
        Assert.Equal(0, time.ActiveTimers);
    }

    // KeyedSemaphores: TestsForKeyedSemaphoresCollection.TryLockAsync_WithoutCallback_ShouldBlockConflictingTryLockAsync_UntilDisposed.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task TryWithALongTimeout_WaitsUntilTheHolderDisposes_ThenSucceeds(bool useShortTimeout)
    {
        var time = new ManualTimeProvider();
        using var registry = new KeyedLockRegistry(null, time);
        var jobEntered = false;
        var jobComplete = false;

        async Task<bool> JobAsync()
        {
            jobEntered = true;
            await using var attempt = await registry.TryAcquireAsync("test", TimeSpan.FromDays(1)).Bounded();
            jobComplete = true;
            return attempt.Succeeded;
        }

        var first = await registry.TryAcquireAsync("test", UpstreamTimeout(useShortTimeout)).Bounded();
        var job = JobAsync();

        Assert.True(first.Succeeded);
        Assert.True(jobEntered);
        Assert.False(jobComplete);
        Assert.Equal(1, registry.QueueLength("test"));
        first.Dispose();
        Assert.True(await job.Bounded());
        Assert.True(jobComplete);
        Assert.Equal(0, registry.Count);
        Assert.Equal(0, time.ActiveTimers);
    }

    /// <summary>The upstream tests' two timeouts: just below and just above KeyedSemaphores' synchronous spin of 10 ms.</summary>
    private static TimeSpan UpstreamTimeout(bool useShortTimeout) => TimeSpan.FromMilliseconds(useShortTimeout ? 9 : 11);

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while (value > (seen = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
