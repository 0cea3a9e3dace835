using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using KeyedLock.Internal;
using KeyedLock.Redis.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace KeyedLock.Redis;

/// <summary>
/// An <see cref="IKeyedLockProvider"/> that serializes keys across every app instance sharing one Redis primary, with
/// a FIFO queue per key kept by Lua scripts on the server and the hand-off pushed to the granted instance only.
/// </summary>
/// <remarks>
/// <para>
/// Two tiers: requests first queue per key in an in-process <see cref="KeyedLockRegistry"/>; only the head of that
/// queue waits in Redis, and it leaves the in-process queue as soon as Redis grants it, so that the next local waiter
/// queues in Redis behind the other instances. Order: strictly FIFO within an instance, arrival at Redis across
/// instances. A key's queue in Redis is never longer than the number of instances.
/// </para>
/// <para>
/// No polling: a release grants the next waiter inside the same script and publishes the grant on the channel of
/// the waiter's instance (one channel per provider, subscribed once); that instance confirms the hand-off with one
/// more script. Every entry has a deadline on the server clock (<c>TIME</c>): a waiter whose instance died leaves the
/// queue after <see cref="RedisKeyedLockOptions.WaiterTtl"/>, a holder's lease after
/// <see cref="RedisKeyedLockOptions.LeaseTtl"/>. One batched heartbeat per instance renews leases and refreshes
/// waiters; a renewal never re-creates a lease that is gone.
/// </para>
/// <para>
/// <see cref="KeyedLockLease.LostToken"/> fires when a renewal finds the lease gone, and at the local loss deadline
/// (before the server could grant the key to anyone else) when renewals do not get through.
/// <see cref="KeyedLockLease.FencingToken"/> is a time-seeded counter per namespace: strictly increasing across all
/// instances, and still increasing after the counter key is lost (eviction, restart without persistence, failover to
/// a replica that missed the last write, as long as the server clocks are synchronized).
/// </para>
/// <para>
/// Fails closed: when Redis cannot be reached, acquisitions and waiters throw
/// <see cref="KeyedLockUnavailableException"/>; nothing runs unprotected, and nothing is queued to be replayed later.
/// </para>
/// </remarks>
public sealed class RedisKeyedLockProvider : IKeyedLockProvider, IAsyncDisposable, IDisposable
{
    private const long FenceTtlMs = 24 * 60 * 60 * 1000;
    private const int HeartbeatBatch = 128;

    private readonly IConnectionMultiplexer _redis;
    private readonly IDatabase _database;
    private readonly bool _ownsConnection;
    private readonly RedisKeyedLockOptions _options;
    private readonly TwoTierAcquisition<RedisLease> _acquisition;
    private readonly RedisKeys _keys;
    private readonly ILogger _logger;
    private readonly RegistryMetrics _metrics;
    private readonly RedisScripts _scripts;
    private readonly RedisChannel _channel;
    private readonly Action<RedisChannel, RedisValue> _onMessage;
    private readonly Func<RedisWaiter, Task<RedisResult>> _confirm;
    private readonly EventHandler<ConnectionFailedEventArgs> _onConnectionFailed;
    private readonly ConcurrentDictionary<string, RedisWaiter> _waiters = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<RedisLease, byte> _active = new();
    private readonly CancellationTokenSource _disposing = new();
    private readonly TimeSpan _tick;
    private readonly ITimer _heartbeat;
    private readonly ITimer _early;
    private readonly Lock _gate = new();
    private Task? _subscription;
    private long _earlyDue = long.MaxValue;
    private long _lastId;
    private long _lastWaiter;
    private int _heartbeatRunning;
    private int _disposed;

