using System.Collections.Concurrent;
using Xunit.Abstractions;

namespace KeyedLock.Tests;

/// <summary>
/// Randomized stress: many keys, random cancel/timeout/zero-timeout/throw (Continue and Stop), an overlap detector
/// per key, a FIFO check per key, and everything released at the end. Seeded: a failure prints the seed, and
/// <c>KEYEDLOCK_TEST_SEED</c> replays it.
/// </summary>
/// <remarks>
/// FIFO is checkable because each key's acquisitions are all issued by one driver, one after the other: the
/// registry enqueues synchronously inside the call, so the call order (the ticket) is the queue order, and the
/// holders (recording their ticket while holding) must see strictly increasing tickets.
/// </remarks>
[Collection(Serial.Name)]
[Trait("Category", "Stress")]
public sealed class StressTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(1, 200_000)]
    [InlineData(3, 60_000)]
    public async Task RandomizedLoad_KeepsMutualExclusionFifoAndLeavesNothingBehind(int concurrency, int targetGrants)
    {
        var seed = TestSeed.Next();
        var context = TestSeed.Describe(seed);
        const int drivers = 8;
        const int keysPerDriver = 8;
        const int window = 24; // operations in flight per driver
        var maxOps = targetGrants * 4;

        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = concurrency, MaxQueueLengthPerKey = 6 });
        var detector = new OverlapDetector(concurrency);
        var problems = new ConcurrentQueue<string>();
        var lastTicket = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        long granted = 0, failedAsExpected = 0, issued = 0;
        var outcomes = new ConcurrentDictionary<string, int>();

        void Note(string outcome) => outcomes.AddOrUpdate(outcome, 1, static (_, n) => n + 1);

        // Everything a holder checks and records while it holds the key, whichever API granted it.
        async Task InsideAsync(string key, long ticket, bool yieldInside)
        {
            detector.Enter(key);
            try
            {
                if (concurrency == 1)
                {
                    // Strictly increasing tickets per key = FIFO (only one holder at a time writes here).
                    var previous = lastTicket.GetValueOrDefault(key, -1);
                    if (ticket <= previous)
                    {
                        problems.Enqueue($"{key}: ticket {ticket} granted after ticket {previous} (FIFO violated)");
                    }

                    lastTicket[key] = ticket;
                }

                Interlocked.Increment(ref granted);
                if (yieldInside)
                {
                    await Task.Yield();
                }
            }
            finally
            {
                detector.Exit(key);
            }
        }

        Task HoldAsync(string key, long ticket, KeyedLockLease lease, bool yieldInside)
        {
            if (!lease.IsHeld || lease.Key != key)
            {
                problems.Enqueue($"{key}#{ticket}: got a lease that is not a held lease of the key ({lease})");
            }

            return InsideAsync(key, ticket, yieldInside);
        }

        async Task OperationAsync(Random random, string key, long ticket)
        {
            var yieldInside = random.Next(2) == 0;
            var kind = random.Next(100);
            try
            {
                switch (kind)
                {
                    case < 30:
                        {
                            using var lease = await registry.AcquireAsync(key).Bounded();
                            await HoldAsync(key, ticket, lease, yieldInside);
                            Note("acquire");
                            break;
                        }

                    case < 45:
                        {
                            using var lease = await registry.AcquireAsync(key, TimeSpan.FromTicks(random.Next(1, 20_000))).Bounded();
                            await HoldAsync(key, ticket, lease, yieldInside);
                            Note("acquire-timeout");
                            break;
                        }

                    case < 60:
                        {
                            using var cts = new CancellationTokenSource();
                            var pending = registry.AcquireAsync(key, cts.Token);
                            if (random.Next(2) == 0)
                            {
                                cts.Cancel();
                            }
                            else
                            {
                                cts.CancelAfter(TimeSpan.FromTicks(random.Next(1, 20_000)));
                            }

                            using var lease = await pending.Bounded();
                            await HoldAsync(key, ticket, lease, yieldInside);
                            Note("acquire-cancel-lost-race");
                            break;
                        }

                    case < 70:
                        {
                            await using var attempt = await registry.TryAcquireAsync(key, TimeSpan.Zero).Bounded();
                            if (attempt.Succeeded)
                            {
                                await HoldAsync(key, ticket, attempt.Lease, yieldInside);
                            }

                            Note(attempt.Succeeded ? "try-zero" : "try-zero-" + attempt.FailureReason);
                            break;
                        }

                    case < 80:
                        {
                            await using var attempt = await registry.TryAcquireAsync(key, TimeSpan.FromTicks(random.Next(1, 20_000))).Bounded();
                            if (attempt.Succeeded)
                            {
                                await HoldAsync(key, ticket, attempt.Lease, yieldInside);
                            }

                            Note(attempt.Succeeded ? "try" : "try-" + attempt.FailureReason);
                            break;
                        }

                    default:
                        {
                            var fail = random.Next(3) == 0;
                            var strategy = random.Next(4) == 0 ? KeyedLockErrorStrategy.Stop : KeyedLockErrorStrategy.Continue;
                            await registry.RunAsync(key, async ct =>
                            {
                                await InsideAsync(key, ticket, yieldInside);
                                if (fail)
                                {
                                    throw new InvalidOperationException("planned failure");
                                }
                            }, strategy).Bounded();
                            Note("run");
                            break;
                        }
                }
            }
            catch (InvalidOperationException ex) when (ex.Message == "planned failure")
            {
                Note("run-threw");
            }
            catch (Exception ex) when (ex is OperationCanceledException or KeyedLockTimeoutException or KeyedLockQueueFullException or KeyedLockAbortedException)
            {
                Interlocked.Increment(ref failedAsExpected);
                Note(ex.GetType().Name);
            }
            catch (Exception ex)
            {
                problems.Enqueue($"{key}#{ticket}: unexpected {ex}");
            }
        }

        async Task DriveAsync(int driver)
        {
            var random = new Random(seed + driver);
            var keys = Enumerable.Range(0, keysPerDriver).Select(k => $"d{driver}/k{k}").ToArray();
            var tickets = new long[keys.Length];
            var inFlight = new Queue<Task>();
            while (Interlocked.Read(ref granted) < targetGrants && Interlocked.Increment(ref issued) <= maxOps)
            {
                // Skewed key choice: a few hot keys with long queues, and cold keys whose entries come and go.
                var k = random.Next(4) == 0 ? random.Next(keys.Length) : random.Next(2);
                inFlight.Enqueue(OperationAsync(random, keys[k], tickets[k]++));
                if (inFlight.Count >= window)
                {
                    await inFlight.Dequeue();
                }
            }

            while (inFlight.Count > 0)
            {
                await inFlight.Dequeue();
            }
        }

        var started = DateTime.UtcNow;
        await Task.WhenAll(Enumerable.Range(0, drivers).Select(d => Task.Run(() => DriveAsync(d)))).Bounded(TimeSpan.FromSeconds(120));
        output.WriteLine($"{context}: {granted:N0} grants, {failedAsExpected:N0} expected failures, {issued:N0} operations issued in {(DateTime.UtcNow - started).TotalSeconds:F1} s");
        output.WriteLine(string.Join(", ", outcomes.OrderBy(o => o.Key).Select(o => $"{o.Key}={o.Value}")));

        detector.AssertNoViolations(context);
        Assert.True(problems.IsEmpty, $"{problems.Count} problems {context}:\n{string.Join('\n', problems.Take(10))}");
        Assert.True(granted >= targetGrants, $"only {granted} grants {context}");
        Assert.Equal(0, registry.Count);
        for (var d = 0; d < drivers; d++)
        {
            for (var k = 0; k < keysPerDriver; k++)
            {
                await using var attempt = await registry.TryAcquireAsync($"d{d}/k{k}", TimeSpan.Zero).Bounded();
                Assert.True(attempt.Succeeded, $"key d{d}/k{k} still held at the end {context}");
            }
        }
    }
}
