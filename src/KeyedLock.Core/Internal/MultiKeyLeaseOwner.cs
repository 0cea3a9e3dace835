namespace KeyedLock.Internal;

/// <summary>Owns the leases of one multi-key acquisition and releases them in reverse order, once.</summary>
internal sealed class MultiKeyLeaseOwner : KeyedLockLeaseOwner
{
    private readonly KeyedLockLease[] _leases;
    private CancellationTokenSource? _lost;
    private int _released;

    internal MultiKeyLeaseOwner(KeyedLockLease[] leases) => _leases = leases;

    internal IReadOnlyList<KeyedLockLease> Leases => _leases;

    protected internal override void Release(string key, long id)
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return;
        }

        List<Exception>? errors = null;
        for (var i = _leases.Length - 1; i >= 0; i--)
        {
            try
            {
                _leases[i].Dispose();
            }
            catch (Exception ex)
            {
                (errors ??= []).Add(ex);
            }
        }

        _lost?.Dispose();
        if (errors is not null)
        {
            throw new AggregateException("Releasing a multi-key lease failed.", errors);
        }
    }

    protected internal override async ValueTask ReleaseAsync(string key, long id)
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return;
        }

        List<Exception>? errors = null;
        for (var i = _leases.Length - 1; i >= 0; i--)
        {
            try
            {
                await _leases[i].DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                (errors ??= []).Add(ex);
            }
        }

        _lost?.Dispose();
        if (errors is not null)
        {
            throw new AggregateException("Releasing a multi-key lease failed.", errors);
        }
    }

    protected internal override bool IsHeld(string key, long id)
    {
        if (Volatile.Read(ref _released) != 0)
        {
            return false;
        }

        foreach (var lease in _leases)
        {
            if (!lease.IsHeld)
            {
                return false;
            }
        }

        return true;
    }

    protected internal override long GetFencingToken(string key, long id)
    {
        var max = 0L;
        foreach (var lease in _leases)
        {
            max = Math.Max(max, lease.FencingToken);
        }

        return max;
    }

    protected internal override CancellationToken GetLostToken(string key, long id)
    {
        if (_lost is not null)
        {
            return _lost.Token;
        }

        var tokens = new List<CancellationToken>(_leases.Length);
        foreach (var lease in _leases)
        {
            var token = lease.LostToken;
            if (token.CanBeCanceled)
            {
                tokens.Add(token);
            }
        }

        if (tokens.Count == 0)
        {
            return CancellationToken.None;
        }

        var linked = CancellationTokenSource.CreateLinkedTokenSource([.. tokens]);
        if (Interlocked.CompareExchange(ref _lost, linked, null) is { } existing)
        {
            linked.Dispose();
            return existing.Token;
        }

        return linked.Token;
    }

    protected internal override int AbortWaiters(string key, long id, Exception reason)
    {
        var aborted = 0;
        foreach (var lease in _leases)
        {
            aborted += lease.AbortWaiters(reason);
        }

        return aborted;
    }
}
