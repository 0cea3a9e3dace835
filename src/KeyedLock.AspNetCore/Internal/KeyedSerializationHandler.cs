using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>
/// The engine shared by the middleware and the endpoint filter: compiles endpoint metadata, resolves keys from a
/// request, acquires and releases the leases, and writes rejections.
/// </summary>
internal sealed class KeyedSerializationHandler
{
    private readonly IKeyedLockProvider _provider;
    private readonly KeyedSerializationOptions _options;
    private readonly ILogger _logger;
    private readonly KeyedSerializationInstruments _instruments;
    private readonly KeyedSerializationRejectionWriter _rejections;
    private readonly KeyInFlightCounter _inFlight = new();
    private readonly ConditionalWeakTable<Endpoint, EndpointPlan> _plans = [];
    private readonly ConditionalWeakTable<Endpoint, EndpointPlan>.CreateValueCallback _compile;

    public KeyedSerializationHandler(
        IKeyedLockProvider provider,
        IOptions<KeyedSerializationOptions> options,
        ILogger<KeyedSerializationHandler> logger,
        KeyedSerializationInstruments instruments)
    {
        _provider = provider;
        _options = options.Value;
        _logger = logger;
        _instruments = instruments;
        _rejections = new KeyedSerializationRejectionWriter(_options, logger, instruments);
        _compile = Compile;
    }

    internal KeyInFlightCounter InFlight => _inFlight;

    /// <summary>The endpoint's plan, or null when it is not serialized (no metadata, or disabled).</summary>
    internal EndpointPlan? GetPlan(Endpoint? endpoint)
    {
        if (endpoint is null || endpoint.Metadata.GetMetadata<SerializeByAttribute>() is null)
        {
            return null;
        }

        if (endpoint.Metadata.GetMetadata<DisableKeyedSerializationAttribute>() is not null)
        {
            return null;
        }

        return _plans.GetValue(endpoint, _compile);
    }

    /// <summary>Resolves the request's keys and acquires them, or writes a rejection.</summary>
    internal ValueTask<(EnterOutcome Outcome, KeyedSerializationFeature? Feature)> EnterAsync(HttpContext context, EndpointPlan plan)
    {
        if (plan.NeedsUser && context.User.Identity?.IsAuthenticated != true)
        {
            return RejectAsync(context, plan, KeyedSerializationRejectionReason.Unauthenticated, plan.Keys[0], null, null);
        }

        if (plan.IsSynchronous && plan.Keys.Length == 1)
        {
            var planned = plan.Keys[0];
            var key = ResolveSynchronousKey(context, planned, out var missingPart);
            if (key is null)
            {
                return MissingAsync(context, plan, planned, missingPart!);
            }

            return planned.QueueLimit is null ? AcquireSingleAsync(context, plan, key, planned) : AcquireAsync(context, plan, [key], [planned]);
        }

        return ResolveAndAcquireAsync(context, plan);
    }

    /// <summary>Releases the request's keys and restores <c>RequestAborted</c>.</summary>
    internal ValueTask ExitAsync(HttpContext context, KeyedSerializationFeature feature)
    {
        if (feature.LinkedAborted is { } linked)
        {
            context.RequestAborted = feature.OriginalRequestAborted;
            linked.Dispose();
        }

        feature.IsActive = false;
        _instruments.Active(feature.Plan, -1);
        if (feature.StartedTimestamp != 0 && _logger.IsEnabled(LogLevel.Debug))
        {
            KeyedSerializationLog.KeysReleased(_logger, feature.Plan.RouteTag, Stopwatch.GetElapsedTime(feature.StartedTimestamp).TotalMilliseconds);
        }

        var release = feature.Lease.DisposeAsync();
        return HasQueueLimit(feature.Owners) ? ReleaseThenExitInFlightAsync(release, feature) : release;
    }

    private async ValueTask ReleaseThenExitInFlightAsync(ValueTask release, KeyedSerializationFeature feature)
    {
        try
        {
            await release.ConfigureAwait(false);
        }
        finally
        {
            ExitInFlight(feature.Keys, feature.Owners, feature.Keys.Count);
        }
    }

