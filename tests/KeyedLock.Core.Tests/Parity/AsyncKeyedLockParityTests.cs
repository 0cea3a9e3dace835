// Ported by hand from the tests of AsyncKeyedLock (MarkCiliaVincenti/AsyncKeyedLock, AsyncKeyedLock.Tests:
// AsyncKeyedLocker/OriginalTests, AsyncNonKeyedLockerTests/OriginalTests, AsyncKeyedLocker/StressTests,
// ConcurrencyDetectionTests) to KeyedLockRegistry with its default options.
//
// Skipped (no counterpart here):
// - Synchronous Lock/LockOrNull/TryLock overloads and their out-parameter forms: the registry is async-only (its async forms are ported).
// - Int32 millisecond timeouts: timeouts are TimeSpans (the TimeSpan forms are ported).
// - IsInUseRaceConditionCoverage, IsInUseKeyChangeRaceConditionCoverage, TryIncrementNoPoolingCoverage: they poke AsyncKeyedLock's internal pool.
// - PoolSize/PoolInitialFill, custom comparers, concurrency level and capacity constructors: no such options (keys are ordinal strings).
// - TestDisposeDoesNotThrowDespiteDisposedSemaphoreSlim: there is no SemaphoreSlim per key to dispose.
// - GetRemainingCount/GetCurrentCount and Index: no per-key counters in the public API (Count and a zero-timeout probe are used instead).
// - ConfigureAwaitOptions.ForceYielding and the continueOnCapturedContext parameter: the caller's own ConfigureAwait decides.
// - StripedAsyncKeyedLocker tests: striping is AsyncKeyedLock's internal choice, its semantics are the same as the ported ones.
// - StressTests.ConcurrentDispose and the pooling stress variants: no pool; the plain stress test is ported, shortened.
namespace KeyedLock.Tests.Parity;

public sealed class AsyncKeyedLockParityTests
{
    public static TheoryData<bool, bool> RecursionVariants => new()
    {
        { false, false },
        { false, true },
        { true, false },
        { true, true },
    };

    // AsyncKeyedLock: OriginalTests.TestRecursionAsync, TestRecursionWithCancellationTokenAsync,
    // TestRecursionWithTimeSpanAsync, TestRecursionWithTimeSpanAndCancellationTokenAsync (ConditionalLockAsync).
    [Theory]
    [MemberData(nameof(RecursionVariants))]
    public async Task ConditionalRecursion_TakesTheKeyOnlyInTheOutermostFrame_AndReleasesItAfterTheLastOne(bool zeroTimeout, bool withToken)
    {
        using var registry = new KeyedLockRegistry();
        using var cts = new CancellationTokenSource();
        var token = withToken ? cts.Token : CancellationToken.None;
        var timeout = zeroTimeout ? TimeSpan.Zero : Timeout.InfiniteTimeSpan;
        var heldInEveryFrame = true;

        async Task<double> Factorial(int number, bool isFirst = true)
        {
            // ConditionalLockAsync: only the outermost call acquires; the nested frames run under its lease.
            var lease = isFirst ? await registry.AcquireAsync("test123", timeout, token).Bounded() : default;
            try
            {
                heldInEveryFrame &= !await registry.IsFreeForOthersAsync("test123");
                return number == 0 ? 1 : number * await Factorial(number - 1, false);
            }
            finally
            {
                lease.Dispose();
            }
        }

        Assert.Equal(120, await Factorial(5));
        Assert.True(heldInEveryFrame, "every frame of the recursion must run while the key is held");
        Assert.Equal(0, registry.Count);
    }

    // AsyncKeyedLock: OriginalTests.TestTimeoutBasic, TestTimeoutOrNullBasic (LockAsync(key, 0) on a free key).
    [Fact]
    public async Task ZeroTimeoutOnAFreeKey_EntersAtOnce_AndTheKeyIsInUseUntilReleased()
    {
        using var registry = new KeyedLockRegistry();

        var attempt = registry.TryAcquireAsync("test", TimeSpan.Zero);

        Assert.True(attempt.IsCompletedSuccessfully, "a free key is granted without waiting");
        await using (var entered = await attempt.Bounded())
        {
            Assert.True(entered.Succeeded);
            Assert.True(entered.Lease.IsHeld);
            Assert.Equal(1, registry.Count);
            Assert.False(await registry.IsFreeForOthersAsync("test"));
        }

        Assert.Equal(0, registry.Count);
        Assert.True(await registry.IsFreeForOthersAsync("test"));
    }

