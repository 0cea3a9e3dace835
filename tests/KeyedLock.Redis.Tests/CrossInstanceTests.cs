using System.Collections.Concurrent;
using KeyedLock.Testing;

namespace KeyedLock.Redis.Tests;

/// <summary>Two providers on two multiplexers: two app instances sharing one Redis.</summary>
public sealed class CrossInstanceTests : RedisTestBase
{
    [RedisFact]
    public async Task TwoInstances_SameKey_HaveExactlyOneHolder_AndFencingFollowsGrantOrder()
    {
        var instances = new[] { await CreateInstanceAsync(), await CreateInstanceAsync() };
        var inside = 0;
        var overlaps = 0;
        var tokens = new ConcurrentQueue<long>();
        var tasks = Enumerable.Range(0, 40).Select(i => Task.Run(async () =>
        {
            await using var lease = await instances[i % 2].AcquireAsync("k");
            if (Interlocked.Increment(ref inside) != 1)
            {
                Interlocked.Increment(ref overlaps);
            }

            tokens.Enqueue(lease.FencingToken); // in grant order: only the holder runs here
            await Task.Yield();
            Interlocked.Decrement(ref inside);
        })).ToArray();

        await Task.WhenAll(tasks).Bounded();

        Assert.Equal(0, overlaps);
        Assert.Equal(40, tokens.Count);
        var inOrder = tokens.ToArray();
        Assert.Equal(inOrder.Order(), inOrder);
        Assert.Equal(40, inOrder.Distinct().Count());
        await AssertOnlyTheFenceKeyIsLeftAsync();
    }

    [RedisFact]
    public async Task ANamespaceAndAKeyWithQuotesBackslashesAndNonAsciiCharacters_HandOffAcrossInstances()
    {
        // The namespace's channel prefix and fencing counter are written into the scripts' text, as Lua strings of
        // byte escapes: a quote, a backslash, a long-bracket end or a multi-byte character must neither break the
        // script nor change the channel the grant is pushed on or the counter it reads. The scripts derive the
        // queue's keys from the holder key's name by its last byte, so a multi-byte key ending in ":q" must still
        // name its own queue.
        var odd = Namespace + "\"']]\\n\u00fc\u4e2d:";
        const string key = "\u4e2d\u00fc:q";
        var a = await CreateInstanceAsync(o => o.KeyNamespace = odd);
        var b = await CreateInstanceAsync(o => o.KeyNamespace = odd);
        var first = await a.AcquireAsync(key).Bounded();
        var next = b.AcquireAsync(key).AsTask();
        await TestWait.UntilAsync(() => Db.ListLengthAsync($"{odd}:k:{key}:q"), 1, "b waits in Redis");

        await first.DisposeAsync();
        await using var lease = await next.Bounded(); // granted by RELEASE's push on b's channel

        Assert.True(lease.FencingToken > first.FencingToken);
        Assert.Equal(lease.FencingToken, (long)await Db.StringGetAsync($"{odd}:fence"));
        Assert.Equal(1, await Db.HashLengthAsync($"{odd}:k:{key}:h") / 2);
        Assert.False(await Db.KeyExistsAsync($"{odd}:k:{key}:q"));
    }

    [RedisFact]
    public async Task TwoInstances_AreGrantedInArrivalAtRedisOrder()
    {
        var a = await CreateInstanceAsync();
        var b = await CreateInstanceAsync();

        var a1 = await a.AcquireAsync("k").Bounded();
        var b1 = b.AcquireAsync("k").AsTask();
        await TestWait.UntilAsync(() => QueueLengthAsync("k"), 1, "b1 waits in Redis");
        var a2 = a.AcquireAsync("k").AsTask();
        await TestWait.UntilAsync(() => QueueLengthAsync("k"), 2, "a2 waits in Redis behind b1");
        var b2 = b.AcquireAsync("k").AsTask(); // queued in b, behind b1
        var a3 = a.AcquireAsync("k").AsTask(); // queued in a, behind a2

        await a1.DisposeAsync();
        var b1Lease = await b1.Bounded();
        Assert.False(a2.IsCompleted);
        await TestWait.UntilAsync(() => QueueLengthAsync("k"), 2, "b2 moves up into Redis behind a2");

        await b1Lease.DisposeAsync();
        var a2Lease = await a2.Bounded();
        Assert.False(b2.IsCompleted);
        await TestWait.UntilAsync(() => QueueLengthAsync("k"), 2, "a3 moves up into Redis behind b2");

        await a2Lease.DisposeAsync();
        var b2Lease = await b2.Bounded();
        Assert.False(a3.IsCompleted);

        await b2Lease.DisposeAsync();
        await (await a3.Bounded()).DisposeAsync();
        Assert.True(a1.FencingToken < b1Lease.FencingToken && b1Lease.FencingToken < a2Lease.FencingToken && a2Lease.FencingToken < b2Lease.FencingToken);
        Assert.Equal(0, await HolderCountAsync("k"));
        Assert.Equal(0, await QueueLengthAsync("k"));
    }

