using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace KeyedLock.Redis.Internal;

/// <summary>
/// The Lua scripts of the provider. Each one is atomic on the server and reads the clock with <c>TIME</c> (never a
/// client clock). Per lock key there are four keys (see <see cref="RedisKeys"/>): <c>h</c> holders (zset id -&gt;
/// deadline ms), <c>t</c> their fencing tokens (hash id -&gt; token), <c>q</c> waiters in arrival order (list) and
/// <c>w</c> their liveness deadlines (zset id -&gt; deadline ms). <c>KEYS[1]</c> is always the namespace's fencing
/// counter.
/// </summary>
/// <remarks>
/// ARGV 1-6 are the same for every script: holder limit, hand-off TTL, channel prefix, fencing key TTL, lease TTL
/// and waiter TTL (all times in ms). Tokens are written with <c>string.format('%.0f')</c>: Lua numbers are doubles
/// and <c>tostring</c> prints 1.7961103232776e+15, which would silently round the stored token.
/// </remarks>
internal static class RedisScripts
{
    // The clock, the arguments, fence() and grant(): what every script needs, the fast paths included.
    private const string Clock = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local limit = tonumber(ARGV[1])
        local handoff = tonumber(ARGV[2])
        local prefix = ARGV[3]
        local fenceTtl = ARGV[4]
        local leaseTtl = tonumber(ARGV[5])
        local waiterTtl = tonumber(ARGV[6])
        local F = KEYS[1]

        local function fence()
          local last = tonumber(redis.call('GET', F) or '0') or 0
          local tok = tonumber(t[1]) * 1000000 + tonumber(t[2])
          if last >= tok then tok = last + 1 end
          if tok >= 9007199254740992 then error('KeyedLock: the fencing token would reach 2^53') end
          redis.call('SET', F, string.format('%.0f', tok), 'PX', fenceTtl)
          return tok
        end

        local function grant(h, tk, id, ttl)
          local tok = fence()
          redis.call('ZADD', h, now + ttl, id)
          redis.call('HSET', tk, id, string.format('%.0f', tok))
          return tok
        end

        """;

    // purge(), promote() and tidy(): the queue bookkeeping of the full paths, defined after the fast paths had their chance.
    private const string Queue = """

        local function purge(h, tk, q, w)
          local gone = redis.call('ZRANGEBYSCORE', w, '-inf', now)
          if #gone > 0 then
            for i = 1, #gone do redis.call('LREM', q, 0, gone[i]) end
            redis.call('ZREMRANGEBYSCORE', w, '-inf', now)
          end
          local dead = redis.call('ZRANGEBYSCORE', h, '-inf', now)
          if #dead > 0 then
            for i = 1, #dead do redis.call('HDEL', tk, dead[i]) end
            redis.call('ZREMRANGEBYSCORE', h, '-inf', now)
          end
        end

        local function promote(h, tk, q, w)
          while redis.call('ZCARD', h) < limit do
            local nxt = redis.call('LPOP', q)
            if not nxt then break end
            redis.call('ZREM', w, nxt)
            local tok = grant(h, tk, nxt, handoff)
            redis.call('PUBLISH', prefix .. string.match(nxt, '^[^:]+'), nxt .. ' ' .. string.format('%.0f', tok))
          end
        end

        local function tidy(h, tk, q, w)
          local last = redis.call('ZRANGE', h, -1, -1, 'WITHSCORES')
          if #last > 0 then
            local at = string.format('%.0f', math.ceil(tonumber(last[2])))
            redis.call('PEXPIREAT', h, at)
            redis.call('PEXPIREAT', tk, at)
          else
            redis.call('DEL', tk)
          end
          last = redis.call('ZRANGE', w, -1, -1, 'WITHSCORES')
          if #last > 0 then
            local at = string.format('%.0f', math.ceil(tonumber(last[2])))
            redis.call('PEXPIREAT', w, at)
            redis.call('PEXPIREAT', q, at)
          else
            redis.call('DEL', q)
          end
        end

        """;

    /// <summary>
    /// ACQUIRE's fast path, before the queue functions are defined: a key with no holder (alive or dead) and no queue
    /// is granted with the fewest commands (fence, holder, token, two TTLs) and no purge, promote or tidy pass.
    /// </summary>
    private const string AcquireFast = """
        if redis.call('EXISTS', KEYS[2], KEYS[4]) == 0 then
          local tok = grant(KEYS[2], KEYS[3], ARGV[7], leaseTtl)
          local at = string.format('%.0f', now + leaseTtl)
          redis.call('PEXPIREAT', KEYS[2], at)
          redis.call('PEXPIREAT', KEYS[3], at)
          return {1, tok}
        end

        """;

    /// <summary>
    /// RELEASE's fast path, before the queue functions are defined: when nobody waits and the releasing holder was the
    /// last one, remove the key's state and return. <c>held</c> is 1 only when the lease was still alive on the server
    /// clock, as the purge of the full path would have judged it.
    /// </summary>
    private const string ReleaseFast = """
        local held = nil
        if redis.call('EXISTS', KEYS[4]) == 0 then
          local deadline = redis.call('ZSCORE', KEYS[2], ARGV[7])
          held = 0
          if deadline and tonumber(deadline) > now then held = 1 end
          redis.call('ZREM', KEYS[2], ARGV[7])
          if redis.call('EXISTS', KEYS[2]) == 0 then
            redis.call('DEL', KEYS[3])
            return held
          end
        end

