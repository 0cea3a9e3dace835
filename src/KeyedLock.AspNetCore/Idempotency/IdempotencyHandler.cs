using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using KeyedLock.Idempotency;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>
/// The idempotency engine shared by the middleware and the endpoint wrapper: resolves the idempotency key, fingerprints
/// the request, replays a stored response, or serializes the request on the key (through the app's
/// <see cref="IKeyedLockProvider"/>), captures its response and stores it.
/// </summary>
internal sealed class IdempotencyHandler
{
    private readonly IKeyedLockProvider _provider;
    private readonly IIdempotencyStore _store;
    private readonly IdempotencyOptions _options;
    private readonly KeyedSerializationOptions _serialization;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IdempotencyInstruments _instruments;
    private readonly ConditionalWeakTable<Endpoint, IdempotencyPlan> _plans = [];
    private readonly ConditionalWeakTable<Endpoint, IdempotencyPlan>.CreateValueCallback _compile;

    public IdempotencyHandler(
        IKeyedLockProvider provider,
        IIdempotencyStore store,
        IOptions<IdempotencyOptions> options,
        IOptions<KeyedSerializationOptions> serialization,
        TimeProvider? timeProvider,
        ILogger<IdempotencyHandler> logger,
        IdempotencyInstruments instruments)
    {
        _provider = provider;
        _store = store;
        _options = options.Value;
        _serialization = serialization.Value;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger;
        _instruments = instruments;
        _compile = endpoint => new IdempotencyPlan(endpoint, endpoint.Metadata.GetMetadata<IdempotentAttribute>()!, _options, _serialization);
    }

    /// <summary>The endpoint's plan, or null when it is not idempotent.</summary>
    internal IdempotencyPlan? GetPlan(Endpoint? endpoint) =>
        endpoint?.Metadata.GetMetadata<IdempotentAttribute>() is null ? null : _plans.GetValue(endpoint, _compile);

