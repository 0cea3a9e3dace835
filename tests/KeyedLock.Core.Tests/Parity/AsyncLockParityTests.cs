// Ported by hand from the tests of the JavaScript async-lock (rogierschouten/async-lock: test/test.js) to
// KeyedLockRegistry with its default options. lock.acquire(key, worker) is RunAsync (or AcquireAsync around the
// worker), lock.acquire([keys], ...) is the multi-key AcquireAsync, isBusy(key) is "a zero-timeout attempt by someone
// else fails", isBusy() is Count > 0, and the timeout and maxPending options are the timeout argument (on a
// ManualTimeProvider) and MaxQueueLengthPerKey.
//
// Skipped (no counterpart here):
// - 'Max occupation time test', 'Max execution time test': the registry does not bound how long a holder keeps a key.
// - 'reentrant lock in the same domain' (domainReentrant): there is no re-entrant mode; a nested acquisition of a held key waits, as on a semaphore (ported as such).
// - 'use bluebird promise', 'use ES6 promise', 'uses global Promise by default': there is no choice of promise library.
// - Callback-style workers (cb/done): the delegate's return value or exception is the completion (their error cases are ported).
namespace KeyedLock.Tests.Parity;

public sealed class AsyncLockParityTests
{
    // async-lock: 'Single key test' (8 tasks over 2 keys; random hold times become seeded random yields).
    [Fact]
    public async Task TasksOverTwoKeys_NeverRunTogetherOnOneKey_AndTheLockIsIdleAfterwards()
    {
        var seed = TestSeed.Next();
        var random = new Random(seed);
        var yields = Enumerable.Range(0, 8).Select(_ => random.Next(10)).ToArray();
        using var registry = new KeyedLockRegistry();
        var detector = new OverlapDetector();
        var busyWhileRunning = true;

        var tasks = Enumerable.Range(0, 8).Select(number => registry.RunAsync((number % 2).ToString(System.Globalization.CultureInfo.InvariantCulture), async _ =>
        {
            var key = (number % 2).ToString(System.Globalization.CultureInfo.InvariantCulture);
            detector.Enter(key);
            busyWhileRunning &= registry.Count > 0 && !await registry.IsFreeForOthersAsync(key);
            for (var y = 0; y < yields[number]; y++)
            {
                await Task.Yield();
            }

            detector.Exit(key);
            return number;
        })).ToArray();
        var results = await Task.WhenAll(tasks).Bounded();

        detector.AssertNoViolations(TestSeed.Describe(seed));
        Assert.True(busyWhileRunning, TestSeed.Describe(seed));
        Assert.Equal(Enumerable.Range(0, 8), results);
        Assert.Equal(0, registry.Count);
    }

    // async-lock: 'Multiple keys test' (task3 on [1, 2] waits for the tasks on 1 and on 2, and runs alone).
    [Fact]
    public async Task AMultiKeyTask_WaitsForTheTasksOnEachOfItsKeys()
    {
        using var registry = new KeyedLockRegistry();
        var gate1 = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate2 = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var busy1 = false;
        var busy2 = false;
        var task1 = registry.RunAsync("1", async _ => { busy1 = true; await gate1.Task; busy1 = false; });
        var task2 = registry.RunAsync("2", async _ => { busy2 = true; await gate2.Task; busy2 = false; });

        var task3 = registry.AcquireAsync(["1", "2"], Timeout.InfiniteTimeSpan).AsTask();

        Assert.False(task3.IsCompleted);
        gate1.SetResult();
        await task1.Bounded();

        // Key 1 went to task3 (whose continuation runs on the pool), which then queues on key 2.
        await TestWait.UntilAsync(() => registry.QueueLength("2") == 1, "task3 took key 1 and queued on key 2");
        Assert.False(task3.IsCompleted, "key 2 is still busy");
        gate2.SetResult();
        await task2.Bounded();
        await using (var both = await task3.Bounded())
        {
            Assert.False(busy1 || busy2);
            Assert.False(await registry.IsFreeForOthersAsync("1"));
            Assert.False(await registry.IsFreeForOthersAsync("2"));
        }

        Assert.Equal(0, registry.Count);
    }

    // async-lock: 'should allow lock names that are also Object keys' ('constructor'); more names a map of keys could
    // confuse with its own members.
    [Theory]
    [InlineData("constructor")]
    [InlineData("__proto__")]
    [InlineData("hasOwnProperty")]
    [InlineData("toString")]
    [InlineData("null")]
    [InlineData(" ")]
    public async Task NamesThatLookSpecial_AreOrdinaryKeys(string key)
    {
        using var registry = new KeyedLockRegistry();
        var client1Done = false;
        var first = await registry.AcquireAsync(key).Bounded();

        var second = registry.RunAsync(key, _ => client1Done);

        Assert.False(second.IsCompleted);
        client1Done = true;
        first.Dispose();
        Assert.True(await second.Bounded(), "the second client ran after the first one was done");
        Assert.Equal(0, registry.Count);
    }

