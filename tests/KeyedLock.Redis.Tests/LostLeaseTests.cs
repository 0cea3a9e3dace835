using System.Collections.Concurrent;
using KeyedLock.Redis.Internal;
using KeyedLock.Testing;

namespace KeyedLock.Redis.Tests;

public sealed class LostLeaseTests : RedisTestBase
{
    [RedisFact]
    public async Task HolderPausedPastItsLease_LostTokenFiresBeforeTheKeyIsGrantedAgain()
    {
        static void Short(RedisKeyedLockOptions o)
        {
            o.LeaseTtl = TimeSpan.FromSeconds(2);
            o.LeaseSafetyMargin = TimeSpan.FromSeconds(1);
            o.WaiterTtl = TimeSpan.FromMilliseconds(600);
        }

        var paused = await CreateInstanceAsync(Short);
        var other = await CreateInstanceAsync(Short);
        var events = new ConcurrentQueue<string>();
        var lease = await paused.AcquireAsync("k").Bounded();
        using var registration = lease.LostToken.Register(() => events.Enqueue("lost"));

        // The holder's instance stops talking to Redis (a GC pause, a frozen VM, a partition).
        paused.HeartbeatSuspended = true;
        var next = other.AcquireAsync("k").AsTask().ContinueWith(
            t =>
            {
                events.Enqueue("granted");
                return t.Result;
            },
            TaskScheduler.Default);

        var nextLease = await next.Bounded();

        Assert.Equal(["lost", "granted"], events);
        Assert.False(lease.IsHeld);
        // Lost at the local deadline; or, when this loaded machine stalled the grant's own reply past that deadline,
        // lost as soon as the reply came in. Either way before the key was granted again.
        Assert.Contains(paused.Leases.Single().LostReason, new[] { RedisLease.LostAtDeadline, RedisLease.LostLateAnswer });
        Assert.True(nextLease.FencingToken > lease.FencingToken);

        // Releasing the lost lease later must not release the new holder's key.
        await lease.DisposeAsync();
        Assert.True(nextLease.IsHeld);
        Assert.Equal(1, await HolderCountAsync("k"));
        await nextLease.DisposeAsync();
    }

    [RedisFact]
    public async Task RenewalFindsTheLeaseGone_FiresLostToken_AndDoesNotRecreateIt()
    {
        var provider = await CreateInstanceAsync(o =>
        {
            o.LeaseTtl = TimeSpan.FromSeconds(3);
            o.LeaseSafetyMargin = TimeSpan.Zero;
            o.WaiterTtl = TimeSpan.FromMilliseconds(300);
        });
        var other = await CreateInstanceAsync();
        var lease = await provider.AcquireAsync("k").Bounded();
        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = lease.LostToken.Register(() => lost.TrySetResult());

        // The lease vanishes on the server (eviction, a failover to a replica that missed it, a FLUSHALL).
        Assert.True(await Db.KeyDeleteAsync($"{Namespace}:k:k:h"));
        await lost.Task.Bounded();

        Assert.Equal(RedisLease.LostOnRenewal, provider.Leases.Single().LostReason);
        Assert.False(await Db.KeyExistsAsync($"{Namespace}:k:k:h"));
        await using var taken = await other.AcquireAsync("k", TimeSpan.Zero).Bounded();
        await lease.DisposeAsync();
        Assert.True(taken.IsHeld);
        Assert.Equal(1, await HolderCountAsync("k"));
    }

    [RedisFact]
    public async Task RunAsync_DelegateTokenFires_WhenTheLeaseIsLost()
    {
        var provider = await CreateInstanceAsync(o =>
        {
            o.LeaseTtl = TimeSpan.FromSeconds(3);
            o.WaiterTtl = TimeSpan.FromMilliseconds(300);
        });
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var run = provider.RunAsync("k", async Task (CancellationToken ct) =>
        {
            running.TrySetResult();
            await Task.Delay(Timeout.Infinite, ct);
        });
        await running.Task.Bounded();
        await Db.KeyDeleteAsync($"{Namespace}:k:k:h");

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.Bounded());
        Assert.Equal(0, provider.ActiveLeases);
    }
}
