using KeyedLock.Testing;
using StackExchange.Redis;

namespace KeyedLock.Redis.Tests;

public sealed class FencingTests : RedisTestBase
{
    [RedisFact]
    public async Task LuaNumbers_RoundTokensNear2Pow53_WhenPrintedWithToString()
    {
        // The trap the scripts avoid: Lua numbers are doubles, and tostring prints 14 significant digits.
        var printed = (string?)await Db.ScriptEvaluateAsync("return tostring(tonumber(ARGV[1]))", values: ["9007199254740001"]);

        Assert.NotEqual("9007199254740001", printed);
    }

    [RedisFact]
    public async Task TheClockSeededToken_IsTheServerTimeInMicroseconds_Exactly()
    {
        // The scripts' token fragment, with TIME's two parts given: the microseconds are zero-padded to six digits,
        // and a counter ahead of the clock wins by one.
        var script = "local t = {ARGV[1], ARGV[2]}\nlocal F = KEYS[1]\n"
            + Internal.RedisScripts.NextToken.Replace("$FENCE_TTL", "60000", StringComparison.Ordinal)
            + "return tok";
        (string Seconds, string Micros, string Token)[] cases =
        [
            ("1764624567", "0", "1764624567000000"),
            ("1764624567", "42", "1764624567000042"),
            ("1764624567", "100000", "1764624567100000"),
            ("1764624567", "999999", "1764624567999999"),
            ("1764624568", "7", "1764624568000007"),
            ("1764624500", "1", "1764624568000008"), // the clock went back: last + 1
        ];
        RedisKey counter = $"{Namespace}:fence";
        foreach (var (seconds, micros, token) in cases)
        {
            Assert.Equal(token, (string?)await Db.ScriptEvaluateAsync(script, [counter], [seconds, micros]));
            Assert.Equal(token, (string?)await Db.StringGetAsync(counter));
        }
    }

    [RedisFact]
    public async Task TokensNear2Pow53_AreStoredAndReturnedExactly()
    {
        var provider = await CreateInstanceAsync();
        await Db.StringSetAsync($"{Namespace}:fence", "9007199254740000");

        var first = await provider.AcquireAsync("k").Bounded();
        Assert.Equal(9007199254740001, first.FencingToken);
        Assert.Equal("9007199254740001", (string?)await Db.StringGetAsync($"{Namespace}:fence"));
        Assert.Equal("9007199254740001", (string?)await Db.HashGetAsync($"{Namespace}:k:k:h", "#" + ((RedisKeyedLockProvider)provider).InstanceId + ":1"));
        await first.DisposeAsync();

        await using var second = await provider.AcquireAsync("k").Bounded();
        Assert.Equal(9007199254740002, second.FencingToken);
        Assert.Equal("9007199254740002", (string?)await Db.StringGetAsync($"{Namespace}:fence"));
    }

    [RedisFact]
    public async Task ATokenThatWouldReach2Pow53_IsRefused_AndTheCounterIsNotLowered()
    {
        var provider = await CreateInstanceAsync();
        await Db.StringSetAsync($"{Namespace}:fence", "9007199254740991");

        await Assert.ThrowsAsync<KeyedLockUnavailableException>(() => provider.AcquireAsync("k").AsTask().Bounded());

        // The script had written its clock-seeded token first; it must put the higher counter back before failing.
        Assert.Equal("9007199254740991", (string?)await Db.StringGetAsync($"{Namespace}:fence"));
        Assert.Equal(0, await HolderCountAsync("k"));
        await AssertOnlyTheFenceKeyIsLeftAsync();
    }

    [RedisFact]
    public async Task TokensKeepIncreasing_AfterTheCounterIsLost()
    {
        var a = await CreateInstanceAsync();
        var b = await CreateInstanceAsync();
        long first;
        await using (var lease = await a.AcquireAsync("k").Bounded())
        {
            first = lease.FencingToken;
        }

        // Evicted, expired, or lost in a failover to a replica that had not received it yet.
        Assert.True(await Db.KeyDeleteAsync($"{Namespace}:fence"));

        await using var next = await b.AcquireAsync("k").Bounded();
        Assert.True(next.FencingToken > first, $"{next.FencingToken} > {first}");
    }

    [RedisFact]
    public async Task TokensIncreaseAcrossKeys_AndInstances()
    {
        var a = await CreateInstanceAsync();
        var b = await CreateInstanceAsync();
        var tokens = new List<long>();
        for (var i = 0; i < 6; i++)
        {
            var instance = i % 2 == 0 ? a : b;
            if (i == 4)
            {
                var attempt = await instance.TryAcquireAsync("k" + (i % 3), TimeSpan.Zero).Bounded();
                tokens.Add(attempt.Lease.FencingToken);
                await attempt.DisposeAsync();
                continue;
            }

            await using var lease = await instance.AcquireAsync("k" + (i % 3)).Bounded();
            tokens.Add(lease.FencingToken);
        }

        Assert.Equal(tokens.Order(), tokens);
        Assert.Equal(6, tokens.Distinct().Count());
        Assert.All(tokens, t => Assert.True(t > 1_700_000_000_000_000, "time-seeded (microseconds since 1970)"));
    }
}
