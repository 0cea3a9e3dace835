using Microsoft.Extensions.DependencyInjection;

namespace KeyedLock.Tests;

/// <summary>
/// With default options (<c>new KeyedLockRegistry()</c> and <c>services.AddKeyedLock()</c>), programs that would
/// never deadlock behave as on a plain semaphore: nothing is rejected as re-entrancy.
/// </summary>
public sealed class DefaultOptionsTests
{
    public static TheoryData<string> Registries => ["new KeyedLockRegistry()", "services.AddKeyedLock()"];

    private static (KeyedLockRegistry Registry, IDisposable Scope) Create(string how, Action<KeyedLockOptions>? configure = null)
    {
        if (how == "new KeyedLockRegistry()")
        {
            KeyedLockOptions? options = null;
            if (configure is not null)
            {
                options = new KeyedLockOptions();
                configure(options);
            }

            var registry = configure is null ? new KeyedLockRegistry() : new KeyedLockRegistry(options);
            return (registry, registry);
        }

        var services = new ServiceCollection();
        services.AddKeyedLock(configure);
        var provider = services.BuildServiceProvider();
        return ((KeyedLockRegistry)provider.GetRequiredService<IKeyedLockProvider>(), provider);
    }

    [Theory]
    [MemberData(nameof(Registries))]
    public async Task HolderProbingItsOwnKeyWithZeroTimeout_GetsTimedOut(string how)
    {
        var (registry, scope) = Create(how);
        using var _ = scope;
        await using var lease = await registry.AcquireAsync("k").Bounded();

        var probe = await registry.TryAcquireAsync("k", TimeSpan.Zero).Bounded();

        Assert.False(probe.Succeeded);
        Assert.Equal(KeyedLockFailureReason.TimedOut, probe.FailureReason);
        Assert.Equal(0, registry.QueueLength("k"));
        Assert.True(lease.IsHeld);
    }

    [Theory]
    [MemberData(nameof(Registries))]
    public async Task ChildTaskStartedByTheHolder_WaitsAndIsGrantedAfterTheRelease(string how)
    {
        var (registry, scope) = Create(how);
        using var _ = scope;
        var lease = await registry.AcquireAsync("k").Bounded();
        var childGranted = false;

        var job = Task.Run(async () =>
        {
            await using var l = await registry.AcquireAsync("k").Bounded();
            childGranted = l.IsHeld;
        });

        // The child is queued behind its parent (a deterministic signal, not a delay), and not granted yet.
        await TestWait.UntilAsync(() => registry.QueueLength("k") == 1, "the child queued on the key");
        Assert.False(job.IsCompleted);

        await lease.DisposeAsync();
        await job.Bounded();
        Assert.True(childGranted);
        Assert.Equal(0, registry.Count);
    }

    [Theory]
    [MemberData(nameof(Registries))]
    public async Task UnawaitedAcquisitionStartedByTheHolder_WaitsAndRunsAfterTheRelease(string how)
    {
        var (registry, scope) = Create(how);
        using var _ = scope;
        var order = new List<string>();
        Task followUp;
        await using (var lease = await registry.AcquireAsync("k").Bounded())
        {
            followUp = FollowUpAsync(); // not awaited here: it queues synchronously and runs after we release
            Assert.Equal(1, registry.QueueLength("k"));
            Assert.False(followUp.IsCompleted);
            order.Add("holder");
        }

        await followUp.Bounded();
        Assert.Equal(["holder", "follow-up"], order);
        Assert.Equal(0, registry.Count);

        async Task FollowUpAsync()
        {
            await using var l = await registry.AcquireAsync("k").Bounded();
            order.Add("follow-up");
        }
    }

    [Theory]
    [MemberData(nameof(Registries))]
    public async Task SameFlowTakingTheSecondSlot_UnderMaxConcurrencyTwo_IsGranted(string how)
    {
        var (registry, scope) = Create(how, o => o.MaxConcurrencyPerKey = 2);
        using var _ = scope;
        await using var first = await registry.AcquireAsync("k").Bounded();

        var second = registry.AcquireAsync("k");

        Assert.True(second.IsCompletedSuccessfully, "the second slot is free");
        await using var secondLease = await second.Bounded();
        Assert.True(first.IsHeld && secondLease.IsHeld);
        Assert.False((await registry.TryAcquireAsync("k", TimeSpan.Zero).Bounded()).Succeeded, "a third holder must wait");
    }

    [Fact]
    public async Task ReacquiringAHeldKeyInTheSameFlow_WaitsLikeASemaphore()
    {
        using var registry = new KeyedLockRegistry();
        var lease = await registry.AcquireAsync("k").Bounded();
        var second = registry.AcquireAsync("k");
        Assert.False(second.IsCompleted);
        Assert.Equal(1, registry.QueueLength("k"));
        lease.Dispose();
        (await second.Bounded()).Dispose();
        Assert.Equal(0, registry.Count);
    }
}
