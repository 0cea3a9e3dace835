using System.Diagnostics;
using System.Diagnostics.Metrics;
using KeyedLock.Internal;
using Microsoft.Extensions.DependencyInjection;
using static KeyedLock.Tests.Acquired;

namespace KeyedLock.Tests;

/// <summary>Argument checks of every public entry point that takes a delegate or builds a lease.</summary>
public sealed class NullArgumentTests
{
    [Fact]
    public async Task EveryRunAsyncOverload_RejectsANullDelegate_BeforeTakingTheKey()
    {
        using var registry = new KeyedLockRegistry();
        Assert.Equal("action", (await Assert.ThrowsAsync<ArgumentNullException>(() => registry.RunAsync("k", (Func<CancellationToken, ValueTask>)null!)).Bounded()).ParamName);
        Assert.Equal("action", (await Assert.ThrowsAsync<ArgumentNullException>(() => registry.RunAsync("k", (Func<CancellationToken, Task>)null!)).Bounded()).ParamName);
        Assert.Equal("func", (await Assert.ThrowsAsync<ArgumentNullException>(() => registry.RunAsync("k", (Func<CancellationToken, ValueTask<int>>)null!)).Bounded()).ParamName);
        Assert.Equal("func", (await Assert.ThrowsAsync<ArgumentNullException>(() => registry.RunAsync("k", (Func<CancellationToken, Task<int>>)null!)).Bounded()).ParamName);
        Assert.Equal("action", (await Assert.ThrowsAsync<ArgumentNullException>(() => registry.RunAsync("k", (Action<CancellationToken>)null!)).Bounded()).ParamName);
        Assert.Equal("func", (await Assert.ThrowsAsync<ArgumentNullException>(() => registry.RunAsync("k", (Func<CancellationToken, int>)null!)).Bounded()).ParamName);
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public void Lease_RejectsANullKey_AndServicesRegistration_RejectsNullServices()
    {
        using var registry = new KeyedLockRegistry();
        var owner = Granted(registry.AcquireAsync("k"));
        Assert.Equal("key", Assert.Throws<ArgumentNullException>(() => new KeyedLockLease(owner.Owner!, null!, 1)).ParamName);
        Assert.Equal("owner", Assert.Throws<ArgumentNullException>(() => new KeyedLockLease(null!, "k", 1)).ParamName);
        owner.Dispose();
        Assert.Equal("services", Assert.Throws<ArgumentNullException>(() => KeyedLockServiceCollectionExtensions.AddKeyedLock(null!)).ParamName);
    }

    [Fact]
    public void InvalidOptions_SayWhatIsAllowed()
    {
        var concurrency = Assert.Throws<ArgumentOutOfRangeException>(() => new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = 0 }));
        Assert.Contains("MaxConcurrencyPerKey must be at least 1", concurrency.Message, StringComparison.Ordinal);
        var queue = Assert.Throws<ArgumentOutOfRangeException>(() => new KeyedLockRegistry(new KeyedLockOptions { MaxQueueLengthPerKey = -1 }));
        Assert.Contains("MaxQueueLengthPerKey must be 0 or more", queue.Message, StringComparison.Ordinal);
    }
}

/// <summary>Holder slots of a keyed semaphore (<c>MaxConcurrencyPerKey &gt; 1</c>) seen through <see cref="KeyedLockLease.IsHeld"/>.</summary>
public sealed class HolderSlotTests
{
    [Fact]
    public void IsHeld_IsTrueOnlyForTheLeasesStillInASlot()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = 3 });
        var first = Granted(registry.AcquireAsync("k"));
        var second = Granted(registry.AcquireAsync("k"));
        Assert.True(first.IsHeld);
        Assert.True(second.IsHeld);

        first.Dispose();
        Assert.False(first.IsHeld);  // its slot is free (0) and the other slots hold other grants
        Assert.True(second.IsHeld);
        second.Dispose();
        Assert.False(second.IsHeld);
        Assert.False(first.IsHeld);
        Assert.Equal(0, registry.Count);
    }
}

