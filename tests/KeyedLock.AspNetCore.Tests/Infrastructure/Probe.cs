using System.Collections.Concurrent;
using System.Threading.Channels;
using KeyedLock.Testing;

namespace KeyedLock.AspNetCore.Tests.Infrastructure;

/// <summary>
/// What test handlers do: record that they entered, then wait until the test releases them. Tracks how many
/// handlers are inside at once.
/// </summary>
public sealed class Probe
{
    private readonly Channel<string> _entered = Channel.CreateUnbounded<string>();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _gates = new();
    private readonly ConcurrentQueue<string> _order = new();
    private int _inside;
    private int _maxInside;

    public int MaxInside => Volatile.Read(ref _maxInside);

    public int Inside => Volatile.Read(ref _inside);

    public IReadOnlyList<string> EnteredOrder => [.. _order];

    /// <summary>Whether the test asked handlers with this id to return at once.</summary>
    public bool AutoRelease { get; set; }

    public async Task RunAsync(string id, CancellationToken cancellationToken)
    {
        var now = Interlocked.Increment(ref _inside);
        int max;
        while (now > (max = Volatile.Read(ref _maxInside)) && Interlocked.CompareExchange(ref _maxInside, now, max) != max)
        {
        }

        _order.Enqueue(id);
        _entered.Writer.TryWrite(id);
        try
        {
            if (!AutoRelease)
            {
                await Gate(id).Task.WaitAsync(cancellationToken);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _inside);
        }
    }

    public void Release(string id) => Gate(id).TrySetResult();

    public Task<string> NextEnteredAsync() => _entered.Reader.ReadAsync().AsTask().Bounded();

    public async Task ExpectEnteredAsync(string id) => Assert.Equal(id, await NextEnteredAsync());

    public bool TryGetEntered(out string? id) => _entered.Reader.TryRead(out id);

    private TaskCompletionSource Gate(string id) => _gates.GetOrAdd(id, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
}
