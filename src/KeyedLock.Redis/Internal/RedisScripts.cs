using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace KeyedLock.Redis.Internal;

/// <summary>
/// The Lua scripts of the provider. Each one is atomic on the server and reads the clock with <c>TIME</c> (never a
/// client clock) when it needs one. Per lock key there are three keys (see <see cref="RedisKeys"/>): <c>h</c> the
/// holders (a hash: field <c>id</c> -&gt; deadline ms and a token field -&gt; fencing token, written and deleted
/// together; the token field is <c>#id</c> while no waiter has queued behind the holder since its grant, and
/// <c>!id</c> once one may have), <c>q</c> waiters in arrival order (list) and <c>w</c> their liveness deadlines (zset
/// id -&gt; deadline ms). A call passes only <c>h</c> (<c>KEYS[1]</c>, or one per item for HEARTBEAT): the script derives <c>q</c> and
/// <c>w</c> from its name (they differ only in the last letter), and the namespace's fencing counter is written into
/// the text like the settings.
/// </summary>
/// <remarks>
/// <para>
/// The settings every script needs (holder limit, hand-off TTL, channel prefix, fencing key and its TTL, lease TTL
/// and waiter TTL, times in ms) are written into the script text when a provider is created, so each call passes only
/// the holder key and its own ids: every key and argument costs its share of the request, its parsing and a Lua string
/// on every call (measured: an empty script called with 4 keys and 8 arguments took 3-6 µs longer end to end than with
/// 1 key and 1 argument, and the uncontended ACQUIRE + RELEASE pair about 3 µs less with 1 key than with 4).
/// Providers with other settings load scripts of their own (one SHA-1 each). Redis Cluster is not supported (the
/// fencing counter is one key per namespace), so the keys a script derives never live on another node.
/// </para>
/// <para>
/// Lua numbers are doubles, and <c>tostring</c> (also <c>..</c>) prints 14 significant digits: a token of 16 digits
/// built into a string that way is silently rounded. Tokens are therefore strings of the exact integer from the start
/// (<c>TIME</c>'s two parts joined, or <c>string.format('%.0f')</c> of the counter + 1), compared through
/// <c>tonumber</c> and answered as numbers (exact below 2^53). Deadlines are in ms (13 digits until the year 2286),
/// which <c>tostring</c> prints exactly; the free-key grant prints its deadline once for both commands, since Redis
/// converts every Lua number passed to a command with a <c>printf</c> (measured: the free-key pair about 1.5 µs
/// faster with its token, deadline and TTLs passed as strings).
/// </para>
/// <para>
/// Invariant kept by every script: <c>h</c> expires at its last holder deadline and <c>q</c>/<c>w</c> at their last
/// waiter deadline, so a key whose clients all died leaves nothing behind, and an existing <c>h</c> with one holder
/// means that holder's deadline has not passed. A holder's token field is <c>#id</c> only while no waiter has queued
/// since its grant (ACQUIRE renames it to <c>!id</c> when it queues a waiter, and a grant from a non-empty queue writes
/// <c>!id</c>), so with a holder limit of 1 the release of a <c>#id</c> holder is one <c>HDEL</c>.
/// </para>
/// </remarks>
internal sealed class RedisScripts
{
    /// <summary>
    /// The per-lock scripts' first lines: the holder key is the only key passed; the queue's key is derived from it
    /// (the waiters' deadlines key too, by <see cref="QueueKeys"/>, on the full paths only).
    /// </summary>
    private const string LockKeys = """
        local h = KEYS[1]
        local base = string.sub(h, 1, -2)
        local q = base .. 'q'

        """;

    /// <summary>The full paths' other key.</summary>
    private const string QueueKeys = """
        local w = base .. 'w'

        """;

