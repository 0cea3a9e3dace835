namespace KeyedLock.Tests;

/// <summary>
/// Pooled waiters (no timeout, no token) are reused once their result was read. A consumer may read the result the
/// instant the grant marks it complete, while the releasing thread is still inside the completion; the waiter must
/// not be reset and reused before the releaser is done with it, or the next user of the waiter is woken by a stale
/// completion (InvalidOperationException) and its grant is lost. (ManualResetValueTaskSourceCore reports completion
/// only after its last touch of the continuation field, which makes reading the result in GetResult safe; this
/// hammer guards that protocol against future changes to where waiters return to the pool.)
/// </summary>
[Collection(Serial.Name)]
public sealed class PooledWaiterReuseTests
{
    [Fact]
    public async Task ResultReadTheMomentItCompletes_DoesNotCorruptTheReusedWaiter()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { DetectReentrancy = false });
        const int iterations = 20_000;
        var go = 0;
        var done = 0;
        KeyedLockLease toRelease = default;
        var releaser = new Thread(() =>
        {
            for (var i = 1; i <= iterations; i++)
            {
                var spin = new SpinWait();
                while (Volatile.Read(ref go) != i)
                {
                    spin.SpinOnce(sleep1Threshold: -1);
                }

                toRelease.Dispose();
                Volatile.Write(ref done, i);
            }
        })
        { IsBackground = true };
        releaser.Start();

        var holder = await registry.AcquireAsync("k").Bounded();
        var failures = 0;
        Exception? first = null;
        await Task.Run(() =>
        {
            for (var i = 1; i <= iterations; i++)
            {
                var waiter = registry.AcquireAsync("k");   // pooled waiter, queued behind the holder
                toRelease = holder;
                Volatile.Write(ref go, i);
                var spin = new SpinWait();
                while (!waiter.IsCompleted)
                {
                    spin.SpinOnce(sleep1Threshold: -1);
                }

                holder = waiter.Result;                   // returns the waiter to the pool at once

                // The next queued acquisition reuses that waiter; it must wait for a real grant.
                var next = registry.AcquireAsync("k").AsTask();
                while (Volatile.Read(ref done) != i)
                {
                    spin.SpinOnce(sleep1Threshold: -1);
                }

                holder.Dispose();
                try
                {
                    holder = next.Wait(TestWait.Default) ? next.Result : throw new TimeoutException("grant lost");
                }
                catch (Exception ex)
                {
                    failures++;
                    first ??= ex;
                    return;
                }
            }
        }).Bounded(TimeSpan.FromSeconds(120));

        holder.Dispose();
        Assert.True(failures == 0, $"reused waiter corrupted after {failures} iterations: {first}");
        Assert.Equal(0, registry.Count);
    }
}
