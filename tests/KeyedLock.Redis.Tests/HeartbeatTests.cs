using KeyedLock.Testing;
using StackExchange.Redis;

namespace KeyedLock.Redis.Tests;

public sealed class HeartbeatTests : RedisTestBase
{
    [RedisFact]
    public async Task AHeartbeatBuiltBeforeAHandOff_DoesNotQueueTheWaiterAgain()
    {
        // An instance builds its heartbeat batch from the waiters it has, then sends it. If one of them is granted,
        // confirmed and released before the batch reaches Redis, the batch still says "waiter W": it must not put W
        // back into the queue, where the next release would grant a ghost that nobody confirms (the key then stalls
        // for WaiterTtl).
        var a = await CreateInstanceAsync();
        var b = await CreateInstanceAsync();
        var held = await b.AcquireAsync("k").Bounded();
        var waiting = a.AcquireAsync("k").AsTask();
        await TestWait.UntilAsync(() => QueueLengthAsync("k"), 1, "a waits in Redis");
        var waiterId = a.InstanceId + ":1"; // a's first waiter
        await held.DisposeAsync();
        await (await waiting.Bounded()).DisposeAsync();

        // The late heartbeat of a's batch, as a sends it.
        var replies = (long[])(await a.Scripts.Heartbeat.EvaluateAsync(Db, a.Keys.For("k"), ["W", waiterId]).Bounded())!;

        Assert.Equal([-2L], replies);
        Assert.Equal(0, await QueueLengthAsync("k"));
        await using (var next = await b.AcquireAsync("k", TimeSpan.Zero).Bounded())
        {
            Assert.True(next.IsHeld); // nobody queued ahead of it
        }

        await AssertOnlyTheFenceKeyIsLeftAsync();
    }

    [RedisFact]
    public async Task AWaiterPurgedWhileItsInstanceWasPaused_QueuesAgainAndIsGranted()
    {
        static void Short(RedisKeyedLockOptions o) => o.WaiterTtl = TimeSpan.FromMilliseconds(300);
        var holder = await CreateInstanceAsync(Short);
        var paused = await CreateInstanceAsync(Short);
        var prober = await CreateInstanceAsync(Short);
        var held = await holder.AcquireAsync("k").Bounded();
        var waiting = paused.AcquireAsync("k").AsTask();
        await TestWait.UntilAsync(() => QueueLengthAsync("k"), 1, "the waiter queues in Redis");

        // Its instance stops refreshing it; any script on the key purges it once its deadline passed.
        paused.HeartbeatSuspended = true;
        await TestWait.UntilAsync(
            async () =>
            {
                var attempt = await prober.TryAcquireAsync("k", TimeSpan.Zero).Bounded();
                Assert.False(attempt.Succeeded); // the holder still holds
                return await QueueLengthAsync("k");
            },
            0,
            "the waiter is purged");

        // Resumed: its heartbeat finds the waiter gone, and the acquisition queues again instead of hanging.
        paused.HeartbeatSuspended = false;
        await TestWait.UntilAsync(() => QueueLengthAsync("k"), 1, "the waiter queues again");
        Assert.False(waiting.IsCompleted);

        await held.DisposeAsync();
        await using var lease = await waiting.Bounded();
        Assert.True(lease.IsHeld);
        Assert.True(lease.FencingToken > held.FencingToken);
        Assert.Equal(1, await HolderCountAsync("k"));
        Assert.Equal(0, await QueueLengthAsync("k"));
    }
}