    /// <summary>
    /// Whether <paramref name="exception"/> is the handler giving up because the lease was lost, so that a 503 can
    /// still be written.
    /// </summary>
    internal static bool IsLockLost(HttpContext context, KeyedSerializationFeature feature, Exception exception) =>
        exception is OperationCanceledException &&
        feature.LostToken.IsCancellationRequested &&
        !feature.OriginalRequestAborted.IsCancellationRequested &&
        !context.Response.HasStarted;

    internal async ValueTask RejectLockLostAsync(HttpContext context, KeyedSerializationFeature feature, Exception exception)
    {
        KeyedSerializationLog.LockLost(_logger, feature.Plan.RouteTag);
        context.RequestAborted = feature.OriginalRequestAborted;
        context.Response.Clear();
        await _rejections.WriteAsync(context, feature.Plan, KeyedSerializationRejectionReason.LockLost, feature.Owners[0], null, exception).ConfigureAwait(false);
    }

    private EndpointPlan Compile(Endpoint endpoint) =>
        new(endpoint, endpoint.Metadata.GetOrderedMetadata<SerializeByAttribute>(), _options);

    private async ValueTask<(EnterOutcome Outcome, KeyedSerializationFeature? Feature)> ResolveAndAcquireAsync(HttpContext context, EndpointPlan plan)
    {
        JsonDocument? body = null;
        byte[]? buffer = null;
        try
        {
            if (plan.NeedsBody)
            {
                var read = await RequestValues.ReadBodyAsync(context, _options.MaxBodyBytes).ConfigureAwait(false);
                buffer = read.Buffer;
                if (read.TooLarge)
                {
                    return await RejectAsync(context, plan, KeyedSerializationRejectionReason.BodyTooLarge, FirstBodyKey(plan), null, null).ConfigureAwait(false);
                }

                body = RequestValues.TryParseJson(buffer.AsMemory(0, read.Length));
            }

            var keys = new List<string>(plan.Keys.Length);
            var owners = new List<PlannedKey>(plan.Keys.Length);
            foreach (var planned in plan.Keys)
            {
                var values = new string[planned.Parts.Length];
                string? missingPart = null;
                for (var i = 0; i < values.Length; i++)
                {
                    var part = planned.Parts[i];
                    var value = part.Source switch
                    {
                        KeyPartSource.Body => body is null ? null : JsonPointer.Evaluate(body.RootElement, part.PointerTokens),
                        KeyPartSource.Custom => await _options.KeySources[part.Name](context).ConfigureAwait(false),
                        _ => RequestValues.Get(context, part),
                    };

                    if (string.IsNullOrEmpty(value))
                    {
                        missingPart = part.Text;
                        break;
                    }

                    values[i] = value;
                }

                if (missingPart is not null)
                {
                    if (planned.MissingKeyBehavior == KeyedSerializationMissingKeyBehavior.Reject)
                    {
                        return await RejectAsync(context, plan, KeyedSerializationRejectionReason.MissingKeyPart, planned, missingPart, null).ConfigureAwait(false);
                    }

                    KeyedSerializationLog.KeySkipped(_logger, plan.RouteTag, planned.Template);
                    continue;
                }

                keys.Add(values.Length == 1 ? KeyFormatter.Build(planned.Prefix, planned.Labels[0], values[0]) : KeyFormatter.Build(planned.Prefix, planned.Labels, values));
                owners.Add(planned);
            }

            body?.Dispose();
            body = null;
            if (keys.Count == 0)
            {
                _instruments.Request(plan, KeyedSerializationInstruments.Skipped, 0);
                return (EnterOutcome.Skipped, null);
            }

            return await AcquireAsync(context, plan, [.. keys], [.. owners]).ConfigureAwait(false);
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

    private async ValueTask<(EnterOutcome Outcome, KeyedSerializationFeature? Feature)> AcquireAsync(HttpContext context, EndpointPlan plan, string[] keys, PlannedKey[] owners)
    {
        // Several attributes may produce the same key: lock it once.
        if (keys.Length > 1)
        {
            (keys, owners) = Distinct(keys, owners);
        }

        var timeout = owners[0].Timeout;
        for (var i = 1; i < owners.Length; i++)
        {
            timeout = Min(timeout, owners[i].Timeout);
        }

        var queueLimited = HasQueueLimit(owners);
        if (queueLimited)
        {
            for (var i = 0; i < keys.Length; i++)
            {
                if (owners[i].QueueLimit is { } limit && !_inFlight.TryEnter(keys[i], limit))
                {
                    ExitInFlight(keys, owners, i);
                    return await RejectAsync(context, plan, KeyedSerializationRejectionReason.QueueFull, owners[i], null, null).ConfigureAwait(false);
                }
            }
        }

        var started = WaitStarted();
        return await CompleteAcquireAsync(context, plan, keys, owners, queueLimited, started, Start(context, keys, timeout)).ConfigureAwait(false);
    }

    /// <summary>
    /// The common single-key case without a queue limit: when the provider grants at once (an uncontended key), the
    /// request enters synchronously, without the async machinery; anything else continues in
    /// <see cref="CompleteAcquireAsync"/>, which maps failures to rejections.
    /// </summary>
    private ValueTask<(EnterOutcome Outcome, KeyedSerializationFeature? Feature)> AcquireSingleAsync(HttpContext context, EndpointPlan plan, string key, PlannedKey planned)
    {
        string[] keys = [key];
        PlannedKey[] owners = [planned];
        var started = WaitStarted();
        var pending = Start(context, keys, planned.Timeout);
        return pending.IsCompletedSuccessfully
            ? new(Entered(context, plan, keys, owners, pending.Result, started))
            : CompleteAcquireAsync(context, plan, keys, owners, queueLimited: false, started, pending);
    }

    /// <summary>
    /// A timestamp for the wait-duration histogram and the Debug log, or 0 when neither listens: reading the clock
    /// costs about 30 ns on a VM, twice per request.
    /// </summary>
    private long WaitStarted() =>
        _instruments.WaitDurationEnabled || _logger.IsEnabled(LogLevel.Debug) ? Stopwatch.GetTimestamp() : 0;

    /// <summary>Starts the acquisition; a provider that throws synchronously is reported like one that fails asynchronously.</summary>
    private ValueTask<KeyedLockLease> Start(HttpContext context, string[] keys, TimeSpan timeout)
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

    private async ValueTask<(EnterOutcome Outcome, KeyedSerializationFeature? Feature)> CompleteAcquireAsync(HttpContext context, EndpointPlan plan, string[] keys, PlannedKey[] owners, bool queueLimited, long started, ValueTask<KeyedLockLease> pending)
    {
        KeyedLockLease lease;
        try
        {
            lease = await pending.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is KeyedLockTimeoutException or KeyedLockQueueFullException or KeyedLockUnavailableException)
        {
            if (queueLimited)
            {
                ExitInFlight(keys, owners, keys.Length);
            }

            var owner = owners[Math.Max(0, Array.IndexOf(keys, ((KeyedLockException)ex).Key))];
            var reason = ex switch
            {
                KeyedLockTimeoutException => KeyedSerializationRejectionReason.Timeout,
                KeyedLockQueueFullException => KeyedSerializationRejectionReason.QueueFull,
                _ => KeyedSerializationRejectionReason.Unavailable,
            };
            return await RejectAsync(context, plan, reason, owner, null, ex, started).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            if (queueLimited)
            {
                ExitInFlight(keys, owners, keys.Length);
            }

            KeyedSerializationLog.ClientDisconnected(_logger, plan.RouteTag);
            _instruments.Request(plan, KeyedSerializationInstruments.Canceled, started);
            return (EnterOutcome.Canceled, null);
        }
        catch
        {
            if (queueLimited)
            {
                ExitInFlight(keys, owners, keys.Length);
            }

            throw;
        }

        return Entered(context, plan, keys, owners, lease, started);
    }

    /// <summary>The request holds its keys: publishes the feature, links a lost lock to RequestAborted, records it.</summary>
    private (EnterOutcome Outcome, KeyedSerializationFeature? Feature) Entered(HttpContext context, EndpointPlan plan, string[] keys, PlannedKey[] owners, KeyedLockLease lease, long started)
    {
        var feature = new KeyedSerializationFeature(keys, owners, lease, plan);
        var lost = lease.LostToken;
        if (lost.CanBeCanceled)
        {
            // Let the handler see a lost lock as an aborted request.
            feature.LostToken = lost;
            feature.OriginalRequestAborted = context.RequestAborted;
            feature.LinkedAborted = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lost);
            context.RequestAborted = feature.LinkedAborted.Token;
        }

        context.Features.Set<IKeyedSerializationFeature>(feature);
        _instruments.Request(plan, KeyedSerializationInstruments.Serialized, started);
        _instruments.Active(plan, 1);
        if (started != 0 && _logger.IsEnabled(LogLevel.Debug))
        {
            KeyedSerializationLog.KeysAcquired(_logger, plan.RouteTag, keys.Length, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        feature.StartedTimestamp = _logger.IsEnabled(LogLevel.Debug) ? Stopwatch.GetTimestamp() : 0;
        return (EnterOutcome.Entered, feature);
    }

    private ValueTask<(EnterOutcome Outcome, KeyedSerializationFeature? Feature)> MissingAsync(HttpContext context, EndpointPlan plan, PlannedKey planned, string missingPart)
    {
        if (planned.MissingKeyBehavior == KeyedSerializationMissingKeyBehavior.Reject)
        {
            return RejectAsync(context, plan, KeyedSerializationRejectionReason.MissingKeyPart, planned, missingPart, null);
        }

        KeyedSerializationLog.KeySkipped(_logger, plan.RouteTag, planned.Template);
        _instruments.Request(plan, KeyedSerializationInstruments.Skipped, 0);
        return new((EnterOutcome.Skipped, null));
    }

    private async ValueTask<(EnterOutcome Outcome, KeyedSerializationFeature? Feature)> RejectAsync(HttpContext context, EndpointPlan plan, KeyedSerializationRejectionReason reason, PlannedKey planned, string? missingPart, Exception? exception, long started = 0)
    {
        await _rejections.WriteAsync(context, plan, reason, planned, missingPart, exception, started).ConfigureAwait(false);
        return (EnterOutcome.Rejected, null);
    }

    private static string? ResolveSynchronousKey(HttpContext context, PlannedKey planned, out string? missingPart)
    {
        var parts = planned.Parts;
        if (parts.Length == 1)
        {
            var value = RequestValues.Get(context, parts[0]);
            if (string.IsNullOrEmpty(value))
            {
                missingPart = parts[0].Text;
                return null;
            }

            missingPart = null;
            return KeyFormatter.Build(planned.Prefix, planned.Labels[0], value);
        }

        var values = new string[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            var value = RequestValues.Get(context, parts[i]);
            if (string.IsNullOrEmpty(value))
            {
                missingPart = parts[i].Text;
                return null;
            }

            values[i] = value;
        }

        missingPart = null;
        return KeyFormatter.Build(planned.Prefix, planned.Labels, values);
    }

    private static PlannedKey FirstBodyKey(EndpointPlan plan) =>
        Array.Find(plan.Keys, k => Array.Exists(k.Parts, p => p.Source == KeyPartSource.Body)) ?? plan.Keys[0];

    private static bool HasQueueLimit(PlannedKey[] owners)
    {
        foreach (var owner in owners)
        {
            if (owner.QueueLimit is not null)
            {
                return true;
            }
        }

        return false;
    }

    private void ExitInFlight(IReadOnlyList<string> keys, PlannedKey[] owners, int count)
    {
        for (var i = 0; i < count; i++)
        {
            if (owners[i].QueueLimit is not null)
            {
                _inFlight.Exit(keys[i]);
            }
        }
    }

    private static (string[] Keys, PlannedKey[] Owners) Distinct(string[] keys, PlannedKey[] owners)
    {
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

        return distinctKeys.Count == keys.Length ? (keys, owners) : ([.. distinctKeys], [.. distinctOwners]);
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b)
    {
        if (a == Timeout.InfiniteTimeSpan)
        {
            return b;
        }

        return b == Timeout.InfiniteTimeSpan || a <= b ? a : b;
    }
}
