using KeyedLock.Testing;

namespace KeyedLock.Postgres.Tests;

public sealed class LostLockTests : PostgresTestBase
{
    [PostgresFact]
    public async Task TerminatingTheHoldingBackend_FiresLostToken()
    {
        var provider = CreateInstance();
        var other = CreateInstance();
        var lockId = provider.GetAdvisoryLockId("k");
        var lease = await provider.AcquireAsync("k").Bounded();
        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = lease.LostToken.Register(() => lost.TrySetResult());
        var pid = await TestDatabase.HolderPidAsync(Monitor, lockId);

        await using (var terminate = Monitor.CreateCommand("SELECT pg_terminate_backend(@pid)"))
        {
            terminate.Parameters.AddWithValue("pid", pid);
            Assert.True((bool)(await terminate.ExecuteScalarAsync())!);
        }

        await lost.Task.Bounded();
        Assert.False(lease.IsHeld);

        // The lock went with the session: another instance gets the key, and releasing the lost lease is harmless.
        await using var next = await other.AcquireAsync("k", TimeSpan.FromSeconds(10)).Bounded();
        await lease.DisposeAsync();
        Assert.Equal(0, provider.ActiveLeases);

        // The same provider keeps working (the broken connection was dropped, not pooled).
        await next.DisposeAsync();
        await using var again = await provider.AcquireAsync("k", TimeSpan.FromSeconds(10)).Bounded();
        Assert.True(again.IsHeld);
    }

    [PostgresFact]
    public async Task RunAsync_DelegateTokenFires_WhenTheLockIsLost()
    {
        var provider = CreateInstance();
        var lockId = provider.GetAdvisoryLockId("k");
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var run = provider.RunAsync("k", async Task (CancellationToken ct) =>
        {
            running.TrySetResult();
            await Task.Delay(Timeout.Infinite, ct);
        });
        await running.Task.Bounded();
        var pid = await TestDatabase.HolderPidAsync(Monitor, lockId);
        await using (var terminate = Monitor.CreateCommand("SELECT pg_terminate_backend(@pid)"))
        {
            terminate.Parameters.AddWithValue("pid", pid);
            await terminate.ExecuteScalarAsync();
        }

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.Bounded());
        Assert.Equal(0, provider.ActiveLeases);
    }
}
