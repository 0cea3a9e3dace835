using KeyedLock.Testing;
using StackExchange.Redis;

namespace KeyedLock.Redis.Tests;

/// <summary>
/// Disposing a provider whose commands are still on their way: what it sent must be undone before it closes the
/// multiplexer it created. <c>CLIENT PAUSE ... WRITE</c> holds those commands on the server, so these tests pause the
/// shared server and run alone.
/// </summary>
[Collection(ServerFaultCollection.Name)]
public sealed class DisposalTests : RedisTestBase
{
    [RedisFact]
    public async Task DisposedWhileItsAcquireIsOnTheWay_TheProviderLeavesNoHolderBehind()
    {
        var provider = await OwningInstanceAsync();
        var other = await CreateInstanceAsync();

        Task dispose;
        await PauseWritesAsync();
        try
        {
            // ACQUIRE is held by the pause; the key is free, so it will grant at once when the pause ends.
            var acquiring = provider.AcquireAsync("k").AsTask();
            await TestWait.UntilAsync(PausedScriptCallsAsync, 1, "the ACQUIRE waits on the paused server");
            dispose = provider.DisposeAsync().AsTask();
            await Assert.ThrowsAsync<ObjectDisposedException>(() => acquiring.Bounded());
        }
        finally
        {
            await UnpauseAsync();
        }

        await dispose.Bounded();

        // The grant that ACQUIRE made after the pause was undone before the multiplexer closed.
        Assert.Equal(0, await HolderCountAsync("k"));
        await using (var taken = await other.AcquireAsync("k", TimeSpan.Zero).Bounded())
        {
            Assert.True(taken.IsHeld);
        }

        await AssertOnlyTheFenceKeyIsLeftAsync();
    }

    [RedisFact]
    public async Task DisposedWhileItsHandOffIsBeingConfirmed_TheWaiterFailsAndNoHolderIsLeftBehind()
    {
        var provider = await OwningInstanceAsync();
        var holder = await CreateInstanceAsync();
        var held = await holder.AcquireAsync("k").Bounded();
        var acquiring = provider.AcquireAsync("k").AsTask();
        await TestWait.UntilAsync(() => QueueLengthAsync("k"), 1, "the waiter queues in Redis");

        // The holder's RELEASE grants the waiter and pushes the grant; the pause that follows it in the same
        // transaction holds the waiter's CONFIRM on the server.
        var heldId = holder.Leases.Single().HolderId;
        var release = Db.CreateTransaction();
        _ = release.ScriptEvaluateAsync(holder.Scripts.Release.Text, holder.Keys.For("k"), RedisKeyedLockProvider.Argv(heldId));
        _ = release.ExecuteAsync("CLIENT", "PAUSE", "20000", "WRITE");
        Task dispose;
        try
        {
            Assert.True(await release.ExecuteAsync().Bounded());
            await TestWait.UntilAsync(PausedScriptCallsAsync, 1, "the CONFIRM waits on the paused server");
            dispose = provider.DisposeAsync().AsTask();
        }
        finally
        {
            await UnpauseAsync();
        }

        await dispose.Bounded();

        // A disposed provider hands out no lease, and leaves no holder that nobody renews or releases.
        await Assert.ThrowsAsync<ObjectDisposedException>(() => acquiring.Bounded());
        Assert.Equal(0, await HolderCountAsync("k"));
        await using (var taken = await holder.AcquireAsync("k", TimeSpan.Zero).Bounded())
        {
            Assert.True(taken.IsHeld);
        }

        await held.DisposeAsync();
        await AssertOnlyTheFenceKeyIsLeftAsync();
    }

    [RedisFact]
    public async Task DisposedWhileWaitingInRedis_ThePlaceIsGoneWhenDisposeReturns()
    {
        var provider = await OwningInstanceAsync();
        var holder = await CreateInstanceAsync();
        var next = await CreateInstanceAsync();
        var held = await holder.AcquireAsync("k").Bounded();
        var acquiring = provider.AcquireAsync("k").AsTask();
        await TestWait.UntilAsync(() => QueueLengthAsync("k"), 1, "the waiter queues in Redis");

        await provider.DisposeAsync().AsTask().Bounded();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => acquiring.Bounded());
        Assert.Equal(0, await QueueLengthAsync("k"));

        // So the release hands the key to nobody: the next instance takes it at once.
        await held.DisposeAsync();
        await using (var taken = await next.AcquireAsync("k", TimeSpan.Zero).Bounded())
        {
            Assert.True(taken.IsHeld);
        }

        await AssertOnlyTheFenceKeyIsLeftAsync();
    }

    /// <summary>A provider that created (and so disposes) its multiplexer, as <c>UseRedis("host:port")</c> makes it, with its subscription and scripts ready.</summary>
    private async Task<RedisKeyedLockProvider> OwningInstanceAsync()
    {
        var connection = await TestRedis.ConnectAsync();
        var provider = Track(new RedisKeyedLockProvider(connection, ownsConnection: true, new RedisKeyedLockOptions { KeyNamespace = Namespace }, null, null, null));
        await (await provider.AcquireAsync("warm-up", TimeSpan.FromSeconds(5)).Bounded()).DisposeAsync();
        return provider;
    }

    private Task PauseWritesAsync() => Db.ExecuteAsync("CLIENT", "PAUSE", "20000", "WRITE").Bounded();

    private Task UnpauseAsync() => Db.ExecuteAsync("CLIENT", "UNPAUSE").Bounded();

    /// <summary>Script calls that the pause holds on the server (CLIENT LIST: blocked, last command EVAL or EVALSHA).</summary>
    private async Task<long> PausedScriptCallsAsync()
    {
        var list = (string?)await Db.ExecuteAsync("CLIENT", "LIST").Bounded() ?? string.Empty;
        return list.Split('\n').Count(line =>
            line.Contains(" flags=b", StringComparison.Ordinal)
            && (line.Contains(" cmd=evalsha ", StringComparison.Ordinal) || line.Contains(" cmd=eval ", StringComparison.Ordinal)));
    }
}