    /// <summary>
    /// Replays, rejects, or takes the key. Returns null when the response is written (replay or rejection) or the
    /// client left: run nothing. Returns <see cref="IdempotencyScope.Unprotected"/> to run without idempotency.
    /// Otherwise the key is held and the response is being captured: run the request, then call
    /// <see cref="ExitAsync"/>.
    /// </summary>
    internal async ValueTask<IdempotencyScope?> EnterAsync(HttpContext context, IdempotencyPlan plan)
    {
        context.Features.Set(IdempotencyHandledFeature.Instance);
        var request = context.Request;
        byte[]? buffer = null;
        try
        {
            // The body is read once, for the fingerprint and for body: key parts; without body parts the key is
            // resolved first, so a request without a key is answered before its body is read.
            var length = 0;
            string? key = null;
            string? missingPart = null;
            if (!plan.NeedsBody)
            {
                (key, missingPart) = await ResolveKeyAsync(context, plan, default).ConfigureAwait(false);
                if (key is null)
                {
                    return await NoKeyAsync(context, plan, missingPart).ConfigureAwait(false);
                }
            }

            if (plan.NeedsBody || HasBody(context))
            {
                bool tooLarge;
                (buffer, length, tooLarge) = await RequestValues.ReadBodyAsync(context, _options.MaxRequestBodyBytes).ConfigureAwait(false);
                if (tooLarge)
                {
                    return await RejectAsync(
                        context, plan, StatusCodes.Status413PayloadTooLarge, IdempotencyMetrics.ResultRejected, IdempotencyProblemWriter.BodyTooLarge, "Request body too large",
                        $"This endpoint fingerprints the request body for idempotency, and the body is larger than {_options.MaxRequestBodyBytes} bytes.").ConfigureAwait(false);
                }
            }

            if (plan.NeedsBody)
            {
                (key, missingPart) = await ResolveKeyAsync(context, plan, buffer.AsMemory(0, length)).ConfigureAwait(false);
                if (key is null)
                {
                    return await NoKeyAsync(context, plan, missingPart).ConfigureAwait(false);
                }
            }

            var fingerprint = Fingerprint(request, buffer.AsSpan(0, length));
            if (buffer is not null)
            {
                // Not held while waiting for the key.
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = null;
            }

            return await LookUpOrAcquireAsync(context, plan, key!, fingerprint).ConfigureAwait(false);
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private async ValueTask<IdempotencyScope?> NoKeyAsync(HttpContext context, IdempotencyPlan plan, string? missingPart)
    {
        if (missingPart is null)
        {
            return await RejectAsync(
                context, plan, StatusCodes.Status400BadRequest, IdempotencyMetrics.ResultInvalidKey, IdempotencyProblemWriter.InvalidKey, "Invalid idempotency key",
                $"The idempotency key is longer than {_options.MaxKeyLength} characters.").ConfigureAwait(false);
        }

        if (!plan.KeyRequired)
        {
            _instruments.Request(plan, IdempotencyMetrics.ResultUnprotected);
            return IdempotencyScope.Unprotected;
        }

        return await RejectAsync(
            context, plan, StatusCodes.Status400BadRequest, IdempotencyMetrics.ResultInvalidKey, IdempotencyProblemWriter.MissingKey, "Missing idempotency key",
            $"This operation is idempotent and requires an idempotency key ('{missingPart}').").ConfigureAwait(false);
    }

    /// <summary>Stops capturing, stores the response when it is complete and storable, and releases the key.</summary>
    internal async ValueTask ExitAsync(HttpContext context, IdempotencyScope scope, bool completed)
    {
        try
        {
            if (completed)
            {
                try
                {
                    // Push out what the handler left in the capture's pipe writer, through the capture.
                    await scope.CaptureBody.CompleteAsync().ConfigureAwait(false);
                }
                catch (Exception) when (context.RequestAborted.IsCancellationRequested)
                {
                    completed = false;
                }
            }

            context.Features.Set(scope.OriginalBody);
            var response = context.Response;
            var why = completed ? WhyNotStored(context, scope) : "the request failed or was aborted";
            if (why is not null)
            {
                _instruments.Request(scope.Plan, IdempotencyMetrics.ResultNotStored);
                IdempotencyLog.NotStored(_logger, scope.Plan.RouteTag, response.StatusCode, why);
                return;
            }

            var now = _time.GetUtcNow();
            var record = new IdempotencyRecord(scope.Fingerprint, response.StatusCode, SelectHeaders(response.Headers), scope.Capture.Captured.ToArray(), now, now + scope.Plan.Window);
            try
            {
                var stored = await _store.TryAddAsync(scope.Key, record, now, CancellationToken.None).ConfigureAwait(false);
                _instruments.Request(scope.Plan, stored ? IdempotencyMetrics.ResultStored : IdempotencyMetrics.ResultNotStored);
                if (stored)
                {
                    IdempotencyLog.Stored(_logger, scope.Plan.RouteTag, record.StatusCode, record.Body.Length);
                }
                else
                {
                    IdempotencyLog.NotStored(_logger, scope.Plan.RouteTag, record.StatusCode, "the store declined it (a record exists, or the store is full)");
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The client has its response; a later duplicate will run again.
                _instruments.Request(scope.Plan, IdempotencyMetrics.ResultNotStored);
                IdempotencyLog.StoreFailed(_logger, scope.Plan.RouteTag, ex);
            }
        }
        finally
        {
            await scope.Lease.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async ValueTask<IdempotencyScope?> LookUpOrAcquireAsync(HttpContext context, IdempotencyPlan plan, string key, string fingerprint)
    {
        // A completed duplicate is answered without taking the lock.
        var (found, record) = await TryGetAsync(context, plan, key).ConfigureAwait(false);
        if (!found || record is not null)
        {
            return await AnswerAsync(context, plan, record, fingerprint).ConfigureAwait(false);
        }

        KeyedLockLease lease;
        try
        {
            lease = await _provider.AcquireAsync(key, plan.WaitTimeout, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is KeyedLockTimeoutException or KeyedLockQueueFullException)
        {
            return await RejectAsync(
                context, plan, StatusCodes.Status409Conflict, IdempotencyMetrics.ResultInProgress, IdempotencyProblemWriter.InProgress, "Request in progress",
                "A request with the same idempotency key is still being processed. Retry later to receive its response.", _options.RetryAfter).ConfigureAwait(false);
        }
        catch (KeyedLockUnavailableException)
        {
            return await UnavailableAsync(context, plan).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return null;
        }

        var entered = false;
        try
        {
            (found, record) = await TryGetAsync(context, plan, key).ConfigureAwait(false);
            if (!found || record is not null)
            {
                return await AnswerAsync(context, plan, record, fingerprint).ConfigureAwait(false);
            }

            var originalBody = context.Features.Get<IHttpResponseBodyFeature>()!;
            var capture = new ResponseCaptureStream(originalBody.Stream, plan.MaxResponseBodyBytes);
            var captureBody = new StreamResponseBodyFeature(capture, originalBody);
            context.Features.Set<IHttpResponseBodyFeature>(captureBody);
            entered = true;
            return new IdempotencyScope(plan, key, fingerprint, lease, originalBody, capture, captureBody);
        }
        finally
        {
            if (!entered)
            {
                await lease.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Found false: the store failed and a 503 was written. Found true: the live record, or null.</summary>
    private async ValueTask<(bool Found, IdempotencyRecord? Record)> TryGetAsync(HttpContext context, IdempotencyPlan plan, string key)
    {
        try
        {
            return (true, await _store.GetAsync(key, _time.GetUtcNow(), context.RequestAborted).ConfigureAwait(false));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            IdempotencyLog.StoreFailed(_logger, plan.RouteTag, ex);
            await UnavailableAsync(context, plan).ConfigureAwait(false);
            return (false, null);
        }
    }

    private async ValueTask<IdempotencyScope?> AnswerAsync(HttpContext context, IdempotencyPlan plan, IdempotencyRecord? record, string fingerprint)
    {
        if (record is null)
        {
            return null; // the store failed: 503 written
        }

        if (!string.Equals(record.Fingerprint, fingerprint, StringComparison.Ordinal))
        {
            return await RejectAsync(
                context, plan, StatusCodes.Status422UnprocessableEntity, IdempotencyMetrics.ResultKeyReused, IdempotencyProblemWriter.KeyReused, "Idempotency key reused",
                "This idempotency key was already used for a different request (method, path, query or body).").ConfigureAwait(false);
        }

        IdempotencyLog.Replayed(_logger, plan.RouteTag, record.StatusCode);
        _instruments.Request(plan, IdempotencyMetrics.ResultReplayed);
        var response = context.Response;
        response.StatusCode = record.StatusCode;
        foreach (var (name, value) in record.Headers)
        {
            response.Headers.Append(name, value);
        }

        response.Headers[IdempotencyOptions.ReplayedHeaderName] = "true";
        if (!record.Body.IsEmpty)
        {
            response.ContentLength = record.Body.Length;
            try
            {
                await response.Body.WriteAsync(record.Body, context.RequestAborted).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
            }
        }

        return null;
    }

    private async ValueTask<IdempotencyScope?> UnavailableAsync(HttpContext context, IdempotencyPlan plan) =>
        await RejectAsync(
            context, plan, StatusCodes.Status503ServiceUnavailable, IdempotencyMetrics.ResultRejected, IdempotencyProblemWriter.Unavailable, "Idempotency unavailable",
            "The service that makes this operation idempotent is unavailable, so the request was not run. Retry later.", _options.RetryAfter).ConfigureAwait(false);

    private async ValueTask<IdempotencyScope?> RejectAsync(HttpContext context, IdempotencyPlan plan, int status, string result, string reason, string title, string detail, TimeSpan? retryAfter = null)
    {
        _instruments.Request(plan, result);
        IdempotencyLog.Rejected(_logger, plan.RouteTag, status, reason);
        await IdempotencyProblemWriter.WriteAsync(context, status, reason, title, detail, retryAfter).ConfigureAwait(false);
        return null;
    }

    private string? WhyNotStored(HttpContext context, IdempotencyScope scope)
    {
        var response = context.Response;
        if (context.RequestAborted.IsCancellationRequested)
        {
            return "the client disconnected";
        }

        if (scope.Capture.Overflowed)
        {
            return $"the body is larger than {scope.Plan.MaxResponseBodyBytes} bytes";
        }

        if (response.ContentLength is { } declared && declared != scope.Capture.BytesWritten && !HttpMethods.IsHead(context.Request.Method))
        {
            return "the body is shorter or longer than its Content-Length";
        }

        if (!scope.Plan.ShouldStore(response.StatusCode))
        {
            return "the status code is not stored";
        }

        return null;
    }

    private List<KeyValuePair<string, string>> SelectHeaders(IHeaderDictionary headers)
    {
        var selected = new List<KeyValuePair<string, string>>();
        foreach (var (name, values) in headers)
        {
            if (!_options.ReplayedHeaders.Contains(name) || string.Equals(name, HeaderNames.ContentLength, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            foreach (var value in values)
            {
                if (value is not null)
                {
                    selected.Add(new(name, value));
                }
            }
        }

        return selected;
    }

    private async ValueTask<(string? Key, string? MissingPart)> ResolveKeyAsync(HttpContext context, IdempotencyPlan plan, ReadOnlyMemory<byte> body)
    {
        var parts = plan.Parts;
        var values = new string?[parts.Length];
        var total = 0;
        JsonDocument? document = null;
        try
        {
            for (var i = 0; i < parts.Length; i++)
            {
                var part = parts[i];
                string? value;
                switch (part.Source)
                {
                    case KeyPartSource.Body:
                        document ??= RequestValues.TryParseJson(body);
                        value = document is null ? null : JsonPointer.Evaluate(document.RootElement, part.PointerTokens);
                        break;
                    case KeyPartSource.Custom:
                        value = await _serialization.KeySources[part.Name](context).ConfigureAwait(false);
                        break;
                    default:
                        value = RequestValues.Get(context, part);
                        break;
                }

                if (string.IsNullOrEmpty(value))
                {
                    return (null, part.Text);
                }

                total += value.Length;
                values[i] = value;
            }
        }
        finally
        {
            document?.Dispose();
        }

        if (total > _options.MaxKeyLength)
        {
            return (null, null);
        }

        // Scoped per endpoint (or the configured scope) and, when authenticated, per user.
        var user = context.User.Identity?.IsAuthenticated == true ? RequestValues.UserId(context.User) : null;
        var prefix = plan.Prefix + (user is null ? "|-" : "|u=" + KeyFormatter.Escape(user));
        return (KeyFormatter.Build(prefix, plan.Labels, values), null);
    }

    private static bool HasBody(HttpContext context) =>
        context.Request.ContentLength is { } length ? length > 0 : context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? true;

    /// <summary>Method, path and query, and the SHA-256 of the body: hex SHA-256 of it all.</summary>
    private static string Fingerprint(HttpRequest request, ReadOnlySpan<byte> body)
    {
        Span<byte> bodyHash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(body, bodyHash);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(string.Concat(request.Method, "\n", request.PathBase.Value, request.Path.Value, "\n", request.QueryString.Value, "\n")));
        hash.AppendData(bodyHash);
        Span<byte> result = stackalloc byte[SHA256.HashSizeInBytes];
        hash.GetHashAndReset(result);
        return Convert.ToHexString(result);
    }
}
