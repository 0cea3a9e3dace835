using System.Collections.Concurrent;
using System.Data;
using System.Diagnostics.Metrics;
using KeyedLock.Internal;
using KeyedLock.Postgres.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace KeyedLock.Postgres;

/// <summary>
/// An <see cref="IKeyedLockProvider"/> that serializes keys across every app instance sharing one PostgreSQL
/// database, with session-level advisory locks (<c>pg_advisory_lock(bigint)</c>) held on a dedicated connection for
/// the lifetime of each lease.
/// </summary>
/// <remarks>
/// <para>
/// Two tiers: requests first queue per key in an in-process <see cref="KeyedLockRegistry"/>; only the head of that
/// queue opens a connection and waits in PostgreSQL, and it leaves the in-process queue as soon as PostgreSQL grants
/// it the lock, so that the next local waiter can queue in PostgreSQL behind it. One instance therefore uses at most
/// one waiting and one holding connection per key, and PostgreSQL orders the instances by their arrival in its
/// lock queue.
/// </para>
/// <para>
/// Waits are bounded on the server with <c>lock_timeout</c> (a zero timeout uses <c>pg_try_advisory_lock</c>).
/// After a timeout, a cancellation or any failure the connection runs <c>pg_advisory_unlock_all()</c> before it goes
/// back to the pool (a lock granted in the race is released), or is discarded when that fails.
/// </para>
/// <para>
/// Fails closed: when the database cannot be reached or the pool is exhausted, acquisitions throw
/// <see cref="KeyedLockUnavailableException"/>; nothing runs unprotected. Held leases keep a read pending on their
/// connection and listen for a per-instance heartbeat (see <see cref="PostgresKeyedLockOptions.LostLockCheckInterval"/>),
/// so <see cref="KeyedLockLease.LostToken"/> fires within milliseconds when the session ends (leases younger than
/// 50 ms: at 50 ms), and within the interval plus
/// <see cref="PostgresKeyedLockOptions.ProbeTimeout"/> when the network path dies silently.
/// </para>
/// </remarks>
public sealed class PostgresKeyedLockProvider : IKeyedLockProvider, IAsyncDisposable, IDisposable
{

    private const int UnlockTimeoutSeconds = 5;

    // How long a disposal waits for the acquisitions and releases on their way: a cancelled statement ends within
    // Npgsql's cancellation timeout, then its unlock runs (two tries of UnlockTimeoutSeconds at most).
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds((2 * UnlockTimeoutSeconds) + 5);
    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly PostgresKeyedLockOptions _options;
    private readonly TwoTierAcquisition<PostgresLease> _acquisition;
    private readonly AdvisoryLockKey _keys;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string? _sequence;
    private readonly ConcurrentDictionary<PostgresLease, long> _active = new(); // lease -> granted at (timestamp)
    private readonly RegistryMetrics _metrics;

    // Releases in flight per key: the next local waiter of the key takes its connection after the releasing holder
    // gave its connection back, so that one instance uses one holding and one waiting lock connection per key.
    private readonly ConcurrentDictionary<string, Task> _releasing = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _disposing = new();
    private readonly LeaseHeartbeat _heartbeat;
    private readonly SlotLocks? _slots;
    private volatile bool _sequenceReady;
    private long _lastId;
    private int _disposed;

    /// <summary>Creates a provider on <paramref name="dataSource"/> (which the caller keeps owning and disposing).</summary>
    /// <param name="dataSource">The data source whose pool provides the lock connections.</param>
    /// <param name="options">The options (validated and copied); defaults when null.</param>
    /// <param name="timeProvider">The clock for timeouts and probes; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="logger">Logs lost locks and unavailability; nothing when null.</param>
    /// <param name="meterFactory">Creates the <c>KeyedLock</c> meter; a private meter when null.</param>
    public PostgresKeyedLockProvider(NpgsqlDataSource dataSource, PostgresKeyedLockOptions? options = null, TimeProvider? timeProvider = null, ILogger<PostgresKeyedLockProvider>? logger = null, IMeterFactory? meterFactory = null)
        : this(dataSource, ownsDataSource: false, options, timeProvider, logger, meterFactory)
    {
    }

