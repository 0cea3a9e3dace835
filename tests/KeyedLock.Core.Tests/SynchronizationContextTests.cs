namespace KeyedLock.Tests;

/// <summary>
/// The library never resumes on the caller's <see cref="SynchronizationContext"/> (every internal await is
/// <c>ConfigureAwait(false)</c>): in an app with a single-threaded context (WinForms, WPF, old ASP.NET) a blocking
/// caller would otherwise deadlock. Each test installs a context that counts posts while the library's own awaits
/// resume (the user's code never awaits here, it returns tasks completed from another thread).
/// </summary>
public sealed class SynchronizationContextTests
{
    public static TheoryData<string, bool> Overloads()
    {
        var data = new TheoryData<string, bool>();
        foreach (var overload in new[] { "ValueTask", "Task", "ValueTask<T>", "Task<T>", "Action", "Func<T>" })
        {
            data.Add(overload, true);
            data.Add(overload, false);
        }

        return data;
    }

    /// <param name="overload">The <c>RunAsync</c> overload.</param>
    /// <param name="queued">
    /// Whether the key is held first (the acquisition completes later, on another thread) or free (it is granted at
    /// once, so the body starts on the caller's thread, inside its context).
    /// </param>
    [Theory]
    [MemberData(nameof(Overloads))]
    public async Task RunAsync_WithAnAsynchronousBody_NeverPostsToTheCallersContext(string overload, bool queued)
    {
        using var registry = new KeyedLockRegistry();
        var holder = queued ? await registry.AcquireAsync("k").Bounded() : default;
        var body = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var context = new CountingContext();

        var run = context.Run(() => Start(registry, overload, body.Task));
        if (queued)
        {
            Assert.False(run.IsCompleted);
            await Task.Run(holder.Dispose).Bounded();
        }

        await Task.Run(body.SetResult).Bounded();
        await run.Bounded();

        Assert.Equal(0, context.Posts);
    }

    [Fact]
    public async Task RunAsync_WhoseReleaseCompletesLater_NeverPostsToTheCallersContext()
    {
        using var provider = new AsyncReleaseProvider();
        var context = new CountingContext();
        await context.Run(() => provider.RunAsync("k", _ => Task.CompletedTask)).Bounded();
        Assert.Equal(1, provider.Releases);
        Assert.Equal(0, context.Posts);
    }

    [Fact]
    public async Task MultiKey_QueuedAcquisition_AndAsynchronousRelease_NeverPostToTheCallersContext()
    {
        using var provider = new AsyncReleaseProvider();
        var holder = await provider.Registry.AcquireAsync("b").Bounded();
        var context = new CountingContext();

        var acquisition = context.Run(() => provider.AcquireAsync(["a", "b", "c"], TimeSpan.FromSeconds(30)).AsTask());
        Assert.False(acquisition.IsCompleted);
        await Task.Run(holder.Dispose).Bounded();
        var lease = await acquisition.Bounded();
        await context.Run(() => lease.DisposeAsync().AsTask()).Bounded();

        Assert.Equal(3, provider.Releases);
        Assert.Equal(0, context.Posts);
    }

    [Fact]
    public async Task MultiKey_TimingOutOnALaterKey_ReleasesTheEarlierOnes_WithoutPostingToTheCallersContext()
    {
        using var provider = new AsyncReleaseProvider();
        var holder = await provider.Registry.AcquireAsync("b").Bounded();
        var context = new CountingContext();

        var acquisition = context.Run(() => provider.AcquireAsync(["a", "b"], TimeSpan.FromMilliseconds(50)).AsTask());
        await Assert.ThrowsAsync<KeyedLockTimeoutException>(() => acquisition.Bounded());
        Assert.Equal(1, provider.Releases); // "a" was released again
        Assert.Equal(0, context.Posts);
        Assert.True(await provider.IsFreeForOthersAsync("a"));
        holder.Dispose();
    }

    [Fact]
    public async Task DetectingRegistry_QueuedMultiKeyAcquisition_NeverPostsToTheCallersContext()
    {
        using var registry = new KeyedLockRegistry(new KeyedLockOptions { DetectReentrancy = true });
        var holder = await Task.Run(() => registry.AcquireAsync("b").AsTask()).Bounded();
        var context = new CountingContext();

        var acquisition = context.Run(() => registry.AcquireAsync(["a", "b"], TimeSpan.FromSeconds(30)).AsTask());
        Assert.False(acquisition.IsCompleted);
        await Task.Run(holder.Dispose).Bounded();
        (await acquisition.Bounded()).Dispose();

        Assert.Equal(0, context.Posts);
    }

    private static Task Start(KeyedLockRegistry registry, string overload, Task body) => overload switch
    {
        "ValueTask" => registry.RunAsync("k", _ => new ValueTask(body)),
        "Task" => registry.RunAsync("k", _ => body),
        "ValueTask<T>" => registry.RunAsync("k", _ => new ValueTask<int>(body.ContinueWith(static _ => 1, TaskScheduler.Default))),
        "Task<T>" => registry.RunAsync("k", _ => body.ContinueWith(static _ => 1, TaskScheduler.Default)),
        // The synchronous overloads ignore the body task: only their own awaits (the acquisition, the wrapper) count.
        "Action" => registry.RunAsync("k", _ => { }),
        _ => registry.RunAsync("k", _ => 1),
    };

    /// <summary>Counts posts and runs them on the thread pool.</summary>
    internal sealed class CountingContext : SynchronizationContext
    {
        private int _posts;

        public int Posts => Volatile.Read(ref _posts);

        public override void Post(SendOrPostCallback d, object? state)
        {
            Interlocked.Increment(ref _posts);
            ThreadPool.QueueUserWorkItem(_ => d(state));
        }

        public override void Send(SendOrPostCallback d, object? state)
        {
            Interlocked.Increment(ref _posts);
            d(state);
        }

        /// <summary>Calls <paramref name="start"/> with this context current, and restores the previous one.</summary>
        public T Run<T>(Func<T> start)
        {
            var previous = Current;
            SetSynchronizationContext(this);
            try
            {
                return start();
            }
            finally
            {
                SetSynchronizationContext(previous);
            }
        }
    }

    /// <summary>The registry's locks, released asynchronously (on another thread), as a distributed provider does.</summary>
    private sealed class AsyncReleaseProvider : RegistryBackedProvider
    {
        private int _releases;

        public int Releases => Volatile.Read(ref _releases);

        protected override KeyedLockLeaseOwner Wrap(string key, KeyedLockLease inner) => new Owner(this, inner);

        private sealed class Owner(AsyncReleaseProvider provider, KeyedLockLease inner) : KeyedLockLeaseOwner
        {
            protected internal override void Release(string key, long id) => ReleaseAsync(key, id).AsTask().GetAwaiter().GetResult();

            protected internal override async ValueTask ReleaseAsync(string key, long id)
            {
                await Task.Run(inner.Dispose).ConfigureAwait(false);
                Interlocked.Increment(ref provider._releases);
            }

            protected internal override bool IsHeld(string key, long id) => inner.IsHeld;
        }
    }
}
