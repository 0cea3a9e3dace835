namespace KeyedLock.Tests;

/// <summary>The typed errors carry the key and what happened, in their properties and their messages.</summary>
public sealed class ExceptionTests
{
    [Fact]
    public void TimeoutException_CarriesKeyAndTimeout()
    {
        var ex = new KeyedLockTimeoutException("order:7", TimeSpan.FromSeconds(3));
        Assert.Equal("order:7", ex.Key);
        Assert.Equal(TimeSpan.FromSeconds(3), ex.Timeout);
        Assert.Equal("Timed out after 00:00:03 waiting for the keyed lock 'order:7'.", ex.Message);
        Assert.IsAssignableFrom<KeyedLockException>(ex);
    }

    [Fact]
    public void QueueFullException_CarriesKeyAndLimit()
    {
        var ex = new KeyedLockQueueFullException("order:7", 4);
        Assert.Equal("order:7", ex.Key);
        Assert.Equal(4, ex.QueueLimit);
        Assert.Equal("The wait queue of the keyed lock 'order:7' is full (4 waiting).", ex.Message);
    }

    [Fact]
    public void AbortedException_CarriesTheHoldersFailure()
    {
        var boom = new InvalidOperationException("boom");
        var ex = new KeyedLockAbortedException("order:7", boom);
        Assert.Equal("order:7", ex.Key);
        Assert.Same(boom, ex.InnerException);
        Assert.Equal("The wait for the keyed lock 'order:7' was aborted because the holder failed: boom", ex.Message);
    }

    [Fact]
    public void RecursionAndUnavailableExceptions_CarryTheKey()
    {
        var recursion = new KeyedLockRecursionException("order:7");
        Assert.Equal("order:7", recursion.Key);
        Assert.StartsWith("The current async flow already holds the keyed lock 'order:7'.", recursion.Message, StringComparison.Ordinal);

        var inner = new TimeoutException();
        var unavailable = new KeyedLockUnavailableException("order:7", "store down", inner);
        Assert.Equal("order:7", unavailable.Key);
        Assert.Equal("store down", unavailable.Message);
        Assert.Same(inner, unavailable.InnerException);
        Assert.Null(new KeyedLockException("k", "m").InnerException);
    }

    [Fact]
    public async Task RegistryErrors_NameTheKeyTheLimitAndTheTimeout()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { MaxQueueLengthPerKey = 0 });
        var holder = await registry.HoldAsync("k");
        var full = await Assert.ThrowsAsync<KeyedLockQueueFullException>(() => registry.AcquireAsync("k").AsTask()).Bounded();
        Assert.Equal(("k", 0), (full.Key, full.QueueLimit));
        using var unbounded = new KeyedLockRegistry();
        var held = await unbounded.HoldAsync("k");
        var timeout = await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => unbounded.AcquireAsync("k", TimeSpan.Zero).AsTask()).Bounded();
        Assert.Equal(("k", TimeSpan.Zero), (timeout.Key, timeout.Timeout));
        held.Dispose();
        holder.Dispose();
    }

    [Fact]
    public void ArgumentErrors_ExplainWhatIsAccepted()
    {
        using var registry = new KeyedLockRegistry();
        Assert.Contains("must not be empty", Assert.Throws<ArgumentException>(() => registry.AcquireAsync(string.Empty)).Message, StringComparison.Ordinal);
        var timeout = Assert.Throws<ArgumentOutOfRangeException>(() => registry.AcquireAsync("k", TimeSpan.FromTicks(-1)));
        Assert.Contains("Timeout.InfiniteTimeSpan, zero, or a positive time", timeout.Message, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromTicks(-1), timeout.ActualValue);
        Assert.Contains("At least one key", Assert.Throws<ArgumentException>(() => registry.AcquireAsync(Array.Empty<string>(), TimeSpan.Zero)).Message, StringComparison.Ordinal);
        Assert.Contains("must not be null or empty", Assert.Throws<ArgumentException>(() => registry.AcquireAsync(["a", ""], TimeSpan.Zero)).Message, StringComparison.Ordinal);
        var concurrency = Assert.Throws<ArgumentOutOfRangeException>(() => new KeyedLockOptions { MaxConcurrencyPerKey = 0 }.Validate());
        Assert.Equal(("MaxConcurrencyPerKey", (object?)0), (concurrency.ParamName, concurrency.ActualValue));
        var queue = Assert.Throws<ArgumentOutOfRangeException>(() => new KeyedLockOptions { MaxQueueLengthPerKey = -1 }.Validate());
        Assert.Equal(("MaxQueueLengthPerKey", (object?)-1), (queue.ParamName, queue.ActualValue));
        new KeyedLockOptions { MaxConcurrencyPerKey = 1, MaxQueueLengthPerKey = 0 }.Validate();
        Assert.Contains("failure reason", Assert.Throws<ArgumentOutOfRangeException>(() => KeyedLockAttempt.Failure(KeyedLockFailureReason.None)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LongestTimeout_IsAccepted_OneTickMoreIsNot()
    {
        using var registry = new KeyedLockRegistry();
        var longest = TimeSpan.FromMilliseconds(uint.MaxValue - 1);
        (await registry.AcquireAsync("k", longest).Bounded()).Dispose();
        Assert.Throws<ArgumentOutOfRangeException>(() => registry.AcquireAsync("k", longest + TimeSpan.FromTicks(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => registry.AcquireAsync("k", TimeSpan.FromMilliseconds(-2)));
    }

    [Fact]
    public async Task Lease_EqualityAndText()
    {
        using var registry = new KeyedLockRegistry();
        var a = await registry.HoldAsync("a");
        var b = await registry.HoldAsync("b");
        var copy = a;
        Assert.True(a == copy);
        Assert.False(a != copy);
        Assert.True(a != b);
        Assert.False(a.Equals(b));
        Assert.True(a.Equals((object)copy));
        Assert.False(a.Equals("a"));
        Assert.Equal($"KeyedLockLease(a, #{a.Id})", a.ToString());
        Assert.Equal("KeyedLockLease(none)", default(KeyedLockLease).ToString());
        Assert.Equal(string.Empty, default(KeyedLockLease).Key);
        Assert.False(default(KeyedLockLease).IsHeld);
        Assert.Equal(0, default(KeyedLockLease).FencingToken);
        await default(KeyedLockLease).DisposeAsync();
        Assert.Throws<ArgumentNullException>("owner", () => new KeyedLockLease(null!, "k", 1));
        a.Dispose();
        b.Dispose();
        Assert.False(a.IsHeld);
    }
}
