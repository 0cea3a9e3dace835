namespace KeyedLock.Tests;

public sealed class ArgumentValidationTests
{
    public static TheoryData<TimeSpan> BadTimeouts => new() { TimeSpan.FromMilliseconds(-2), TimeSpan.FromTicks(-1), TimeSpan.MinValue, TimeSpan.FromDays(50), TimeSpan.MaxValue };

    [Fact]
    public void NullOrEmptyKey_Throws_OnEveryEntryPoint()
    {
        using var registry = new KeyedLockRegistry();
        Assert.Throws<ArgumentNullException>("key", () => registry.AcquireAsync((string)null!));
        Assert.Throws<ArgumentNullException>("key", () => registry.AcquireAsync((string)null!, TimeSpan.Zero));
        Assert.Throws<ArgumentNullException>("key", () => registry.TryAcquireAsync(null!, TimeSpan.Zero));
        Assert.Throws<ArgumentException>("key", () => registry.AcquireAsync(string.Empty));
        Assert.Throws<ArgumentException>("key", () => registry.AcquireAsync(string.Empty, TimeSpan.Zero));
        Assert.Throws<ArgumentException>("key", () => registry.TryAcquireAsync(string.Empty, TimeSpan.Zero));
        Assert.Equal(0, registry.Count);
    }

    [Theory]
    [MemberData(nameof(BadTimeouts))]
    public void OutOfRangeTimeout_Throws(TimeSpan timeout)
    {
        using var registry = new KeyedLockRegistry();
        Assert.Throws<ArgumentOutOfRangeException>("timeout", () => registry.AcquireAsync("k", timeout));
        Assert.Throws<ArgumentOutOfRangeException>("timeout", () => registry.TryAcquireAsync("k", timeout));
        Assert.Throws<ArgumentOutOfRangeException>("timeout", () => registry.AcquireAsync(["a", "b"], timeout));
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task InfiniteAndZeroTimeouts_AreAccepted()
    {
        using var registry = new KeyedLockRegistry();
        (await registry.AcquireAsync("k", Timeout.InfiniteTimeSpan).Bounded()).Dispose();
        (await registry.AcquireAsync("k", TimeSpan.Zero).Bounded()).Dispose();
        (await registry.TryAcquireAsync("k", TimeSpan.Zero).Bounded()).Dispose();
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public void MultiKey_NullEmptyOrBadKeys_Throw()
    {
        using var registry = new KeyedLockRegistry();
        Assert.Throws<ArgumentNullException>("keys", () => registry.AcquireAsync((IReadOnlyCollection<string>)null!, TimeSpan.Zero));
        Assert.Throws<ArgumentException>("keys", () => registry.AcquireAsync(Array.Empty<string>(), TimeSpan.Zero));
        Assert.Throws<ArgumentException>("keys", () => registry.AcquireAsync(["a", null!], TimeSpan.Zero));
        Assert.Throws<ArgumentException>("keys", () => registry.AcquireAsync(["a", string.Empty], TimeSpan.Zero));
        Assert.Equal(0, registry.Count);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(-1, 0)]
    [InlineData(1, -1)]
    public void InvalidOptions_ThrowInTheConstructor(int concurrency, int queue)
    {
        var options = new KeyedLockOptions { MaxConcurrencyPerKey = concurrency, MaxQueueLengthPerKey = queue };
        Assert.Throws<ArgumentOutOfRangeException>(() => new KeyedLockRegistry(options));
    }

    [Fact]
    public void Options_AreCopied_SoLaterChangesDoNotAffectTheRegistry()
    {
        var options = new KeyedLockOptions { MaxConcurrencyPerKey = 2, MaxQueueLengthPerKey = 5 };
        using var registry = new KeyedLockRegistry(options);
        options.MaxConcurrencyPerKey = 7;
        options.MaxQueueLengthPerKey = 0;
        Assert.Equal(2, registry.MaxConcurrencyPerKey);
        Assert.Equal(5, registry.MaxQueueLengthPerKey);
    }

    [Fact]
    public void Defaults_AreAMutexWithAnUnboundedQueue_WithoutReentrancyDetection()
    {
        using var registry = new KeyedLockRegistry();
        Assert.Equal(1, registry.MaxConcurrencyPerKey);
        Assert.Equal(KeyedLockOptions.UnboundedQueue, registry.MaxQueueLengthPerKey);
        Assert.False(new KeyedLockOptions().DetectReentrancy);
    }

    [Fact]
    public void FailedAttempt_WithoutAReason_IsRejected()
        => Assert.Throws<ArgumentOutOfRangeException>(() => KeyedLockAttempt.Failure(KeyedLockFailureReason.None));
}
