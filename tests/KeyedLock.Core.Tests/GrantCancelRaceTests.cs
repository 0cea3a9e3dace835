namespace KeyedLock.Tests;

/// <summary>
/// A release (grant) racing with the waiter's cancellation or timeout must end with exactly one owner or none:
/// either the waiter holds (and releases), or it got an exception and the key went to the next in line.
/// </summary>
public sealed class GrantCancelRaceTests
{
    private const int Iterations = 3000;

    [Fact]
    public async Task ReleaseRacingWithCancel_EndsWithOneOwnerOrNone_NeverALostPermit()
    {
        using var registry = new KeyedLockRegistry();
        var granted = 0;
        var canceled = 0;
        for (var i = 0; i < Iterations; i++)
        {
            using var cts = new CancellationTokenSource();
            var holder = await registry.HoldAsync("k");
            var racer = registry.AcquireAsync("k", cts.Token).AsTask();
            var behind = registry.AcquireAsync("k").AsTask();

            using var start = new Barrier(2);
            var release = Task.Run(() =>
            {
                start.SignalAndWait();
                holder.Dispose();
            });
            var cancel = Task.Run(() =>
            {
                start.SignalAndWait();
                cts.Cancel();
            });
            await Task.WhenAll(release, cancel).Bounded();

            KeyedLockLease lease;
            try
            {
                lease = await racer.Bounded();
                granted++;
                Assert.True(lease.IsHeld);
                Assert.False(behind.IsCompleted, $"iteration {i}: the racer holds, so the next waiter must wait");
                lease.Dispose();
            }
            catch (OperationCanceledException)
            {
                canceled++;
            }

            // Either way the next waiter gets the key: the permit was handed on, not lost or duplicated.
            var next = await behind.Bounded();
            Assert.True(next.IsHeld);
            next.Dispose();
            Assert.Equal(0, registry.Count);
        }

        Assert.Equal(Iterations, granted + canceled);
    }

    [Fact]
    public async Task ReleaseRacingWithTimeout_EndsWithOneOwnerOrNone_NeverALostPermit()
    {
        using var registry = new KeyedLockRegistry();
        for (var i = 0; i < Iterations / 3; i++)
        {
            var holder = await registry.HoldAsync("k");
            var racer = registry.TryAcquireAsync("k", TimeSpan.FromMilliseconds(1)).AsTask();
            var behind = registry.AcquireAsync("k").AsTask();

            // Release at about the moment the 1 ms timer fires (real clock: the race is the point here).
            await Task.Yield();
            holder.Dispose();

            var attempt = await racer.Bounded();
            if (attempt.Succeeded)
            {
                Assert.True(attempt.Lease.IsHeld);
                Assert.False(behind.IsCompleted, $"iteration {i}: the racer holds, so the next waiter must wait");
                attempt.Dispose();
            }
            else
            {
                Assert.Equal(KeyedLockFailureReason.TimedOut, attempt.FailureReason);
            }

            (await behind.Bounded()).Dispose();
            Assert.Equal(0, registry.Count);
        }
    }

    [Fact]
    public async Task ManyWaitersCancelledWhileTheKeyIsHandedOn_EveryGrantIsReleasedAndCountReturnsToZero()
    {
        using var registry = new KeyedLockRegistry();
        var detector = new OverlapDetector();
        for (var round = 0; round < 200; round++)
        {
            var holder = await registry.HoldAsync("k");
            var sources = Enumerable.Range(0, 8).Select(_ => new CancellationTokenSource()).ToArray();
            var waiters = sources.Select(s => HoldBrieflyAsync(s.Token)).ToArray();
            var cancelAll = Task.Run(() =>
            {
                foreach (var s in sources)
                {
                    s.Cancel();
                }
            });
            holder.Dispose();
            await cancelAll.Bounded();
            var outcomes = await Task.WhenAll(waiters).Bounded();
            Assert.Equal(8, outcomes.Length);
            foreach (var s in sources)
            {
                s.Dispose();
            }

            Assert.Equal(0, registry.Count);
        }

        detector.AssertNoViolations();

        async Task<bool> HoldBrieflyAsync(CancellationToken token)
        {
            try
            {
                using var lease = await registry.AcquireAsync("k", token).Bounded();
                detector.Enter("k");
                await Task.Yield();
                detector.Exit("k");
                return true;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }
    }
}
