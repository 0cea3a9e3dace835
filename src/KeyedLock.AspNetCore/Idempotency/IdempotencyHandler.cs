using System.Buffers;
using System.Runtime.CompilerServices;
using KeyedLock.Idempotency;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>
/// Idempotent replay of one request, in one method (<see cref="RunAsync"/>): resolve the key and fingerprint the
/// request, replay a stored response (or reject a reused key), take the key through the app's
/// <see cref="IKeyedLockProvider"/>, look again, run capturing the response, store it, release. The middleware, the
/// endpoint wrapper and the MVC filter all call it; plans are compiled once per endpoint.
/// </summary>
internal sealed class IdempotencyHandler
{
    private readonly IKeyedLockProvider _provider;
    private readonly IIdempotencyStore _store;
    private readonly IdempotencyOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IdempotencyInstruments _instruments;
    private readonly IdempotencyRejectionWriter _rejections;
    private readonly KeyResolver _resolver;
    private readonly ConditionalWeakTable<Endpoint, IdempotencyPlan> _plans = [];
    private readonly ConditionalWeakTable<Endpoint, IdempotencyPlan>.CreateValueCallback _compile;

    public IdempotencyHandler(
        IKeyedLockProvider provider,
        IIdempotencyStore store,
        IOptions<IdempotencyOptions> options,
        IOptions<KeyedSerializationOptions> serialization,
        TimeProvider? timeProvider,
        ILogger<IdempotencyHandler> logger,
        IdempotencyInstruments instruments,
        KeyResolver resolver,
        EndpointJson json)
    {
        _provider = provider;
        _store = store;
        _options = options.Value;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger;
        _instruments = instruments;
        _resolver = resolver;
        _rejections = new IdempotencyRejectionWriter(_options, logger, instruments);
        var serializationOptions = serialization.Value;
        _compile = endpoint => new IdempotencyPlan(endpoint, endpoint.Metadata.GetMetadata<IdempotentAttribute>()!, _options, serializationOptions, json.RulesFor(endpoint));
    }

    /// <summary>The endpoint's plan (compiled once), or null when it is not idempotent.</summary>
    internal IdempotencyPlan? GetPlan(Endpoint? endpoint) =>
        endpoint?.Metadata.GetMetadata<IdempotentAttribute>() is null ? null : _plans.GetValue(endpoint, _compile);

    /// <summary>Whether idempotency already handled this request (middleware, wrapper or filter: only the first acts).</summary>
    internal static bool HandledOn(HttpContext context) => context.Features.Get<IdempotencyHandledFeature>() is not null;