    // async-lock: 'should allow lock names that are also Object keys', in its spirit: a single key that spells a
    // multi-key lease's display form ("a,b") is a different key from "a" and "b".
    [Fact]
    public async Task AKeyThatSpellsAMultiKeyLeasesName_IsItsOwnKey()
    {
        using var registry = new KeyedLockRegistry();
        await using var both = await registry.AcquireAsync(["a", "b"], Timeout.InfiniteTimeSpan).Bounded();
        Assert.Equal("a,b", both.Key);

        var lookalike = registry.AcquireAsync("a,b");

        Assert.True(lookalike.IsCompletedSuccessfully, "'a,b' is one key of its own");
        (await lookalike.Bounded()).Dispose();
        Assert.False(await registry.IsFreeForOthersAsync("a"));
        Assert.False(await registry.IsFreeForOthersAsync("b"));
    }

    // async-lock: 'Time out test' ({ timeout: 20 }; the holder keeps the key for 50).
    [Fact]
    public async Task AWaiterPastTheTimeout_IsRejected_WithoutRunning_AndTheHolderFinishesNormally()
    {
        var time = new ManualTimeProvider();
        using var registry = new KeyedLockRegistry(null, time);
        var holderGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var executed = false;
        var holding = registry.RunAsync("key", _ => holderGate.Task, timeout: TimeSpan.FromMilliseconds(20));

        var waiting = registry.RunAsync("key", _ => { executed = true; }, timeout: TimeSpan.FromMilliseconds(20));
        time.Advance(TimeSpan.FromMilliseconds(20));

        await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => waiting).Bounded();
        Assert.False(holding.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(30));
        holderGate.SetResult();
        await holding.Bounded();
        Assert.False(executed);
        Assert.Equal(0, registry.Count);
    }

    // async-lock: 'Time out test', with a key list: a multi-key acquisition that times out on its second key holds
    // nothing afterwards.
    [Fact]
    public async Task AMultiKeyWaiterPastTheTimeout_IsRejected_AndHoldsNoneOfItsKeys()
    {
        var time = new ManualTimeProvider();
        using var registry = new KeyedLockRegistry(null, time);
        var holder = await registry.AcquireAsync("key2").Bounded();

        var waiting = registry.AcquireAsync(["key1", "key2"], TimeSpan.FromMilliseconds(20)).AsTask();
        Assert.Equal(1, registry.QueueLength("key2"));
        time.Advance(TimeSpan.FromMilliseconds(20));

        var ex = await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => waiting).Bounded();
        Assert.Equal(TimeSpan.FromMilliseconds(20), ex.Timeout);
        Assert.True(await registry.IsFreeForOthersAsync("key1"), "the key taken first was released again");
        holder.Dispose();
        Assert.Equal(0, registry.Count);
    }

    // async-lock: 'Promise mode (Q)': eight concurrent non-atomic read-modify-writes under one key, then a key list
    // that waits for both of its keys' workers.
    [Fact]
    public async Task NonAtomicReadModifyWrites_UnderTheKey_LoseNoUpdate_AndAKeyListWaitsForBothKeys()
    {
        using var registry = new KeyedLockRegistry();
        var value = 0;
        const int concurrency = 8;

        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => registry.RunAsync("key", async _ =>
        {
            await Task.Yield();
            var tmp = value;
            await Task.Yield();
            value = tmp + 1;
        }))).Bounded();
        Assert.Equal(concurrency, value);

        var key1 = false;
        var key2 = false;
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var run1 = registry.RunAsync("key1", async _ => { key1 = true; await gate.Task; key1 = false; });
        var run2 = registry.RunAsync("key2", async _ => { key2 = true; await gate.Task; key2 = false; });
        var both = registry.AcquireAsync(["key1", "key2"], Timeout.InfiniteTimeSpan).AsTask();
        Assert.False(both.IsCompleted);
        gate.SetResult();
        await using (await both.Bounded())
        {
            Assert.False(key1 || key2, "the key list runs only after both workers finished");
        }

        await Task.WhenAll(run1, run2).Bounded();
        Assert.Equal(0, registry.Count);
    }

    // async-lock: 'reentrant lock in the same domain', without domainReentrant: a worker that acquires its own key
    // again is not re-entered. It waits like any other caller, so a nested zero-timeout try fails and a nested wait
    // with a timeout times out (as on a semaphore), and the outer worker then finishes and frees the key.
    [Fact]
    public async Task AWorkerAcquiringItsOwnKeyAgain_IsNotReentered_ItWaitsLikeAnyCaller()
    {
        var time = new ManualTimeProvider();
        using var registry = new KeyedLockRegistry(null, time);
        KeyedLockFailureReason probe = default;

        var outer = registry.RunAsync("key", async _ =>
        {
            probe = (await registry.TryAcquireAsync("key", TimeSpan.Zero).Bounded()).FailureReason;
            await registry.RunAsync("key", _ => { }, timeout: TimeSpan.FromMilliseconds(20)).Bounded();
        });

        await TestWait.UntilAsync(() => registry.QueueLength("key") == 1, "the nested run queued behind its own worker");
        Assert.False(outer.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(20));
        await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => outer).Bounded();
        Assert.Equal(KeyedLockFailureReason.TimedOut, probe);
        Assert.Equal(0, registry.Count);
    }

    public enum Failure
    {
        PromiseModeThrowing,
        PromiseModeReturningRejection,
        CallbackModeThrowing,
        CallbackModeReturningError,
    }

    // async-lock: 'Error handling: promise mode, throwing error', '... returning rejection', 'callback mode, throwing
    // error', 'callback mode, returning error'.
    [Theory]
    [InlineData(Failure.PromiseModeThrowing)]
    [InlineData(Failure.PromiseModeReturningRejection)]
    [InlineData(Failure.CallbackModeThrowing)]
    [InlineData(Failure.CallbackModeReturningError)]
    public async Task AFailingWorker_PassesItsErrorToTheCaller_AndLeavesTheLockIdle(Failure failure)
    {
        using var registry = new KeyedLockRegistry();
        var error = new InvalidOperationException("error");

        var run = failure switch
        {
            Failure.PromiseModeThrowing => registry.RunAsync("key", async _ =>
            {
                await Task.Yield();
                throw error;
            }),
            Failure.PromiseModeReturningRejection => registry.RunAsync("key", _ => Task.FromException(error)),
            Failure.CallbackModeThrowing => registry.RunAsync("key", (Func<CancellationToken, Task>)(_ => throw error)),
            _ => registry.RunAsync("key", _ => ValueTask.FromException(error)),
        };

        Assert.Same(error, await Assert.ThrowsAsync<InvalidOperationException>(() => run).Bounded());
        Assert.Equal(0, registry.Count);
        Assert.True(await registry.IsFreeForOthersAsync("key"));
    }

    // async-lock: 'Too much pending' ({ maxPending: 1 }).
    [Fact]
    public async Task BeyondMaxPending_TheNextWorkerIsRejected_AndThePendingOneStillRuns()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxQueueLengthPerKey = 1 });
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = registry.RunAsync("key", _ => gate.Task);
        var pending = registry.RunAsync("key", _ => 2);

        var rejected = registry.RunAsync("key", _ => 3);

        await Assert.ThrowsAsync<KeyedLockQueueFullException>(() => rejected).Bounded();
        gate.SetResult();
        await first.Bounded();
        Assert.Equal(2, await pending.Bounded());
        Assert.Equal(0, registry.Count);
    }

    // async-lock: 'Infinitely max pending' (the default: unbounded).
    [Fact]
    public async Task WithTheDefaultUnboundedQueue_EveryPendingWorkerRunsInTurn()
    {
        using var registry = new KeyedLockRegistry();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var order = new List<int>();
        var first = registry.RunAsync("key", _ => gate.Task);
        var pending = Enumerable.Range(0, 100).Select(i => registry.RunAsync("key", _ => { order.Add(i); })).ToArray();

        Assert.Equal(100, registry.QueueLength("key"));
        gate.SetResult();
        await Task.WhenAll(pending.Prepend(first)).Bounded();

        Assert.Equal(Enumerable.Range(0, 100), order);
        Assert.Equal(0, registry.Count);
    }

    // async-lock: 'set maxPending to 0'.
    [Fact]
    public async Task WithMaxPendingZero_AWorkerOnABusyKeyIsRejected_ButAFreeKeyStillRuns()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxQueueLengthPerKey = 0 });
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = registry.RunAsync("key", _ => gate.Task);

        await Assert.ThrowsAsync<KeyedLockQueueFullException>(() => registry.RunAsync("key", _ => { })).Bounded();
        Assert.Equal(7, await registry.RunAsync("other", _ => 7).Bounded());
        gate.SetResult();
        await first.Bounded();
        Assert.Equal(0, registry.Count);
    }

    // async-lock: 'invalid parameter' (lock.acquire('key', null)).
    [Fact]
    public async Task ANullWorker_IsRejected_ForEveryRunOverload()
    {
        using var registry = new KeyedLockRegistry();

        await Assert.ThrowsAsync<ArgumentNullException>(() => registry.RunAsync("key", (Func<CancellationToken, Task>)null!)).Bounded();
        await Assert.ThrowsAsync<ArgumentNullException>(() => registry.RunAsync("key", (Func<CancellationToken, ValueTask>)null!)).Bounded();
        await Assert.ThrowsAsync<ArgumentNullException>(() => registry.RunAsync("key", (Func<CancellationToken, Task<int>>)null!)).Bounded();
        await Assert.ThrowsAsync<ArgumentNullException>(() => registry.RunAsync("key", (Func<CancellationToken, ValueTask<int>>)null!)).Bounded();
        await Assert.ThrowsAsync<ArgumentNullException>(() => registry.RunAsync("key", (Action<CancellationToken>)null!)).Bounded();
        await Assert.ThrowsAsync<ArgumentNullException>(() => registry.RunAsync("key", (Func<CancellationToken, int>)null!)).Bounded();
        Assert.Equal(0, registry.Count);
    }

    // async-lock: the case of two back-to-back acquisitions of ['A', 'B', 'C'] (which once failed with a TypeError).
    [Fact]
    public async Task TwoBackToBackAcquisitionsOfTheSameKeyList_BothComplete_InOrder()
    {
        using var registry = new KeyedLockRegistry();
        var order = new List<int>();

        async Task WorkAsync(int id)
        {
            await using var lease = await registry.AcquireAsync(["A", "B", "C"], Timeout.InfiniteTimeSpan).Bounded();
            order.Add(id);
            await Task.Yield();
        }

        await Task.WhenAll(WorkAsync(1), WorkAsync(2)).Bounded();

        Assert.Equal([1, 2], order);
        Assert.Equal(0, registry.Count);
    }

    // async-lock: 'Allow queue skipping' ({ skipQueue: true } makes task 3 run before task 2). Adapted: the registry
    // has no skipQueue; waiters are granted strictly in arrival order and a newcomer never barges (architecture.md,
    // "Mutual exclusion per key, FIFO"), so the order is 1, 2, 3.
    [Fact]
    public async Task ALateWorker_CannotSkipTheQueue()
    {
        using var registry = new KeyedLockRegistry();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var completeTasks = new List<int>();
        var task1 = registry.RunAsync("key", async _ => { await gate.Task; completeTasks.Add(1); });
        var task2 = registry.RunAsync("key", _ => { completeTasks.Add(2); });
        var task3 = registry.RunAsync("key", _ => { completeTasks.Add(3); });

        gate.SetResult();
        await Task.WhenAll(task1, task2, task3).Bounded();

        Assert.Equal([1, 2, 3], completeTasks);
    }

    // async-lock: 'Promise Mode: should call worker even when no keys are locked', '... should pass worker's result
    // even when no keys are locked' (acquire([])). Adapted: an empty key list is rejected (IKeyedLockProvider: "Must not
    // be empty"; decisions.md, Core: keys must be non-empty), before anything is locked.
    [Fact]
    public void AnEmptyKeyList_IsRejected()
    {
        using var registry = new KeyedLockRegistry();

        Assert.Throws<ArgumentException>("keys", () => registry.AcquireAsync(Array.Empty<string>(), Timeout.InfiniteTimeSpan));
        Assert.Equal(0, registry.Count);
    }

    // async-lock: 'Promise Mode: should pass worker's result' (acquire(['key'], worker)).
    [Fact]
    public async Task AOneKeyList_LocksThatKey_AndTheWorkersResultPassesThrough()
    {
        using var registry = new KeyedLockRegistry();

        async Task<string> WorkerAsync()
        {
            await using var lease = await registry.AcquireAsync(["key"], Timeout.InfiniteTimeSpan).Bounded();
            Assert.Equal("key", lease.Key);
            Assert.False(await registry.IsFreeForOthersAsync("key"));
            return "result";
        }

        Assert.Equal("result", await WorkerAsync());
        Assert.Equal(0, registry.Count);
    }

    // async-lock: 'Does not mutate key array during batch acquire'.
    [Fact]
    public async Task AcquiringAKeyList_DoesNotMutateTheCallersArray()
    {
        using var registry = new KeyedLockRegistry();
        string[] keys = ["3", "1", "2", "1"];

        var lease = await registry.AcquireAsync(keys, Timeout.InfiniteTimeSpan).Bounded();
        lease.Dispose();

        Assert.Equal(["3", "1", "2", "1"], keys);
        Assert.Equal("1,2,3", lease.Key);
        Assert.Equal(0, registry.Count);
    }
}
