using KeyedLock.Internal;
using KeyedLock.Testing;

namespace KeyedLock.Tests;

/// <summary>
/// The stripe's gate on its own: threads that find it taken spin (and yield) until they can take it themselves.
/// Short enough for the mutation run. A contended enter that left its spin on seeing the gate free, without taking
/// it, would let two threads in; the other tests rarely let a waiting thread see the gate free (its holder takes it
/// again at once), so this one holds the gate, and then leaves it free, for a moment on every turn.
/// </summary>
public sealed class StripeGateTests
{
    [Fact]
    public async Task ContendedEnters_NeverLetTwoThreadsInAtOnce()
    {
        var gate = new StripeGate();
        const int Threads = 4;
        const int Rounds = 20_000;
        var inside = 0;
        var overlaps = 0;
        long unguarded = 0;
        using var start = new Barrier(Threads);
        var workers = Enumerable.Range(0, Threads).Select(_ => Task.Factory.StartNew(
            () =>
            {
                start.SignalAndWait();
                for (var i = 0; i < Rounds; i++)
                {
                    using (gate.EnterScope())
                    {
                        if (Interlocked.Exchange(ref inside, 1) != 0)
                        {
                            Interlocked.Increment(ref overlaps);
                        }

                        unguarded++; // a plain increment: only the gate keeps it exact
                        Thread.SpinWait(50); // a held gate long enough that the other threads wait for it
                        Volatile.Write(ref inside, 0);
                    }

                    Thread.SpinWait(50); // and free between two turns, so that waiting threads find it free
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default)).ToArray();

        await Task.WhenAll(workers).Bounded();

        Assert.Equal(0, overlaps);
        Assert.Equal((long)Threads * Rounds, unguarded);
    }
}