    [RedisFact]
    public async Task ZeroTimeout_DoesNotBargePastAnotherInstancesWaiter()
    {
        var a = await CreateInstanceAsync();
        var b = await CreateInstanceAsync();
        var holder = await a.AcquireAsync("k").Bounded();
        var waiter = b.AcquireAsync("k").AsTask();
        await TestWait.UntilAsync(() => QueueLengthAsync("k"), 1, "b waits in Redis");

        await holder.DisposeAsync();
        var lease = await waiter.Bounded();
        var attempt = await a.TryAcquireAsync("k", TimeSpan.Zero).Bounded();

        Assert.False(attempt.Succeeded);
        await lease.DisposeAsync();
    }

    [RedisFact]
    public async Task HandOff_IsPushedToTheGrantedInstanceOnly()
    {
        var a = await CreateInstanceAsync();
        var b = await CreateInstanceAsync();
        var c = await CreateInstanceAsync();
        using var pushes = new ChannelCounter(Monitor, Namespace);
        await pushes.StartAsync();
        var holder = await a.AcquireAsync("k").Bounded();
        var waiterB = b.AcquireAsync("k").AsTask();
        await TestWait.UntilAsync(() => QueueLengthAsync("k"), 1, "b waits in Redis");
        var waiterC = c.AcquireAsync("k").AsTask();
        await TestWait.UntilAsync(() => QueueLengthAsync("k"), 2, "c waits in Redis");

        await holder.DisposeAsync();
        var leaseB = await waiterB.Bounded();

        await pushes.WaitForAsync(1);
        Assert.Equal([b.InstanceId], pushes.Channels.Select(ch => ch[(Namespace.Length + 4)..]));
        Assert.False(waiterC.IsCompleted);
        await leaseB.DisposeAsync();
        await (await waiterC.Bounded()).DisposeAsync();
        await pushes.WaitForAsync(2);
        Assert.Equal([b.InstanceId, c.InstanceId], pushes.Channels.Select(ch => ch[(Namespace.Length + 4)..]));
    }

    [RedisFact]
    public async Task AKeyHeldInAnotherKeyLayout_FailsClosed_InsteadOfBeingSharedWithoutExclusion()
    {
        // An instance of a version that kept holders in a zset holds "k": this version must not treat it as free.
        var provider = await CreateInstanceAsync();
        await Db.SortedSetAddAsync($"{Namespace}:k:k:h", "otherversion:1", 9_999_999_999_999);

        await Assert.ThrowsAsync<KeyedLockUnavailableException>(() => provider.AcquireAsync("k", TimeSpan.FromSeconds(5)).AsTask().Bounded());

        Assert.Equal(1, await Db.SortedSetLengthAsync($"{Namespace}:k:k:h"));
        await Db.KeyDeleteAsync($"{Namespace}:k:k:h");
    }

    [RedisFact]
    public async Task DifferentNamespaces_DoNotExcludeEachOther()
    {
        var a = await CreateInstanceAsync(o => o.KeyNamespace = "tenant-a-" + Namespace);
        var b = await CreateInstanceAsync(o => o.KeyNamespace = "tenant-b-" + Namespace);

        await using var first = await a.AcquireAsync("k", TimeSpan.Zero).Bounded();
        await using var second = await b.AcquireAsync("k", TimeSpan.Zero).Bounded();

        Assert.True(first.IsHeld && second.IsHeld);
    }

    /// <summary>Counts the grants published on the namespace's instance channels (PSUBSCRIBE ns:ch:*).</summary>
    private sealed class ChannelCounter(StackExchange.Redis.IConnectionMultiplexer redis, string keyNamespace) : IDisposable
    {
        private readonly ConcurrentQueue<string> _channels = new();
        private readonly CountWatcher _count = new();
        private readonly StackExchange.Redis.RedisChannel _pattern = StackExchange.Redis.RedisChannel.Pattern(keyNamespace + ":ch:*");

        public IReadOnlyCollection<string> Channels => _channels.ToArray();

        public Task StartAsync() => redis.GetSubscriber().SubscribeAsync(_pattern, (channel, _) =>
        {
            _channels.Enqueue(channel.ToString());
            _count.Add(1);
        });

        public Task WaitForAsync(int count) => _count.WaitForAtLeastAsync(count, seen => $"expected {count} pushes, saw {seen}");

        public void Dispose() => redis.GetSubscriber().Unsubscribe(_pattern);
    }
}
