using StackExchange.Redis;

namespace KeyedLock.Benchmarks;

/// <summary>
/// <c>--redis-split</c>: where the uncontended acquire + release of KeyedLock.Redis and DistributedLock.Redis spend
/// their time. Besides the two locks, it sends the same commands without the libraries (our ACQUIRE and RELEASE scripts;
/// DistributedLock.Redis's <c>SET NX PX</c> and its release script), two empty scripts and two <c>PING</c>s, each on a
/// multiplexer of its own, all interleaved one operation at a time (see <see cref="Interleaved"/>). The differences
/// split each lock's time into round trips, the work Redis does for its commands, and the library's own client code.
/// <c>--with-redlock</c> adds RedLock.net as a seventh operation, as in <c>--redis-report</c>.
/// </summary>
internal static class RedisSplit
{
    private const string DistributedLockRelease = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0";

    internal static async Task<int> RunAsync(bool withRedLock)
    {
        await using var contenders = await RedisContenders.CreateAsync();
        await using var ours = await ConnectionMultiplexer.ConnectAsync(RedisContenders.Options());
        await using var theirs = await ConnectionMultiplexer.ConnectAsync(RedisContenders.Options());
        await using var empty = await ConnectionMultiplexer.ConnectAsync(RedisContenders.Options());
        var oursDb = ours.GetDatabase();
        var theirsDb = theirs.GetDatabase();
        var emptyDb = empty.GetDatabase();
        var ping = contenders.Admin.GetDatabase();
        var scripts = contenders.KeyedA.Scripts;
        RedisKey[] lockKeys = [contenders.Namespace + ":k:split:h"];
        RedisValue[] acquireArgs = ["split:1", "0"];
        RedisValue[] releaseArgs = ["split:1"];
        RedisKey theirKey = contenders.Namespace + ":dl-split";
        RedisKey[] theirKeys = [theirKey];
        RedisValue[] theirArgs = ["owner"];
        var emptySha = await empty.GetServers()[0].ScriptLoadAsync("return 1");

        (string Name, Func<Task> Run)[] operations =
        [
            ("KeyedLock.Redis (AcquireAsync + DisposeAsync)", () => contenders.KeyedAsync(contenders.KeyedA, "free")),
            ("DistributedLock.Redis (AcquireAsync + DisposeAsync)", () => contenders.DistributedLockAsync("free")),
            ("our ACQUIRE + RELEASE scripts, sent without the library", async () =>
            {
                await scripts.Acquire.EvaluateAsync(oursDb, lockKeys, acquireArgs);
                await scripts.Release.EvaluateAsync(oursDb, lockKeys, releaseArgs);
            }),
            ("DistributedLock.Redis's SET NX PX + release script, sent without the library", async () =>
            {
                await theirsDb.StringSetAsync(theirKey, "owner", TimeSpan.FromSeconds(30), When.NotExists);
                await theirsDb.ScriptEvaluateAsync(DistributedLockRelease, theirKeys, theirArgs);
            }),
            ("two empty scripts (EVALSHA of 'return 1')", async () =>
            {
                await emptyDb.ScriptEvaluateAsync(emptySha, lockKeys, releaseArgs);
                await emptyDb.ScriptEvaluateAsync(emptySha, lockKeys, releaseArgs);
            }),
            ("two PINGs (the round trips alone)", async () =>
            {
                await ping.PingAsync();
                await ping.PingAsync();
            }),
        ];

        if (withRedLock)
        {
            operations = [.. operations, ("RedLock.net", () => contenders.RedLockAsync("free"))];
        }

        Console.WriteLine($"Redis: {RedisContenders.Connection}, {Environment.ProcessorCount} cores, load average {RedisReport.LoadAverage()}");
        await Interleaved.PrintAsync("uncontended acquire + release", operations, baseline: 1);

        return 0;
    }
}
