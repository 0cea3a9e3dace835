using Xunit;

namespace KeyedLock.Testing;

/// <summary>What <see cref="DistributedProviderContract"/> needs from one distributed provider's test class.</summary>
public interface IDistributedContractHost
{
    /// <summary>Where the provider queues and holds ("Redis", "PostgreSQL"), for the wait messages.</summary>
    string ServerName { get; }

    /// <summary>One app instance (its own connection), with the given queue limit, re-entrancy switch and meter factory.</summary>
    Task<IKeyedLockProvider> NewInstanceAsync(int? maxQueueLengthPerKey = null, bool detectReentrancy = false, System.Diagnostics.Metrics.IMeterFactory? meterFactory = null);

    /// <summary>The instance's leases that hold a key on the server right now.</summary>
    int ActiveLeases(IKeyedLockProvider instance);

    /// <summary>The instance's keys with a waiter right now.</summary>
    int WaitingKeys(IKeyedLockProvider instance);

    /// <summary>How many holders <paramref name="key"/> has on the server.</summary>
    Task<long> ServerHoldersAsync(IKeyedLockProvider instance, string key);

    /// <summary>How many waiters of all instances wait for <paramref name="key"/> on the server.</summary>
    Task<long> ServerWaitersAsync(IKeyedLockProvider instance, string key);

    /// <summary>Asserts that the server keeps nothing for <paramref name="key"/> beyond what the provider documents as long-lived.</summary>
    Task AssertNothingLeftAsync(IKeyedLockProvider instance, string key);

    /// <summary>Asserts that a refused call left no trace on the server (as far as the server lets a test see).</summary>
    Task AssertServerUntouchedAsync(IKeyedLockProvider instance);
}

/// <summary>
/// The Core contract scenarios that every distributed provider passes, written once: each provider's test class
/// runs them with its own fact attribute (which skips locally without the server) and its own server probes.
/// </summary>
public sealed class DistributedProviderContract(IDistributedContractHost host)
{
    public async Task SameKeyIsMutuallyExclusive()
    {
        var provider = await host.NewInstanceAsync();
        var overlap = new OverlapDetector();
        var runs = 0;
        var tasks = Enumerable.Range(0, 20).Select(_ => provider.RunAsync("k", async Task (CancellationToken ct) =>
        {
            overlap.Enter("k");
            await Task.Yield();
            Interlocked.Increment(ref runs);
            overlap.Exit("k");
        })).ToArray();

        await Task.WhenAll(tasks).Bounded();

        Assert.Equal(20, runs);
        overlap.AssertNoViolations();
        Assert.Equal(1, overlap.MaxSeen);
        Assert.Equal(0, host.ActiveLeases(provider));
        Assert.Equal(0, host.WaitingKeys(provider));
        await host.AssertNothingLeftAsync(provider, "k");
    }

    public async Task DifferentKeysAreHeldAtTheSameTime()
    {
        var provider = await host.NewInstanceAsync();

        await using var a = await provider.AcquireAsync("a").Bounded();
        await using var b = await provider.AcquireAsync("b").Bounded();

        Assert.True(a.IsHeld);
        Assert.True(b.IsHeld);
        Assert.Equal(1, await host.ServerHoldersAsync(provider, "a"));
        Assert.Equal(1, await host.ServerHoldersAsync(provider, "b"));
    }

    public async Task WaitersAreGrantedInArrivalOrder()
    {
        var provider = await host.NewInstanceAsync();
        var holder = await provider.AcquireAsync("k").Bounded();
        var order = new List<int>();
        var waiters = new List<Task>();
        for (var i = 0; i < 10; i++)
        {
            var n = i;
            var acquire = provider.AcquireAsync("k").AsTask(); // queued synchronously, in call order
            waiters.Add(acquire.ContinueWith(
                async t =>
                {
                    lock (order)
                    {
                        order.Add(n);
                    }

                    await t.Result.DisposeAsync();
                },
                TaskScheduler.Default).Unwrap());
        }

        await TestWait.UntilAsync(() => host.ServerWaitersAsync(provider, "k"), 1, $"the head waiter queues in {host.ServerName}");
        Assert.Empty(order);

        await holder.DisposeAsync();
        await Task.WhenAll(waiters).Bounded();

        Assert.Equal(Enumerable.Range(0, 10), order);
    }