    /// <summary>
    /// Handles one request to an idempotent endpoint: replays, rejects, or runs <paramref name="next"/> holding the
    /// idempotency key and stores its response.
    /// </summary>
    internal async Task RunAsync(HttpContext context, IdempotencyPlan plan, RequestDelegate next)
    {
        context.Features.Set(IdempotencyHandledFeature.Instance);

        // 1. The key (exactly what binding sees) and the fingerprint. The body is read once, for both; without body
        //    parts the key comes first, so that a request without a key is answered before its body is read.
        if (RequestValues.NeedsForm(context, plan.IsMvc) && !await KeyResolver.TryReadFormAsync(context).ConfigureAwait(false))
        {
            await _rejections.WriteAsync(context, plan, IdempotencyRejectionReason.InvalidKey, "the form").ConfigureAwait(false);
            return;
        }

        string? key = null;
        byte[] fingerprint;
        byte[]? buffer = null;
        try
        {
            if (!plan.NeedsBody)
            {
                var (resolved, failure, part) = await ResolveKeyAsync(context, plan, null).ConfigureAwait(false);
                if (resolved is null)
                {
                    await NoKeyAsync(context, plan, failure, part, next).ConfigureAwait(false);
                    return;
                }

                key = resolved;
            }

            var length = 0;
            if (plan.NeedsBody || HasBody(context))
            {
                bool tooLarge;
                (buffer, length, tooLarge) = await RequestValues.ReadBodyAsync(context, _options.MaxRequestBodyBytes).ConfigureAwait(false);
                if (tooLarge)
                {
                    await _rejections.WriteAsync(context, plan, IdempotencyRejectionReason.BodyTooLarge).ConfigureAwait(false);
                    return;
                }
            }

            if (plan.NeedsBody)
            {
                using var body = JsonBody.Parse(context.Request, buffer.AsMemory(0, length), plan.Json);
                var (bodyKey, failure, part) = await ResolveKeyAsync(context, plan, body).ConfigureAwait(false);
                if (bodyKey is null)
                {
                    await NoKeyAsync(context, plan, failure, part, next).ConfigureAwait(false);
                    return;
                }

                key = bodyKey;
            }

            fingerprint = RequestFingerprint.Compute(context.Request, buffer.AsSpan(0, length));
        }
        finally
        {
            // Not held while waiting for the key.
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        // 2. A completed duplicate is answered without taking the lock.
        var (found, stored) = await TryGetAsync(context, plan, key!).ConfigureAwait(false);
        if (!found || stored is not null)
        {
            await AnswerAsync(context, plan, stored, fingerprint).ConfigureAwait(false);
            return;
        }

        // 3. Take the key: duplicates wait here for the original (or get 409 when the plan does not wait).
        KeyedLockLease lease;
        try
        {
            lease = await _provider.AcquireAsync(key!, plan.WaitTimeout, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is KeyedLockTimeoutException or KeyedLockQueueFullException)
        {
            await _rejections.WriteAsync(context, plan, IdempotencyRejectionReason.InProgress, null, ex).ConfigureAwait(false);
            return;
        }
        catch (Exception ex) when (ex is KeyedLockUnavailableException or ObjectDisposedException)
        {
            // Unreachable, or disposed while this duplicate waited (the host stopped): it did not run; retrying is safe.
            await _rejections.WriteAsync(context, plan, IdempotencyRejectionReason.Unavailable, null, ex).ConfigureAwait(false);
            return;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        try
        {
            // 4. The original may have completed while this request waited.
            (found, stored) = await TryGetAsync(context, plan, key!).ConfigureAwait(false);
            if (!found || stored is not null)
            {
                await AnswerAsync(context, plan, stored, fingerprint).ConfigureAwait(false);
                return;
            }

            // 5. Run, capturing the response, and store it when it is complete and storable.
            var capture = ResponseCapture.Start(context, plan.MaxResponseBodyBytes);
            var completed = false;
            try
            {
                await next(context).ConfigureAwait(false);
                completed = true;
            }
            finally
            {
                completed = await capture.StopAsync(completed).ConfigureAwait(false);
                await StoreAsync(context, plan, key!, fingerprint, capture, completed).ConfigureAwait(false);
            }
        }
        finally
        {
            await lease.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async ValueTask StoreAsync(HttpContext context, IdempotencyPlan plan, string key, byte[] fingerprint, ResponseCapture capture, bool completed)
    {
        var status = context.Response.StatusCode;
        var why = completed ? capture.WhyNotStored(plan) : "the request failed or was aborted";
        if (why is not null)
        {
            _instruments.Request(plan, IdempotencyMetrics.ResultNotStored);
            IdempotencyLog.NotStored(_logger, plan.RouteTag, status, why);
            return;
        }

        var response = capture.ToStoredResponse(fingerprint, _options.ReplayedHeaders);
        var now = _time.GetUtcNow();
        try
        {
            var added = await _store.TryAddAsync(key, response.Encode(), now + plan.Window, now, CancellationToken.None).ConfigureAwait(false);
            _instruments.Request(plan, added ? IdempotencyMetrics.ResultStored : IdempotencyMetrics.ResultNotStored);
            if (added)
            {
                IdempotencyLog.Stored(_logger, plan.RouteTag, status, response.Body.Length);
            }
            else
            {
                IdempotencyLog.NotStored(_logger, plan.RouteTag, status, "the store declined it (a value exists, or the store is full)");
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The client has its response; a later duplicate will run again.
            _instruments.Request(plan, IdempotencyMetrics.ResultNotStored);
            IdempotencyLog.StoreFailed(_logger, plan.RouteTag, ex);
        }
    }

    /// <summary>Found false: the store failed, or its value cannot be read (fail closed). Found true: the live response, or null.</summary>
    private async ValueTask<(bool Found, StoredResponse? Stored)> TryGetAsync(HttpContext context, IdempotencyPlan plan, string key)
    {
        byte[]? value;
        try
        {
            value = await _store.GetAsync(key, _time.GetUtcNow(), context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            IdempotencyLog.StoreFailed(_logger, plan.RouteTag, ex);
            return (false, null);
        }

        if (value is null)
        {
            return (true, null);
        }

        if (StoredResponse.TryDecode(value) is { } stored)
        {
            return (true, stored);
        }

        // Never run again on a key whose response cannot be read: that could repeat the effect.
        IdempotencyLog.Unreadable(_logger, plan.RouteTag, value.Length == 0 ? -1 : value[0]);
        return (false, null);
    }

    private async ValueTask AnswerAsync(HttpContext context, IdempotencyPlan plan, StoredResponse? stored, byte[] fingerprint)
    {
        if (stored is null)
        {
            await _rejections.WriteAsync(context, plan, IdempotencyRejectionReason.Unavailable).ConfigureAwait(false);
            return;
        }

        if (!RequestFingerprint.Matches(stored.Fingerprint, fingerprint))
        {
            await _rejections.WriteAsync(context, plan, IdempotencyRejectionReason.KeyReused).ConfigureAwait(false);
            return;
        }

        IdempotencyLog.Replayed(_logger, plan.RouteTag, stored.StatusCode);
        _instruments.Request(plan, IdempotencyMetrics.ResultReplayed);
        await ResponseReplay.WriteAsync(context, stored).ConfigureAwait(false);
    }

    /// <summary>No usable key: run without idempotency when the key is optional and absent, otherwise reject.</summary>
    private async ValueTask NoKeyAsync(HttpContext context, IdempotencyPlan plan, KeyFailure failure, KeyPart? part, RequestDelegate next)
    {
        switch (failure)
        {
            case KeyFailure.Missing when !plan.KeyRequired:
                _instruments.Request(plan, IdempotencyMetrics.ResultUnprotected);
                await next(context).ConfigureAwait(false);
                return;
            case KeyFailure.Missing:
                await _rejections.WriteAsync(context, plan, IdempotencyRejectionReason.MissingKey, part?.Text).ConfigureAwait(false);
                return;
            case KeyFailure.Ambiguous:
                await _rejections.WriteAsync(context, plan, IdempotencyRejectionReason.AmbiguousKey, part?.Text).ConfigureAwait(false);
                return;
            default:
                await _rejections.WriteAsync(context, plan, IdempotencyRejectionReason.InvalidKey, part?.Text).ConfigureAwait(false);
                return;
        }
    }

    /// <summary>The store and lock key (scoped per endpoint or scope, and per authenticated user), or why there is none.</summary>
    private async ValueTask<(string? Key, KeyFailure Failure, KeyPart? Part)> ResolveKeyAsync(HttpContext context, IdempotencyPlan plan, JsonBody? body)
    {
        var values = new string[plan.Parts.Length];
        var (failure, part) = await _resolver.ResolveAsync(context, plan.Parts, values, body, plan.Json, plan.IsMvc).ConfigureAwait(false);
        if (failure != KeyFailure.None)
        {
            return (null, failure, part);
        }

        var total = 0;
        foreach (var value in values)
        {
            total += value.Length;
        }

        if (total > _options.MaxKeyLength)
        {
            return (null, KeyFailure.Invalid, null);
        }

        var user = context.User.Identity?.IsAuthenticated == true ? RequestValues.UserId(context.User) : null;
        var prefix = plan.Prefix + (user is null ? "|-" : "|u=" + KeyFormatter.Escape(user));
        return (KeyFormatter.Build(prefix, plan.Labels, values), KeyFailure.None, null);
    }

    private static bool HasBody(HttpContext context) =>
        context.Request.ContentLength is { } length ? length > 0 : context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? true;
}
