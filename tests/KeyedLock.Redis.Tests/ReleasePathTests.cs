using KeyedLock.Testing;
using StackExchange.Redis;

namespace KeyedLock.Redis.Tests;

/// <summary>
/// The holder's token field tells RELEASE whether anyone queued behind the holder: <c>#id</c> while nobody did since
/// its grant (the release is then one <c>HDEL</c>), <c>!id</c> once a waiter queued (the release takes the full path
/// and hands the key on). The scripts are called directly, so every reply and field is checked exactly.
/// </summary>
public sealed class ReleasePathTests : RedisTestBase
{
    [RedisFact]
    public async Task AQueuedWaiter_MarksTheHolder_AndTheReleaseHandsTheKeyOn_InOrder()
    {
        var scripts = (await CreateInstanceAsync()).Scripts;
        var keys = Keys("k");

        Assert.True(await AcquireAsync(scripts, keys, "a:1") > 0);
        Assert.Equal(["#a:1", "a:1"], await FieldsAsync("k"));

        Assert.True(await AcquireAsync(scripts, keys, "b:1") < 0); // queued
        Assert.True(await AcquireAsync(scripts, keys, "c:1") < 0);
        Assert.Equal(["!a:1", "a:1"], await FieldsAsync("k"));

        Assert.Equal(1, await ReleaseAsync(scripts, keys, "a:1"));
        Assert.Equal(["!b:1", "b:1"], await FieldsAsync("k")); // granted while c still waits

        Assert.Equal(1, await ReleaseAsync(scripts, keys, "b:1"));
        Assert.Equal(["#c:1", "c:1"], await FieldsAsync("k")); // granted from a queue it emptied

        Assert.Equal(1, await ReleaseAsync(scripts, keys, "c:1"));
        await AssertOnlyTheFenceKeyIsLeftAsync();
    }

    [RedisFact]
    public async Task AWaiterThatLeft_StillLeavesTheHolderReleasedAsHeld_AndNothingBehind()
    {
        var scripts = (await CreateInstanceAsync()).Scripts;
        var keys = Keys("k");
        Assert.True(await AcquireAsync(scripts, keys, "a:1") > 0);
        Assert.True(await AcquireAsync(scripts, keys, "b:1") < 0);

        Assert.Equal(0, (long)await scripts.Leave.EvaluateAsync(Db, keys, ["b:1"]).Bounded());
        Assert.Equal(["!a:1", "a:1"], await FieldsAsync("k"));

        Assert.Equal(1, await ReleaseAsync(scripts, keys, "a:1")); // held, not reported lost
        await AssertOnlyTheFenceKeyIsLeftAsync();
    }

    [RedisFact]
    public async Task TheReleaseOfAGoneLease_AnswersLost_WithOrWithoutAQueue()
    {
        var scripts = (await CreateInstanceAsync()).Scripts;
        var keys = Keys("k");
        Assert.Equal(0, await ReleaseAsync(scripts, keys, "a:1")); // a free key

        Assert.True(await AcquireAsync(scripts, keys, "b:1") > 0);
        Assert.True(await AcquireAsync(scripts, keys, "c:1") < 0);
        Assert.Equal(0, await ReleaseAsync(scripts, keys, "a:1")); // another holder, a queue
        Assert.Equal(["!b:1", "b:1"], await FieldsAsync("k"));

        Assert.Equal(1, await ReleaseAsync(scripts, keys, "b:1"));
        Assert.Equal(1, await ReleaseAsync(scripts, keys, "c:1"));
        await AssertOnlyTheFenceKeyIsLeftAsync();
    }

    [RedisFact]
    public async Task WithTwoHolders_AQueuedWaiterMarksBoth_AndIsGrantedByTheFirstRelease()
    {
        var scripts = (await CreateInstanceAsync(o => o.MaxConcurrencyPerKey = 2)).Scripts;
        var keys = Keys("k");
        Assert.True(await AcquireAsync(scripts, keys, "a:1") > 0);
        Assert.True(await AcquireAsync(scripts, keys, "b:1") > 0);
        Assert.Equal(["#a:1", "#b:1", "a:1", "b:1"], await FieldsAsync("k"));

        Assert.True(await AcquireAsync(scripts, keys, "c:1") < 0);
        Assert.Equal(["!a:1", "!b:1", "a:1", "b:1"], await FieldsAsync("k"));

        Assert.Equal(1, await ReleaseAsync(scripts, keys, "a:1"));
        Assert.Equal(["!b:1", "#c:1", "b:1", "c:1"], await FieldsAsync("k"));

        Assert.Equal(1, await ReleaseAsync(scripts, keys, "b:1"));
        Assert.Equal(1, await ReleaseAsync(scripts, keys, "c:1"));
        await AssertOnlyTheFenceKeyIsLeftAsync();
    }

    private RedisKey[] Keys(string key) => [$"{Namespace}:k:{key}:h"];

    private async Task<long> AcquireAsync(Internal.RedisScripts scripts, RedisKey[] keys, string id)
        => (long)await scripts.Acquire.EvaluateAsync(Db, keys, [id, "0"]).Bounded();

    private async Task<long> ReleaseAsync(Internal.RedisScripts scripts, RedisKey[] keys, string id)
        => (long)await scripts.Release.EvaluateAsync(Db, keys, [id]).Bounded();

    /// <summary>The holder hash's field names, sorted ordinally ('!' and '#' sort before the ids).</summary>
    private async Task<string[]> FieldsAsync(string key)
        => [.. (await Db.HashKeysAsync($"{Namespace}:k:{key}:h")).Select(f => (string)f!).Order(StringComparer.Ordinal)];
}
