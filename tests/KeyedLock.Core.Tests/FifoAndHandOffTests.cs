namespace KeyedLock.Tests;

public sealed class FifoAndHandOffTests
{
    [Fact]
    public async Task Waiters_AreGrantedStrictlyInArrivalOrder_OnePerRelease()
    {
        using var registry = new KeyedLockRegistry();
        var holder = await registry.HoldAsync("k");
        var waiters = Enumerable.Range(0, 5).Select(_ => registry.AcquireAsync("k")).ToArray();
        Assert.All(waiters, w => Assert.False(w.IsCompleted));

        var current = holder;
        for (var i = 0; i < waiters.Length; i++)
        {
            current.Dispose();

            // Direct hand-off: the grant happened inside Dispose, before any continuation could run.
            Assert.True(waiters[i].IsCompletedSuccessfully, $"waiter {i} should be granted by the release");
            for (var j = i + 1; j < waiters.Length; j++)
            {
                Assert.False(waiters[j].IsCompleted, $"waiter {j} must still wait while waiter {i} holds");
            }

            current = await waiters[i].Bounded();
            Assert.True(current.IsHeld);
            Assert.Equal(1, registry.Count);
        }

        current.Dispose();
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task Newcomer_DoesNotBargePastQueuedWaiter_AfterRelease()
    {
        using var registry = new KeyedLockRegistry();
        var holder = await registry.HoldAsync("k");
        var waiter = registry.AcquireAsync("k");

        holder.Dispose();

        // The key never became free: a newcomer right after the release neither gets it nor jumps the queue.
        var barger = await registry.TryAcquireAsync("k", TimeSpan.Zero).Bounded();
        Assert.False(barger.Succeeded);
        Assert.Equal(KeyedLockFailureReason.TimedOut, barger.FailureReason);
        var late = registry.AcquireAsync("k");
        Assert.True(waiter.IsCompletedSuccessfully);
        Assert.False(late.IsCompleted);

        (await waiter.Bounded()).Dispose();
        Assert.True(late.IsCompletedSuccessfully);
        (await late.Bounded()).Dispose();
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task TryAcquireWithZeroTimeout_FailsWhileOthersQueue_AndDoesNotQueueItself()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = 2 });
        var a = await registry.HoldAsync("k");
        var b = await registry.HoldAsync("k");
        var queued = registry.AcquireAsync("k");

        // A slot frees up and goes to the queued waiter, not to the zero-timeout newcomer.
        a.Dispose();
        Assert.True(queued.IsCompletedSuccessfully);
        var attempt = await registry.TryAcquireAsync("k", TimeSpan.Zero).Bounded();
        Assert.Equal(KeyedLockFailureReason.TimedOut, attempt.FailureReason);
        Assert.Equal(default, attempt.Lease);

        // The failed attempt left nothing queued: the next release frees a slot that a new TryAcquire gets at once.
        b.Dispose();
        var next = await registry.TryAcquireAsync("k", TimeSpan.Zero).Bounded();
        Assert.True(next.Succeeded);
        next.Dispose();
        (await queued.Bounded()).Dispose();
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task TryAcquireWithTimeout_QueuesBehindEarlierWaiters()
    {
        var time = new ManualTimeProvider();
        using var registry = new KeyedLockRegistry(null, time);
        var holder = await registry.HoldAsync("k");
        var first = registry.AcquireAsync("k");
        var second = registry.TryAcquireAsync("k", TimeSpan.FromSeconds(10));
        var third = registry.AcquireAsync("k", TimeSpan.FromSeconds(10));

        holder.Dispose();
        Assert.True(first.IsCompletedSuccessfully);
        Assert.False(second.IsCompleted);
        (await first.Bounded()).Dispose();
        Assert.True(second.IsCompletedSuccessfully);
        Assert.False(third.IsCompleted);
        var attempt = await second.Bounded();
        Assert.True(attempt.Succeeded);
        attempt.Dispose();
        (await third.Bounded()).Dispose();
        Assert.Equal(0, registry.Count);
        Assert.Equal(0, time.ActiveTimers);
    }

    [Fact]
    public async Task Release_DoesNotRunTheWaitersContinuationInline()
    {
        using var registry = new KeyedLockRegistry();
        var holder = await registry.HoldAsync("k");
        var releasingThread = Environment.CurrentManagedThreadId;
        var resumed = new TaskCompletionSource<(int Thread, bool InsideRelease)>(TaskCreationOptions.RunContinuationsAsynchronously);

        var waiter = WaitAsync();

        ReleaseProbe.InsideRelease = true;
        try
        {
            holder.Dispose();
        }
        finally
        {
            ReleaseProbe.InsideRelease = false;
        }

        // The releasing thread got here; the waiter's continuation must not have run inside Dispose above.
        var (thread, insideRelease) = await resumed.Task.Bounded();
        Assert.False(insideRelease, $"the waiter resumed inside Release on the releasing thread {releasingThread}");
        await waiter.Bounded();
        Assert.Equal(0, registry.Count);

        async Task WaitAsync()
        {
            var lease = await registry.AcquireAsync("k").Bounded();
            resumed.SetResult((Environment.CurrentManagedThreadId, ReleaseProbe.InsideRelease));
            lease.Dispose();
        }
    }

    [Fact]
    public async Task Release_OfTimedWaiter_DoesNotRunContinuationInline()
    {
        // Same probe for the non-pooled waiter kind (timeout + cancellable token).
        using var cts = new CancellationTokenSource();
        using var registry = new KeyedLockRegistry(null, new ManualTimeProvider());
        var holder = await registry.HoldAsync("k");
        var resumed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var waiter = WaitAsync();

        ReleaseProbe.InsideRelease = true;
        try
        {
            holder.Dispose();
        }
        finally
        {
            ReleaseProbe.InsideRelease = false;
        }

        Assert.False(await resumed.Task.Bounded(), "the waiter resumed inside Release");
        await waiter.Bounded();

        async Task WaitAsync()
        {
            var lease = await registry.AcquireAsync("k", TimeSpan.FromMinutes(1), cts.Token).Bounded();
            resumed.SetResult(ReleaseProbe.InsideRelease);
            lease.Dispose();
        }
    }

    [Fact]
    public async Task DifferentKeys_DoNotBlockEachOther()
    {
        using var registry = new KeyedLockRegistry();
        var a = await registry.HoldAsync("a");
        var b = registry.AcquireAsync("b");
        Assert.True(b.IsCompletedSuccessfully);
        Assert.Equal(2, registry.Count);
        a.Dispose();
        (await b.Bounded()).Dispose();
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task Keys_AreOrdinal_CaseAndCultureSensitive()
    {
        using var registry = new KeyedLockRegistry();
        var lower = await registry.HoldAsync("user");
        var upper = registry.AcquireAsync("USER");
        var composed = await registry.HoldAsync("\u00e9");
        var decomposed = registry.AcquireAsync("e\u0301");
        Assert.True(upper.IsCompletedSuccessfully);
        Assert.True(decomposed.IsCompletedSuccessfully);
        Assert.Equal(4, registry.Count);
        lower.Dispose();
        (await upper.Bounded()).Dispose();
        composed.Dispose();
        (await decomposed.Bounded()).Dispose();
        Assert.Equal(0, registry.Count);
    }

    private static class ReleaseProbe
    {
        [ThreadStatic]
        public static bool InsideRelease;
    }
}