    /// <summary>Creates a provider on <paramref name="connection"/> (which the caller keeps owning and disposing).</summary>
    /// <param name="connection">
    /// The multiplexer. Configure it with <c>AbortOnConnectFail = false</c> and <c>BacklogPolicy = BacklogPolicy.FailFast</c>,
    /// so that commands fail at once while Redis is unreachable instead of being queued and replayed later.
    /// </param>
    /// <param name="options">The options (validated and copied); defaults when null.</param>
    /// <param name="timeProvider">The clock for timeouts, renewals and loss deadlines; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="logger">Logs lost leases and unavailability; nothing when null.</param>
    /// <param name="meterFactory">Creates the <c>KeyedLock</c> meter; a private meter when null.</param>
    public RedisKeyedLockProvider(IConnectionMultiplexer connection, RedisKeyedLockOptions? options = null, TimeProvider? timeProvider = null, ILogger<RedisKeyedLockProvider>? logger = null, IMeterFactory? meterFactory = null)
        : this(connection, ownsConnection: false, options, timeProvider, logger, meterFactory)
    {
    }

    internal RedisKeyedLockProvider(IConnectionMultiplexer connection, bool ownsConnection, RedisKeyedLockOptions? options, TimeProvider? timeProvider, ILogger? logger, IMeterFactory? meterFactory)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _options = (options ?? new RedisKeyedLockOptions()).Clone();
        _options.Validate();
        _redis = connection;
        _database = connection.GetDatabase();
        _ownsConnection = ownsConnection;
        Time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _keys = new RedisKeys(_options.KeyNamespace);
        InstanceId = Guid.NewGuid().ToString("N");
        _channel = RedisChannel.Literal(_keys.ChannelPrefix + InstanceId);
        LossWindow = (_options.LeaseTtl * 0.99) - _options.LeaseSafetyMargin;
        _tick = TimeSpan.FromTicks(Math.Min(_options.LeaseTtl.Ticks, _options.WaiterTtl.Ticks) / 3);
        _scripts = new RedisScripts(
            _options.MaxConcurrencyPerKey,
            _keys.ChannelPrefix,
            _keys.Fence,
            FenceTtlMs,
            Milliseconds(_options.LeaseTtl),
            Milliseconds(_options.WaiterTtl));
        _metrics = new RegistryMetrics(meterFactory, () => _active.Count + _waiters.Count);
        _onMessage = OnMessage;
        _confirm = waiter => _scripts.Confirm.EvaluateAsync(_database, waiter.Keys, Argv(waiter.Id));
        _onConnectionFailed = OnConnectionFailed;

        // The first tier, the checks and the caller's-flow completion are shared with the other distributed provider.
        _acquisition = new TwoTierAcquisition<RedisLease>(
            this,
            () => Volatile.Read(ref _disposed) != 0,
            _disposing.Token,
            AcquireRemoteAsync,
            _options.DetectReentrancy,
            _options.MaxQueueLengthPerKey,
            Time,
            _metrics);

