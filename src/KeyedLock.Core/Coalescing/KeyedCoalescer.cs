using System.Collections.Concurrent;
using KeyedLock.Internal;

namespace KeyedLock;

/// <summary>
/// Single flight: concurrent callers of one key share one execution of a factory and all receive its result or
/// its exception, instead of each running it (a cache stampede) or queueing to run it again one after the other.
/// </summary>
/// <typeparam name="TResult">The factory's result type.</typeparam>
/// <remarks>
/// <list type="bullet">
/// <item>The first caller of a key starts the factory; callers that arrive while it runs join that execution.
/// A caller that arrives after it completed starts a new one: results are shared, never cached.</item>
/// <item>A caller's <see cref="CancellationToken"/> stops only its own wait: it gets a
/// <see cref="TaskCanceledException"/> carrying its token, and the execution goes on for the others.</item>
/// <item>The factory's token fires only when every caller has stopped waiting. A caller whose token cannot be
/// cancelled keeps the execution alive. An execution abandoned by all its callers is forgotten at once: the next
/// caller starts a new one while the abandoned factory winds down, and its outcome is discarded.</item>
/// <item>Leak-free: nothing is kept for a key once its execution completed or was abandoned (<see cref="Count"/>
/// returns to 0).</item>
/// <item>A caller that joins with a cancellable token allocates one small object (its wait); callers without one
/// share a single task and allocate nothing. The first caller of an execution also allocates the execution's state.</item>
/// </list>
/// One instance is one namespace of keys; keys are compared ordinally. The factory starts on the first caller's
/// thread. A factory must not wait for its own key on the same coalescer: it would wait for itself.
/// </remarks>
public sealed class KeyedCoalescer<TResult>
{
    private readonly ConcurrentDictionary<string, CoalescedFlight<TResult>> _flights = new(StringComparer.Ordinal);

    /// <summary>The number of keys that have an execution in flight right now. Returns to 0 when they complete.</summary>
    public int Count => _flights.Count;

    /// <summary>
    /// Runs <paramref name="factory"/> for <paramref name="key"/>, or joins the execution already in flight for it.
    /// </summary>
    /// <param name="key">The key (compared ordinally). Must not be null or empty.</param>
    /// <param name="factory">Produces the result; called only when no execution for the key is in flight. Its token
    /// fires when every caller of the execution has stopped waiting.</param>
    /// <param name="cancellationToken">Stops this caller's wait only.</param>
    /// <returns>The shared execution's result; await it once.</returns>
    /// <exception cref="TaskCanceledException"><paramref name="cancellationToken"/> fired before the result was there.</exception>
    public ValueTask<TResult> RunAsync(string key, Func<CancellationToken, ValueTask<TResult>> factory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return RunAsync(key, factory, static (f, ct) => f(ct), cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="factory"/> with <paramref name="state"/> for <paramref name="key"/>, or joins the execution
    /// already in flight for it. With a <see langword="static"/> lambda, a caller that joins allocates nothing but its wait.
    /// </summary>
    /// <typeparam name="TState">The state passed to the factory.</typeparam>
    /// <param name="key">The key (compared ordinally). Must not be null or empty.</param>
    /// <param name="state">Passed to <paramref name="factory"/> if this call starts the execution.</param>
    /// <param name="factory">Produces the result; called only when no execution for the key is in flight. Its token
    /// fires when every caller of the execution has stopped waiting.</param>
    /// <param name="cancellationToken">Stops this caller's wait only.</param>
    /// <returns>The shared execution's result; await it once.</returns>
    /// <exception cref="TaskCanceledException"><paramref name="cancellationToken"/> fired before the result was there.</exception>
    public ValueTask<TResult> RunAsync<TState>(string key, TState state, Func<TState, CancellationToken, ValueTask<TResult>> factory, CancellationToken cancellationToken = default)
    {
        Arguments.ValidateKey(key);
        ArgumentNullException.ThrowIfNull(factory);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<TResult>(cancellationToken);
        }

        while (true)
        {
            if (_flights.TryGetValue(key, out var flight))
            {
                if (flight.TryJoin(cancellationToken, out var joined))
                {
                    return joined;
                }

                // Completed or abandoned, and not yet forgotten: help forget it, then start a new execution.
                Forget(flight);
                continue;
            }

            var started = new CoalescedFlight<TResult>(this, key, cancellationToken);
            if (_flights.TryAdd(key, started))
            {
                return started.Start(state, factory);
            }

            // Another caller published an execution first: join that one.
        }
    }

    /// <summary>Callers waiting for the execution of <paramref name="key"/> right now (0 when none is in flight).</summary>
    internal int CallerCount(string key) => _flights.TryGetValue(key, out var flight) ? flight.CallerCount : 0;

    /// <summary>Removes <paramref name="flight"/> if it is still the key's execution (never a newer one).</summary>
    internal void Forget(CoalescedFlight<TResult> flight) => _flights.TryRemove(new KeyValuePair<string, CoalescedFlight<TResult>>(flight.Key, flight));
}