    internal PostgresKeyedLockProvider(NpgsqlDataSource dataSource, bool ownsDataSource, PostgresKeyedLockOptions? options, TimeProvider? timeProvider, ILogger? logger, IMeterFactory? meterFactory)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        _options = (options ?? new PostgresKeyedLockOptions()).Clone();
        _options.Validate();
        _dataSource = dataSource;
        _ownsDataSource = ownsDataSource;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _metrics = new RegistryMetrics(meterFactory, () => _active.Count + WaitingKeys);
        _keys = new AdvisoryLockKey(_options.KeyNamespace);
        _sequence = _options.UseFencingTokens ? SqlIdentifier.Quote(_options.FencingSequenceName) : null;
        _slots = _options.MaxConcurrencyPerKey > 1 ? new SlotLocks(_options.KeyNamespace, _keys, _options.MaxConcurrencyPerKey, _sequence) : null;
        _heartbeat = new LeaseHeartbeat(_dataSource, $"keyedlock_hb_{Guid.NewGuid():N}", _options.LostLockCheckInterval, _options.ProbeTimeout, () => !_active.IsEmpty);

        // The first tier, the checks and the caller's-flow completion are shared with the other distributed provider.
        _acquisition = new TwoTierAcquisition<PostgresLease>(
            this,
            () => Volatile.Read(ref _disposed) != 0,
            _disposing.Token,
            AcquireRemoteAsync,
            _options.DetectReentrancy,
            _options.MaxQueueLengthPerKey,
            _time,
            _metrics);
    }

    /// <summary>The data source that provides the lock connections.</summary>
    public NpgsqlDataSource DataSource => _dataSource;

    /// <summary>Keys with a waiter in this instance right now (holders are counted by <see cref="ActiveLeases"/>).</summary>
    public int WaitingKeys => _acquisition.WaitingKeys;

    /// <summary>Leases of this instance that hold a PostgreSQL advisory lock (and a connection) right now.</summary>
    public int ActiveLeases => _active.Count;

    /// <summary>
    /// The <c>bigint</c> advisory lock id of <paramref name="key"/> in this provider's namespace, e.g. to find its
    /// holder in <c>pg_locks</c> (<c>(classid::bigint &lt;&lt; 32) | objid::bigint</c>, <c>objsubid = 1</c>).
    /// </summary>
    /// <param name="key">The key.</param>
    /// <returns>The advisory lock id.</returns>
    public long GetAdvisoryLockId(string key)
    {
        Arguments.ValidateKey(key);
        return _keys.Compute(key);
    }

    /// <inheritdoc />
    public ValueTask<KeyedLockLease> AcquireAsync(string key, CancellationToken cancellationToken = default)
        => AcquireAsync(key, Timeout.InfiniteTimeSpan, cancellationToken);

    /// <inheritdoc />
    public ValueTask<KeyedLockLease> AcquireAsync(string key, TimeSpan timeout, CancellationToken cancellationToken = default)
        => _acquisition.AcquireAsync(key, timeout, cancellationToken);

    /// <inheritdoc />
    public ValueTask<KeyedLockAttempt> TryAcquireAsync(string key, TimeSpan timeout, CancellationToken cancellationToken = default)
        => _acquisition.TryAcquireAsync(key, timeout, cancellationToken);

    /// <inheritdoc />
    public ValueTask<KeyedLockLease> AcquireAsync(IReadOnlyCollection<string> keys, TimeSpan timeout, CancellationToken cancellationToken = default)
        => KeyedLockMultiKey.AcquireAllAsync(this, keys, timeout, _time, cancellationToken);

    /// <summary>
    /// Stops waiting acquisitions (they throw <see cref="ObjectDisposedException"/>, and their sessions wait for
    /// nothing on the server, before this returns), releases the advisory locks of held leases (their
    /// <see cref="KeyedLockLease.LostToken"/> fires), and disposes the data source if the provider created it.
    /// </summary>
    /// <returns>A task that completes when everything is released.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _disposing.CancelAsync().ConfigureAwait(false);

        // A lock statement already sent may still wait or be granted on the server, and a release may be on its way:
        // let them end (a cancelled wait unlocks its session, a lease granted meanwhile is released, not handed out)
        // before the held leases are released and an owned data source closes. A statement stuck on a dead path past
        // the drain's timeout ends with its connection, and the server drops its locks.
        await _acquisition.InFlight.DrainAsync(DrainTimeout, TimeProvider.System).ConfigureAwait(false);

        foreach (var lease in _active.Keys)
        {
            lease.MarkLost(null);
            await lease.ToLease().DisposeAsync().ConfigureAwait(false);
        }

        _acquisition.Dispose();
        _metrics.Dispose();
        await _heartbeat.DisposeAsync().ConfigureAwait(false);
        if (_ownsDataSource)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Same as <see cref="DisposeAsync"/>, blocking.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Opens a connection and runs <c>SELECT 1</c>: the health check.</summary>
    internal async Task PingAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await using var command = new NpgsqlCommand(PostgresSql.Probe, connection);
                await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (Exception) when (attempt == 0 && connection.State != ConnectionState.Open && !cancellationToken.IsCancellationRequested)
            {
                NpgsqlConnection.ClearPool(connection); // a stale pooled connection (e.g. the server restarted): retry once
            }
        }
    }

    internal void OnReleased(PostgresLease lease)
    {
        if (_active.TryRemove(lease, out var grantedAt))
        {
            _metrics.LeaseReleased(grantedAt, _time);
        }
    }

    /// <summary>Records a release of <paramref name="key"/> in flight; complete the returned source when the connection is back.</summary>
    internal TaskCompletionSource OnReleasing(string key)
    {
        _acquisition.InFlight.Enter();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _releasing[key] = done.Task;
        return done;
    }

    internal void OnReleaseDone(string key, TaskCompletionSource done)
    {
        _releasing.TryRemove(new KeyValuePair<string, Task>(key, done.Task));
        done.TrySetResult();
        _acquisition.InFlight.Exit();
    }

    internal void OnLost(PostgresLease lease, Exception? reason)
    {
        if (reason is not null)
        {
            Log.LeaseLost(_logger, lease.Key, reason);
        }
    }

    internal void OnLostCallbackFailed(PostgresLease lease, Exception exception) => Log.LostCallbackFailed(_logger, lease.Key, exception);

    /// <summary>
    /// Releases every advisory lock of the session and returns the connection to the pool. When the unlock fails on a
    /// live connection (twice), the pool is cleared so that the physical connection is closed and the server drops
    /// the session's locks; a broken connection is dropped by the server anyway.
    /// </summary>
    internal async ValueTask UnlockAndCloseAsync(NpgsqlConnection connection, string key, bool async, bool pathIsSilent = false, string? notifyChannel = null, bool listening = false)
    {
        try
        {
            if (pathIsSilent)
            {
                // The path went silent: a statement (or its cancel request) could hang there. Close the physical
                // connection instead of pooling it; the server drops the session's locks when it notices.
                NpgsqlConnection.ClearPool(connection);
                return;
            }

            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    await using var command = new NpgsqlCommand(PostgresSql.Unlock(listening, notifyChannel is not null), connection);
                    command.CommandTimeout = UnlockTimeoutSeconds;
                    if (notifyChannel is not null)
                    {
                        command.Parameters.AddWithValue("channel", notifyChannel);
                    }

                    if (async)
                    {
                        await command.ExecuteNonQueryAsync().ConfigureAwait(false);
                    }
                    else
                    {
                        command.ExecuteNonQuery();
                    }

                    return;
                }
                catch (Exception ex) when (connection.State == ConnectionState.Open && attempt == 0)
                {
                    // A live connection: most likely a late cancellation request hit this statement. Try once more.
                    _ = ex;
                }
                catch (Exception ex) when (connection.State == ConnectionState.Open)
                {
                    Log.CleanupFailed(_logger, key, ex);
                    NpgsqlConnection.ClearPool(connection);
                    return;
                }
                catch (Exception)
                {
                    return; // broken: the session ends and PostgreSQL releases its locks
                }
            }
        }
        finally
        {
            if (async)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                connection.Dispose();
            }
        }
    }

    /// <summary>
    /// The second tier: a connection waits for the advisory lock. Null when the timeout elapsed. (Counted in flight by
    /// the shared acquisition, which also releases a lease granted while the provider is being disposed.)
    /// </summary>
    private async Task<PostgresLease?> AcquireRemoteAsync(string key, TimeSpan timeout, long started, CancellationToken token)
    {
        for (var attempt = 0; ; attempt++)
        {
            NpgsqlConnection connection;
            try
            {
                await _heartbeat.EnsureConnectedAsync(token).ConfigureAwait(false);
                if (_releasing.TryGetValue(key, out var releasing))
                {
                    // The previous holder of this key unlocked (that is why this waiter moved up) and is returning its
                    // connection: reuse it from the pool instead of opening one more.
                    await releasing.WaitAsync(token).ConfigureAwait(false);
                }

                connection = await _dataSource.OpenConnectionAsync(token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !token.IsCancellationRequested)
            {
                throw Unavailable(key, ex);
            }

            (bool Granted, long LockId, long Token) granted;
            try
            {
                if (_sequence is not null && !_sequenceReady)
                {
                    await EnsureSequenceAsync(connection, token).ConfigureAwait(false);
                }

                granted = _slots is null
                    ? await LockAsync(connection, key, Remaining(timeout, started), token).ConfigureAwait(false)
                    : await _slots.TakeAsync(connection, key, Remaining(timeout, started), token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                var broken = connection.State != ConnectionState.Open;
                if (broken)
                {
                    // The server restarted or dropped the session: idle pooled connections are stale too.
                    NpgsqlConnection.ClearPool(connection);
                }

                // Whatever happened, this session must not keep a lock that was granted in a race with the failure.
                await UnlockAndCloseAsync(connection, key, async: true, listening: _slots is not null).ConfigureAwait(false);
                if (ex is PostgresException { SqlState: PostgresErrorCodes.LockNotAvailable })
                {
                    return null;
                }

                if (ex is OperationCanceledException && token.IsCancellationRequested)
                {
                    throw;
                }

                if (broken && attempt == 0)
                {
                    Log.RetryingOnFreshConnection(_logger, key, ex);
                    continue;
                }

                throw Unavailable(key, ex);
            }

            if (!granted.Granted)
            {
                // Not granted: nothing held (a keyed semaphore's turnstile and LISTEN are undone before pooling).
                if (_slots is not null)
                {
                    await UnlockAndCloseAsync(connection, key, async: true, listening: true).ConfigureAwait(false);
                }
                else
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                }

                return null;
            }

            var id = Interlocked.Increment(ref _lastId);
            var lease = new PostgresLease(this, key, id, granted.LockId, _sequence is null ? id : granted.Token, connection, _slots?.Channel(key));
            _active.TryAdd(lease, _time.GetTimestamp());
            _metrics.LeaseGranted();
            lease.StartWatching(_heartbeat);
            return lease;
        }
    }

    /// <summary>Waits for the key's advisory lock: whether it was granted (a zero-timeout try may not be), and the fencing token.</summary>
    private async Task<(bool Granted, long LockId, long Token)> LockAsync(NpgsqlConnection connection, string key, TimeSpan remaining, CancellationToken token)
    {
        var lockId = _keys.Compute(key);
        if (remaining == TimeSpan.Zero)
        {
            await using var tryBatch = new NpgsqlBatch(connection);
            var tryLock = new NpgsqlBatchCommand(PostgresSql.TryLock(_sequence));
            tryLock.Parameters.AddWithValue("key", lockId);
            tryBatch.BatchCommands.Add(tryLock);
            var tried = (long)(await tryBatch.ExecuteScalarAsync(token).ConfigureAwait(false))!;
            return (tried != 0, lockId, tried);
        }

        // One round trip, one implicit transaction: SET LOCAL lock_timeout, the lock, then (optionally) the fencing
        // token. The lock is session-level, so it outlives the implicit transaction.
        var lockTimeoutMs = remaining == Timeout.InfiniteTimeSpan ? 0 : (long)Math.Clamp(Math.Ceiling(remaining.TotalMilliseconds), 1, int.MaxValue);
        await using var batch = new NpgsqlBatch(connection)
        {
            // lock_timeout bounds the wait on the server; the client-side timeout only catches a server that stopped answering.
            Timeout = remaining == Timeout.InfiniteTimeSpan ? 0 : (int)Math.Min(int.MaxValue, Math.Ceiling(remaining.TotalSeconds) + 30),
        };
        var set = new NpgsqlBatchCommand(PostgresSql.SetTimeouts);
        set.Parameters.AddWithValue("lock_timeout", lockTimeoutMs.ToString(System.Globalization.CultureInfo.InvariantCulture));
        batch.BatchCommands.Add(set);
        var acquire = new NpgsqlBatchCommand(PostgresSql.LockWithToken(_sequence));
        acquire.Parameters.AddWithValue("key", lockId);
        batch.BatchCommands.Add(acquire);

        await using var reader = await batch.ExecuteReaderAsync(token).ConfigureAwait(false);
        await reader.NextResultAsync(token).ConfigureAwait(false); // the lock (surfaces its failure, e.g. lock_timeout)
        await reader.ReadAsync(token).ConfigureAwait(false);
        return (true, lockId, _sequence is null ? 0 : reader.GetInt64(0));
    }

    private async Task EnsureSequenceAsync(NpgsqlConnection connection, CancellationToken token)
    {
        try
        {
            await using var create = new NpgsqlCommand(PostgresSql.CreateSequence(_sequence!), connection);
            await create.ExecuteNonQueryAsync(token).ConfigureAwait(false);
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DuplicateTable)
        {
            // Another instance created it at the same moment.
        }

        _sequenceReady = true;
    }

    private TimeSpan Remaining(TimeSpan timeout, long started)
    {
        if (timeout == Timeout.InfiniteTimeSpan)
        {
            return timeout;
        }

        var remaining = timeout - _time.GetElapsedTime(started);
        return remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero;
    }

    private KeyedLockUnavailableException Unavailable(string key, Exception ex)
    {
        Log.Unavailable(_logger, key, ex);
        return new KeyedLockUnavailableException(key, $"PostgreSQL is unavailable, so the keyed lock '{key}' cannot be taken: {ex.Message}", ex);
    }
}