        _redis.ConnectionFailed += _onConnectionFailed;
        _heartbeat = Time.CreateTimer(static state => _ = ((RedisKeyedLockProvider)state!).HeartbeatAsync(), this, _tick, _tick);
        _early = Time.CreateTimer(static state => ((RedisKeyedLockProvider)state!).OnEarlyHeartbeat(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>The multiplexer that carries the lock commands and the instance's channel.</summary>
    public IConnectionMultiplexer Connection => _redis;

    /// <summary>Keys with a waiter in this instance right now (holders are counted by <see cref="ActiveLeases"/>).</summary>
    public int WaitingKeys => _acquisition.WaitingKeys;

    /// <summary>Leases of this instance that hold a key in Redis right now.</summary>
    public int ActiveLeases => _active.Count;

    /// <summary>This provider's id in Redis: its waiters are <c>&lt;id&gt;:&lt;n&gt;</c>, its channel <c>&lt;namespace&gt;:ch:&lt;id&gt;</c>.</summary>
    public string InstanceId { get; }

    internal TimeProvider Time { get; }

    /// <summary>From the send time of a confirmed renewal to the moment the lease counts as lost locally.</summary>
    internal TimeSpan LossWindow { get; }

    internal RedisKeys Keys => _keys;

    /// <summary>Test hook: simulates a paused (or partitioned) instance by sending no heartbeat at all.</summary>
    internal bool HeartbeatSuspended { get; set; }

    /// <summary>The leases this instance holds (released ones leave at once, lost ones when released).</summary>
    internal ICollection<RedisLease> Leases => _active.Keys;

    /// <summary>Redis-tier waiters of this instance right now.</summary>
    internal int RedisWaiters => _waiters.Count(static w => w.Value.InRedis);

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
        => KeyedLockMultiKey.AcquireAllAsync(this, keys, timeout, Time, cancellationToken);

    /// <summary>
    /// Stops waiting acquisitions (they throw <see cref="ObjectDisposedException"/> and leave the Redis queue, before
    /// this returns), releases held leases (their <see cref="KeyedLockLease.LostToken"/> fires), unsubscribes the
    /// instance's channel, and disposes the multiplexer if the provider created it.
    /// </summary>
    /// <returns>A task that completes when everything is released.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _heartbeat.Dispose();
        _early.Dispose();
        _redis.ConnectionFailed -= _onConnectionFailed;
        await _disposing.CancelAsync().ConfigureAwait(false);

        // Commands already sent (an ACQUIRE, a CONFIRM, a heartbeat) may still grant or queue on the server: the
        // acquisitions undo that (LEAVE, or the release of a lease granted meanwhile) before the multiplexer closes.
        // Whatever is still on its way after that expires on the server (WaiterTtl, LeaseTtl).
        await _acquisition.InFlight.DrainAsync(_options.CommandTimeout * 3, Time).ConfigureAwait(false);

        foreach (var lease in _active.Keys)
        {
            lease.MarkLost("the provider was disposed", null);
            await lease.ToLease().DisposeAsync().ConfigureAwait(false);
        }

        try
        {
            await _redis.GetSubscriber().UnsubscribeAsync(_channel, _onMessage).WaitAsync(_options.CommandTimeout, Time).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // The server forgets the subscription with the connection.
        }

        _acquisition.Dispose();
        _metrics.Dispose();
        if (_ownsConnection)
        {
            await _redis.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Same as <see cref="DisposeAsync"/>, blocking.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Sends <c>PING</c>: the health check.</summary>
    internal Task<TimeSpan> PingAsync(CancellationToken cancellationToken)
        => _database.PingAsync().WaitAsync(_options.CommandTimeout, Time, cancellationToken);

    internal void OnLost(RedisLease lease, string reason, Exception? exception) => Log.LeaseLost(_logger, lease.Key, reason, exception);

    internal void OnLostCallbackFailed(RedisLease lease, Exception exception) => Log.LostCallbackFailed(_logger, lease.Key, exception);

    internal async Task ReleaseAsync(RedisLease lease)
    {
        try
        {
            var held = (long)await EvaluateAsync(_scripts.Release, lease.Keys, Argv(lease.HolderId), CancellationToken.None).ConfigureAwait(false);
            OnReleaseReply(lease, held);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            Log.ReleaseFailed(_logger, lease.Key, ex);
        }
        finally
        {
            OnReleased(lease);
        }
    }

    internal void Release(RedisLease lease)
    {
        try
        {
            var held = (long)_scripts.Release.Evaluate(_database, lease.Keys, Argv(lease.HolderId));
            OnReleaseReply(lease, held);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            Log.ReleaseFailed(_logger, lease.Key, ex);
        }
        finally
        {
            OnReleased(lease);
        }
    }

    private static long Milliseconds(TimeSpan value) => (long)Math.Ceiling(value.TotalMilliseconds);

    private void OnReleaseReply(RedisLease lease, long held)
    {
        if (held == 0 && !lease.IsLost)
        {
            Log.LeaseLost(_logger, lease.Key, "it had expired on the server before it was released", null);
        }
    }

    private void OnReleased(RedisLease lease)
    {
        if (_active.TryRemove(lease, out _))
        {
            _metrics.LeaseReleased(lease.GrantedAt, Time);
        }
    }

    /// <summary>
    /// The second tier: wait in the key's Redis queue. Null when the timeout elapsed. (Counted in flight by the
    /// shared acquisition, which also releases a lease granted while the provider is being disposed.)
    /// </summary>
    private async Task<RedisLease?> AcquireRemoteAsync(string key, TimeSpan timeout, long started, CancellationToken token)
    {
        await EnsureSubscribedAsync(key, token).ConfigureAwait(false);
        var keys = _keys.For(key);
        while (true)
        {
            var remaining = Remaining(timeout, started);
            var waiter = new RedisWaiter(InstanceId + ":" + Interlocked.Increment(ref _lastWaiter).ToString(CultureInfo.InvariantCulture), key, keys);

            // Registered before the script runs: the push of a grant may overtake the script's own reply.
            _waiters[waiter.Id] = waiter;
            var sent = Time.GetTimestamp();
            var acquire = _scripts.Acquire.EvaluateAsync(_database, keys, Argv(waiter.Id, remaining == TimeSpan.Zero ? "1" : "0"));
            long reply;
            try
            {
                reply = (long)await acquire.WaitAsync(_options.CommandTimeout, Time, token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                _waiters.TryRemove(waiter.Id, out _);
                _ = LeaveAfterAsync(acquire, waiter); // a late reply may still queue or grant it: undo that
                if (ex is OperationCanceledException && token.IsCancellationRequested)
                {
                    throw;
                }

                throw Unavailable(key, ex);
            }

            // The token when granted, 0 when busy (zero timeout), -1 - the first holder's time left when queued.
            if (reply >= 0)
            {
                _waiters.TryRemove(waiter.Id, out _);
                return reply > 0 ? NewLease(key, keys, waiter.Id, reply, sent) : null;
            }

            waiter.InRedis = true;
            var holderLeft = -1 - reply;
            if (holderLeft > 0)
            {
                // A holder that died is replaced when its lease runs out, not one heartbeat later.
                RequestEarlyHeartbeat(TimeSpan.FromMilliseconds(holderLeft + 5));
            }

            bool granted;
            try
            {
                granted = await waiter.Granted.WaitAsync(Remaining(timeout, started), Time, token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is TimeoutException or OperationCanceledException or KeyedLockUnavailableException)
            {
                _waiters.TryRemove(waiter.Id, out _);
                await LeaveAsync(waiter).ConfigureAwait(false); // also undoes a grant (or a confirm) that raced with it
                if (ex is TimeoutException)
                {
                    return null;
                }

                throw;
            }

            if (!granted)
            {
                // Purged from the Redis queue while this instance did not refresh it (it was paused): queue again.
                _waiters.TryRemove(waiter.Id, out _);
                Log.Requeued(_logger, key);
                continue;
            }

            // Granted by the server (with the short hand-off TTL); CONFIRM, already sent, takes it over with the lease TTL.
            long confirmed;
            try
            {
                confirmed = (long)await waiter.Confirming!.WaitAsync(_options.CommandTimeout, Time).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                _waiters.TryRemove(waiter.Id, out _);
                _ = LeaveAfterAsync(waiter.Confirming!, waiter);
                throw Unavailable(key, ex);
            }

            _waiters.TryRemove(waiter.Id, out _);
            if (confirmed > 0)
            {
                return NewLease(key, keys, waiter.Id, confirmed, waiter.ConfirmSentAt);
            }

            // The hand-off expired before this instance confirmed it (it was paused longer than WaiterTtl).
            Log.Requeued(_logger, key);
        }
    }

    private RedisLease NewLease(string key, RedisKey[] keys, string holderId, long fencingToken, long sent)
    {
        var lease = new RedisLease(this, key, keys, holderId, Interlocked.Increment(ref _lastId), fencingToken, sent);
        _active.TryAdd(lease, 0);
        _metrics.LeaseGranted();
        return lease;
    }

    /// <summary>Runs LEAVE once <paramref name="pending"/> is answered; started by an acquisition in flight, and counted in flight itself.</summary>
    private async Task LeaveAfterAsync(Task pending, RedisWaiter waiter)
    {
        _acquisition.InFlight.Enter();
        try
        {
            try
            {
                await pending.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or OperationCanceledException or ObjectDisposedException)
            {
                // Whatever it did on the server, LEAVE undoes it.
            }

            await LeaveAsync(waiter).ConfigureAwait(false);
        }
        finally
        {
            _acquisition.InFlight.Exit();
        }
    }

    private async Task LeaveAsync(RedisWaiter waiter)
    {
        try
        {
            await EvaluateAsync(_scripts.Leave, waiter.Keys, Argv(waiter.Id), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            Log.LeaveFailed(_logger, waiter.Key, ex);
        }
    }

    private Task EnsureSubscribedAsync(string key, CancellationToken token)
    {
        var current = Volatile.Read(ref _subscription);
        return current is { IsCompletedSuccessfully: true } ? Task.CompletedTask : SubscribeAsync(key, token);
    }

    private async Task SubscribeAsync(string key, CancellationToken token)
    {
        Task subscription;
        lock (_gate)
        {
            if (_subscription is null || _subscription.IsFaulted || _subscription.IsCanceled)
            {
                // Once per provider: SE.Redis subscribes again by itself after a reconnect.
                _subscription = _redis.GetSubscriber().SubscribeAsync(_channel, _onMessage);
            }

            subscription = _subscription;
        }

        try
        {
            await subscription.WaitAsync(_options.CommandTimeout, Time, token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            throw Unavailable(key, ex);
        }
    }

    /// <summary>A push on the instance's channel: "waiterId token".</summary>
    private void OnMessage(RedisChannel channel, RedisValue message)
    {
        var text = (string?)message;
        var space = text?.LastIndexOf(' ') ?? -1;
        if (space > 0
            && long.TryParse(text.AsSpan(space + 1), NumberStyles.None, CultureInfo.InvariantCulture, out _)
            && _waiters.TryGetValue(text![..space], out var waiter))
        {
            waiter.Grant(Time, _confirm);
        }
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        if (_waiters.IsEmpty)
        {
            return;
        }

        Log.ConnectionFailed(_logger, e.FailureType.ToString(), e.Exception);
        foreach (var waiter in _waiters.Values)
        {
            waiter.Fail(Unavailable(waiter.Key, e.Exception ?? new RedisException($"The Redis connection failed ({e.FailureType}).")));
        }
    }

    private void RequestEarlyHeartbeat(TimeSpan dueIn)
    {
        var due = Time.GetTimestamp() + (long)(dueIn.TotalSeconds * Time.TimestampFrequency);
        lock (_gate)
        {
            if (due >= _earlyDue || Volatile.Read(ref _disposed) != 0)
            {
                return;
            }

            _earlyDue = due;
            _early.Change(dueIn, Timeout.InfiniteTimeSpan);
        }
    }

    private void OnEarlyHeartbeat()
    {
        lock (_gate)
        {
            _earlyDue = long.MaxValue;
        }

        _ = HeartbeatAsync();
    }

    /// <summary>One tick: renews the leases that are due and refreshes every Redis-tier waiter, in batched scripts.</summary>
    private async Task HeartbeatAsync()
    {
        if (HeartbeatSuspended || Volatile.Read(ref _disposed) != 0 || !_acquisition.InFlight.TryEnter())
        {
            return;
        }

        if (Interlocked.Exchange(ref _heartbeatRunning, 1) != 0)
        {
            _acquisition.InFlight.Exit();
            return;
        }

        try
        {
            var renewAfter = (_options.LeaseTtl / 3) - (_tick / 2);
            var leases = new List<RedisLease>();
            foreach (var lease in _active.Keys)
            {
                if (lease.IsActive && !lease.IsLost && Time.GetElapsedTime(lease.RenewedAt) >= renewAfter)
                {
                    leases.Add(lease);
                }
            }

            var waiters = new List<RedisWaiter>();
            foreach (var waiter in _waiters.Values)
            {
                if (waiter.InRedis)
                {
                    waiters.Add(waiter);
                }
            }

            for (int l = 0, w = 0; l < leases.Count || w < waiters.Count;)
            {
                var takeLeases = Math.Min(HeartbeatBatch, leases.Count - l);
                var takeWaiters = Math.Min(HeartbeatBatch - takeLeases, waiters.Count - w);
                await HeartbeatBatchAsync(leases.GetRange(l, takeLeases), waiters.GetRange(w, takeWaiters)).ConfigureAwait(false);
                l += takeLeases;
                w += takeWaiters;
            }
        }
        finally
        {
            Volatile.Write(ref _heartbeatRunning, 0);
            _acquisition.InFlight.Exit();
        }
    }

    private async Task HeartbeatBatchAsync(List<RedisLease> leases, List<RedisWaiter> waiters)
    {
        var count = leases.Count + waiters.Count;
        var keys = new RedisKey[count];
        var values = new RedisValue[count * 2];
        for (var i = 0; i < count; i++)
        {
            var (lockKeys, kind, id) = i < leases.Count
                ? (leases[i].Keys, "L", leases[i].HolderId)
                : (waiters[i - leases.Count].Keys, "W", waiters[i - leases.Count].Id);
            keys[i] = lockKeys[0];
            values[i * 2] = kind;
            values[(i * 2) + 1] = id;
        }

        var sent = Time.GetTimestamp();
        long[] replies;
        try
        {
            replies = (long[])(await EvaluateAsync(_scripts.Heartbeat, keys, values, CancellationToken.None).ConfigureAwait(false))!;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            // Leases: retried at the next tick until their loss deadline. Waiters: their place can no longer be kept.
            Log.HeartbeatFailed(_logger, ex);
            foreach (var waiter in waiters)
            {
                waiter.Fail(Unavailable(waiter.Key, ex));
            }

            return;
        }

        for (var i = 0; i < leases.Count; i++)
        {
            if (replies[i] == 1)
            {
                leases[i].Renewed(sent);
            }
            else
            {
                leases[i].MarkLost(RedisLease.LostOnRenewal, null);
            }
        }

        for (var i = 0; i < waiters.Count; i++)
        {
            var reply = replies[leases.Count + i];
            if (reply > 0)
            {
                waiters[i].Grant(Time, _confirm); // the push was lost (or not sent yet): the server is the source of truth
            }
            else if (reply == -2)
            {
                waiters[i].Requeue(); // purged while paused; or granted and done since the batch was built (then a no-op)
            }
        }
    }

    private Task<RedisResult> EvaluateAsync(RedisScripts.Script script, RedisKey[] keys, RedisValue[] values, CancellationToken token)
        => script.EvaluateAsync(_database, keys, values).WaitAsync(_options.CommandTimeout, Time, token);

    /// <summary>The arguments of a script call: <paramref name="id"/> and an optional extra one (the settings are in the script text).</summary>
    internal static RedisValue[] Argv(string id, RedisValue extra = default) => extra.IsNull ? [id] : [id, extra];

    /// <summary>This provider's scripts (its settings are written into them).</summary>
    internal RedisScripts Scripts => _scripts;

    private TimeSpan Remaining(TimeSpan timeout, long started)
    {
        if (timeout == Timeout.InfiniteTimeSpan)
        {
            return timeout;
        }

        var remaining = timeout - Time.GetElapsedTime(started);
        return remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero;
    }

    private KeyedLockUnavailableException Unavailable(string key, Exception ex)
    {
        if (ex is KeyedLockUnavailableException unavailable)
        {
            return unavailable;
        }

        Log.Unavailable(_logger, key, ex);
        return new KeyedLockUnavailableException(key, $"Redis is unavailable, so the keyed lock '{key}' cannot be taken: {ex.Message}", ex);
    }
}
