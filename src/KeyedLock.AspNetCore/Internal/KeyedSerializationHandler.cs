using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>
/// Keyed serialization of one request, in one method (<see cref="RunAsync"/>): resolve the keys, acquire them, run the
/// rest of the request, handle a lost lock, release. The middleware, the endpoint wrapper and the MVC filter all call
/// it; plans are compiled once per endpoint.
/// </summary>
internal sealed class KeyedSerializationHandler
{
    private readonly IKeyedLockProvider _provider;
    private readonly KeyedSerializationOptions _options;
    private readonly ILogger _logger;
    private readonly KeyedSerializationInstruments _instruments;
    private readonly KeyedSerializationRejectionWriter _rejections;
    private readonly KeyResolver _resolver;
    private readonly EndpointJson _json;
    private readonly KeyInFlightCounter _inFlight = new();
    private readonly ConditionalWeakTable<Endpoint, EndpointPlan> _plans = [];
    private readonly ConditionalWeakTable<Endpoint, EndpointPlan>.CreateValueCallback _compile;

    public KeyedSerializationHandler(
        IKeyedLockProvider provider,
        IOptions<KeyedSerializationOptions> options,
        ILogger<KeyedSerializationHandler> logger,
        KeyedSerializationInstruments instruments,
        KeyResolver resolver,
        EndpointJson json)
    {
        _provider = provider;
        _options = options.Value;
        _logger = logger;
        _instruments = instruments;
        _resolver = resolver;
        _json = json;
        _rejections = new KeyedSerializationRejectionWriter(_options, logger, instruments);
        _compile = endpoint => new EndpointPlan(endpoint, endpoint.Metadata.GetOrderedMetadata<SerializeByAttribute>(), _options, _json.RulesFor(endpoint));
    }

    internal KeyInFlightCounter InFlight => _inFlight;

    /// <summary>The endpoint's plan (compiled once), or null when it is not serialized (no metadata, or disabled).</summary>
    internal EndpointPlan? GetPlan(Endpoint? endpoint)
    {
        if (endpoint?.Metadata.GetMetadata<SerializeByAttribute>() is not { } attribute)
        {
            return null;
        }

        if (attribute.PlanCache is { } cache && ReferenceEquals(cache.Endpoint, endpoint))
        {
            return cache.Plan;
        }

        var plan = endpoint.Metadata.GetMetadata<DisableKeyedSerializationAttribute>() is null ? _plans.GetValue(endpoint, _compile) : null;

        // The first endpoint keeps the slot: an attribute shared by many endpoints (a controller's, a group's) must not
        // make every request write a new pair; the others find their plan in the table.
        attribute.PlanCache ??= new EndpointPlanCache(endpoint, plan);
        return plan;
    }

