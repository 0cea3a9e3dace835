using KeyedLock.Redis.Internal;
using KeyedLock.Testing;
using StackExchange.Redis;

namespace KeyedLock.Redis.Tests;

/// <summary>A waiter whose instance dies keeps nobody waiting for long: its place has a deadline on the server clock.</summary>
public sealed class DeadClientTests : RedisTestBase
{
    // Long enough that the live waiter always queues before the dead one's place expires, even on a loaded machine.
    private static readonly TimeSpan WaiterTtl = TimeSpan.FromSeconds(1);

    [RedisFact]
    public async Task DeadWaiter_IsHandedTheKey_ItsHandOffExpires_AndTheNextWaiterIsGranted()
    {
        var (holder, next) = await HolderDeadWaiterAndLiveWaiterAsync();

        // The release grants the dead waiter (the head); it never confirms, so its hand-off expires on the server.
        await holder.DisposeAsync();
        var lease = await next.Bounded();

        Assert.True(lease.IsHeld);
        Assert.Equal(1, await HolderCountAsync("k"));
        Assert.True(lease.FencingToken > holder.FencingToken);
        await lease.DisposeAsync();
        await AssertOnlyTheFenceKeyIsLeftAsync();
    }

    [RedisFact]
    public async Task DeadWaiter_LosesItsPlace_WhileTheHolderStillHoldsTheKey()
    {
        var (holder, next) = await HolderDeadWaiterAndLiveWaiterAsync();

        // The live waiter's heartbeat purges the dead entry once its deadline passed.
        await TestWait.UntilAsync(() => QueueLengthAsync("k"), 1, "the dead waiter's place expires");
        Assert.False(next.IsCompleted);
        await holder.DisposeAsync();

        await (await next.Bounded()).DisposeAsync();
        await AssertOnlyTheFenceKeyIsLeftAsync();
    }

    /// <summary>Instance A holds "k"; a dead client queues; instance C queues behind it.</summary>
    private async Task<(KeyedLockLease Holder, Task<KeyedLockLease> Next)> HolderDeadWaiterAndLiveWaiterAsync()
    {
        var a = await CreateInstanceAsync(o => o.WaiterTtl = WaiterTtl);
        var c = await CreateInstanceAsync(o => o.WaiterTtl = WaiterTtl);
        await (await c.AcquireAsync("warm-up").Bounded()).DisposeAsync(); // C's channel is subscribed before the race
        var dead = Track(await TestRedis.ConnectAsync()); // connected before the dead waiter's deadline starts running
        var holder = await a.AcquireAsync("k").Bounded();
        await QueueADeadWaiterAsync(dead, a, "k");
        var next = c.AcquireAsync("k").AsTask();
        await TestWait.UntilAsync(() => QueueLengthAsync("k"), 2, "the live waiter queues behind the dead one");
        return (holder, next);
    }

    /// <summary>A client that queues with the provider's own ACQUIRE script and then dies (never refreshes, never leaves).</summary>
    private static async Task QueueADeadWaiterAsync(IConnectionMultiplexer dead, RedisKeyedLockProvider template, string key)
    {
        var reply = (long)(await template.Scripts.Acquire.EvaluateAsync(dead.GetDatabase(), template.Keys.For(key), RedisKeyedLockProvider.Argv("deadinstance:1", "0")).Bounded())!;
        Assert.True(reply < 0, "queued"); // -1 - the holder's time left
    }
}
