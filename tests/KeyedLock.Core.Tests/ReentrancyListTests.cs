using KeyedLock.Internal;
using static KeyedLock.Tests.Acquired;

namespace KeyedLock.Tests;

/// <summary>
/// The opt-in re-entrancy diagnostic's per-flow list of held leases: releases in any order forget exactly the
/// released grant, grants released in another flow are dropped when the list is next rebuilt (so a long-lived flow
/// does not accumulate them), and leases of two registries with the same grant id are never confused.
/// Acquisitions of free keys are read synchronously so that they are recorded in this flow.
/// </summary>
public sealed class ReentrancyListTests
{
    [Fact]
    public void ReleasingTheNewest_ForgetsItAlone()
    {
        using var registry = DetectingRegistry();
        var a = Granted(registry.AcquireAsync("a"));
        var b = Granted(registry.AcquireAsync("b"));
        Assert.Equal(2, HeldLeases.CountInCurrentFlow());

        b.Dispose();
        Assert.Equal(1, HeldLeases.CountInCurrentFlow());
        Assert.Throws<KeyedLockRecursionException>(() => registry.AcquireAsync("a"));
        Granted(registry.AcquireAsync("b")).Dispose();
        a.Dispose();
        Assert.Equal(0, HeldLeases.CountInCurrentFlow());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void ReleasingOutOfOrder_ForgetsExactlyThatGrant_AndKeepsTheOthersInOrder(int released)
    {
        using var registry = DetectingRegistry();
        string[] keys = ["k0", "k1", "k2", "k3"];
        var leases = keys.Select(k => Granted(registry.AcquireAsync(k))).ToArray();

        leases[released].Dispose();
        Assert.Equal(3, HeldLeases.CountInCurrentFlow());
        for (var i = 0; i < keys.Length; i++)
        {
            if (i == released)
            {
                var again = Granted(registry.AcquireAsync(keys[i])); // no longer held by this flow
                again.Dispose();
            }
            else
            {
                Assert.Throws<KeyedLockRecursionException>(() => registry.AcquireAsync(keys[i]));
            }
        }

        Assert.Equal(3, HeldLeases.CountInCurrentFlow());
        foreach (var lease in leases)
        {
            lease.Dispose();
        }

        Assert.Equal(0, HeldLeases.CountInCurrentFlow());
    }

    [Fact]
    public async Task GrantsReleasedInAnotherFlow_AreDroppedAtTheNextGrant_AndNeverCountAsHeld()
    {
        using var registry = DetectingRegistry();
        var a = Granted(registry.AcquireAsync("a"));
        var b = Granted(registry.AcquireAsync("b"));
        var c = Granted(registry.AcquireAsync("c"));
        await Task.Run(() =>
        {
            a.Dispose(); // the oldest and the middle one end elsewhere (handed to another task)
            b.Dispose();
        }).Bounded();

        Assert.Equal(3, HeldLeases.CountInCurrentFlow()); // still listed, but stale
        Granted(registry.AcquireAsync("a")).Dispose();   // stale: not held

        var d = Granted(registry.AcquireAsync("d"));     // this grant rebuilds the list without them
        Assert.Equal(2, HeldLeases.CountInCurrentFlow());
        Assert.Throws<KeyedLockRecursionException>(() => registry.AcquireAsync("c"));
        Assert.Throws<KeyedLockRecursionException>(() => registry.AcquireAsync("d"));
        c.Dispose();
        d.Dispose();
        Assert.Equal(0, HeldLeases.CountInCurrentFlow());
    }

    [Fact]
    public void TwoRegistries_WithTheSameGrantIds_AreNeverConfused()
    {
        using var first = DetectingRegistry();
        using var second = DetectingRegistry();
        var a = Granted(first.AcquireAsync("a"));   // grant 1 of the first registry
        var b = Granted(second.AcquireAsync("b"));  // grant 1 of the second
        Assert.Equal(a.FencingToken, b.FencingToken);

        a.Dispose();
        Assert.Equal(1, HeldLeases.CountInCurrentFlow());
        Assert.Throws<KeyedLockRecursionException>(() => second.AcquireAsync("b"));
        Granted(first.AcquireAsync("a")).Dispose();
        b.Dispose();
    }

    [Fact]
    public async Task TryAcquire_GrantedAtOnce_OrAfterWaiting_IsRecordedInTheCallersFlow()
    {
        using var registry = DetectingRegistry();
        var attempt = registry.TryAcquireAsync("now", TimeSpan.FromSeconds(30));
        Assert.True(attempt.IsCompletedSuccessfully);
        Assert.Throws<KeyedLockRecursionException>(() => registry.TryAcquireAsync("now", TimeSpan.Zero));

        var holder = await Task.Run(() => registry.AcquireAsync("later").AsTask()).Bounded();
        var waiting = registry.TryAcquireAsync("later", Timeout.InfiniteTimeSpan);
        Assert.False(waiting.IsCompleted);
        await Task.Run(holder.Dispose).Bounded();
        await TestWait.UntilAsync(() => waiting.IsCompleted, "the attempt is granted");
        using var granted = waiting.Result;
        Assert.True(granted.Succeeded);

        // GetResult ran in this flow (.Result above), so the key counts as held here.
        Assert.Throws<KeyedLockRecursionException>(() => registry.AcquireAsync("later"));
        attempt.Result.Dispose();
    }

    [Fact]
    public async Task MultiKey_GrantedAfterWaiting_IsRecordedInTheCallersFlow_AndAFailedOneIsNot()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { DetectReentrancy = true }, new ManualTimeProvider());
        var holder = await Task.Run(() => registry.AcquireAsync("b").AsTask()).Bounded();
        var waiting = registry.AcquireAsync(["a", "b"], Timeout.InfiniteTimeSpan);
        Assert.False(waiting.IsCompleted);
        await Task.Run(holder.Dispose).Bounded();
        await TestWait.UntilAsync(() => waiting.IsCompleted, "the keys are granted");
        var lease = waiting.Result; // read in this flow, where it is recorded
        Assert.Throws<KeyedLockRecursionException>(() => registry.AcquireAsync("a"));
        Assert.Throws<KeyedLockRecursionException>(() => registry.AcquireAsync("b"));
        lease.Dispose();
        Assert.Equal(0, HeldLeases.CountInCurrentFlow());

        // Cancelled while queued: the failure comes through, and nothing is recorded.
        var holder2 = await Task.Run(() => registry.AcquireAsync("b").AsTask()).Bounded();
        using var cts = new CancellationTokenSource();
        var cancelled = registry.AcquireAsync(["a", "b"], Timeout.InfiniteTimeSpan, cts.Token);
        Assert.False(cancelled.IsCompleted);
        await cts.CancelAsync();
        await Assert.ThrowsAsync<TaskCanceledException>(() => cancelled.Bounded());
        Assert.Equal(0, HeldLeases.CountInCurrentFlow());
        Granted(registry.AcquireAsync("a")).Dispose();
        holder2.Dispose();
    }
}
