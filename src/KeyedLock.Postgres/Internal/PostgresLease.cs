using Npgsql;

namespace KeyedLock.Postgres.Internal;

/// <summary>
/// One grant of a <see cref="PostgresKeyedLockProvider"/>: the advisory lock held by a dedicated connection. Probes its connection periodically and fires
/// <see cref="KeyedLockLease.LostToken"/> when the session (and with it the lock) is gone.
/// </summary>
internal sealed class PostgresLease : KeyedLockLeaseOwner
{
    private static readonly TimerCallback s_onProbe = static state => _ = ((PostgresLease)state!).ProbeAsync();

    private readonly NpgsqlConnection _connection;
    private readonly CancellationTokenSource _lost = new();

    // Serializes the probe and the release on the connection (one command at a time).
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ITimer? _probe;
    private int _released;
    private volatile bool _isLost;

    internal PostgresLease(PostgresKeyedLockProvider provider, string key, long id, long lockId, long fencingToken, NpgsqlConnection connection)
    {
        Provider = provider;
        Key = key;
        Id = id;
        LockId = lockId;
        FencingToken = fencingToken;
        _connection = connection;
    }

    internal PostgresKeyedLockProvider Provider { get; }

    internal string Key { get; }

    internal long Id { get; }

    internal long LockId { get; }

    internal long FencingToken { get; }

    /// <summary>Not released yet (it may be lost: the caller still owns it until it releases).</summary>
    internal bool IsActive => Volatile.Read(ref _released) == 0;

    internal KeyedLockLease ToLease() => new(this, Key, Id);

    internal void StartProbing(TimeProvider time, TimeSpan interval)
    {
        if (interval == Timeout.InfiniteTimeSpan)
        {
            return;
        }

        var timer = time.CreateTimer(s_onProbe, this, interval, interval);
        Volatile.Write(ref _probe, timer);
        if (!IsActive)
        {
            timer.Dispose(); // released while the timer was being created
        }
    }

    /// <summary>Marks the lease lost and fires its <see cref="KeyedLockLease.LostToken"/> (outside any gate).</summary>
    internal void MarkLost(Exception? reason)
    {
        if (_isLost || !IsActive)
        {
            return;
        }

        _isLost = true;
        Volatile.Read(ref _probe)?.Dispose();
        Provider.OnLost(this, reason);
        try
        {
            _lost.Cancel();
        }
        catch (AggregateException ex)
        {
            Provider.OnLostCallbackFailed(this, ex);
        }
    }

    protected internal override void Release(string key, long id)
    {
        var pending = ReleaseCoreAsync(id, async: false);
        if (pending.IsCompletedSuccessfully)
        {
            pending.GetAwaiter().GetResult();
        }
        else
        {
            pending.AsTask().GetAwaiter().GetResult();
        }
    }

    protected internal override ValueTask ReleaseAsync(string key, long id) => ReleaseCoreAsync(id, async: true);

    protected internal override bool IsHeld(string key, long id) => id == Id && IsActive && !_isLost;

    // A lost lock stays the holder's until it releases it: re-acquiring the key in the same flow is still re-entrancy.
    internal override bool IsUnreleased(string key, long id) => id == Id && IsActive;

    protected internal override long GetFencingToken(string key, long id) => FencingToken;

    // The source is never disposed (it owns no timer), so the token stays readable after the release.
    protected internal override CancellationToken GetLostToken(string key, long id) => id == Id ? _lost.Token : CancellationToken.None;

    private async ValueTask ReleaseCoreAsync(long id, bool async)
    {
        if (id != Id || Interlocked.Exchange(ref _released, 1) != 0)
        {
            return;
        }

        Volatile.Read(ref _probe)?.Dispose();
        if (async)
        {
            await _gate.WaitAsync().ConfigureAwait(false);
        }
        else
        {
            _gate.Wait();
        }

        try
        {
            await Provider.UnlockAndCloseAsync(_connection, Key, async).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
            Provider.OnReleased(this);
        }
    }

    private async Task ProbeAsync()
    {
        if (!IsActive || _isLost || !_gate.Wait(0))
        {
            return; // released, already lost, or a release/probe is using the connection right now
        }

        Exception? failure = null;
        try
        {
            if (!IsActive)
            {
                return;
            }

            await Provider.ProbeAsync(_connection).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            failure = ex;
        }
        finally
        {
            _gate.Release();
        }

        if (failure is not null)
        {
            MarkLost(failure);
        }
    }
}
