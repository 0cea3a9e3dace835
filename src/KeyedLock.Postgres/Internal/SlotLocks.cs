using System.Diagnostics;
using System.Globalization;
using System.Text;
using Npgsql;

namespace KeyedLock.Postgres.Internal;

/// <summary>
/// A distributed keyed semaphore (<see cref="PostgresKeyedLockOptions.MaxConcurrencyPerKey"/> = N &gt; 1): N advisory
/// locks per key (the slots) and one more, the turnstile, that orders the waiters. A request takes the turnstile
/// (<c>pg_advisory_lock</c>: PostgreSQL queues the requests of every instance in arrival order), then the first free
/// slot (<c>pg_try_advisory_lock</c>, in one statement that also takes the fencing token and gives the turnstile back).
/// When no slot is free it keeps the turnstile, so nobody can pass it, and waits for a holder's release
/// notification (<c>pg_notify</c> on the key's channel) or, for a holder whose session died without one, re-checks
/// every <see cref="RecheckInterval"/>. A slot is one holding connection, so every holder has its own fencing token
/// and PostgreSQL frees its slot when its session ends.
/// </summary>
internal sealed class SlotLocks
{
    /// <summary>How often the head waiter re-checks the slots without a notification (a holder that died frees its slot silently).</summary>
    internal static readonly TimeSpan RecheckInterval = TimeSpan.FromMilliseconds(500);

    private readonly AdvisoryLockKey[] _slots;
    private readonly AdvisoryLockKey _turnstile;
    private readonly string _take;
    private readonly string _tryTake;

    internal SlotLocks(string keyNamespace, AdvisoryLockKey first, int count, string? sequence)
    {
        _slots = new AdvisoryLockKey[count];
        _slots[0] = first; // slot 0 is the key's own lock id
        for (var i = 1; i < count; i++)
        {
            _slots[i] = new AdvisoryLockKey(string.Create(CultureInfo.InvariantCulture, $"{keyNamespace}\0slot{i}"));
        }

        _turnstile = new AdvisoryLockKey(keyNamespace + "\0turnstile");
        _take = TakeSql(count, sequence, tryTurnstile: false);
        _tryTake = TakeSql(count, sequence, tryTurnstile: true);
    }

    /// <summary>The channel on which releases of <paramref name="key"/>'s slots notify the head waiter.</summary>
    internal string Channel(string key) => $"keyedlock_s_{(ulong)_turnstile.Compute(key):x16}";

    /// <summary>
    /// Takes a slot of <paramref name="key"/> on <paramref name="connection"/>: (granted, the slot's lock id, the
    /// fencing token or 0). Not granted when <paramref name="remaining"/> elapsed. On any exit but a grant, the
    /// caller's cleanup (<c>pg_advisory_unlock_all(); UNLISTEN *</c>) gives back the turnstile.
    /// </summary>
    internal async Task<(bool Granted, long LockId, long Token)> TakeAsync(
        NpgsqlConnection connection, string key, TimeSpan remaining, CancellationToken token)
    {
        var started = Stopwatch.GetTimestamp();
        var turnstile = _turnstile.Compute(key);
        var ids = new long[_slots.Length];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = _slots[i].Compute(key);
        }

        await using var batch = new NpgsqlBatch(connection);
        if (remaining == TimeSpan.Zero)
        {
            // Never waits, and never passes a waiter that holds the turnstile.
            batch.BatchCommands.Add(Take(_tryTake, turnstile, ids));
        }
        else
        {
            var lockTimeoutMs = remaining == Timeout.InfiniteTimeSpan ? 0 : (long)Math.Clamp(Math.Ceiling(remaining.TotalMilliseconds), 1, int.MaxValue);
            batch.Timeout = remaining == Timeout.InfiniteTimeSpan ? 0 : (int)Math.Min(int.MaxValue, Math.Ceiling(remaining.TotalSeconds) + 30);
            var set = new NpgsqlBatchCommand(PostgresSql.SetTimeouts);
            set.Parameters.AddWithValue("lock_timeout", lockTimeoutMs.ToString(CultureInfo.InvariantCulture));
            batch.BatchCommands.Add(set);
            var wait = new NpgsqlBatchCommand(PostgresSql.Lock);
            wait.Parameters.AddWithValue("key", turnstile);
            batch.BatchCommands.Add(wait);
            batch.BatchCommands.Add(Take(_take, turnstile, ids));
        }