    public async Task WaitOnTheServerTimesOutAndLeavesNothingBehind()
    {
        var provider = await host.NewInstanceAsync();
        var holder = await provider.AcquireAsync("k").Bounded();

        var ex = await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => provider.AcquireAsync("k", TimeSpan.FromMilliseconds(200)).Bounded());

        Assert.Equal("k", ex.Key);
        Assert.Equal(TimeSpan.FromMilliseconds(200), ex.Timeout);
        Assert.Equal(0, await host.ServerWaitersAsync(provider, "k"));
        Assert.Equal(0, host.WaitingKeys(provider));
        await holder.DisposeAsync();
        var attempt = await provider.TryAcquireAsync("k", TimeSpan.Zero).Bounded();
        Assert.True(attempt.Succeeded);
        await attempt.DisposeAsync();
        await host.AssertNothingLeftAsync(provider, "k");
    }

    public async Task TryAcquireReportsTimeoutAsAFailedAttempt()
    {
        var provider = await host.NewInstanceAsync();
        await using var holder = await provider.AcquireAsync("k").Bounded();

        var zero = await provider.TryAcquireAsync("k", TimeSpan.Zero).Bounded();
        var bounded = await provider.TryAcquireAsync("k", TimeSpan.FromMilliseconds(100)).Bounded();

        Assert.Equal(KeyedLockFailureReason.TimedOut, zero.FailureReason);
        Assert.Equal(KeyedLockFailureReason.TimedOut, bounded.FailureReason);
        Assert.False(zero.Lease.IsHeld);
        Assert.Equal(0, await host.ServerWaitersAsync(provider, "k"));
    }

    public async Task CancelWhileWaitingOnTheServerThrowsWithTheCallersTokenAndLeavesTheQueue()
    {
        var provider = await host.NewInstanceAsync();
        var holder = await provider.AcquireAsync("k").Bounded();
        using var cts = new CancellationTokenSource();
        var waiter = provider.AcquireAsync("k", cts.Token).AsTask();
        var second = provider.AcquireAsync("k").AsTask(); // queued locally behind the canceled one
        await TestWait.UntilAsync(() => host.ServerWaitersAsync(provider, "k"), 1, $"the first waiter waits in {host.ServerName}");

        await cts.CancelAsync();

        var ex = await Assert.ThrowsAsync<TaskCanceledException>(() => waiter.Bounded());
        Assert.Equal(cts.Token, ex.CancellationToken);

        // The second waiter moves up to the server and gets the key once the holder releases.
        await TestWait.UntilAsync(() => host.ServerWaitersAsync(provider, "k"), 1, $"the second waiter waits in {host.ServerName}");
        await holder.DisposeAsync();
        var lease = await second.Bounded();
        Assert.True(lease.IsHeld);
        await lease.DisposeAsync();
        Assert.Equal(0, await host.ServerHoldersAsync(provider, "k"));
        Assert.Equal(0, await host.ServerWaitersAsync(provider, "k"));
    }

    public async Task CancelWhileQueuedLocallyLeavesTheQueue()
    {
        var provider = await host.NewInstanceAsync();
        var holder = await provider.AcquireAsync("k").Bounded();
        var head = provider.AcquireAsync("k").AsTask();
        using var cts = new CancellationTokenSource();
        var queued = provider.AcquireAsync("k", cts.Token).AsTask();

        await cts.CancelAsync();

        var ex = await Assert.ThrowsAsync<TaskCanceledException>(() => queued.Bounded());
        Assert.Equal(cts.Token, ex.CancellationToken);
        await holder.DisposeAsync();
        await (await head.Bounded()).DisposeAsync();
        Assert.Equal(0, host.WaitingKeys(provider));
        Assert.Equal(0, host.ActiveLeases(provider));
    }

    public async Task AlreadyCanceledTokenThrowsWithoutTouchingTheServer()
    {
        var provider = await host.NewInstanceAsync();
        var canceled = new CancellationToken(true);

        var ex = await Assert.ThrowsAsync<TaskCanceledException>(() => provider.AcquireAsync("k", canceled).AsTask()).Bounded();

        Assert.Equal(canceled, ex.CancellationToken);
        Assert.Equal(0, host.WaitingKeys(provider));
        await host.AssertServerUntouchedAsync(provider);
    }

    public async Task QueueLimitRejectsTheWaiterBeyondIt()
    {
        var provider = await host.NewInstanceAsync(maxQueueLengthPerKey: 1);
        await using var holder = await provider.AcquireAsync("k").Bounded();
        var head = provider.AcquireAsync("k").AsTask(); // waits on the server, holds the instance's waiting slot
        await TestWait.UntilAsync(() => host.ServerWaitersAsync(provider, "k"), 1, $"the head waits in {host.ServerName}");
        var queued = provider.AcquireAsync("k").AsTask(); // the one allowed local waiter

        var ex = await Assert.ThrowsAsync<KeyedLockQueueFullException>(() => provider.AcquireAsync("k").Bounded());
        var attempt = await provider.TryAcquireAsync("k", TimeSpan.FromSeconds(5)).Bounded();

        Assert.Equal(1, ex.QueueLimit);
        Assert.Equal(KeyedLockFailureReason.QueueFull, attempt.FailureReason);
        await holder.DisposeAsync();
        await (await head.Bounded()).DisposeAsync();
        await (await queued.Bounded()).DisposeAsync();
    }

    public async Task MultiKeyAcquiresAllWithoutDeadlockAndReleasesAll()
    {
        var instanceA = await host.NewInstanceAsync();
        var instanceB = await host.NewInstanceAsync();
        var tasks = new List<Task>();
        for (var i = 0; i < 10; i++)
        {
            tasks.Add(Task.Run(async () => await (await instanceA.AcquireAsync(["a", "b"], Timeout.InfiniteTimeSpan)).DisposeAsync()));
            tasks.Add(Task.Run(async () => await (await instanceB.AcquireAsync(["b", "a"], Timeout.InfiniteTimeSpan)).DisposeAsync()));
        }

        await Task.WhenAll(tasks).Bounded();

        var both = await instanceA.AcquireAsync(["b", "a", "b"], TimeSpan.FromSeconds(10)).Bounded();
        Assert.Equal("a,b", both.Key);
        Assert.False((await instanceB.TryAcquireAsync("a", TimeSpan.Zero).Bounded()).Succeeded);
        Assert.False((await instanceB.TryAcquireAsync("b", TimeSpan.Zero).Bounded()).Succeeded);
        await both.DisposeAsync();
        await using var a = await instanceB.AcquireAsync("a", TimeSpan.Zero).Bounded();
        await using var b = await instanceB.AcquireAsync("b", TimeSpan.Zero).Bounded();
        Assert.Equal(0, host.ActiveLeases(instanceA));
    }

    public async Task MultiKeyFailureReleasesTheKeysAlreadyTaken()
    {
        var provider = await host.NewInstanceAsync();
        var other = await host.NewInstanceAsync();
        await using var blocker = await other.AcquireAsync("b").Bounded();

        await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => provider.AcquireAsync(["a", "b"], TimeSpan.FromMilliseconds(200)).Bounded());

        Assert.Equal(0, host.ActiveLeases(provider));
        Assert.Equal(0, await host.ServerHoldersAsync(provider, "a"));
    }

    public async Task ReentrantAcquireThrowsWhenDetectionIsOptedIn()
    {
        // Awaited directly, bounded by the acquisitions' own timeouts: .Bounded() (AsTask) would take the lease outside
        // this flow, where re-entrancy detection cannot see it.
        var bound = TimeSpan.FromSeconds(30);
        var provider = await host.NewInstanceAsync(detectReentrancy: true);
        var lease = await provider.AcquireAsync("k", bound);

        await Assert.ThrowsAsync<KeyedLockRecursionException>(async () => await provider.AcquireAsync("k", TimeSpan.FromSeconds(5)));
        await Assert.ThrowsAsync<KeyedLockRecursionException>(async () => await provider.TryAcquireAsync("k", TimeSpan.Zero));

        await using (var other = await provider.AcquireAsync("other", bound))
        {
            Assert.True(other.IsHeld);
        }

        await lease.DisposeAsync();
        await using var again = await provider.AcquireAsync("k", TimeSpan.FromSeconds(5));
        Assert.True(again.IsHeld);
    }

    public async Task ReentrancyDetectionIsOffByDefaultSoAProbeOfTheOwnKeyTimesOut()
    {
        var provider = await host.NewInstanceAsync();
        await using var lease = await provider.AcquireAsync("k").Bounded();

        var probe = await provider.TryAcquireAsync("k", TimeSpan.Zero).Bounded();

        Assert.Equal(KeyedLockFailureReason.TimedOut, probe.FailureReason);
    }

    public async Task ReleasingTwiceIsHarmless()
    {
        var provider = await host.NewInstanceAsync();
        var lease = await provider.AcquireAsync("k").Bounded();
        var copy = lease;

        await lease.DisposeAsync();
        await lease.DisposeAsync();
        copy.Dispose();

        Assert.False(lease.IsHeld);
        Assert.False(lease.LostToken.IsCancellationRequested);
        await using var next = await provider.AcquireAsync("k", TimeSpan.Zero).Bounded();
        Assert.True(next.IsHeld);
        Assert.Equal(1, await host.ServerHoldersAsync(provider, "k"));
    }

    public async Task MetricsCountEachAcquisitionOnceWithItsResult()
    {
        using var meters = new TestMeterFactory();
        using var recorder = new MeterRecorder(KeyedLockMetrics.MeterName, meters);
        var provider = await host.NewInstanceAsync(maxQueueLengthPerKey: 1, meterFactory: meters);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        var holder = await provider.AcquireAsync("k").Bounded();                                          // acquired
        Assert.Equal(1, recorder.Sum(KeyedLockMetrics.ActiveLeases));
        var timedOut = await provider.TryAcquireAsync("k", TimeSpan.FromMilliseconds(50)).Bounded();      // timeout (on the server)
        var waiter = provider.AcquireAsync("k").AsTask();                                                 // acquired, after the hand-off
        await TestWait.UntilAsync(() => host.ServerWaitersAsync(provider, "k"), 1, $"the waiter queues in {host.ServerName}");
        var queued = provider.TryAcquireAsync("k", TestWait.Default).AsTask();                           // acquired, queued in this instance
        var full = await provider.TryAcquireAsync("k", TimeSpan.FromSeconds(5)).Bounded();               // queue_full (local queue of 1)
        await Assert.ThrowsAsync<TaskCanceledException>(() => provider.AcquireAsync("k", cancelled.Token).AsTask()).Bounded(); // canceled
        await holder.DisposeAsync();
        await (await waiter.Bounded()).DisposeAsync();
        await (await queued.Bounded()).Lease.DisposeAsync();

        Assert.Equal(KeyedLockFailureReason.TimedOut, timedOut.FailureReason);
        Assert.Equal(KeyedLockFailureReason.QueueFull, full.FailureReason);
        double Count(string result) => recorder.Sum(KeyedLockMetrics.Acquisitions, KeyedLockMetrics.ResultTag, result);
        Assert.Equal(3, Count("acquired")); // once each, not once more by the in-process first tier
        Assert.Equal(1, Count("timeout"));
        Assert.Equal(1, Count("queue_full"));
        Assert.Equal(1, Count("canceled"));
        Assert.Equal(6, recorder.Of(KeyedLockMetrics.Acquisitions).Count);
        Assert.Equal(0, recorder.Sum(KeyedLockMetrics.ActiveLeases));
        Assert.Equal(3, recorder.Of(KeyedLockMetrics.HoldDuration).Count);
        Assert.Equal(5, recorder.Of(KeyedLockMetrics.WaitDuration).Count); // every acquisition that started, not the one cancelled before
    }

    public async Task SynchronousDisposeReleasesTheLock()
    {
        var provider = await host.NewInstanceAsync();
        var lease = await provider.AcquireAsync("k").Bounded();

        lease.Dispose();

        Assert.Equal(0, await host.ServerHoldersAsync(provider, "k"));
        Assert.Equal(0, host.ActiveLeases(provider));
    }

    public async Task FencingTokensIncreaseWithEveryGrant()
    {
        var provider = await host.NewInstanceAsync();
        var tokens = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            await using var lease = await provider.AcquireAsync(i % 2 == 0 ? "a" : "b").Bounded();
            tokens.Add(lease.FencingToken);
        }

        Assert.Equal(tokens.Order(), tokens);
        Assert.Equal(3, tokens.Distinct().Count());
    }

    public async Task InvalidArgumentsAreRejected()
    {
        var provider = await host.NewInstanceAsync();

        Assert.Throws<ArgumentNullException>(() => provider.AcquireAsync(null!));
        Assert.Throws<ArgumentException>(() => provider.AcquireAsync(string.Empty));
        Assert.Throws<ArgumentOutOfRangeException>(() => provider.AcquireAsync("k", TimeSpan.FromSeconds(-2)));
        await Assert.ThrowsAsync<ArgumentException>(() => provider.AcquireAsync([], TimeSpan.Zero).AsTask()).Bounded();
    }

    /// <summary>
    /// Random zero-timeout tries, short timeouts, cancellations and plain waits from three instances on three keys
    /// for 4 s: never more than <paramref name="holdersPerKey"/> holders of a key (and that many seen), every flow
    /// finishes (a lost grant or a stuck queue fails the bound), and nothing is left on the server or in the
    /// instances. <paramref name="newInstance"/> creates the instances (default:
    /// <see cref="IDistributedContractHost.NewInstanceAsync"/>), so a provider can run it with options of its own
    /// (its <c>MaxConcurrencyPerKey</c> must then be <paramref name="holdersPerKey"/>).
    /// </summary>
    public async Task RandomAcquisitionsAcrossInstancesKeepExclusionFinishAndLeaveNothing(Func<Task<IKeyedLockProvider>>? newInstance = null, int holdersPerKey = 1)
    {
        newInstance ??= () => host.NewInstanceAsync();
        var instances = new List<IKeyedLockProvider>();
        for (var i = 0; i < 3; i++)
        {
            instances.Add(await newInstance());
        }

        string[] keys = ["s0", "s1", "s2"];
        var overlap = new OverlapDetector(maxInside: holdersPerKey);
        long granted = 0;
        var until = System.Diagnostics.Stopwatch.GetTimestamp() + (4 * System.Diagnostics.Stopwatch.Frequency);

        async Task FlowAsync(IKeyedLockProvider provider, int seed)
        {
            var random = new Random(seed);
            while (System.Diagnostics.Stopwatch.GetTimestamp() < until)
            {
                var key = keys[random.Next(keys.Length)];
                KeyedLockLease? lease = null;
                try
                {
                    switch (random.Next(4))
                    {
                        case 0:
                            lease = Granted(await provider.TryAcquireAsync(key, TimeSpan.Zero));
                            break;
                        case 1:
                            lease = Granted(await provider.TryAcquireAsync(key, TimeSpan.FromMilliseconds(random.Next(1, 5))));
                            break;
                        case 2:
                            using (var cts = new CancellationTokenSource(random.Next(1, 5)))
                            {
                                lease = await provider.AcquireAsync(key, cts.Token);
                            }

                            break;
                        default:
                            lease = await provider.AcquireAsync(key);
                            break;
                    }
                }
                catch (OperationCanceledException)
                {
                }

                if (lease is { } held)
                {
                    Interlocked.Increment(ref granted);
                    overlap.Enter(key);
                    if (holdersPerKey > 1 || random.Next(3) == 0)
                    {
                        await Task.Yield();
                    }

                    overlap.Exit(key);
                    await held.DisposeAsync();
                }
            }
        }

        var flows = instances.SelectMany((provider, i) => Enumerable.Range(0, 6).Select(f => Task.Run(() => FlowAsync(provider, (i * 100) + f))));
        await Task.WhenAll(flows).Bounded(TimeSpan.FromSeconds(60));

        overlap.AssertNoViolations();
        Assert.Equal(holdersPerKey, overlap.MaxSeen); // every slot was really used
        Assert.True(granted > 100, $"only {granted} grants in 4 s");
        foreach (var instance in instances)
        {
            Assert.Equal(0, host.ActiveLeases(instance));
            Assert.Equal(0, host.WaitingKeys(instance));
        }

        foreach (var key in keys)
        {
            await host.AssertNothingLeftAsync(instances[0], key);
        }
    }

    private static KeyedLockLease? Granted(KeyedLockAttempt attempt) => attempt.Succeeded ? attempt.Lease : null;

    public async Task DisposalReleasesHeldLocksFiresLostTokensAndRejectsNewRequests()
    {
        var provider = await host.NewInstanceAsync();
        var lease = await provider.AcquireAsync("k").Bounded();

        await ((IAsyncDisposable)provider).DisposeAsync();

        Assert.True(lease.LostToken.IsCancellationRequested);
        Assert.False(lease.IsHeld);
        Assert.Equal(0, await host.ServerHoldersAsync(provider, "k"));
        Assert.Throws<ObjectDisposedException>(() => provider.AcquireAsync("k"));
        await lease.DisposeAsync();
    }
}
