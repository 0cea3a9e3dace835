using System.Runtime.CompilerServices;

namespace KeyedLock;

/// <summary>
/// Run helpers: acquire a key, run a delegate, release the key, whatever happens. The delegate receives a
/// <see cref="CancellationToken"/> that fires when the caller's token fires or when the provider loses the lock.
/// </summary>
/// <remarks>
/// An <c>async</c> lambda converts to both the <see cref="Task"/> and the <see cref="ValueTask"/> delegate types;
/// the <see cref="Task"/> overloads carry a higher <see cref="OverloadResolutionPriorityAttribute"/> so that such a
/// lambda binds to them (and never to the synchronous <c>Func&lt;CancellationToken, T&gt;</c> overload, which would
/// release the key before the asynchronous work completes).
/// </remarks>
public static class KeyedLockProviderExtensions
{
    /// <summary>Runs <paramref name="action"/> while holding <paramref name="key"/>.</summary>
    /// <param name="provider">The lock provider.</param>
    /// <param name="key">The key to hold.</param>
    /// <param name="action">The work to do under the lock.</param>
    /// <param name="errorStrategy">What happens to queued waiters if <paramref name="action"/> throws.</param>
    /// <param name="timeout">The longest wait for the key; infinite when null.</param>
    /// <param name="cancellationToken">Cancels the wait and is passed to the delegate.</param>
    /// <returns>A task that completes when the work is done and the key released.</returns>
    public static async Task RunAsync(this IKeyedLockProvider provider, string key, Func<CancellationToken, ValueTask> action, KeyedLockErrorStrategy errorStrategy = KeyedLockErrorStrategy.Continue, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(action);
        await RunCoreAsync(provider, key, action, static async (a, ct) =>
        {
            await a(ct).ConfigureAwait(false);
            return true;
        }, errorStrategy, timeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs <paramref name="action"/> while holding <paramref name="key"/>.</summary>
    /// <param name="provider">The lock provider.</param>
    /// <param name="key">The key to hold.</param>
    /// <param name="action">The work to do under the lock.</param>
    /// <param name="errorStrategy">What happens to queued waiters if <paramref name="action"/> throws.</param>
    /// <param name="timeout">The longest wait for the key; infinite when null.</param>
    /// <param name="cancellationToken">Cancels the wait and is passed to the delegate.</param>
    /// <returns>A task that completes when the work is done and the key released.</returns>
    [OverloadResolutionPriority(1)]
    public static async Task RunAsync(this IKeyedLockProvider provider, string key, Func<CancellationToken, Task> action, KeyedLockErrorStrategy errorStrategy = KeyedLockErrorStrategy.Continue, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(action);
        await RunCoreAsync(provider, key, action, static async (a, ct) =>
        {
            await a(ct).ConfigureAwait(false);
            return true;
        }, errorStrategy, timeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs <paramref name="func"/> while holding <paramref name="key"/> and returns its result.</summary>
    /// <typeparam name="T">The result type.</typeparam>
    /// <param name="provider">The lock provider.</param>
    /// <param name="key">The key to hold.</param>
    /// <param name="func">The work to do under the lock.</param>
    /// <param name="errorStrategy">What happens to queued waiters if <paramref name="func"/> throws.</param>
    /// <param name="timeout">The longest wait for the key; infinite when null.</param>
    /// <param name="cancellationToken">Cancels the wait and is passed to the delegate.</param>
    /// <returns>The delegate's result, once the key is released.</returns>
    public static Task<T> RunAsync<T>(this IKeyedLockProvider provider, string key, Func<CancellationToken, ValueTask<T>> func, KeyedLockErrorStrategy errorStrategy = KeyedLockErrorStrategy.Continue, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(func);
        return RunCoreAsync(provider, key, func, static (f, ct) => f(ct), errorStrategy, timeout, cancellationToken);
    }

    /// <summary>Runs <paramref name="func"/> while holding <paramref name="key"/> and returns its result.</summary>
    /// <typeparam name="T">The result type.</typeparam>
    /// <param name="provider">The lock provider.</param>
    /// <param name="key">The key to hold.</param>
    /// <param name="func">The work to do under the lock.</param>
    /// <param name="errorStrategy">What happens to queued waiters if <paramref name="func"/> throws.</param>
    /// <param name="timeout">The longest wait for the key; infinite when null.</param>
    /// <param name="cancellationToken">Cancels the wait and is passed to the delegate.</param>
    /// <returns>The delegate's result, once the key is released.</returns>
    [OverloadResolutionPriority(1)]
    public static Task<T> RunAsync<T>(this IKeyedLockProvider provider, string key, Func<CancellationToken, Task<T>> func, KeyedLockErrorStrategy errorStrategy = KeyedLockErrorStrategy.Continue, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(func);
        return RunCoreAsync(provider, key, func, static (f, ct) => new ValueTask<T>(f(ct)), errorStrategy, timeout, cancellationToken);
    }

    /// <summary>Runs the synchronous <paramref name="action"/> while holding <paramref name="key"/>.</summary>
    /// <param name="provider">The lock provider.</param>
    /// <param name="key">The key to hold.</param>
    /// <param name="action">The work to do under the lock.</param>
    /// <param name="errorStrategy">What happens to queued waiters if <paramref name="action"/> throws.</param>
    /// <param name="timeout">The longest wait for the key; infinite when null.</param>
    /// <param name="cancellationToken">Cancels the wait and is passed to the delegate.</param>
    /// <returns>A task that completes when the work is done and the key released.</returns>
    public static async Task RunAsync(this IKeyedLockProvider provider, string key, Action<CancellationToken> action, KeyedLockErrorStrategy errorStrategy = KeyedLockErrorStrategy.Continue, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(action);
        await RunCoreAsync(provider, key, action, static (a, ct) =>
        {
            a(ct);
            return new ValueTask<bool>(true);
        }, errorStrategy, timeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs the synchronous <paramref name="func"/> while holding <paramref name="key"/> and returns its result.</summary>
    /// <typeparam name="T">The result type.</typeparam>
    /// <param name="provider">The lock provider.</param>
    /// <param name="key">The key to hold.</param>
    /// <param name="func">The work to do under the lock.</param>
    /// <param name="errorStrategy">What happens to queued waiters if <paramref name="func"/> throws.</param>
    /// <param name="timeout">The longest wait for the key; infinite when null.</param>
    /// <param name="cancellationToken">Cancels the wait and is passed to the delegate.</param>
    /// <returns>The delegate's result, once the key is released.</returns>
    public static Task<T> RunAsync<T>(this IKeyedLockProvider provider, string key, Func<CancellationToken, T> func, KeyedLockErrorStrategy errorStrategy = KeyedLockErrorStrategy.Continue, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(func);
        return RunCoreAsync(provider, key, func, static (f, ct) => new ValueTask<T>(f(ct)), errorStrategy, timeout, cancellationToken);
    }

    private static async Task<TResult> RunCoreAsync<TState, TResult>(IKeyedLockProvider provider, string key, TState state, Func<TState, CancellationToken, ValueTask<TResult>> body, KeyedLockErrorStrategy errorStrategy, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(provider);
        var lease = await provider.AcquireAsync(key, timeout ?? Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false);
        CancellationTokenSource? linked = null;
        try
        {
            var lost = lease.LostToken;
            var token = cancellationToken;
            if (lost.CanBeCanceled)
            {
                linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lost);
                token = linked.Token;
            }

            return await body(state, token).ConfigureAwait(false);
        }
        catch (Exception ex) when (errorStrategy == KeyedLockErrorStrategy.Stop)
        {
            // Still holding the key: nobody queued can have been granted yet, so exactly the waiters queued at the
            // moment of the failure are rejected. Later arrivals queue after the release and run normally.
            lease.AbortWaiters(ex);
            throw;
        }
        finally
        {
            linked?.Dispose();
            await lease.DisposeAsync().ConfigureAwait(false);
        }
    }
}