    // AsyncKeyedLock: OriginalTests.TestTimeout, TestTimeoutWithTimeSpan (LockAsync(key, 0) by the holder itself).
    [Fact]
    public async Task ZeroTimeoutTry_ByTheHolderItself_IsNotEntered_AndTheKeyStaysInUse()
    {
        using var registry = new KeyedLockRegistry();
        await using (var lease = await registry.AcquireAsync("test").Bounded())
        {
            var nested = await registry.TryAcquireAsync("test", TimeSpan.Zero).Bounded();

            Assert.False(nested.Succeeded);
            Assert.Equal(KeyedLockFailureReason.TimedOut, nested.FailureReason);
            nested.Dispose(); // disposing the failed attempt must not release the holder's grant
            Assert.True(lease.IsHeld);
            Assert.Equal(0, registry.QueueLength("test"));
            Assert.False(await registry.IsFreeForOthersAsync("test"));
        }

        Assert.Equal(0, registry.Count);
    }

    // AsyncKeyedLock: OriginalTests.TestTimeoutOrNull, TestTimeoutOrNullWithTimeSpan (LockOrNullAsync: the throwing
    // form here is AcquireAsync, which reports the timeout as KeyedLockTimeoutException instead of null).
    [Fact]
    public async Task ZeroTimeoutAcquire_ByTheHolderItself_FailsAtOnceWithATimeout_AndTheKeyStaysInUse()
    {
        using var registry = new KeyedLockRegistry();
        await using (var lease = await registry.AcquireAsync("test").Bounded())
        {
            var nested = registry.AcquireAsync("test", TimeSpan.Zero);

            Assert.True(nested.IsFaulted, "a zero timeout never waits");
            var ex = await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => nested.AsTask()).Bounded();
            Assert.Equal("test", ex.Key);
            Assert.Equal(TimeSpan.Zero, ex.Timeout);
            Assert.True(lease.IsHeld);
        }

