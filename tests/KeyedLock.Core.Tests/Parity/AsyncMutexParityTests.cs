// Ported by hand from the tests of the JavaScript async-mutex (DirtyHairy/async-mutex: test/mutex.ts,
// test/semaphoreSuite.ts, test/withTimeout.ts, test/tryAcquire.ts) to KeyedLockRegistry with its default options.
// One key plays one Mutex (a Semaphore(2) where MaxConcurrencyPerKey = 2); acquire() is AcquireAsync, runExclusive
// is RunAsync, isLocked() is "a zero-timeout attempt by someone else fails", withTimeout(..., ms) is the timeout
// argument (on a ManualTimeProvider instead of fake timers), tryAcquire(...) is TimeSpan.Zero.
//
// Skipped (no counterpart here):
// - Priorities (acquire/runExclusive/waitForUnlock "highest-priority first", "light high-priority tasks skip the line"): the registry is strictly FIFO.
// - waitForUnlock (all its cases): there is no wait that does not acquire.
// - mutex.release() / semaphore.release(n) without a releaser, and releasing an unlocked mutex through it: only a lease releases, and only its own grant (the lease form is ported).
// - Weights, getValue, setValue, negative initial values, "runExclusive passes semaphore value": a holder takes exactly one slot and the count is not exposed.
// - cancel() as one call for the whole mutex: a shared CancellationToken plays it (ported), and a custom cancel error maps to the Stop strategy's inner exception (ported).
namespace KeyedLock.Tests.Parity;

public sealed class AsyncMutexParityTests
{
    public static TheoryData<TimeSpan> MutexTimeouts => [Timeout.InfiniteTimeSpan, TimeSpan.FromMilliseconds(500)];

    // async-mutex mutex.ts: 'ownership is exclusive' (also run by withTimeout.ts 'Mutex API' with a 500 ms timeout).
    [Theory]
    [MemberData(nameof(MutexTimeouts))]
    public async Task Ownership_IsExclusive(TimeSpan timeout)
    {
        using var registry = new KeyedLockRegistry(null, new ManualTimeProvider());
        var release = await registry.AcquireAsync("mutex", timeout).Bounded();

        var second = registry.AcquireAsync("mutex", timeout);

        Assert.False(second.IsCompleted, "the second acquisition waits for the release");
        release.Dispose();
        Assert.True(second.IsCompletedSuccessfully, "and is granted by it");
        (await second.Bounded()).Dispose();
        Assert.Equal(0, registry.Count);
    }

    // async-mutex mutex.ts and semaphoreSuite.ts: 'runExclusive passes result (immediate)'.
    [Fact]
    public async Task RunExclusive_PassesAnImmediateResult()
    {
        using var registry = new KeyedLockRegistry();

        Assert.Equal(10, await registry.RunAsync("mutex", _ => 10).Bounded());
        Assert.Equal(0, registry.Count);
    }

    // async-mutex mutex.ts and semaphoreSuite.ts: 'runExclusive passes result (promise)'.
    [Fact]
    public async Task RunExclusive_PassesTheResultOfATask_AndOfAValueTask()
    {
        using var registry = new KeyedLockRegistry();

        Assert.Equal(10, await registry.RunAsync("mutex", _ => Task.FromResult(10)).Bounded());
        Assert.Equal(11, await registry.RunAsync("mutex", _ => new ValueTask<int>(11)).Bounded());
        Assert.Equal(0, registry.Count);
    }

    // async-mutex mutex.ts and semaphoreSuite.ts: 'runExclusive passes rejection'.
    [Fact]
    public async Task RunExclusive_PassesAFaultedTasksException()
    {
        using var registry = new KeyedLockRegistry();
        var foo = new InvalidOperationException("foo");

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => registry.RunAsync("mutex", _ => Task.FromException<int>(foo))).Bounded();