    /// <summary>
    /// RELEASE's fast path with a holder limit of 1, before anything else (not even <c>TIME</c>): one <c>HDEL</c> of the
    /// holder's deadline field and its <c>#id</c> token field. Both there means no waiter has queued behind it since its
    /// grant (queuing renames the token field to <c>!id</c>, and a grant names it <c>#id</c> only when the queue is
    /// empty), so there is nobody to hand the key to and the release is done: the emptied hash disappears with the
    /// fields. The reply is 1: <c>h</c> still existing means its only holder's deadline has not passed (see the
    /// invariant), which is what purge would have judged, to the millisecond. Otherwise (<c>pre</c> fields deleted so
    /// far: 1 when the token field was <c>!id</c>, 0 when the lease is gone) the full path runs.
    /// </summary>
    private const string ReleaseFastOne = """
        local pre = redis.call('HDEL', h, ARGV[1], '#' .. ARGV[1])
        if pre == 2 then return 1 end

        """;

    /// <summary>
    /// RELEASE's fast path with a holder limit above 1: when nobody waits and the key has this one holder, delete its
    /// fields; the reply is 1 when they were there (as for <see cref="ReleaseFastOne"/>). Other holders, a queue or a
    /// missing hash take the full path.
    /// </summary>
    private const string ReleaseFastMany = """
        local pre = 0
        if redis.call('EXISTS', q) == 0 and redis.call('HLEN', h) == 2 then
          if redis.call('HDEL', h, ARGV[1], '#' .. ARGV[1], '!' .. ARGV[1]) > 0 then return 1 end
          return 0
        end

        """;

    // The clock and the settings every grant needs, ACQUIRE's fast path included.
    private const string Clock = """
        local t = redis.call('TIME')
        local now = t[1] * 1000 + math.floor(t[2] / 1000)
        local leaseTtl = $LEASE_TTL
        local F = $FENCE_KEY

        """;

    /// <summary>
    /// The next fencing token, in <c>tok</c>: max(last + 1, the server clock in µs), never 2^53 or more. It is a string
    /// of the exact integer: the clock's value is <c>TIME</c>'s two parts joined (no number is printed, which costs a
    /// <c>printf</c> each time Redis converts a Lua number for a command), and only when the counter is ahead of the
    /// clock is the next value printed, with <c>%.0f</c> (exact below 2^53).
    /// </summary>
    internal const string NextToken = """
        local tok = t[1] .. string.sub('00000' .. t[2], -6)
        local last = redis.call('SET', F, tok, 'PX', '$FENCE_TTL', 'GET')
        if last and tonumber(last) >= tonumber(tok) then
          local nxt = tonumber(last) + 1
          if nxt >= 9007199254740992 then
            redis.call('SET', F, last, 'PX', '$FENCE_TTL')
            error('KeyedLock: the fencing token would reach 2^53')
          end
          tok = string.format('%.0f', nxt)
          redis.call('SET', F, tok, 'PX', '$FENCE_TTL')
        end

        """;

    /// <summary>
    /// ACQUIRE's fast path, before any function is defined (creating the closures measured about 1.5 µs of the pair's
    /// server time): a key with no holder (alive or dead) and no queue is granted with the fewest commands (clock,
    /// fence, holder, expiry) and no purge, promote or tidy pass.
    /// </summary>
    private const string AcquireFast = """
        if redis.call('EXISTS', h, q) == 0 then

        """ + NextToken + """
          local deadline = tostring(now + leaseTtl)
          redis.call('HSET', h, ARGV[1], deadline, '#' .. ARGV[1], tok)
          redis.call('PEXPIREAT', h, deadline)
          return tonumber(tok)
        end

        """;

    // fence() and grant(): a token (a string, see NextToken), and a holder with its deadline. The token field is
    // '!id' when waiters are still queued (the release must hand the key on), else '#id'.
    private const string Grants = """
        local function fence()

        """ + NextToken + """
          return tok
        end

        local function grant(h, id, ttl, queued)
          local tok = fence()
          local field = '#' .. id
          if queued then field = '!' .. id end
          redis.call('HSET', h, id, now + ttl, field, tok)
          return tok
        end

        """;

