using System.Diagnostics;
using KeyedLock.Testing;
using Npgsql;
using Xunit.Abstractions;

namespace KeyedLock.Postgres.Tests;

/// <summary>
/// How fast a held lease notices that its lock is gone: the time from the fault to the <c>LostToken</c> callback.
/// The pending read on the holding connection catches a terminated backend at once, without any probe.
/// </summary>
public sealed class LostLockDetectionTests(ITestOutputHelper output) : PostgresTestBase
{
    internal static readonly TimeSpan Spec = TimeSpan.FromSeconds(1);

    [PostgresFact]
    public async Task TerminatedBackend_FiresLostTokenWithinOneSecond_WithoutHeartbeats()
    {
        // Heartbeat off: only the pending read can notice.
        var provider = CreateInstance(o => o.LostLockCheckInterval = Timeout.InfiniteTimeSpan);
        await using var lease = await provider.AcquireAsync("k").Bounded();
        using var detector = new LossStopwatch(lease);
        var pid = await TestDatabase.HolderPidAsync(Monitor, provider.GetAdvisoryLockId("k"));

        detector.Start();
        await TerminateAsync(Monitor, pid);
        var elapsed = await detector.Elapsed.Bounded();

        output.WriteLine($"pg_terminate_backend -> LostToken: {elapsed.TotalMilliseconds:0.0} ms");
        Assert.True(elapsed < Spec, $"LostToken fired {elapsed.TotalMilliseconds:0} ms after the termination");
        Assert.False(lease.IsHeld);
    }

    [PostgresFact]
    public async Task SilentlyDeadNetworkPath_FiresLostTokenWithinOneSecond_ByDefault()
    {
        var target = new NpgsqlConnectionStringBuilder(TestDatabase.ConnectionString);
        await using var proxy = new BlackHoleProxy(target.Host!, target.Port);
        var provider = CreateInstance(
            connection: c =>
            {
                c.Host = "127.0.0.1";
                c.Port = proxy.Port;
                c.Pooling = false; // nothing of the black-holed path goes back to a pool
            });
        var lease = await provider.AcquireAsync("k").Bounded();
        using var detector = new LossStopwatch(lease);

        detector.Start();
        proxy.BlackHole();
        var elapsed = await detector.Elapsed.Bounded();

        output.WriteLine($"black-holed path -> LostToken: {elapsed.TotalMilliseconds:0.0} ms (defaults: heartbeat every 200 ms, 500 ms late = lost)");
        Assert.True(elapsed < Spec, $"LostToken fired {elapsed.TotalMilliseconds:0} ms after the path died");
        Assert.False(lease.IsHeld);

        // Releasing a lease on a dead path returns (bounded), and the provider forgets it.
        await lease.DisposeAsync().AsTask().Bounded();
        Assert.Equal(0, provider.ActiveLeases);
    }

    internal static async Task TerminateAsync(NpgsqlDataSource monitor, int pid)
    {
        await using var terminate = monitor.CreateCommand("SELECT pg_terminate_backend(@pid)");
        terminate.Parameters.AddWithValue("pid", pid);
        Assert.True((bool)(await terminate.ExecuteScalarAsync())!);
    }

    /// <summary>Measures from <see cref="Start"/> to the lease's <c>LostToken</c> callback.</summary>
    internal sealed class LossStopwatch : IDisposable
    {
        private readonly Stopwatch _watch = new();
        private readonly TaskCompletionSource<TimeSpan> _elapsed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly CancellationTokenRegistration _registration;

        internal LossStopwatch(KeyedLockLease lease)
        {
            Assert.False(lease.LostToken.IsCancellationRequested);
            _registration = lease.LostToken.Register(() => _elapsed.TrySetResult(_watch.Elapsed));
        }

        internal Task<TimeSpan> Elapsed => _elapsed.Task;

        internal void Start() => _watch.Start();

        public void Dispose() => _registration.Dispose();
    }
}

/// <summary>The server stopping (fast shutdown) reaches the holder as a termination notice: noticed at once.</summary>
[Collection(ServerFaultCollection.Name)]
public sealed class ServerStopDetectionTests(ITestOutputHelper output) : PostgresTestBase
{
    [PostgresFact]
    public async Task ServerStops_FiresLostTokenWithinOneSecond()
    {
        var provider = CreateInstance();
        var lease = await provider.AcquireAsync("k").Bounded();
        using var detector = new LostLockDetectionTests.LossStopwatch(lease);
        TimeSpan elapsed;
        try
        {
            detector.Start();
            var stopping = PgCtl.StopAsync();
            elapsed = await detector.Elapsed.Bounded();
            await stopping;
        }
        finally
        {
            await PgCtl.StartAsync();
            Monitor.Clear();
        }

        output.WriteLine($"pg_ctl stop -m fast -> LostToken: {elapsed.TotalMilliseconds:0.0} ms (includes starting pg_ctl)");
        Assert.True(elapsed < LostLockDetectionTests.Spec, $"LostToken fired {elapsed.TotalMilliseconds:0} ms after the stop began");
        await lease.DisposeAsync();
        Assert.Equal(0, provider.ActiveLeases);
    }
}
