using Npgsql;

namespace KeyedLock.Postgres.Internal;

/// <summary>
/// One grant of a <see cref="PostgresKeyedLockProvider"/>: the advisory lock held by a dedicated connection. A read
/// stays pending on that connection for the whole lease (<see cref="NpgsqlConnection.WaitAsync(int, CancellationToken)"/>),
/// so the server's termination notice or a closed socket fires <see cref="KeyedLockLease.LostToken"/> at once; a
/// connection that hears no heartbeat of <see cref="LeaseHeartbeat"/> for too long counts as lost too (silent
/// network loss).
/// </summary>
internal sealed class PostgresLease : KeyedLockLeaseOwner
{
    private readonly NpgsqlConnection _connection;
    private readonly string? _releaseChannel; // a slot of a keyed semaphore: its release wakes the key's head waiter
    private readonly CancellationTokenSource _lost = new();

    // Stops the watch (release); the watch owns the connection until it ends.
    private readonly CancellationTokenSource _stopWatching = new();
    private Task _watch = Task.CompletedTask;
    private int _released;
    private volatile bool _isLost;
    private volatile bool _silent;

    internal PostgresLease(PostgresKeyedLockProvider provider, string key, long id, long lockId, long fencingToken, NpgsqlConnection connection, string? releaseChannel)
    {
        _releaseChannel = releaseChannel;
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

    /// <summary>
    /// Starts the pending read that notices a lost session (call once, before the lease is handed out).
    /// The connection may hear no heartbeat for <paramref name="firstSilenceLimit"/> at first, then for
    /// <paramref name="silenceLimit"/> between two (infinite: no heartbeats).
    /// </summary>
    internal void StartWatching(TimeSpan firstSilenceLimit, TimeSpan silenceLimit) => _watch = WatchAsync(firstSilenceLimit, silenceLimit);

    /// <summary>Marks the lease lost and fires its <see cref="KeyedLockLease.LostToken"/>.</summary>
    internal void MarkLost(Exception? reason)
    {
        if (_isLost || !IsActive)
        {
            return;
        }

        _isLost = true;
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

        try
        {
            // Cancel the pending read first: the connection is free for the unlock once the watch has ended.
            // Cancelling Npgsql's wait for notifications neither breaks the connection nor sends a cancel request.
            _stopWatching.Cancel();
            if (async)
            {
                await _watch.ConfigureAwait(false);
            }
            else
            {
                _watch.GetAwaiter().GetResult();
            }

            await Provider.UnlockAndCloseAsync(_connection, Key, async, pathIsSilent: _silent, notifyChannel: _releaseChannel).ConfigureAwait(false);
        }
        finally
        {
            Provider.OnReleased(this);
        }
    }

    /// <summary>Never throws: ends when the lease is released (its connection is then idle) or lost.</summary>
    private async Task WatchAsync(TimeSpan firstSilenceLimit, TimeSpan silenceLimit)
    {
        await Task.Yield(); // the caller gets its lease without waiting for the first read to be posted
        var token = _stopWatching.Token;
        var limitMs = ToMilliseconds(silenceLimit);
        var firstLimitMs = ToMilliseconds(firstSilenceLimit);
        try
        {
            // True: a heartbeat arrived. False: silence for the limit, the path to the server is gone.
            // Throws at once when the server ends the session (terminated backend, shutdown) or the socket closes.
            if (!await _connection.WaitAsync(firstLimitMs, token).ConfigureAwait(false))
            {
                OnSilence(token);
                return;
            }

            while (!token.IsCancellationRequested)
            {
                if (!await _connection.WaitAsync(limitMs, token).ConfigureAwait(false))
                {
                    OnSilence(token);
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested && _connection.State == System.Data.ConnectionState.Open)
        {
            // Released.
        }
        catch (Exception ex)
        {
            if (!token.IsCancellationRequested)
            {
                MarkLost(ex);
            }
        }
    }

    private void OnSilence(CancellationToken token)
    {
        if (!token.IsCancellationRequested)
        {
            _silent = true;
            MarkLost(new TimeoutException($"No heartbeat reached the connection holding the lock for {Provider.SilenceLimit.TotalMilliseconds:0} ms: the network path to PostgreSQL is gone."));
        }
    }

    private static int ToMilliseconds(TimeSpan value) => value == Timeout.InfiniteTimeSpan
        ? Timeout.Infinite
        : (int)Math.Clamp(Math.Ceiling(value.TotalMilliseconds), 1, int.MaxValue / 2);
}