    // The rest of the settings, and the queue bookkeeping of the full paths: holders(), purge(), promote(), tidy().
    private const string Queue = """
        local limit = $LIMIT
        local handoff = $HANDOFF_TTL
        local prefix = $CHANNEL_PREFIX
        local waiterTtl = $WAITER_TTL

        -- The holders' deadlines (id -> ms), their number, and the first and last deadline (token fields, '#id'
        -- and '!id', skipped).
        local function holders(h)
          local all = redis.call('HGETALL', h)
          local dl, n, first, last = {}, 0, nil, nil
          for i = 1, #all, 2 do
            local b = string.byte(all[i], 1)
            if b ~= 35 and b ~= 33 then
              local d = tonumber(all[i + 1])
              dl[all[i]] = d
              n = n + 1
              if not first or d < first then first = d end
              if not last or d > last then last = d end
            end
          end
          return dl, n, first, last
        end

        local function purge(h, q, w)
          local gone = redis.call('ZRANGEBYSCORE', w, '-inf', now)
          if #gone > 0 then
            for i = 1, #gone do redis.call('LREM', q, 0, gone[i]) end
            redis.call('ZREMRANGEBYSCORE', w, '-inf', now)
          end
          for id, d in pairs((holders(h))) do
            if d <= now then redis.call('HDEL', h, id, '#' .. id, '!' .. id) end
          end
        end

        local function promote(h, q, w)
          while redis.call('HLEN', h) / 2 < limit do
            local nxt = redis.call('LPOP', q)
            if not nxt then break end
            redis.call('ZREM', w, nxt)
            local tok = grant(h, nxt, handoff, redis.call('LLEN', q) > 0)
            redis.call('PUBLISH', prefix .. string.match(nxt, '^[^:]+'), nxt .. ' ' .. tok)
          end
        end

        local function tidy(h, q, w)
          local _, _, _, last = holders(h)
          if last then redis.call('PEXPIREAT', h, last) end
          local tail = redis.call('ZRANGE', w, -1, -1, 'WITHSCORES')
          if #tail > 0 then
            redis.call('PEXPIREAT', w, tail[2])
            redis.call('PEXPIREAT', q, tail[2])
          else
            redis.call('DEL', q)
          end
        end

        local function token(h, id)
          local t = redis.call('HMGET', h, '#' .. id, '!' .. id)
          return tonumber(t[1] or t[2])
        end

        -- A waiter queues: every holder's token field becomes '!id', so that its release takes the full path and
        -- hands the key on. Returns the first holder deadline.
        local function mark(h)
          local all = redis.call('HGETALL', h)
          local first = nil
          for i = 1, #all, 2 do
            local b = string.byte(all[i], 1)
            if b == 35 then
              redis.call('HDEL', h, all[i])
              redis.call('HSET', h, '!' .. string.sub(all[i], 2), all[i + 1])
            elseif b ~= 33 then
              local d = tonumber(all[i + 1])
              if not first or d < first then first = d end
            end
          end
          return first
        end

        """;

    private const string Prelude = Clock + Grants + Queue;

    /// <summary>
    /// ARGV[1] waiter id, ARGV[2] '1' for a zero-timeout try. Returns the token (positive) when granted, 0 when busy
    /// (try only), or -1 - the ms until the first holder's deadline when queued (one integer: no array to build and read).
    /// </summary>
    private const string AcquireText = LockKeys + Clock + AcquireFast + Grants + Queue + QueueKeys + """
        local id = ARGV[1]
        purge(h, q, w)
        promote(h, q, w)
        local res
        if redis.call('HEXISTS', h, id) == 1 then
          redis.call('HSET', h, id, now + leaseTtl)
          res = token(h, id)
        elseif redis.call('LLEN', q) == 0 and redis.call('HLEN', h) / 2 < limit then
          res = tonumber(grant(h, id, leaseTtl, false))
        elseif ARGV[2] == '1' then
          res = 0
        else
          if not redis.call('ZSCORE', w, id) then redis.call('RPUSH', q, id) end
          redis.call('ZADD', w, now + waiterTtl, id)
          local first = mark(h)
          local left = 0
          if first then left = math.max(0, first - now) end
          res = -1 - left
        end
        tidy(h, q, w)
        return res
        """;

