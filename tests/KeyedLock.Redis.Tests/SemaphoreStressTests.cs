using System.Diagnostics;
using KeyedLock.Testing;

namespace KeyedLock.Redis.Tests;

/// <summary><see cref="RedisKeyedLockOptions.MaxConcurrencyPerKey"/> above 1 under random tries, timeouts, cancellations and waits.</summary>
public sealed class SemaphoreStressTests : RedisTestBase
{
    [RedisFact]
    public async Task TwoHoldersPerKey_AcrossThreeInstances_NeverThree_EveryFlowFinishes_AndNothingIsLeft()
    {
        static void Options(RedisKeyedLockOptions o)
        {
            o.MaxConcurrencyPerKey = 2;
            o.WaiterTtl = TimeSpan.FromMilliseconds(300); // heartbeats every 100 ms between the hand-offs
        }

        var instances = new List<RedisKeyedLockProvider>();
        for (var i = 0; i < 3; i++)
        {
            instances.Add(await CreateInstanceAsync(Options));
        }

        string[] keys = ["s0", "s1"];
        var overlap = new OverlapDetector(maxInside: 2);
        long granted = 0;
        var until = Stopwatch.GetTimestamp() + (3 * Stopwatch.Frequency);

        async Task FlowAsync(RedisKeyedLockProvider provider, int seed)
        {
            var random = new Random(seed);
            while (Stopwatch.GetTimestamp() < until)
            {
                var key = keys[random.Next(keys.Length)];
                KeyedLockLease? lease = null;
                try
                {
                    switch (random.Next(4))
                    {
                        case 0:
                            lease = Held(await provider.TryAcquireAsync(key, TimeSpan.Zero));
                            break;
                        case 1:
                            lease = Held(await provider.TryAcquireAsync(key, TimeSpan.FromMilliseconds(random.Next(1, 5))));
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
                    await Task.Yield();
                    overlap.Exit(key);
                    await held.DisposeAsync();
                }
            }
        }

        var flows = instances.SelectMany((provider, i) => Enumerable.Range(0, 6).Select(f => Task.Run(() => FlowAsync(provider, (i * 100) + f))));
        await Task.WhenAll(flows).Bounded(TimeSpan.FromSeconds(60));

        overlap.AssertNoViolations();
        Assert.Equal(2, overlap.MaxSeen); // the second holder was really used
        Assert.True(granted > 100, $"only {granted} grants in 3 s");
        Assert.All(instances, i => Assert.Equal(0, i.ActiveLeases));
        Assert.All(instances, i => Assert.Equal(0, i.WaitingKeys));
        await AssertOnlyTheFenceKeyIsLeftAsync();
    }

    private static KeyedLockLease? Held(KeyedLockAttempt attempt) => attempt.Succeeded ? attempt.Lease : null;
}