    /// <summary>
    /// Serializes one request: resolves its keys (or writes a 400/401/413 rejection), acquires them (or writes a
    /// 429/503 rejection, or stops quietly when the client left), runs <paramref name="next"/> holding them, turns a
    /// handler that gave up on a lost lock into a 503, and releases the keys.
    /// </summary>
    internal async Task RunAsync(HttpContext context, EndpointPlan plan, RequestDelegate next)
    {
        // 1. The keys: exactly what binding sees, or a rejection.
        var (keys, owners, rejection) = !plan.IsSynchronous || RequestValues.NeedsForm(context, plan.IsMvc)
            ? await ResolveKeysAsync(context, plan).ConfigureAwait(false)
            : ResolveKeys(context, plan, body: null);
        if (rejection is { } failed)
        {
            await _rejections.WriteAsync(context, plan, failed.Reason, failed.Key, failed.Part, null).ConfigureAwait(false);
            return;
        }

        if (keys is null)
        {
            // Every key was skipped (SkipKey policy).
            _instruments.Request(plan, KeyedSerializationInstruments.Skipped, 0);
            await next(context).ConfigureAwait(false);
            return;
        }

        // 2. Acquire them all (sorted and deadlock-free across requests), within the queue limits of this process.
        if (plan.QueueLimited && TryEnterQueues(keys, owners!) is { } full)
        {
            await _rejections.WriteAsync(context, plan, KeyedSerializationRejectionReason.QueueFull, full, null, null).ConfigureAwait(false);
            return;
        }

        var started = _instruments.WaitDurationEnabled || _logger.IsEnabled(LogLevel.Debug) ? Stopwatch.GetTimestamp() : 0;
        KeyedLockLease lease;
        try
        {
            lease = await AcquireAsync(context, keys, plan.Timeout).ConfigureAwait(false);
        }
        catch (KeyedLockException ex) when (ex is KeyedLockTimeoutException or KeyedLockQueueFullException or KeyedLockUnavailableException)
        {
            ExitQueues(plan, keys, owners!);
            var reason = ex switch
            {
                KeyedLockTimeoutException => KeyedSerializationRejectionReason.Timeout,
                KeyedLockQueueFullException => KeyedSerializationRejectionReason.QueueFull,
                _ => KeyedSerializationRejectionReason.Unavailable,
            };
            await _rejections.WriteAsync(context, plan, reason, owners![Math.Max(0, Array.IndexOf(keys, ex.Key))], null, ex, started).ConfigureAwait(false);
            return;
        }
        catch (ObjectDisposedException ex)
        {
            // The lock provider was disposed while this request waited (the host stopped with requests still queued):
            // the request did not run, and retrying it on another instance is safe.
            ExitQueues(plan, keys, owners!);
            await _rejections.WriteAsync(context, plan, KeyedSerializationRejectionReason.Unavailable, owners![0], null, ex, started).ConfigureAwait(false);
            return;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            ExitQueues(plan, keys, owners!);
            KeyedSerializationLog.ClientDisconnected(_logger, plan.RouteTag);
            _instruments.Request(plan, KeyedSerializationInstruments.Canceled, started);
            return;
        }
        catch
        {
            ExitQueues(plan, keys, owners!);
            throw;
        }

        // 3. Run holding the keys; a lost lock reaches the handler as RequestAborted.
        var feature = new KeyedSerializationFeature(keys, lease);
        context.Features.Set<IKeyedSerializationFeature>(feature);
        var requestAborted = context.RequestAborted;
        var lost = lease.LostToken;
        CancellationTokenSource? linked = null;
        if (lost.CanBeCanceled)
        {
            linked = CancellationTokenSource.CreateLinkedTokenSource(requestAborted, lost);
            context.RequestAborted = linked.Token;
        }

        _instruments.Request(plan, KeyedSerializationInstruments.Serialized, started);
        _instruments.Active(plan, 1);
        if (started != 0 && _logger.IsEnabled(LogLevel.Debug))
        {
            KeyedSerializationLog.KeysAcquired(_logger, plan.RouteTag, keys.Length, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        var held = _logger.IsEnabled(LogLevel.Debug) ? Stopwatch.GetTimestamp() : 0;
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (lost.IsCancellationRequested && !requestAborted.IsCancellationRequested && !context.Response.HasStarted)
        {
            // The handler gave up because the lock was lost: it did not finish, and the client gets a 503.
            KeyedSerializationLog.LockLost(_logger, plan.RouteTag);
            context.RequestAborted = requestAborted;
            context.Response.Clear();
            await _rejections.WriteAsync(context, plan, KeyedSerializationRejectionReason.LockLost, owners![0], null, ex).ConfigureAwait(false);
        }
        finally
        {
            // 4. Release.
            if (linked is not null)
            {
                context.RequestAborted = requestAborted;
                linked.Dispose();
            }

            feature.IsActive = false;
            _instruments.Active(plan, -1);
            if (held != 0 && _logger.IsEnabled(LogLevel.Debug))
            {
                KeyedSerializationLog.KeysReleased(_logger, plan.RouteTag, Stopwatch.GetElapsedTime(held).TotalMilliseconds);
            }

            try
            {
                await lease.DisposeAsync().ConfigureAwait(false);
            }
            finally
            {
                ExitQueues(plan, keys, owners!);
            }
        }
    }

    /// <summary>Starts the acquisition; a provider that throws synchronously is reported like one that fails asynchronously.</summary>
    private ValueTask<KeyedLockLease> AcquireAsync(HttpContext context, string[] keys, TimeSpan timeout)
    {
        try
        {
            return keys.Length == 1
                ? _provider.AcquireAsync(keys[0], timeout, context.RequestAborted)
                : _provider.AcquireAsync(keys, timeout, context.RequestAborted);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<KeyedLockLease>(ex);
        }
    }

    /// <summary>Reads the body (for <c>body:</c> parts), the form (MVC) and asynchronous key sources, then resolves the keys.</summary>
    private async ValueTask<(string[]? Keys, PlannedKey[]? Owners, Rejection? Rejection)> ResolveKeysAsync(HttpContext context, EndpointPlan plan)
    {
        if (plan.NeedsUser && context.User.Identity?.IsAuthenticated != true)
        {
            return (null, null, new Rejection(KeyedSerializationRejectionReason.Unauthenticated, plan.Keys[0], null));
        }

        if (RequestValues.NeedsForm(context, plan.IsMvc) && !await KeyResolver.TryReadFormAsync(context).ConfigureAwait(false))
        {
            return (null, null, new Rejection(KeyedSerializationRejectionReason.InvalidKeyPart, plan.Keys[0], "the form"));
        }

        byte[]? buffer = null;
        JsonBody? body = null;
        try
        {
            if (plan.NeedsBody)
            {
                var read = await RequestValues.ReadBodyAsync(context, _options.MaxBodyBytes).ConfigureAwait(false);
                buffer = read.Buffer;
                if (read.TooLarge)
                {
                    var bodyKey = Array.Find(plan.Keys, k => Array.Exists(k.Parts, p => p.Source == KeyPartSource.Body))!;
                    return (null, null, new Rejection(KeyedSerializationRejectionReason.BodyTooLarge, bodyKey, null));
                }

                body = JsonBody.Parse(context.Request, buffer.AsMemory(0, read.Length), plan.Json);
            }

            if (plan.IsSynchronous)
            {
                return ResolveKeys(context, plan, body);
            }

            var keys = new List<string>(plan.Keys.Length);
            var owners = new List<PlannedKey>(plan.Keys.Length);
            foreach (var planned in plan.Keys)
            {
                var values = new string[planned.Parts.Length];
                var (failure, part) = await _resolver.ResolveAsync(context, planned.Parts, values, body, plan.Json, plan.IsMvc).ConfigureAwait(false);
                if (Failed(plan, planned, failure, part) is { } rejection)
                {
                    return (null, null, rejection);
                }

                if (failure == KeyFailure.None)
                {
                    keys.Add(KeyFormatter.Build(planned.Prefix, planned.Labels, values));
                    owners.Add(planned);
                }
            }

            return keys.Count == 0 ? (null, null, null) : Distinct([.. keys], [.. owners]);
        }
        finally
        {
            body?.Dispose();
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>Resolves keys whose parts are all synchronous (the common case: no allocation beyond the keys).</summary>
    private (string[]? Keys, PlannedKey[]? Owners, Rejection? Rejection) ResolveKeys(HttpContext context, EndpointPlan plan, JsonBody? body)
    {
        if (plan.NeedsUser && context.User.Identity?.IsAuthenticated != true)
        {
            return (null, null, new Rejection(KeyedSerializationRejectionReason.Unauthenticated, plan.Keys[0], null));
        }

        var planKeys = plan.Keys;
        if (planKeys.Length == 1 && planKeys[0].Parts.Length == 1 && body is null)
        {
            // One key of one part.
            var planned = planKeys[0];
            var part = planned.Parts[0];
            var value = RequestValues.Get(context, part, plan.IsMvc);
            if (value.Failure != KeyFailure.None)
            {
                return Failed(plan, planned, value.Failure, part) is { } rejection ? (null, null, rejection) : (null, null, null);
            }

            return ([KeyFormatter.Build(planned.Prefix, planned.Labels[0], value.Value!)], planKeys, null);
        }

        var keys = new string[planKeys.Length];
        var count = 0;
        PlannedKey[]? owners = null;
        for (var k = 0; k < planKeys.Length; k++)
        {
            var planned = planKeys[k];
            var values = new string[planned.Parts.Length];
            var resolved = _resolver.ResolveAsync(context, planned.Parts, values, body, plan.Json, plan.IsMvc);
            Debug.Assert(resolved.IsCompletedSuccessfully, "synchronous parts resolve synchronously");
            var (failure, part) = resolved.Result;
            if (Failed(plan, planned, failure, part) is { } rejection)
            {
                return (null, null, rejection);
            }

            if (failure != KeyFailure.None)
            {
                owners ??= planKeys[..k];
                continue;
            }

            keys[count++] = KeyFormatter.Build(planned.Prefix, planned.Labels, values);
            if (owners is not null)
            {
                owners = [.. owners, planned];
            }
        }

        if (count == 0)
        {
            return (null, null, null);
        }

        return Distinct(count == keys.Length ? keys : keys[..count], owners ?? planKeys);
    }

    /// <summary>A rejection for a part without a value, or null when it may be skipped (or there is no failure).</summary>
    private Rejection? Failed(EndpointPlan plan, PlannedKey planned, KeyFailure failure, KeyPart? part)
    {
        switch (failure)
        {
            case KeyFailure.None:
                return null;
            case KeyFailure.Missing when planned.MissingKeyBehavior == KeyedSerializationMissingKeyBehavior.SkipKey:
                KeyedSerializationLog.KeySkipped(_logger, plan.RouteTag, planned.Template);
                return null;
            case KeyFailure.Missing:
                return new Rejection(KeyedSerializationRejectionReason.MissingKeyPart, planned, part!.Text);
            case KeyFailure.Ambiguous:
                // Never skipped: binding might see a value the lock does not.
                return new Rejection(KeyedSerializationRejectionReason.AmbiguousKeyPart, planned, part!.Text);
            default:
                return new Rejection(KeyedSerializationRejectionReason.InvalidKeyPart, planned, part!.Text);
        }
    }

    /// <summary>Several attributes may produce the same key: it is locked once.</summary>
    private static (string[] Keys, PlannedKey[] Owners, Rejection? Rejection) Distinct(string[] keys, PlannedKey[] owners)
    {
        if (keys.Length == 1)
        {
            return (keys, owners, null);
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var distinctKeys = new List<string>(keys.Length);
        var distinctOwners = new List<PlannedKey>(keys.Length);
        for (var i = 0; i < keys.Length; i++)
        {
            if (seen.Add(keys[i]))
            {
                distinctKeys.Add(keys[i]);
                distinctOwners.Add(owners[i]);
            }
        }

        return distinctKeys.Count == keys.Length ? (keys, owners, null) : ([.. distinctKeys], [.. distinctOwners], null);
    }

    /// <summary>Counts the request in the queue of every queue-limited key; the key whose queue is full, or null.</summary>
    private PlannedKey? TryEnterQueues(string[] keys, PlannedKey[] owners)
    {
        for (var i = 0; i < keys.Length; i++)
        {
            if (owners[i].QueueLimit is { } limit && !_inFlight.TryEnter(keys[i], limit))
            {
                ExitQueues(keys, owners, i);
                return owners[i];
            }
        }

        return null;
    }

    private void ExitQueues(EndpointPlan plan, string[] keys, PlannedKey[] owners)
    {
        if (plan.QueueLimited)
        {
            ExitQueues(keys, owners, keys.Length);
        }
    }

    private void ExitQueues(string[] keys, PlannedKey[] owners, int count)
    {
        for (var i = 0; i < count; i++)
        {
            if (owners[i].QueueLimit is not null)
            {
                _inFlight.Exit(keys[i]);
            }
        }
    }

    /// <summary>Why the keys could not be resolved: the reason, the key concerned and the part text.</summary>
    private sealed record Rejection(KeyedSerializationRejectionReason Reason, PlannedKey Key, string? Part);
}