    /// <summary>ARGV[1] holder id. Takes the hand-off: the lease TTL from now. Returns the token, or 0 when the grant is gone.</summary>
    private const string ConfirmText = LockKeys + Prelude + QueueKeys + """
        local id = ARGV[1]
        purge(h, q, w)
        promote(h, q, w)
        local res = 0
        if redis.call('HEXISTS', h, id) == 1 then
          redis.call('HSET', h, id, now + leaseTtl)
          res = token(h, id)
        end
        tidy(h, q, w)
        return res
        """;

    /// <summary>ARGV[1] holder id. Releases and grants the next waiters. Returns 1, or 0 when the lease was already gone (lost).</summary>
    private const string ReleaseText = LockKeys + "$RELEASE_FAST" + Prelude + QueueKeys + """
        local id = ARGV[1]
        purge(h, q, w)
        local held = 0
        if pre + redis.call('HDEL', h, id, '#' .. id, '!' .. id) > 0 then held = 1 end
        promote(h, q, w)
        tidy(h, q, w)
        return held
        """;

    /// <summary>
    /// ARGV[1] waiter id. Leaves the queue after a timeout or a cancellation; a grant that raced with it is released
    /// (and handed on). Returns 1 when it had been granted, else 0.
    /// </summary>
    private const string LeaveText = LockKeys + Prelude + QueueKeys + """
        local id = ARGV[1]
        purge(h, q, w)
        redis.call('LREM', q, 0, id)
        redis.call('ZREM', w, id)
        local held = 0
        if redis.call('HDEL', h, id, '#' .. id, '!' .. id) > 0 then held = 1 end
        promote(h, q, w)
        tidy(h, q, w)
        return held
        """;

    /// <summary>
    /// One call per instance and tick. KEYS are the items' holder keys, ARGV a pair (kind, id) per item: 'L' a
    /// held lease (renewed only if it still exists: 1, else 0 = lost), 'W' a waiter (its deadline is refreshed: -1; a
    /// grant whose push was lost: the token; neither queued nor holding: -2). A heartbeat never queues anyone: the
    /// batch is built before the call reaches Redis, so a waiter that is gone may have been purged (its instance was
    /// paused) or granted, confirmed and released meanwhile; queuing it again would leave a ghost in the queue that
    /// the next release grants and nobody confirms. The instance queues a purged waiter again itself, with a new id.
    /// </summary>
    private const string HeartbeatText = Prelude + """
        local res = {}
        for i = 1, #KEYS do
          local h = KEYS[i]
          local base = string.sub(h, 1, -2)
          local q, w = base .. 'q', base .. 'w'
          local kind, id = ARGV[i * 2 - 1], ARGV[i * 2]
          purge(h, q, w)
          promote(h, q, w)
          if kind == 'L' then
            if redis.call('HEXISTS', h, id) == 1 then
              redis.call('HSET', h, id, now + leaseTtl)
              res[i] = 1
            else
              res[i] = 0
            end
          elseif redis.call('HEXISTS', h, id) == 1 then
            res[i] = token(h, id)
          elseif redis.call('ZSCORE', w, id) then
            redis.call('ZADD', w, now + waiterTtl, id)
            res[i] = -1
          else
            res[i] = -2
          end
          tidy(h, q, w)
        end
        return res
        """;

