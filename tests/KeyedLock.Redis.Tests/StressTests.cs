using System.Diagnostics;
using KeyedLock.Testing;

namespace KeyedLock.Redis.Tests;

/// <summary>
/// Random acquisitions across three instances: zero-timeout tries, short timeouts, cancellations and plain waits on
/// three keys, with a short <see cref="RedisKeyedLockOptions.WaiterTtl"/> so that heartbeats (refreshes, grants they
/// report, waiters they find gone) run every 100 ms between the hand-offs.
/// </summary>
[Trait("Category", "Stress")]
public sealed class StressTests : RedisTestBase
{
    private const int Keys = 3;

    [RedisFact]
    public async Task RandomTriesTimeoutsAndCancellations_KeepExclusion_FinishAndLeaveNothingBehind()
    {
        var instances = new List<RedisKeyedLockProvider>();
        for (var i = 0; i < 3; i++)
        {
            instances.Add(await CreateInstanceAsync(o => o.WaiterTtl = TimeSpan.FromMilliseconds(300)));
        }

        var inside = new int[Keys];
        long granted = 0, overlaps = 0;
        var until = Stopwatch.GetTimestamp() + (4 * Stopwatch.Frequency);

        async Task FlowAsync(RedisKeyedLockProvider provider, int seed)
        {
            var random = new Random(seed);
            while (Stopwatch.GetTimestamp() < until)
            {
                var k = random.Next(Keys);
                var key = "s" + k;
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
                    if (Interlocked.Increment(ref inside[k]) != 1)
                    {
                        Interlocked.Increment(ref overlaps);
                    }

                    if (random.Next(3) == 0)
                    {
                        await Task.Yield();
                    }

                    Interlocked.Decrement(ref inside[k]);
                    await held.DisposeAsync();
                }
            }
        }

        var flows = instances.SelectMany((provider, i) => Enumerable.Range(0, 6).Select(f => Task.Run(() => FlowAsync(provider, (i * 100) + f))));
        await Task.WhenAll(flows).Bounded(TimeSpan.FromSeconds(60)); // a lost grant or a stuck queue fails here

        Assert.Equal(0, overlaps);
        Assert.True(granted > 100, $"only {granted} grants");
        foreach (var provider in instances)
        {
            Assert.Equal(0, provider.ActiveLeases);
            await provider.DisposeAsync();
        }

        // Every queue entry, holder and deadline is gone; the fencing counter is the one long-lived key.
        await AssertOnlyTheFenceKeyIsLeftAsync();
    }

    private static KeyedLockLease? Granted(KeyedLockAttempt attempt) => attempt.Succeeded ? attempt.Lease : null;
}
