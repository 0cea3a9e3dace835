namespace KeyedLock.Caching.Tests.Infrastructure;

/// <summary>The data source behind the cache: counts its loads; loads wait at a gate until the test opens it.</summary>
public sealed class GatedLoader(string value)
{
    private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CountWatcher _loads = new();

    public long Loads => _loads.Value;

    public Exception? Failure { get; set; }

    public Task WaitForLoadsAsync(int count) => _loads.WaitForAtLeastAsync(count, n => $"Expected {count} load(s), saw {n}.");

    public void Open() => _open.TrySetResult();

    public async ValueTask<string> LoadAsync(CancellationToken cancellationToken)
    {
        _loads.Add(1);
        await _open.Task.WaitAsync(cancellationToken);
        return Failure is { } failure ? throw failure : value;
    }
}
