using KeyedLock.Testing;
using StackExchange.Redis;

namespace KeyedLock.Redis.Tests;

/// <summary>Lock keys are ordinal strings: two different keys never share a Redis key, whatever they contain.</summary>
public sealed class KeyMappingTests : RedisTestBase
{
    [RedisFact]
    public async Task KeysThatDifferOnlyInLoneSurrogates_AreDifferentLocks()
    {
        // Plain UTF-8 turns every lone surrogate into U+FFFD, so these three keys would be one Redis key. A multi-key
        // acquisition of them would then wait for itself (forever, with an infinite timeout).
        string[] keys = ["a\uD800", "a\uDC00", "a\uFFFD", "\uDBFF\uDFFFa\uDFFF\uD800"];
        var a = await CreateInstanceAsync();
        var b = await CreateInstanceAsync();

        await using (var all = await a.AcquireAsync(keys, TimeSpan.Zero).Bounded())
        {
            Assert.True(all.IsHeld);
            Assert.Equal(keys.Length + 1, (await ScanAsync()).Count); // a holders key each, and the fencing counter
            foreach (var key in keys)
            {
                Assert.False((await b.TryAcquireAsync(key, TimeSpan.Zero).Bounded()).Succeeded);
            }
        }

        // A key of valid UTF-16 keeps its plain UTF-8 name on the server.
        await using (var valid = await b.AcquireAsync("a\uFFFD\U0001F600", TimeSpan.Zero).Bounded())
        {
            Assert.True(await Db.KeyExistsAsync($"{Namespace}:k:a\uFFFD\U0001F600:h"));
        }

        await AssertOnlyTheFenceKeyIsLeftAsync();
    }

    [RedisFact]
    public async Task ANamespaceAndALongerOneThatStartsWithIt_NeverShareALock()
    {
        var outer = await CreateInstanceAsync();
        var inner = await CreateInstanceAsync(o => o.KeyNamespace = Namespace + ":eu");

        await using var a = await outer.AcquireAsync("eu:k:b", TimeSpan.Zero).Bounded();
        await using var b = await inner.AcquireAsync("eu:k:b", TimeSpan.Zero).Bounded();
        await using var c = await outer.AcquireAsync("b", TimeSpan.Zero).Bounded();
        await using var d = await inner.AcquireAsync("b", TimeSpan.Zero).Bounded();

        Assert.All(new[] { a, b, c, d }, l => Assert.True(l.IsHeld));
    }

    [Theory]
    [InlineData("app:k")]
    [InlineData("app:k:eu")]
    [InlineData(":k:")]
    [InlineData("k:k:k")]
    public void ANamespaceWhoseLockKeysWouldBeAShorterOnes_IsRejected(string keyNamespace)
    {
        // "app" + ":k:" + "eu:k:b" is "app:k:eu" + ":k:" + "b": the two namespaces would lock each other's keys.
        var ex = Assert.Throws<ArgumentException>(() => new RedisKeyedLockOptions { KeyNamespace = keyNamespace }.Validate());

        Assert.Equal(nameof(RedisKeyedLockOptions.KeyNamespace), ex.ParamName);
        Assert.Contains("':k:'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ANamespaceWithALoneSurrogate_IsRejected()
    {
        // The fencing counter's name and the channels are plain UTF-8, where a lone surrogate becomes U+FFFD. (Not a
        // theory: xunit's serialization of theory data replaces lone surrogates.)
        foreach (var keyNamespace in new[] { "app\uD800", "\uDFFFapp", "a\uDBFF\uDBFFb" })
        {
            var ex = Assert.Throws<ArgumentException>(() => new RedisKeyedLockOptions { KeyNamespace = keyNamespace }.Validate());
            Assert.Equal(nameof(RedisKeyedLockOptions.KeyNamespace), ex.ParamName);
            Assert.Contains("lone surrogate", ex.Message, StringComparison.Ordinal);
        }

        Assert.Null(Record.Exception(() => new RedisKeyedLockOptions { KeyNamespace = "app\uDBFF\uDFFF\uFFFD" }.Validate()));
    }

    [Theory]
    [InlineData("app")]
    [InlineData("app:kk")]
    [InlineData("app:k2:eu")]
    [InlineData("app:")]
    [InlineData("k")]
    public void OtherNamespaces_AreAccepted(string keyNamespace)
        => Assert.Null(Record.Exception(() => new RedisKeyedLockOptions { KeyNamespace = keyNamespace }.Validate()));

    [RedisFact]
    public async Task KeysNamedLikeAnotherKeysQueue_OrVeryLong_AreTheirOwnLocks()
    {
        var a = await CreateInstanceAsync();
        var b = await CreateInstanceAsync();
        var held = await a.AcquireAsync("x").Bounded();
        var waiting = b.AcquireAsync("x").AsTask();
        await TestWait.UntilAsync(() => QueueLengthAsync("x"), 1, "b waits on x in Redis");

        // "x:q" names a key whose holders key is "ns:k:x:q:h", not x's queue "ns:k:x:q"; the same for the others.
        foreach (var key in new[] { "x:q", "x:w", "x:h", "x:", ":x", "x:q:h", new string('k', 100_000) + ":q" })
        {
            await using var other = await a.AcquireAsync(key, TimeSpan.Zero).Bounded();
            Assert.True(other.IsHeld);
            Assert.Equal(1, await HolderCountAsync(key));
        }

        Assert.Equal(1, await QueueLengthAsync("x"));
        Assert.Equal(1, await HolderCountAsync("x"));
        await held.DisposeAsync();
        await (await waiting.Bounded()).DisposeAsync();
        await AssertOnlyTheFenceKeyIsLeftAsync();
    }
}
