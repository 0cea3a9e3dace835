namespace KeyedLock;

/// <summary>
/// Grants exclusive (or, with per-key concurrency, bounded) access to string keys. Requests that share a key
/// are granted one at a time in arrival order; requests with different keys proceed in parallel.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="KeyedLockRegistry"/> is the in-process implementation. Distributed implementations (for example
/// PostgreSQL advisory locks) honour the same contract across processes.
/// </para>
/// <para>
/// Timeouts: <see cref="Timeout.InfiniteTimeSpan"/> waits forever, <see cref="TimeSpan.Zero"/> does not wait at
/// all (it still respects arrival order: it fails when others are queued). Any other negative value is rejected
/// with <see cref="ArgumentOutOfRangeException"/>.
/// </para>
/// <para>
/// Cancellation: a cancelled acquisition always ends as a <see cref="TaskCanceledException"/> whose
/// <see cref="OperationCanceledException.CancellationToken"/> is the caller's token (the task is
/// <see cref="TaskStatus.Canceled"/>), whether the token was cancelled before the call, while the request was queued,
/// and whether the result is awaited directly or through <see cref="ValueTask{TResult}.AsTask"/>: the same as
/// <see cref="SemaphoreSlim.WaitAsync(CancellationToken)"/> and the framework's rate limiters. Catch
/// <see cref="OperationCanceledException"/> (its base type) as usual.
/// </para>
/// <para>
/// Re-entrancy: acquiring a key that the caller already holds waits for it, as on a semaphore (the zero-timeout
/// probe reports <see cref="KeyedLockFailureReason.TimedOut"/>; a child task waits its turn). Detecting a flow that
/// awaits its own key is an opt-in diagnostic of <see cref="KeyedLockRegistry"/>
/// (<see cref="KeyedLockOptions.DetectReentrancy"/>).
/// </para>
/// </remarks>
public interface IKeyedLockProvider
{
    /// <summary>Waits until <paramref name="key"/> is granted, at most <paramref name="timeout"/>.</summary>
    /// <param name="key">The key to lock (compared ordinally). Must not be null or empty.</param>
    /// <param name="timeout">The longest time to wait in the queue.</param>
    /// <param name="cancellationToken">Stops waiting; the waiter leaves the queue at once.</param>
    /// <returns>The lease; dispose it to release the key.</returns>
    /// <exception cref="KeyedLockTimeoutException">The timeout elapsed before the key was granted.</exception>
    /// <exception cref="KeyedLockQueueFullException">The per-key queue limit was reached.</exception>
    /// <exception cref="KeyedLockRecursionException">Only with re-entrancy detection turned on: the current async flow already holds <paramref name="key"/>.</exception>
    /// <exception cref="KeyedLockUnavailableException">The provider's backing store cannot be reached.</exception>
    /// <exception cref="TaskCanceledException"><paramref name="cancellationToken"/> was cancelled before the key was granted (carries that token).</exception>
    ValueTask<KeyedLockLease> AcquireAsync(string key, TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>Waits until <paramref name="key"/> is granted, without a timeout.</summary>
    /// <param name="key">The key to lock (compared ordinally). Must not be null or empty.</param>
    /// <param name="cancellationToken">Stops waiting; the waiter leaves the queue at once.</param>
    /// <returns>The lease; dispose it to release the key.</returns>
    /// <exception cref="TaskCanceledException"><paramref name="cancellationToken"/> was cancelled before the key was granted (carries that token).</exception>
    ValueTask<KeyedLockLease> AcquireAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Like <see cref="AcquireAsync(string, TimeSpan, CancellationToken)"/>, but reports a timeout or a full queue
    /// as a failed <see cref="KeyedLockAttempt"/> instead of throwing.
    /// </summary>
    /// <param name="key">The key to lock (compared ordinally). Must not be null or empty.</param>
    /// <param name="timeout">The longest time to wait in the queue; <see cref="TimeSpan.Zero"/> does not wait.</param>
    /// <param name="cancellationToken">Stops waiting (throws <see cref="TaskCanceledException"/> carrying this token).</param>
    /// <returns>An attempt that holds either a lease or the reason it failed.</returns>
    /// <exception cref="TaskCanceledException"><paramref name="cancellationToken"/> was cancelled before the key was granted (carries that token).</exception>
    ValueTask<KeyedLockAttempt> TryAcquireAsync(string key, TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>
    /// Acquires every key in <paramref name="keys"/>, all or none, without deadlocks: keys are de-duplicated,
    /// sorted ordinally and acquired in that order; on failure the keys already taken are released in reverse.
    /// </summary>
    /// <param name="keys">The keys to lock. Must not be empty or contain null or empty keys.</param>
    /// <param name="timeout">The longest total time to wait for all keys.</param>
    /// <param name="cancellationToken">Stops waiting; nothing stays held.</param>
    /// <returns>One lease that releases all keys (in reverse order) when disposed.</returns>
    /// <exception cref="TaskCanceledException"><paramref name="cancellationToken"/> was cancelled before every key was granted (carries that token).</exception>
    ValueTask<KeyedLockLease> AcquireAsync(IReadOnlyCollection<string> keys, TimeSpan timeout, CancellationToken cancellationToken = default);
}