        """;

    private const string Prelude = Clock + Queue;

    /// <summary>
    /// ARGV[7] waiter id, ARGV[8] '1' for a zero-timeout try. Returns {1, token} granted, {0, 0} busy (try only), or
    /// {2, ms until the first holder's deadline} queued.
    /// </summary>
    internal static readonly Script Acquire = new(Clock + AcquireFast + Queue + """
        local h, tk, q, w = KEYS[2], KEYS[3], KEYS[4], KEYS[5]
        local id = ARGV[7]
        purge(h, tk, q, w)
        promote(h, tk, q, w)
        local res
        if redis.call('ZSCORE', h, id) then
          redis.call('ZADD', h, now + leaseTtl, id)
          res = {1, tonumber(redis.call('HGET', tk, id))}
        elseif redis.call('LLEN', q) == 0 and redis.call('ZCARD', h) < limit then
          res = {1, grant(h, tk, id, leaseTtl)}
        elseif ARGV[8] == '1' then
          res = {0, 0}
        else
          if not redis.call('ZSCORE', w, id) then redis.call('RPUSH', q, id) end
          redis.call('ZADD', w, now + waiterTtl, id)
          local first = redis.call('ZRANGE', h, 0, 0, 'WITHSCORES')
          local left = 0
          if #first > 0 then left = math.max(0, tonumber(first[2]) - now) end
          res = {2, left}
        end
        tidy(h, tk, q, w)
        return res
        """);

    /// <summary>ARGV[7] holder id. Takes the hand-off: the lease TTL from now. Returns the token, or 0 when the grant is gone.</summary>
    internal static readonly Script Confirm = new(Prelude + """
        local h, tk, q, w = KEYS[2], KEYS[3], KEYS[4], KEYS[5]
        local id = ARGV[7]
        purge(h, tk, q, w)
        promote(h, tk, q, w)
        local res = 0
        if redis.call('ZSCORE', h, id) then
          redis.call('ZADD', h, now + leaseTtl, id)
          res = tonumber(redis.call('HGET', tk, id))
        end
        tidy(h, tk, q, w)
        return res
        """);

    /// <summary>ARGV[7] holder id. Releases and grants the next waiters. Returns 1, or 0 when the lease was already gone (lost).</summary>
    internal static readonly Script Release = new(Clock + ReleaseFast + Queue + """
        local h, tk, q, w = KEYS[2], KEYS[3], KEYS[4], KEYS[5]
        local id = ARGV[7]
        purge(h, tk, q, w)
        if held == nil then held = redis.call('ZREM', h, id) end
        redis.call('HDEL', tk, id)
        promote(h, tk, q, w)
        tidy(h, tk, q, w)
        return held
        """);

    /// <summary>
    /// ARGV[7] waiter id. Leaves the queue after a timeout or a cancellation; a grant that raced with it is released
    /// (and handed on). Returns 1 when it had been granted, else 0.
    /// </summary>
    internal static readonly Script Leave = new(Prelude + """
        local h, tk, q, w = KEYS[2], KEYS[3], KEYS[4], KEYS[5]
        local id = ARGV[7]
        purge(h, tk, q, w)
        redis.call('LREM', q, 0, id)
        redis.call('ZREM', w, id)
        local held = redis.call('ZREM', h, id)
        redis.call('HDEL', tk, id)
        promote(h, tk, q, w)
        tidy(h, tk, q, w)
        return held
        """);

    /// <summary>
    /// One call per instance and tick. KEYS 2.. are four keys per item, ARGV 7.. a pair (kind, id) per item: 'L' a held
    /// lease (renewed only if it still exists: 1, else 0 = lost), 'W' a waiter (its deadline is refreshed: -1; a grant
    /// whose push was lost: the token; purged while this instance was paused: queued again at the tail, -2).
    /// </summary>
    internal static readonly Script Heartbeat = new(Prelude + """
        local res = {}
        local n = (#KEYS - 1) / 4
        for i = 1, n do
          local b = 2 + (i - 1) * 4
          local h, tk, q, w = KEYS[b], KEYS[b + 1], KEYS[b + 2], KEYS[b + 3]
          local kind, id = ARGV[5 + i * 2], ARGV[6 + i * 2]
          purge(h, tk, q, w)
          promote(h, tk, q, w)
          if kind == 'L' then
            if redis.call('ZSCORE', h, id) then
              redis.call('ZADD', h, now + leaseTtl, id)
              res[i] = 1
            else
              res[i] = 0
            end
          elseif redis.call('ZSCORE', h, id) then
            res[i] = tonumber(redis.call('HGET', tk, id))
          elseif redis.call('ZSCORE', w, id) then
            redis.call('ZADD', w, now + waiterTtl, id)
            res[i] = -1
          else
            redis.call('RPUSH', q, id)
            redis.call('ZADD', w, now + waiterTtl, id)
            promote(h, tk, q, w)
            if redis.call('ZSCORE', h, id) then res[i] = tonumber(redis.call('HGET', tk, id)) else res[i] = -2 end
          end
          tidy(h, tk, q, w)
        end
        return res
        """);

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