        Assert.Equal(0, registry.Count);
    }

    // AsyncKeyedLock: OriginalTests.TestTimeoutWithZeroTimeoutAndCancellationToken,
    // TestTimeoutOrNullWithZeroTimeoutAndCancellationToken.
    [Fact]
    public async Task ZeroTimeoutWithALiveToken_EntersAFreeKey_ButNotTheSameKeyAgain()
    {
        using var registry = new KeyedLockRegistry();
        using var cts = new CancellationTokenSource();
        await using (var outer = await registry.TryAcquireAsync("test", TimeSpan.Zero, cts.Token).Bounded())
        {
            Assert.True(outer.Succeeded);

            var inner = await registry.TryAcquireAsync("test", TimeSpan.Zero, cts.Token).Bounded();

            Assert.Equal(KeyedLockFailureReason.TimedOut, inner.FailureReason);
            Assert.True(outer.Lease.IsHeld);
        }

        Assert.Equal(0, registry.Count);
    }

    public static TheoryData<TimeSpan> TimeoutsForACancelledToken => [TimeSpan.Zero, Timeout.InfiniteTimeSpan, TimeSpan.FromMinutes(1)];

    // AsyncKeyedLock: OriginalTests.TestTimeoutWithZeroTimeoutAndCancelledToken,
    // TestTimeoutWithZeroTimeSpanAndCancelledToken (and the OrNull forms): a cancelled token wins over a free key.
    [Theory]
    [MemberData(nameof(TimeoutsForACancelledToken))]
    public async Task CancelledToken_OnAFreeKey_ThrowsTaskCanceled_AndLeavesTheKeyUnused(TimeSpan timeout)
    {
        using var registry = new KeyedLockRegistry();
        var cancelled = new CancellationToken(true);

        var acquire = await Assert.ThrowsAsync<TaskCanceledException>(() => registry.AcquireAsync("test", timeout, cancelled).AsTask()).Bounded();
        var attempt = await Assert.ThrowsAsync<TaskCanceledException>(() => registry.TryAcquireAsync("test", timeout, cancelled).AsTask()).Bounded();

        Assert.Equal(cancelled, acquire.CancellationToken);
        Assert.Equal(cancelled, attempt.CancellationToken);
        Assert.Equal(0, registry.Count);
        Assert.True(await registry.IsFreeForOthersAsync("test"));
    }

    // AsyncKeyedLock: OriginalTests.TestTimeoutWithInfiniteTimeSpanSynchronous,
    // TestTimeoutWithInfiniteTimeSpanAndCancellationToken (TimeSpan.FromMilliseconds(Timeout.Infinite)).
    [Fact]
    public async Task InfiniteTimeSpanBuiltFromMilliseconds_IsAcceptedAsInfinite_AndWaitsForTheRelease()
    {
        using var registry = new KeyedLockRegistry();
        using var cts = new CancellationTokenSource();
        var infinite = TimeSpan.FromMilliseconds(Timeout.Infinite);
        var first = await registry.AcquireAsync("test", infinite, cts.Token).Bounded();

        var second = registry.AcquireAsync("test", infinite, cts.Token);

        Assert.False(second.IsCompleted);
        first.Dispose();
        Assert.True(second.IsCompletedSuccessfully, "the release hands the key to the waiter");
        (await second.Bounded()).Dispose();
        Assert.Equal(0, registry.Count);
    }

    // AsyncKeyedLock: OriginalTests.TestTimeoutTryLock (TryLock(key, callback, 0) while the key is held).
    [Fact]
    public async Task RunWithZeroTimeout_WhileTheKeyIsHeld_FailsWithoutRunningTheCallback()
    {
        using var registry = new KeyedLockRegistry();
        var invoked = false;
        await using (var lease = await registry.AcquireAsync("test").Bounded())
        {
            var run = registry.RunAsync("test", _ => { invoked = true; }, timeout: TimeSpan.Zero);

            await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => run).Bounded();
            Assert.True(lease.IsHeld);
        }

        Assert.False(invoked);
        Assert.Equal(0, registry.Count);
    }

    // AsyncKeyedLock: AsyncNonKeyedLockerTests/OriginalTests.TestMaxCount (a locker with MaxCount 2).
    [Fact]
    public async Task MaxCountTwo_AdmitsTwoHolders_TheThirdMustWait_AndAllSlotsComeBack()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = 2 });
        Assert.Equal(2, registry.MaxConcurrencyPerKey);
        var first = await registry.AcquireAsync("k").Bounded();

        var second = registry.AcquireAsync("k");

        Assert.True(second.IsCompletedSuccessfully, "one slot is still free");
        var secondLease = await second.Bounded();
        Assert.False(await registry.IsFreeForOthersAsync("k"), "both slots are taken");
        first.Dispose();
        secondLease.Dispose();
        Assert.Equal(0, registry.Count);
        Assert.True(await registry.IsFreeForOthersAsync("k"));
    }

    // AsyncKeyedLock: OriginalTests.TestMaxCountLessThan1, TestMaxCount1ShouldNotThrow, TestReadingMaxCount.
    [Fact]
    public void MaxCountBelowOne_IsRejected_OneIsTheDefault()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = 0 }));
        using var registry = new KeyedLockRegistry();
        Assert.Equal(1, registry.MaxConcurrencyPerKey);
        using var explicitOne = new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = 1 });
        Assert.Equal(1, explicitOne.MaxConcurrencyPerKey);
    }

    // AsyncKeyedLock: OriginalTests.Null_Parameters_Should_Throw (here null options mean the defaults, as documented
    // on the constructor; a null key is the argument that throws).
    [Fact]
    public async Task NullOptions_MeanTheDefaults_ButANullKeyThrows()
    {
        using var registry = new KeyedLockRegistry(null);

        Assert.Equal(1, registry.MaxConcurrencyPerKey);
        Assert.Equal(KeyedLockOptions.UnboundedQueue, registry.MaxQueueLengthPerKey);
        Assert.Throws<ArgumentNullException>("key", () => registry.AcquireAsync(null!));
        Assert.Throws<ArgumentNullException>("key", () => registry.TryAcquireAsync(null!, TimeSpan.Zero));
        await Assert.ThrowsAsync<ArgumentNullException>(() => registry.RunAsync(null!, _ => { })).Bounded();
        Assert.Equal(0, registry.Count);
    }

    // AsyncKeyedLock: OriginalTests.DoubleDispose_ShouldNotThrow, TestDisposeDoesNotThrow (dispose while a key is
    // held). The registry's Dispose only releases its meter; held leases stay valid (its documented contract).
    [Fact]
    public async Task DisposingTheRegistryTwice_WhileAKeyIsHeld_DoesNotThrow_AndTheLeaseStillReleases()
    {
        var registry = new KeyedLockRegistry();
        var lease = await registry.AcquireAsync("test").Bounded();

        registry.Dispose();
        registry.Dispose();

        Assert.True(lease.IsHeld);
        lease.Dispose();
        Assert.False(lease.IsHeld);
        Assert.Equal(0, registry.Count);
    }

    // AsyncKeyedLock: OriginalTests.TestContinueOnCapturedContextTrue / TestContinueOnCapturedContextFalse: a
    // caller's plain await of a queued acquisition resumes on its SynchronizationContext; ConfigureAwait(false) does not.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AwaitingAQueuedAcquisition_ResumesOnTheCapturedContext_OnlyWhenTheCallerAsksForIt(bool continueOnCapturedContext)
    {
        using var registry = new KeyedLockRegistry();
        var holder = await registry.HoldAsync("test");
        var context = new SynchronizationContextTests.CountingContext();

        var waiter = context.Run(() => AwaitQueuedAsync(registry, continueOnCapturedContext));

        Assert.Equal(1, registry.QueueLength("test"));
        await Task.Run(holder.Dispose).Bounded();
        await waiter.Bounded();
        Assert.Equal(continueOnCapturedContext ? 1 : 0, context.Posts);
        Assert.Equal(0, registry.Count);
    }

    // AsyncKeyedLock: ConcurrencyDetectionTests.DetectConcurrency_WithoutPooling / _Synchronous_WithPooling: many
    // tasks try a zero-timeout lock in a loop; those that get it must never overlap. Shortened.
    [Fact]
    [Trait("Category", "Stress")]
    public async Task ZeroTimeoutTries_FromManyTasks_NeverOverlap()
    {
        using var registry = new KeyedLockRegistry();
        var detector = new OverlapDetector();
        var entered = 0;

        var tasks = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 500; i++)
            {
                await using var attempt = await registry.TryAcquireAsync("k", TimeSpan.Zero).Bounded();
                if (attempt.Succeeded)
                {
                    Interlocked.Increment(ref entered);
                    detector.Enter("k");
                    await Task.Yield();
                    detector.Exit("k");
                }
            }
        }));
        await Task.WhenAll(tasks).Bounded();

        detector.AssertNoViolations();
        Assert.Equal(1, detector.MaxSeen);
        Assert.InRange(entered, 1, 8 * 500);
        Assert.Equal(0, registry.Count);
    }

    // AsyncKeyedLock: StressTests.StressTest / StressTestGenerics: many tasks per key record enter and exit; no key
    // may be entered twice at once. Shortened (50 keys x 10 tasks, yields instead of delays).
    [Fact]
    [Trait("Category", "Stress")]
    public async Task ManyTasksPerKey_RecordEnterAndExit_NoKeyIsEverEnteredTwice()
    {
        const int keys = 50;
        const int perKey = 10;
        using var registry = new KeyedLockRegistry();
        var log = new System.Collections.Concurrent.ConcurrentQueue<(bool Entered, int Key)>();

        var tasks = Enumerable.Range(0, keys * perKey).Select(async i =>
        {
            var key = i / perKey;
            await using var lease = await registry.AcquireAsync(key.ToString(System.Globalization.CultureInfo.InvariantCulture)).Bounded();
            await Task.Yield();
            log.Enqueue((true, key));
            await Task.Yield();
            log.Enqueue((false, key));
        });
        await Task.WhenAll(tasks).Bounded();

        Assert.Equal(keys * perKey * 2, log.Count);
        var inside = new HashSet<int>();
        foreach (var (isEnter, key) in log)
        {
            Assert.True(isEnter ? inside.Add(key) : inside.Remove(key), $"key {key} was {(isEnter ? "entered twice" : "left without being entered")}");
        }

        Assert.Empty(inside);
        Assert.Equal(0, registry.Count);
    }

    // Awaits the registry's own ValueTask (not a Task wrapping it), so that its awaiter is what is tested; the test
    // bounds the task this returns.
    private static async Task AwaitQueuedAsync(KeyedLockRegistry registry, bool continueOnCapturedContext)
    {
        var lease = await registry.AcquireAsync("test").ConfigureAwait(continueOnCapturedContext);
        lease.Dispose();
    }
}