        var (slot, fencing) = await ReadTakeAsync(batch, token).ConfigureAwait(false);
        if (slot >= 0)
        {
            return (true, ids[slot], fencing);
        }

        if (remaining == TimeSpan.Zero)
        {
            return default;
        }

        // Every slot is taken: hold the turnstile and wait for a release. LISTEN first, then look again, so that a
        // release between the first look and the LISTEN is not missed.
        var channel = Channel(key);
        await using (var listen = new NpgsqlCommand(PostgresSql.Listen(channel), connection))
        {
            await listen.ExecuteNonQueryAsync(token).ConfigureAwait(false);
        }

        while (true)
        {
            await using (var again = new NpgsqlBatch(connection))
            {
                again.BatchCommands.Add(Take(_take, turnstile, ids));
                (slot, fencing) = await ReadTakeAsync(again, token).ConfigureAwait(false);
            }

            if (slot >= 0)
            {
                await using var unlisten = new NpgsqlCommand(PostgresSql.Unlisten(channel), connection);
                await unlisten.ExecuteNonQueryAsync(token).ConfigureAwait(false);
                return (true, ids[slot], fencing);
            }

            var wait = RecheckInterval;
            if (remaining != Timeout.InfiniteTimeSpan)
            {
                var left = remaining - Stopwatch.GetElapsedTime(started);
                if (left <= TimeSpan.Zero)
                {
                    return default;
                }

                wait = left < wait ? left : wait;
            }

            // A notification (a release, or this instance's heartbeat) or the re-check interval: look again.
            await connection.WaitAsync((int)Math.Max(1, Math.Ceiling(wait.TotalMilliseconds)), token).ConfigureAwait(false);
        }
    }

    private static NpgsqlBatchCommand Take(string sql, long turnstile, long[] ids)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddWithValue("t", turnstile);
        for (var i = 0; i < ids.Length; i++)
        {
            command.Parameters.AddWithValue(string.Create(CultureInfo.InvariantCulture, $"s{i}"), ids[i]);
        }

        return command;
    }

    private static async Task<(int Slot, long Token)> ReadTakeAsync(NpgsqlBatch batch, CancellationToken token)
    {
        await using var reader = await batch.ExecuteReaderAsync(token).ConfigureAwait(false);
        while (reader.FieldCount != 3 || reader.GetName(0) != "slot")
        {
            await reader.NextResultAsync(token).ConfigureAwait(false);
        }

        await reader.ReadAsync(token).ConfigureAwait(false);
        var result = (reader.GetInt32(0), reader.GetInt64(1));
        return result;
    }

    /// <summary>
    /// One statement: the first free slot (CASE evaluates its branches in order and stops at the first that holds,
    /// so at most one slot is taken), its fencing token, and the turnstile given back once a slot is held (in try
    /// mode also when none was free). Slot -2: try mode and the turnstile is held by a waiter.
    /// </summary>
    private static string TakeSql(int count, string? sequence, bool tryTurnstile)
    {
        var sql = new StringBuilder("WITH s AS MATERIALIZED (SELECT CASE ");
        if (tryTurnstile)
        {
            sql.Append("WHEN NOT pg_catalog.pg_try_advisory_lock(@t) THEN -2 ");
        }

        for (var i = 0; i < count; i++)
        {
            sql.Append(CultureInfo.InvariantCulture, $"WHEN pg_catalog.pg_try_advisory_lock(@s{i}) THEN {i} ");
        }

        sql.Append("ELSE -1 END AS slot), f AS MATERIALIZED (SELECT slot, ");
        sql.Append(sequence is null ? "0::bigint" : $"CASE WHEN slot >= 0 THEN pg_catalog.nextval('{sequence}') ELSE 0::bigint END");
        sql.Append(" AS token FROM s) SELECT slot, token, CASE WHEN slot >= ");
        sql.Append(tryTurnstile ? "-1" : "0");
        sql.Append(" THEN pg_catalog.pg_advisory_unlock(@t) END AS released FROM f");
        return sql.ToString();
    }
}
