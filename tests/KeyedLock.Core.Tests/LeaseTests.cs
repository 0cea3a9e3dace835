namespace KeyedLock.Tests;

public sealed class LeaseTests
{
    [Fact]
    public async Task DoubleRelease_IsANoOp_AndDoesNotReleaseTheNextHolder()
    {
        using var registry = new KeyedLockRegistry();
        var first = await registry.HoldAsync("k");
        var copy = first;
        var second = registry.AcquireAsync("k");
        var third = registry.AcquireAsync("k");

        first.Dispose();
        Assert.True(second.IsCompletedSuccessfully);
        var secondLease = await second.Bounded();

        // Releasing the first grant again (also through a copy, sync or async) must not touch the second grant.
        first.Dispose();
        copy.Dispose();
        await first.DisposeAsync();
        Assert.True(secondLease.IsHeld);
        Assert.False(third.IsCompleted);
        Assert.False(first.IsHeld);
        Assert.False(copy.IsHeld);

        await secondLease.DisposeAsync();
        (await third.Bounded()).Dispose();
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task StaleLease_OfAReusedEntry_CannotReleaseTheNewGrant()
    {
        using var registry = new KeyedLockRegistry();
        var old = await registry.HoldAsync("k");
        old.Dispose();

        // The entry went back to the pool and is reused for this and other keys.
        var fresh = await registry.HoldAsync("k");
        var other = await registry.HoldAsync("other");
        old.Dispose();
        Assert.True(fresh.IsHeld);
        Assert.True(other.IsHeld);
        Assert.False((await registry.TryAcquireAsync("k", TimeSpan.Zero).Bounded()).Succeeded);
        fresh.Dispose();
        other.Dispose();
    }

    [Fact]
    public async Task DefaultLease_IsSafeToUse()
    {
        var lease = default(KeyedLockLease);
        lease.Dispose();
        await lease.DisposeAsync();
        Assert.False(lease.IsHeld);
        Assert.Equal(string.Empty, lease.Key);
        Assert.Equal(0, lease.FencingToken);
        Assert.False(lease.LostToken.CanBeCanceled);
        Assert.Equal(default, lease);
        Assert.NotNull(lease.ToString());

        var attempt = default(KeyedLockAttempt);
        Assert.True(attempt.Succeeded == (attempt.FailureReason == KeyedLockFailureReason.None));
        attempt.Dispose();
        await attempt.DisposeAsync();
    }

    [Fact]
    public async Task FencingToken_StrictlyIncreasesAcrossGrants_FastPathHandOffKeysAndConcurrency()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxConcurrencyPerKey = 2 });
        var tokens = new List<long>();
        var a1 = await registry.HoldAsync("a");
        tokens.Add(a1.FencingToken);
        var a2 = await registry.HoldAsync("a");
        tokens.Add(a2.FencingToken);
        var b = await registry.HoldAsync("b");
        tokens.Add(b.FencingToken);
        var waiter = registry.AcquireAsync("a");
        var attemptWaiter = registry.TryAcquireAsync("a", TimeSpan.FromMinutes(1));
        a1.Dispose();
        var handedOff = await waiter.Bounded();
        tokens.Add(handedOff.FencingToken);
        a2.Dispose();
        var attempt = await attemptWaiter.Bounded();
        tokens.Add(attempt.Lease.FencingToken);
        b.Dispose();
        handedOff.Dispose();
        attempt.Dispose();
        var again = await registry.HoldAsync("b");
        tokens.Add(again.FencingToken);
        again.Dispose();

        Assert.All(tokens, t => Assert.True(t > 0));
        for (var i = 1; i < tokens.Count; i++)
        {
            Assert.True(tokens[i] > tokens[i - 1], $"token {i} ({tokens[i]}) must exceed token {i - 1} ({tokens[i - 1]}): {string.Join(", ", tokens)}");
        }

        // The token is fixed per grant: reading it again, or after release, gives the same number.
        Assert.Equal(tokens[^1], again.FencingToken);
    }

    [Fact]
    public async Task FencingToken_IsUniqueAcrossConcurrentGrants()
    {
        using var registry = new KeyedLockRegistry();
        var tokens = new System.Collections.Concurrent.ConcurrentBag<long>();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(async () =>
        {
            for (var i = 0; i < 2000; i++)
            {
                using var lease = await registry.AcquireAsync("k" + (i % 3)).Bounded();
                tokens.Add(lease.FencingToken);
            }
        }))).Bounded();
        Assert.Equal(16000, tokens.Distinct().Count());
    }

    [Fact]
    public async Task LostToken_NeverFiresInProcess()
    {
        using var registry = new KeyedLockRegistry();
        var lease = await registry.HoldAsync("k");
        var token = lease.LostToken;
        Assert.False(token.CanBeCanceled);
        Assert.False(token.IsCancellationRequested);
        lease.Dispose();
        Assert.False(lease.LostToken.IsCancellationRequested);
    }

    [Fact]
    public async Task IsHeldAndKey_ReflectTheGrant()
    {
        using var registry = new KeyedLockRegistry();
        var lease = await registry.HoldAsync("orders/42");
        Assert.Equal("orders/42", lease.Key);
        Assert.True(lease.IsHeld);
        Assert.Contains("orders/42", lease.ToString(), StringComparison.Ordinal);
        var copy = lease;
        Assert.Equal(lease, copy);
        Assert.True(lease == copy);
        Assert.Equal(lease.GetHashCode(), copy.GetHashCode());
        lease.Dispose();
        Assert.False(lease.IsHeld);
        Assert.False(copy.IsHeld);
        Assert.Equal("orders/42", lease.Key);

        var next = await registry.HoldAsync("orders/42");
        Assert.NotEqual(lease, next);
        Assert.True(lease != next);
        next.Dispose();
    }

    [Fact]
    public async Task SuccessfulAttempt_DisposesItsLease()
    {
        using var registry = new KeyedLockRegistry();
        var attempt = await registry.TryAcquireAsync("k", TimeSpan.Zero).Bounded();
        Assert.True(attempt.Succeeded);
        Assert.Equal(KeyedLockFailureReason.None, attempt.FailureReason);
        Assert.True(attempt.Lease.IsHeld);
        await attempt.DisposeAsync();
        Assert.False(attempt.Lease.IsHeld);
        attempt.Dispose();
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task LeasesOfOneRegistry_DoNotAffectAnother()
    {
        using var first = new KeyedLockRegistry();
        using var second = new KeyedLockRegistry();
        var a = await first.AcquireAsync("k").Bounded();
        var b = second.AcquireAsync("k");
        Assert.True(b.IsCompletedSuccessfully);
        (await b.Bounded()).Dispose();
        Assert.True(a.IsHeld);
        a.Dispose();
    }
}
