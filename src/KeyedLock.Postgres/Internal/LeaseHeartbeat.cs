using Npgsql;

namespace KeyedLock.Postgres.Internal;

/// <summary>
/// The evidence that the network path of held leases is alive, for one provider: while any lease is held, one
/// <c>pg_notify</c> per <see cref="PostgresKeyedLockOptions.LostLockCheckInterval"/> on a dedicated connection. Every
/// lease held longer than one interval <c>LISTEN</c>s on the channel with a read kept pending on its connection; a
/// holding connection that hears nothing for the interval plus <see cref="PostgresKeyedLockOptions.ProbeTimeout"/>
/// counts as lost. The cost is one
/// statement per instance per interval, whatever the number of leases, and one connection per instance, opened
/// before the first lock connection (so that lock holders exhausting the pool cannot starve it).
/// </summary>
internal sealed class LeaseHeartbeat : IAsyncDisposable
{
    // A heartbeat in flight this long is taken for stuck on a dead path (its holders counted as lost long before);
    // a slow but live server gets that much time before the connection is replaced (which needs a pool slot).
    private const long AbandonAfterMs = 5_000;
    private readonly NpgsqlDataSource _dataSource;
    private readonly Func<bool> _hasLeases;
    private readonly TimeSpan _interval;
    private readonly TimeSpan _silenceLimit;
    private readonly Timer? _timer;
    private readonly SemaphoreSlim _opening = new(1, 1);
    private readonly object _gate = new();
    private volatile NpgsqlConnection? _connection;
    private Task? _inFlight;
    private long _inFlightSince;
    private long _lastTick = Environment.TickCount64;
    private bool _disposed;

    internal LeaseHeartbeat(NpgsqlDataSource dataSource, string channel, TimeSpan interval, TimeSpan grace, Func<bool> hasLeases)
    {
        _dataSource = dataSource;
        Channel = channel;
        _hasLeases = hasLeases;
        _interval = interval;
        _silenceLimit = interval + grace;
        if (interval != Timeout.InfiniteTimeSpan)
        {
            // Real time, whatever TimeProvider the provider uses: the holders wait on their sockets in real time.
            _timer = new Timer(static s => ((LeaseHeartbeat)s!).Tick(), this, interval, interval);
        }
    }

    /// <summary>The channel the holding connections listen on (unique per provider).</summary>
    internal string Channel { get; }

    /// <summary>Whether heartbeats are sent (a finite interval).</summary>
    internal bool Enabled => _timer is not null;

    /// <summary>The heartbeat period.</summary>
    internal TimeSpan Interval => _interval;

    /// <summary>How late a heartbeat may be.</summary>
    internal TimeSpan Grace => _silenceLimit - _interval;

    /// <summary>How long a holding connection may hear nothing between two heartbeats (infinite when off).</summary>
    internal TimeSpan SilenceLimit => Enabled ? _silenceLimit : Timeout.InfiniteTimeSpan;

    /// <summary>
    /// The silence a new holder allows before its first heartbeat: the time to the next tick plus the grace (later
    /// heartbeats come one per interval, so the holder then allows <see cref="SilenceLimit"/>).
    /// </summary>
    internal TimeSpan FirstSilenceLimit()
    {
        if (!Enabled)
        {
            return Timeout.InfiniteTimeSpan;
        }

        var interval = (long)_interval.TotalMilliseconds;
        var next = Math.Clamp(Volatile.Read(ref _lastTick) + interval - Environment.TickCount64, 0, interval);
        return _silenceLimit - _interval + TimeSpan.FromMilliseconds(next);
    }

    /// <summary>Opens the heartbeat connection if it is not open (before a lock connection is taken from the pool).</summary>
    internal ValueTask EnsureConnectedAsync(CancellationToken cancellationToken) =>
        !Enabled || _connection is not null ? default : OpenAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection? connection;
        lock (_gate)
        {
            _disposed = true;
            connection = _inFlight is { IsCompleted: false } ? null : _connection; // an in-flight send disposes its own
            _connection = null;
        }

        if (_timer is not null)
        {
            await _timer.DisposeAsync().ConfigureAwait(false);
        }

        if (connection is not null)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async ValueTask OpenAsync(CancellationToken cancellationToken)
    {
        await _opening.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_connection is not null)
            {
                return;
            }

            var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                if (!_disposed)
                {
                    _connection = connection;
                    return;
                }
            }

            await connection.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            _opening.Release();
        }
    }

    private void Tick()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            Volatile.Write(ref _lastTick, Environment.TickCount64);
            if (!_hasLeases())
            {
                return; // nobody listens
            }

            if (_inFlight is { IsCompleted: false })
            {
                if (Environment.TickCount64 - _inFlightSince < Math.Max(AbandonAfterMs, _silenceLimit.TotalMilliseconds))
                {
                    return; // still within its time
                }

                // Stuck on a dead path (a cancel request would hang there too): leave it, start over on a new connection.
                _connection = null;
            }

            _inFlightSince = Environment.TickCount64;
            _inFlight = SendAsync(_connection);
        }
    }

    private async Task SendAsync(NpgsqlConnection? connection)
    {
        await Task.Yield();
        try
        {
            if (connection is null)
            {
                // The first one broke or got stuck; the holders notice the silence meanwhile if the path is gone.
                connection = await _dataSource.OpenConnectionAsync().ConfigureAwait(false);
                lock (_gate)
                {
                    if (!_disposed && _connection is null)
                    {
                        _connection = connection;
                    }
                }
            }

            await using (var notify = new NpgsqlCommand(PostgresSql.Notify, connection))
            {
                notify.Parameters.AddWithValue("channel", Channel);
                await notify.ExecuteNonQueryAsync().ConfigureAwait(false);
            }

            DisposeUnlessCurrent(connection, broken: false);
        }
        catch (Exception)
        {
            if (connection is not null)
            {
                DisposeUnlessCurrent(connection, broken: true);
            }
        }
    }

    private void DisposeUnlessCurrent(NpgsqlConnection connection, bool broken)
    {
        lock (_gate)
        {
            if (ReferenceEquals(_connection, connection))
            {
                if (!broken && !_disposed)
                {
                    return;
                }

                _connection = null;
            }
        }

        _ = connection.DisposeAsync().AsTask();
    }
}
