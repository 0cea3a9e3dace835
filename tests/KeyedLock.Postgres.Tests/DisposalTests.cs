using KeyedLock.Testing;

namespace KeyedLock.Postgres.Tests;

/// <summary>
/// Disposing a provider while its commands are on their way: when DisposeAsync returns, none of its sessions waits
/// for or holds an advisory lock, and no acquisition of it is still running (none hands out a lease later).
/// </summary>
public sealed class DisposalTests : PostgresTestBase
{
    [PostgresFact]
    public async Task Disposal_WhileWaitingInPostgres_EndsTheServerWait_BeforeItReturns()
    {
        var other = CreateInstance();
        var app = TestDatabase.UniqueName("kl-disp");
        var instance = CreateInstance(applicationName: app);
        var lockId = instance.GetAdvisoryLockId("k");
        var holder = await other.AcquireAsync("k").Bounded();
        var waiting = instance.AcquireAsync("k").AsTask();
        await TestWait.UntilAsync(() => TestDatabase.CountWaitersAsync(Monitor, lockId), 1, "the waiter waits in PostgreSQL");

        await instance.DisposeAsync().AsTask().Bounded();

        // Read right after DisposeAsync returned: the wait was over on the server and in the caller.
        var locking = await TestDatabase.CountLockingSessionsAsync(Monitor, app).Bounded();
        var completed = waiting.IsCompleted;
        Assert.Equal(0, locking);
        Assert.True(completed, "the acquisition was still running after DisposeAsync returned");
        await Assert.ThrowsAsync<ObjectDisposedException>(() => waiting).Bounded();

        // The key is free for the others as soon as its holder lets go.
        await holder.DisposeAsync();
        await using var next = await other.AcquireAsync("k", TimeSpan.FromSeconds(10)).Bounded();
        Assert.Equal(1, await TestDatabase.CountHoldersAsync(Monitor, lockId).Bounded());
    }

    [PostgresFact]
    public async Task Disposal_RacingAGrant_NeverLeavesALockHeld_NorHandsOutALeaseAfterItReturned()
    {
        var other = CreateInstance();
        for (var round = 0; round < 8; round++)
        {
            var app = TestDatabase.UniqueName("kl-race");
            var instance = CreateInstance(applicationName: app);
            var holder = await other.AcquireAsync("k").Bounded();
            var waiting = instance.AcquireAsync("k").AsTask();
            await TestWait.UntilAsync(() => TestDatabase.CountWaitersAsync(Monitor, instance.GetAdvisoryLockId("k")), 1, "the waiter waits in PostgreSQL");

            // The grant arrives while the provider is being disposed.
            var release = holder.DisposeAsync().AsTask();
            await instance.DisposeAsync().AsTask().Bounded();

            var locking = await TestDatabase.CountLockingSessionsAsync(Monitor, app).Bounded();
            var completed = waiting.IsCompleted;
            await release.Bounded();
            Assert.Equal(0, locking);
            Assert.True(completed, $"round {round}: the acquisition was still running after DisposeAsync returned");
            try
            {
                // Granted before the disposal began: the disposal released it and fired its LostToken.
                var lease = await waiting.Bounded();
                Assert.True(lease.LostToken.IsCancellationRequested);
                await lease.DisposeAsync();
            }
            catch (ObjectDisposedException)
            {
                // Stopped by the disposal (a lease granted meanwhile was released, not handed out).
            }
        }
    }

    [PostgresFact]
    public async Task Disposal_OfASemaphoreWaiter_LeavesNoTurnstileNorSlotHeld()
    {
        var other = CreateInstance(o => o.MaxConcurrencyPerKey = 2);
        var app = TestDatabase.UniqueName("kl-dsem");
        var instance = CreateInstance(o => o.MaxConcurrencyPerKey = 2, applicationName: app);
        var first = await other.AcquireAsync("k").Bounded();
        var second = await other.AcquireAsync("k").Bounded();
        var waiting = instance.AcquireAsync("k").AsTask();
        await TestWait.UntilAsync(() => TestDatabase.CountLockingSessionsAsync(Monitor, app), 1, "the waiter holds the turnstile");

        await instance.DisposeAsync().AsTask().Bounded();

        var locking = await TestDatabase.CountLockingSessionsAsync(Monitor, app).Bounded();
        var completed = waiting.IsCompleted;
        await first.DisposeAsync();
        await second.DisposeAsync();
        Assert.Equal(0, locking);
        Assert.True(completed, "the acquisition was still running after DisposeAsync returned");
        await Assert.ThrowsAsync<ObjectDisposedException>(() => waiting).Bounded();
    }
}