    /// <summary>The scripts of one provider, with its settings written into their text.</summary>
    /// <param name="holderLimit">How many holders a key may have.</param>
    /// <param name="channelPrefix">The namespace's channel prefix; a grant is published on the prefix + the waiter's instance id.</param>
    /// <param name="fenceKey">The namespace's fencing counter.</param>
    /// <param name="fenceTtlMs">The fencing counter's TTL, refreshed by every grant.</param>
    /// <param name="leaseTtlMs">A lease's TTL from its grant or its last renewal.</param>
    /// <param name="waiterTtlMs">
    /// A waiter's TTL from its last refresh; also how long a hand-off waits for the granted instance's CONFIRM (a granted
    /// waiter keeps the deadline of a waiting one).
    /// </param>
    internal RedisScripts(int holderLimit, string channelPrefix, string fenceKey, long fenceTtlMs, long leaseTtlMs, long waiterTtlMs)
    {
        string Bake(string text) => text
            .Replace("$RELEASE_FAST", holderLimit == 1 ? ReleaseFastOne : ReleaseFastMany, StringComparison.Ordinal)
            .Replace("$LIMIT", Number(holderLimit), StringComparison.Ordinal)
            .Replace("$FENCE_KEY", LuaString(fenceKey), StringComparison.Ordinal)
            .Replace("$HANDOFF_TTL", Number(waiterTtlMs), StringComparison.Ordinal)
            .Replace("$CHANNEL_PREFIX", LuaString(channelPrefix), StringComparison.Ordinal)
            .Replace("$FENCE_TTL", Number(fenceTtlMs), StringComparison.Ordinal)
            .Replace("$LEASE_TTL", Number(leaseTtlMs), StringComparison.Ordinal)
            .Replace("$WAITER_TTL", Number(waiterTtlMs), StringComparison.Ordinal);

        Acquire = new Script(Bake(AcquireText));
        Confirm = new Script(Bake(ConfirmText));
        Release = new Script(Bake(ReleaseText));
        Leave = new Script(Bake(LeaveText));
        Heartbeat = new Script(Bake(HeartbeatText));
    }

    /// <summary>Grants at once, queues, or refuses a zero-timeout try (see <see cref="AcquireText"/>).</summary>
    internal Script Acquire { get; }

    /// <summary>Takes over a hand-off (see <see cref="ConfirmText"/>).</summary>
    internal Script Confirm { get; }

    /// <summary>Releases and hands the key on (see <see cref="ReleaseText"/>).</summary>
    internal Script Release { get; }

    /// <summary>Leaves the queue (see <see cref="LeaveText"/>).</summary>
    internal Script Leave { get; }

    /// <summary>Renews leases and refreshes waiters in one call (see <see cref="HeartbeatText"/>).</summary>
    internal Script Heartbeat { get; }

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A Lua string literal of <paramref name="value"/>: every UTF-8 byte as a decimal escape, so no namespace can break out of it.</summary>
    internal static string LuaString(string value)
    {
        var text = new StringBuilder("\"");
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            text.Append('\\').Append(b.ToString("000", CultureInfo.InvariantCulture));
        }

        return text.Append('"').ToString();
    }

    /// <summary>A script and its SHA-1, run with <c>EVALSHA</c> and loaded with <c>EVAL</c> when the server does not know it (after a restart or a failover).</summary>
    internal sealed class Script(string text)
    {
#pragma warning disable CA5350 // Redis names cached scripts by their SHA-1 (EVALSHA); it is not used for security.
        private readonly byte[] _sha1 = SHA1.HashData(Encoding.UTF8.GetBytes(text));
#pragma warning restore CA5350

        internal string Text { get; } = text;

        internal async Task<RedisResult> EvaluateAsync(IDatabaseAsync database, RedisKey[] keys, RedisValue[] values)
        {
            try
            {
                return await database.ScriptEvaluateAsync(_sha1, keys, values).ConfigureAwait(false);
            }
            catch (RedisServerException ex) when (ex.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
            {
                return await database.ScriptEvaluateAsync(Text, keys, values).ConfigureAwait(false);
            }
        }

        internal RedisResult Evaluate(IDatabase database, RedisKey[] keys, RedisValue[] values)
        {
            try
            {
                return database.ScriptEvaluate(_sha1, keys, values);
            }
            catch (RedisServerException ex) when (ex.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
            {
                return database.ScriptEvaluate(Text, keys, values);
            }
        }
    }
}
