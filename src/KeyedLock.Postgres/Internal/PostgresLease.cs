using KeyedLock.Internal;
using Npgsql;

namespace KeyedLock.Postgres.Internal;

/// <summary>
/// One grant of a <see cref="PostgresKeyedLockProvider"/>: the advisory lock held by a dedicated connection. From
/// <see cref="WatchDelay"/> after the grant a read stays pending on that connection
/// (<see cref="NpgsqlConnection.WaitAsync(int, CancellationToken)"/>), so the server's termination notice or a closed
/// socket fires <see cref="KeyedLockLease.LostToken"/> at once; a lease held longer than one heartbeat interval also
/// listens for the <see cref="LeaseHeartbeat"/> and counts as lost when it hears nothing for too long (silent
/// network loss).
/// </summary>
internal sealed class PostgresLease : KeyedLockLeaseOwner, IDistributedLeaseOwner
{
    /// <summary>How long a lease is held before its connection is watched (see <see cref="StartWatching"/>).</summary>
    internal static readonly TimeSpan WatchDelay = TimeSpan.FromMilliseconds(50);

    private readonly NpgsqlConnection _connection;
    private readonly string? _releaseChannel; // a slot of a keyed semaphore: its release wakes the key's head waiter
    private readonly CancellationTokenSource _lost = new();

    // Stops the watch (release); the watch owns the connection until it ends.
    private readonly CancellationTokenSource _stopWatching = new();
    private Task _watch = Task.CompletedTask;
    private LeaseHeartbeat? _heartbeat;
    private Timer? _startWatch;
    private int _watchState; // 0: not yet watching, 1: starting, 3: watching, 2: released before the watch started
    private int _released;
    private volatile bool _isLost;
    private volatile bool _silent;
    private bool _listening;
    private Task? _hung; // a LISTEN that did not answer within the grace (a dead path): the connection is left to it

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

    public KeyedLockLease ToLease() => new(this, Key, Id);

    /// <summary>
    /// Starts watching the session (call once, before the lease is handed out) after <see cref="WatchDelay"/>: a
    /// lease released sooner never posts a read, so the common short lease pays for no cancellation and no thread
    /// hop; a longer one notices the end of its session within the delay plus a few milliseconds.
    /// </summary>
    internal void StartWatching(LeaseHeartbeat heartbeat)
    {
        _heartbeat = heartbeat;
        _startWatch = new Timer(static s => ((PostgresLease)s!).BeginWatch(), this, WatchDelay, Timeout.InfiniteTimeSpan);
    }

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

        var releasing = Provider.OnReleasing(Key);
        try
        {
            // Cancel the pending read first: the connection is free for the unlock once the watch has ended.
            // Cancelling Npgsql's wait for notifications neither breaks the connection nor sends a cancel request.
            _startWatch?.Dispose();
            if (Interlocked.CompareExchange(ref _watchState, 2, 0) != 0)
            {
                var spin = default(SpinWait);
                while (Volatile.Read(ref _watchState) != 3)
                {
                    spin.SpinOnce(); // the timer thread is between starting the watch and publishing it
                }

                _stopWatching.Cancel();
                if (async)
                {
                    await _watch.ConfigureAwait(false);
                }
                else
                {
                    _watch.GetAwaiter().GetResult();
                }
            }

            if (_hung is { } hung)
            {
                // A statement is still pending on a dead path: never pool this connection, dispose it once that ends.
                NpgsqlConnection.ClearPool(_connection);
                _ = hung.ContinueWith(static (_, c) => ((NpgsqlConnection)c!).Dispose(), _connection, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            }
            else
            {
                await Provider.UnlockAndCloseAsync(_connection, Key, async, pathIsSilent: _silent, notifyChannel: _releaseChannel, listening: _listening).ConfigureAwait(false);
            }
        }
        finally
        {
            Provider.OnReleased(this);
            Provider.OnReleaseDone(Key, releasing);
        }
    }

    /// <summary>
    /// Never throws: ends when the lease is released (its connection is then idle) or lost. A read stays pending
    /// throughout, so the end of the session is noticed at once. A lease held longer than one heartbeat interval
    /// starts listening for the heartbeats (short leases never pay for LISTEN/UNLISTEN); from then on, silence for
    /// too long means that the path to the server is gone.
    /// </summary>
    private void BeginWatch()
    {
        if (Interlocked.CompareExchange(ref _watchState, 1, 0) == 0)
        {
            _watch = WatchAsync(_heartbeat!);
            Volatile.Write(ref _watchState, 3);
        }
    }

    private async Task WatchAsync(LeaseHeartbeat heartbeat)
    {
        var token = _stopWatching.Token;
        try
        {
            if (!heartbeat.Enabled)
            {
                while (true)
                {
                    await _connection.WaitAsync(token).ConfigureAwait(false);
                }
            }

            await _connection.WaitAsync(ToMilliseconds(heartbeat.Interval), token).ConfigureAwait(false);
            if (token.IsCancellationRequested)
            {
                return;
            }

            // Bounded on the client: on a dead path the statement (and a cancel request) would hang.
            var listen = ListenAsync(heartbeat.Channel);
            if (await Task.WhenAny(listen, Task.Delay(heartbeat.Grace, CancellationToken.None)).ConfigureAwait(false) != listen)
            {
                _hung = listen;
                OnSilence(token, heartbeat);
                return;
            }

            await listen.ConfigureAwait(false);
            _listening = true;

            // True: a heartbeat arrived. False: silence for the limit, the path to the server is gone.
            var limitMs = ToMilliseconds(heartbeat.FirstSilenceLimit());
            while (!token.IsCancellationRequested)
            {
                if (!await _connection.WaitAsync(limitMs, token).ConfigureAwait(false))
                {
                    OnSilence(token, heartbeat);
                    return;
                }

                limitMs = ToMilliseconds(heartbeat.SilenceLimit);
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

    private async Task ListenAsync(string channel)
    {
        await using var listen = new NpgsqlCommand(PostgresSql.Listen(channel), _connection);
        await listen.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
    }

    private void OnSilence(CancellationToken token, LeaseHeartbeat heartbeat)
    {
        if (!token.IsCancellationRequested)
        {
            _silent = true;
            MarkLost(new TimeoutException($"The connection holding the lock heard nothing for {heartbeat.SilenceLimit.TotalMilliseconds:0} ms: the network path to PostgreSQL is gone."));
        }
    }

    private static int ToMilliseconds(TimeSpan value) => value == Timeout.InfiniteTimeSpan
        ? Timeout.Infinite
        : (int)Math.Clamp(Math.Ceiling(value.TotalMilliseconds), 1, int.MaxValue / 2);
}