/// <summary>Details of the metrics that a dashboard relies on.</summary>
public sealed class MetricsDetailTests
{
    [Fact]
    public void EveryInstrument_HasAUnitAndADescription()
    {
        var factory = new TestMeterFactory();
        var instruments = new List<Instrument>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, factory))
                {
                    lock (instruments)
                    {
                        instruments.Add(instrument);
                    }
                }
            },
        };
        listener.Start();
        using var registry = new KeyedLockRegistry(null, null, factory);

        Assert.Equal(6, instruments.Count);
        Assert.All(instruments, i =>
        {
            Assert.False(string.IsNullOrWhiteSpace(i.Description), i.Name);
            Assert.False(string.IsNullOrWhiteSpace(i.Unit), i.Name);
        });
    }

    [Fact]
    public void Dispose_EndsTheRegistrysOwnMeter_ButNeverAMeterFromTheFactory()
    {
        var factory = new TestMeterFactory();
        var completed = new List<Instrument>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == KeyedLockMetrics.MeterName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
            MeasurementsCompleted = (instrument, _) =>
            {
                lock (completed)
                {
                    completed.Add(instrument);
                }
            },
        };
        listener.Start();

        var own = new KeyedLockRegistry();
        var ownMeter = own.Metrics.Meter;
        var scoped = new KeyedLockRegistry(null, null, factory);
        var scopedMeter = scoped.Metrics.Meter;
        scoped.Dispose();
        own.Dispose();

        lock (completed)
        {
            Assert.Equal(6, completed.Count(i => ReferenceEquals(i.Meter, ownMeter)));
            Assert.DoesNotContain(completed, i => ReferenceEquals(i.Meter, scopedMeter));
        }
    }

    [Fact]
    public void RefusedAtOnce_AreCountedByResult()
    {
        var factory = new TestMeterFactory();
        using var recorder = new MeterRecorder(KeyedLockMetrics.MeterName, factory);
        using var registry = new KeyedLockRegistry(null, null, factory);
        var holder = Granted(registry.AcquireAsync("k"));

        Assert.False(registry.TryAcquireAsync("k", TimeSpan.Zero).Result.Succeeded);
        Assert.True(registry.TryAcquireAsync("k", TimeSpan.FromSeconds(1), new CancellationToken(canceled: true)).IsCanceled);
        Assert.True(registry.AcquireAsync("k", new CancellationToken(canceled: true)).IsCanceled);
        holder.Dispose();

        Assert.Equal(1, recorder.Sum(KeyedLockMetrics.Acquisitions, KeyedLockMetrics.ResultTag, "timeout"));
        Assert.Equal(2, recorder.Sum(KeyedLockMetrics.Acquisitions, KeyedLockMetrics.ResultTag, "canceled"));
        Assert.Equal(1, recorder.Sum(KeyedLockMetrics.Acquisitions, KeyedLockMetrics.ResultTag, "acquired"));
    }

    [Fact]
    public async Task AHandOffGrantedBeforeAnyoneListened_RecordsNoHoldDuration()
    {
        var factory = new TestMeterFactory();
        var time = new ManualTimeProvider();
        using var registry = new KeyedLockRegistry(null, time, factory);
        var holder = Granted(registry.AcquireAsync("k"));
        var waiter = registry.AcquireAsync("k");
        holder.Dispose(); // hands the key to the waiter while nobody listens
        var second = await waiter.Bounded();

        using var recorder = new MeterRecorder(KeyedLockMetrics.MeterName, factory);
        time.Advance(TimeSpan.FromSeconds(1));
        second.Dispose();
        Assert.Empty(recorder.Of(KeyedLockMetrics.HoldDuration));

        // Granted while listening: measured.
        var third = Granted(registry.AcquireAsync("k"));
        var fourth = registry.AcquireAsync("k");
        third.Dispose();
        var held = await fourth.Bounded();
        time.Advance(TimeSpan.FromSeconds(2));
        held.Dispose();
        Assert.Contains(recorder.Of(KeyedLockMetrics.HoldDuration), m => m.Value == 2);
    }
}

/// <summary>Edge cases of the stripe table, the waiter pool, tracing and multi-key leases.</summary>
public sealed class RegistryEdgeTests
{
    [Fact]
    public void KeysSharingAFullHash_AreStillDistinctKeys_InAStripeThatDidNotSwitch()
    {
        using var registry = new KeyedLockRegistry();
        var keys = HashFloodingTests.CollidingKeys(4);
        var leases = keys.Select(k => Granted(registry.AcquireAsync(k))).ToArray(); // each its own entry
        var waiter = registry.AcquireAsync(keys[0]);
        Assert.False(waiter.IsCompleted);
        Assert.Equal(1, registry.QueueLength(keys[0]));
        Assert.Equal(0, registry.QueueLength(keys[1]));
        Assert.Equal(0, registry.QueueLength(keys[3]));
        Assert.False(registry.StripeOf(keys[0]).IsRandomized);

        leases[0].Dispose();
        Assert.True(waiter.IsCompletedSuccessfully);
        waiter.Result.Dispose();
        foreach (var lease in leases.Skip(1))
        {
            lease.Dispose();
        }

        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task AQueuedTryAcquire_ReturnsItsWaiterToThePool_WhenItsGrantIsReleased()
    {
        using var registry = new KeyedLockRegistry();
        var holder = Granted(registry.AcquireAsync("k"));
        var before = registry.PooledWaiters;
        var attempt = registry.TryAcquireAsync("k", Timeout.InfiniteTimeSpan);
        Assert.False(attempt.IsCompleted);
        holder.Dispose();
        var granted = await attempt.Bounded();
        Assert.True(granted.Succeeded);
        Assert.Equal(before, registry.PooledWaiters); // the grant's waiter comes back when the grant is released
        await granted.DisposeAsync();
        Assert.Equal(Math.Max(before, 1), registry.PooledWaiters);
    }

    [Fact]
    public async Task AListenerThatSamplesNothing_IsHarmless()
    {
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == KeyedLockDiagnostics.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.None,
        };
        ActivitySource.AddActivityListener(listener);
        using var registry = new KeyedLockRegistry();
        var holder = Granted(registry.AcquireAsync("sampled-out"));
        var waiter = registry.AcquireAsync("sampled-out");
        holder.Dispose();
        (await waiter.Bounded()).Dispose();
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task MultiKeyLease_StopsFollowingTheLossOfItsKeys_OnceReleased()
    {
        using var provider = new LosableProviderTests.LosableProvider();
        var lease = await provider.AcquireAsync(["a", "b"], TimeSpan.FromSeconds(30)).Bounded();
        var lost = lease.LostToken;
        await lease.DisposeAsync();
        provider.Lose("a");
        Assert.False(lost.IsCancellationRequested);

        var sync = await provider.AcquireAsync(["c", "d"], TimeSpan.FromSeconds(30)).Bounded();
        var lostSync = sync.LostToken;
        sync.Dispose();
        provider.Lose("d");
        Assert.False(lostSync.IsCancellationRequested);
    }
}