        Assert.Same(foo, ex);
        Assert.Equal(0, registry.Count);
    }

    // async-mutex mutex.ts and semaphoreSuite.ts: 'runExclusive passes exception'.
    [Fact]
    public async Task RunExclusive_PassesASynchronousException()
    {
        using var registry = new KeyedLockRegistry();
        var foo = new InvalidOperationException("foo");

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => registry.RunAsync("mutex", (Func<CancellationToken, int>)(_ => throw foo))).Bounded();

        Assert.Same(foo, ex);
        Assert.Equal(0, registry.Count);
    }

    // async-mutex mutex.ts: 'runExclusive is exclusive'.
    [Fact]
    public async Task RunExclusive_IsExclusive()
    {
        using var registry = new KeyedLockRegistry();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var flag = false;

        var first = registry.RunAsync("mutex", async _ =>
        {
            await gate.Task;
            flag = true;
        });
        var second = registry.RunAsync("mutex", _ => flag);

        Assert.False(second.IsCompleted);
        Assert.Equal(1, registry.QueueLength("mutex"));
        gate.SetResult();
        Assert.True(await second.Bounded(), "the second run starts only after the first one finished");
        await first.Bounded();
        Assert.Equal(0, registry.Count);
    }

    // async-mutex semaphoreSuite.ts: 'runExclusive is exclusive' (Semaphore(2): one slot taken by acquire()).
    [Fact]
    public async Task WithTwoSlots_RunExclusiveTakesTheFreeSlot_AndTheNextRunWaitsForIt()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = 2 });
        var taken = await registry.AcquireAsync("semaphore").Bounded();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var flag = false;

        var first = registry.RunAsync("semaphore", async _ =>
        {
            await gate.Task;
            flag = true;
        });
        var second = registry.RunAsync("semaphore", _ => flag);

        Assert.False(second.IsCompleted);
        gate.SetResult();
        Assert.True(await second.Bounded());
        await first.Bounded();
        taken.Dispose();
        Assert.Equal(0, registry.Count);
    }

    public static TheoryData<int> Slots => [1, 2];

    // async-mutex mutex.ts and semaphoreSuite.ts: 'exceptions during runExclusive do not leave mutex locked'.
    [Theory]
    [MemberData(nameof(Slots))]
    public async Task AnExceptionDuringRunExclusive_DoesNotLeaveTheKeyLocked(int slots)
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = slots });
        var others = new List<KeyedLockLease>();
        for (var i = 1; i < slots; i++)
        {
            others.Add(await registry.AcquireAsync("k").Bounded());
        }

        var flag = false;
        var failing = registry.RunAsync("k", (Func<CancellationToken, int>)(_ =>
        {
            flag = true;
            throw new InvalidOperationException();
        }));
        await Assert.ThrowsAsync<InvalidOperationException>(() => failing).Bounded();

        await registry.RunAsync("k", _ => { }).Bounded();
        Assert.True(flag);
        others.ForEach(l => l.Dispose());
        Assert.Equal(0, registry.Count);
    }

    // async-mutex mutex.ts and semaphoreSuite.ts: 'new mutex is unlocked'.
    [Fact]
    public async Task ANewRegistry_HasEveryKeyUnlocked()
    {
        using var registry = new KeyedLockRegistry();

        Assert.Equal(0, registry.Count);
        Assert.True(await registry.IsFreeForOthersAsync("mutex"));
    }

    // async-mutex mutex.ts: 'isLocked reflects the mutex state' (also under withTimeout's 'Mutex API').
    [Theory]
    [MemberData(nameof(MutexTimeouts))]
    public async Task IsLocked_ReflectsTheKeysState(TimeSpan timeout)
    {
        using var registry = new KeyedLockRegistry(null, new ManualTimeProvider());
        var lock1 = registry.AcquireAsync("mutex", timeout);
        var lock2 = registry.AcquireAsync("mutex", timeout);

        Assert.False(await registry.IsFreeForOthersAsync("mutex"));
        var releaser1 = await lock1.Bounded();
        Assert.False(await registry.IsFreeForOthersAsync("mutex"));
        releaser1.Dispose();
        Assert.False(await registry.IsFreeForOthersAsync("mutex"), "the release handed the key to the second waiter");
        var releaser2 = await lock2.Bounded();
        Assert.False(await registry.IsFreeForOthersAsync("mutex"));
        releaser2.Dispose();
        Assert.True(await registry.IsFreeForOthersAsync("mutex"));
    }

    // async-mutex semaphoreSuite.ts: 'isLocked reflects the semaphore state' (Semaphore(2), three acquisitions).
    [Fact]
    public async Task WithTwoSlots_IsLocked_ReflectsTheKeysState()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = 2 });
        var lock1 = registry.AcquireAsync("semaphore");
        var lock2 = registry.AcquireAsync("semaphore");
        var lock3 = registry.AcquireAsync("semaphore");

        Assert.False(await registry.IsFreeForOthersAsync("semaphore"));
        var releaser1 = await lock1.Bounded();
        releaser1.Dispose();
        Assert.False(await registry.IsFreeForOthersAsync("semaphore"), "the freed slot went to the third acquisition");
        var releaser2 = await lock2.Bounded();
        releaser2.Dispose();
        Assert.True(await registry.IsFreeForOthersAsync("semaphore"), "one slot is free again");
        (await lock3.Bounded()).Dispose();
        Assert.Equal(0, registry.Count);
    }

    // async-mutex mutex.ts: 'calling release on a unlocked mutex does not throw' (through a lease: releasing a released
    // lease, or default, does nothing, and in particular does not release the next holder).
    [Fact]
    public async Task ReleasingAnAlreadyReleasedLease_DoesNotThrow_NorReleaseTheNextHolder()
    {
        using var registry = new KeyedLockRegistry();
        var first = await registry.AcquireAsync("mutex").Bounded();
        first.Dispose();
        var second = await registry.AcquireAsync("mutex").Bounded();

        first.Dispose();
        await first.DisposeAsync();
        default(KeyedLockLease).Dispose();

        Assert.True(second.IsHeld);
        Assert.False(await registry.IsFreeForOthersAsync("mutex"));
        second.Dispose();
        Assert.Equal(0, registry.Count);
    }

    // async-mutex mutex.ts: 'multiple calls to release behave as expected'.
    [Fact]
    public async Task ThreeConcurrentAcquireIncrementRelease_CountToThree()
    {
        using var registry = new KeyedLockRegistry();
        var v = 0;

        async Task RunAsync()
        {
            var lease = await registry.AcquireAsync("mutex").Bounded();
            var read = v;
            await Task.Yield();
            v = read + 1;
            lease.Dispose();
        }

        await Task.WhenAll(RunAsync(), RunAsync(), RunAsync()).Bounded();

        Assert.Equal(3, v);
        Assert.Equal(0, registry.Count);
    }

    // async-mutex mutex.ts and semaphoreSuite.ts: 'cancel rejects all pending locks witth E_CANCELED'. Adapted: one
    // CancellationToken shared by the pending acquire and runExclusive plays mutex.cancel().
    [Theory]
    [MemberData(nameof(Slots))]
    public async Task CancellingTheSharedToken_RejectsEveryPendingAcquisitionAndRun(int slots)
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = slots });
        using var cancel = new CancellationTokenSource();
        var holders = new List<KeyedLockLease>();
        for (var i = 0; i < slots; i++)
        {
            holders.Add(await registry.AcquireAsync("k").Bounded());
        }

        var ticket = registry.AcquireAsync("k", cancel.Token);
        var ran = false;
        var result = registry.RunAsync("k", _ => { ran = true; }, cancellationToken: cancel.Token);
        Assert.Equal(2, registry.QueueLength("k"));

        cancel.Cancel();

        Assert.Equal(cancel.Token, (await Assert.ThrowsAsync<TaskCanceledException>(() => ticket.AsTask()).Bounded()).CancellationToken);
        Assert.Equal(cancel.Token, (await Assert.ThrowsAsync<TaskCanceledException>(() => result).Bounded()).CancellationToken);
        Assert.False(ran);
        Assert.All(holders, h => Assert.True(h.IsHeld));
        holders.ForEach(h => h.Dispose());
        Assert.Equal(0, registry.Count);
    }

    // async-mutex mutex.ts and semaphoreSuite.ts: 'cancel rejects with a custom error if provided'. Adapted: the
    // registry rejects a queue with a caller-chosen error through RunAsync's Stop strategy, which aborts the waiters
    // queued at the failure with KeyedLockAbortedException carrying that error (decisions.md, KeyedLockErrorStrategy.Stop).
    [Fact]
    public async Task StoppingOnAFailure_RejectsThePendingLocks_WithTheCustomError()
    {
        using var registry = new KeyedLockRegistry();
        var err = new InvalidOperationException("custom");
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var failing = registry.RunAsync("mutex", async _ =>
        {
            await gate.Task;
            throw err;
        }, KeyedLockErrorStrategy.Stop);
        var ticket = registry.AcquireAsync("mutex");

        gate.SetResult();

        Assert.Same(err, await Assert.ThrowsAsync<InvalidOperationException>(() => failing).Bounded());
        var aborted = await Assert.ThrowsAsync<KeyedLockAbortedException>(() => ticket.AsTask()).Bounded();
        Assert.Same(err, aborted.InnerException);
        Assert.Equal(0, registry.Count);
    }

    // async-mutex mutex.ts and semaphoreSuite.ts: 'a canceled waiter will not lock the mutex again'.
    [Theory]
    [MemberData(nameof(Slots))]
    public async Task ACancelledWaiter_DoesNotLockTheKeyAgain(int slots)
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = slots });
        using var cancel = new CancellationTokenSource();
        var holders = new List<KeyedLockLease>();
        for (var i = 0; i < slots; i++)
        {
            holders.Add(await registry.AcquireAsync("k").Bounded());
        }

        var waiter = registry.AcquireAsync("k", cancel.Token).AsTask();
        cancel.Cancel();
        await Assert.ThrowsAsync<TaskCanceledException>(() => waiter).Bounded();

        Assert.False(await registry.IsFreeForOthersAsync("k"));
        holders.ForEach(h => h.Dispose());
        Assert.True(await registry.IsFreeForOthersAsync("k"));
        Assert.Equal(0, registry.Count);
    }

    // async-mutex withTimeout.ts (Mutex and Semaphore): 'acquire clears timeout if lock is acquired'.
    [Theory]
    [MemberData(nameof(Slots))]
    public async Task AGrantedAcquisition_ClearsItsTimeout(int slots)
    {
        var time = new ManualTimeProvider();
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = slots }, time);
        var holders = new List<KeyedLockLease>();
        for (var i = 0; i < slots; i++)
        {
            holders.Add(await registry.AcquireAsync("k", TimeSpan.FromMilliseconds(100)).Bounded());
        }

        Assert.Equal(0, time.ActiveTimers);
        var waiter = registry.AcquireAsync("k", TimeSpan.FromMilliseconds(100));
        Assert.Equal(1, time.ActiveTimers);
        time.Advance(TimeSpan.FromMilliseconds(25));
        holders[0].Dispose();

        Assert.True(waiter.IsCompletedSuccessfully);
        Assert.Equal(0, time.ActiveTimers);
        time.Advance(TimeSpan.FromMilliseconds(200));
        var lease = await waiter.Bounded();
        Assert.True(lease.IsHeld, "a timer that was cleared cannot take the grant back");
        lease.Dispose();
        holders.Skip(1).ToList().ForEach(h => h.Dispose());
        Assert.Equal(0, registry.Count);
    }

    // async-mutex withTimeout.ts (Mutex and Semaphore): 'acquire rejects with timeout error if timeout is exceeded'.
    [Theory]
    [MemberData(nameof(Slots))]
    public async Task AnAcquisition_PastItsTimeout_IsRejectedWithATimeoutError(int slots)
    {
        var time = new ManualTimeProvider();
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = slots }, time);
        var holders = new List<KeyedLockLease>();
        for (var i = 0; i < slots; i++)
        {
            holders.Add(await registry.AcquireAsync("k").Bounded());
        }

        var ticket = registry.AcquireAsync("k", TimeSpan.FromMilliseconds(100));
        time.Advance(TimeSpan.FromMilliseconds(110));

        var ex = await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => ticket.AsTask()).Bounded();
        Assert.Equal("k", ex.Key);
        Assert.Equal(TimeSpan.FromMilliseconds(100), ex.Timeout);
        holders.ForEach(h => h.Dispose());
        Assert.Equal(0, registry.Count);
    }

    // async-mutex withTimeout.ts (Mutex and Semaphore): 'after a timeout, acquire does automatically release the mutex
    // once it is acquired' (here a timed-out waiter is never granted at all: the key is simply free afterwards).
    [Theory]
    [MemberData(nameof(Slots))]
    public async Task AfterATimeout_TheReleasedKeyIsFree_ForTheNextAcquisition(int slots)
    {
        var time = new ManualTimeProvider();
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = slots }, time);
        var holders = new List<KeyedLockLease>();
        for (var i = 0; i < slots; i++)
        {
            holders.Add(await registry.AcquireAsync("k").Bounded());
        }

        var timedOut = registry.AcquireAsync("k", TimeSpan.FromMilliseconds(100)).AsTask();
        time.Advance(TimeSpan.FromMilliseconds(160));
        await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => timedOut).Bounded();
        holders.ForEach(h => h.Dispose());

        var next = registry.AcquireAsync("k", TimeSpan.FromMilliseconds(100));
        Assert.True(next.IsCompletedSuccessfully, "nothing holds the key any more");
        (await next.Bounded()).Dispose();
        Assert.Equal(0, registry.Count);
    }

    // async-mutex withTimeout.ts: 'runExclusive rejects with E_TIMEOUT if no error is specified' (and the Semaphore
    // form 'runExclusive rejects with timeout error if timeout is exceeded'), 'runExclusive does not run the callback
    // if timeout is exceeded'.
    [Theory]
    [MemberData(nameof(Slots))]
    public async Task RunExclusive_PastItsTimeout_IsRejected_WithoutRunningTheCallback(int slots)
    {
        var time = new ManualTimeProvider();
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = slots }, time);
        var holders = new List<KeyedLockLease>();
        for (var i = 0; i < slots; i++)
        {
            holders.Add(await registry.AcquireAsync("k").Bounded());
        }

        var flag = false;
        var result = registry.RunAsync("k", _ => { flag = true; }, timeout: TimeSpan.FromMilliseconds(100));
        time.Advance(TimeSpan.FromMilliseconds(110));

        await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => result).Bounded();
        holders.ForEach(h => h.Dispose());
        Assert.False(flag);
        Assert.Equal(0, registry.Count);
    }

    // async-mutex withTimeout.ts (Mutex and Semaphore): 'after a timeout, runExclusive automatically releases the
    // mutex once it is acquired'.
    [Fact]
    public async Task AfterARunTimedOut_TheNextRunOnTheReleasedKeyRunsAtOnce()
    {
        var time = new ManualTimeProvider();
        using var registry = new KeyedLockRegistry(null, time);
        var holder = await registry.AcquireAsync("mutex").Bounded();
        var result = registry.RunAsync("mutex", _ => { }, timeout: TimeSpan.FromMilliseconds(100));
        time.Advance(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => result).Bounded();
        holder.Dispose();

        var flag = false;
        var next = registry.RunAsync("mutex", _ => { flag = true; });

        Assert.True(next.IsCompletedSuccessfully, "a free key runs the callback without waiting");
        await next.Bounded();
        Assert.True(flag);
        Assert.Equal(0, registry.Count);
    }

    // async-mutex withTimeout.ts (Mutex and Semaphore): 'a canceled lock with timeout will not lock the mutex again'
    // (cancelled at 120 ms, after its 100 ms timeout, as upstream; and at 50 ms, before it, which must also clear the timer).
    [Theory]
    [InlineData(120)]
    [InlineData(50)]
    public async Task ALockWithATimeout_ThatIsCancelled_DoesNotLockTheKeyAgain(int cancelAtMs)
    {
        var time = new ManualTimeProvider();
        using var registry = new KeyedLockRegistry(null, time);
        using var cancel = new CancellationTokenSource();
        var holder = await registry.AcquireAsync("mutex").Bounded();
        var ticket = registry.AcquireAsync("mutex", TimeSpan.FromMilliseconds(100), cancel.Token).AsTask();

        time.Advance(TimeSpan.FromMilliseconds(cancelAtMs));
        cancel.Cancel();

        if (cancelAtMs > 100)
        {
            await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => ticket).Bounded();
        }
        else
        {
            Assert.Equal(cancel.Token, (await Assert.ThrowsAsync<TaskCanceledException>(() => ticket).Bounded()).CancellationToken);
        }

        Assert.Equal(0, time.ActiveTimers);
        Assert.False(await registry.IsFreeForOthersAsync("mutex"));
        holder.Dispose();
        Assert.True(await registry.IsFreeForOthersAsync("mutex"));
        Assert.Equal(0, registry.Count);
    }

    // async-mutex semaphoreSuite.ts: 'acquire allows heavy items to run eventually' (two loops keep re-acquiring;
    // without weights, the late acquisition is simply a third caller). FIFO bounds its wait: at the moment it queues,
    // at most one loop holds (granted, maybe not yet running) and one is queued, so it is at most the third grant after.
    [Fact]
    public async Task ALateAcquisition_IsNotStarvedByLoopsThatKeepReacquiring()
    {
        using var registry = new KeyedLockRegistry();
        var gate = new Lock();
        var log = new List<string>();
        var done = false;

        async Task LightLoopAsync(string name)
        {
            for (var i = 0; i < 1000 && !Volatile.Read(ref done); i++)
            {
                var lease = await registry.AcquireAsync("semaphore").Bounded();
                lock (gate)
                {
                    log.Add(name);
                }

                await Task.Yield();
                lease.Dispose();
            }
        }

        var loops = new[] { Task.Run(() => LightLoopAsync("light1")), Task.Run(() => LightLoopAsync("light2")) };
        await TestWait.UntilAsync(() => { lock (gate) { return log.Count >= 10; } }, "both loops got going");
        var heavy = registry.AcquireAsync("semaphore");
        int queuedAt;
        lock (gate)
        {
            queuedAt = log.Count;
        }

        var lease = await heavy.Bounded();
        int grantedAt;
        lock (gate)
        {
            grantedAt = log.Count;
            log.Add("heavy");
        }

        Volatile.Write(ref done, true);
        lease.Dispose();
        await Task.WhenAll(loops).Bounded();
        Assert.True(grantedAt - queuedAt <= 2, $"the late acquisition waited for {grantedAt - queuedAt} grants: {string.Join(", ", log.Skip(queuedAt))}");
        Assert.Equal(0, registry.Count);
    }

    // async-mutex semaphoreSuite.ts: 'acquire does not block while the semaphore has not reached zero'.
    [Fact]
    public async Task WithTwoSlots_TwoAcquisitionsDoNotBlock()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = 2 });

        var first = registry.AcquireAsync("semaphore");
        var second = registry.AcquireAsync("semaphore");

        Assert.True(first.IsCompletedSuccessfully);
        Assert.True(second.IsCompletedSuccessfully);
        (await first.Bounded()).Dispose();
        (await second.Bounded()).Dispose();
        Assert.Equal(0, registry.Count);
    }

    // async-mutex semaphoreSuite.ts: 'acquire blocks when the semaphore has reached zero until it is released again'.
    [Fact]
    public async Task WithTwoSlots_TheThirdAcquisitionBlocks_UntilOneIsReleased()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = 2 });
        var first = await registry.AcquireAsync("semaphore").Bounded();
        var second = await registry.AcquireAsync("semaphore").Bounded();

        var third = registry.AcquireAsync("semaphore");

        Assert.False(third.IsCompleted);
        second.Dispose();
        Assert.True(third.IsCompletedSuccessfully);
        (await third.Bounded()).Dispose();
        first.Dispose();
        Assert.Equal(0, registry.Count);
    }

    // async-mutex semaphoreSuite.ts: 'the semaphore increments again after a release'.
    [Fact]
    public async Task WithTwoSlots_BothSlotsComeBackAfterTheReleases()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = 2 });
        (await registry.AcquireAsync("semaphore").Bounded()).Dispose();
        var a = await registry.AcquireAsync("semaphore").Bounded();
        var b = await registry.AcquireAsync("semaphore").Bounded();
        a.Dispose();
        b.Dispose();

        var again1 = registry.AcquireAsync("semaphore");
        var again2 = registry.AcquireAsync("semaphore");

        Assert.True(again1.IsCompletedSuccessfully && again2.IsCompletedSuccessfully, "two slots are free again");
        (await again1.Bounded()).Dispose();
        (await again2.Bounded()).Dispose();
        Assert.Equal(0, registry.Count);
    }

    // async-mutex semaphoreSuite.ts: 'the releaser is idempotent'.
    [Fact]
    public async Task WithTwoSlots_ReleasingTwice_FreesOnlyOneSlot()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = 2 });
        var first = await registry.AcquireAsync("semaphore").Bounded();
        var second = await registry.AcquireAsync("semaphore").Bounded();
        var third = registry.AcquireAsync("semaphore");
        var fourth = registry.AcquireAsync("semaphore");

        first.Dispose();
        first.Dispose();

        Assert.True(third.IsCompletedSuccessfully);
        Assert.False(fourth.IsCompleted, "the second release of the same lease must not free another slot");
        second.Dispose();
        Assert.True(fourth.IsCompletedSuccessfully);
        (await third.Bounded()).Dispose();
        (await fourth.Bounded()).Dispose();
        Assert.Equal(0, registry.Count);
    }

    // async-mutex tryAcquire.ts (Mutex and Semaphore): 'acquire rejects with error if mutex is already locked',
    // 'acquire rejects with E_ALREADY_LOCKED if no error is provided'.
    [Theory]
    [MemberData(nameof(Slots))]
    public async Task TryAcquire_OnAFullKey_IsRejectedAtOnce(int slots)
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = slots });
        var holders = new List<KeyedLockLease>();
        for (var i = 0; i < slots; i++)
        {
            holders.Add(await registry.AcquireAsync("k", TimeSpan.Zero).Bounded());
        }

        var ticket = registry.AcquireAsync("k", TimeSpan.Zero);
        var attempt = registry.TryAcquireAsync("k", TimeSpan.Zero);

        Assert.True(ticket.IsFaulted);
        await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => ticket.AsTask()).Bounded();
        Assert.Equal(KeyedLockFailureReason.TimedOut, (await attempt.Bounded()).FailureReason);
        Assert.Equal(0, registry.QueueLength("k"));
        holders.ForEach(h => h.Dispose());
        Assert.Equal(0, registry.Count);
    }

    // async-mutex tryAcquire.ts (Mutex and Semaphore): 'acquire locks the mutex if it is not already locked'.
    [Theory]
    [MemberData(nameof(Slots))]
    public async Task TryAcquire_OnAKeyWithFreeSlots_LocksIt(int slots)
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = slots });
        var holders = new List<KeyedLockLease>();
        for (var i = 0; i < slots; i++)
        {
            var acquired = registry.AcquireAsync("k", TimeSpan.Zero);
            Assert.True(acquired.IsCompletedSuccessfully);
            holders.Add(await acquired.Bounded());
        }

        Assert.False(await registry.IsFreeForOthersAsync("k"));
        holders.ForEach(h => h.Dispose());
        Assert.Equal(0, registry.Count);
    }
}
