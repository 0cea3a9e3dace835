using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>
/// Captures the response of the request that runs under an idempotency key (status, selected headers, body up to a
/// limit) while it is sent to the client, and says whether it may be stored.
/// </summary>
internal sealed class ResponseCapture
{
    private readonly HttpContext _context;
    private readonly IHttpResponseBodyFeature _original;
    private readonly ResponseCaptureStream _stream;
    private readonly StreamResponseBodyFeature _feature;

    private ResponseCapture(HttpContext context, long limit)
    {
        _context = context;
        _original = context.Features.Get<IHttpResponseBodyFeature>()!;
        _stream = new ResponseCaptureStream(_original.Stream, limit);
        _feature = new StreamResponseBodyFeature(_stream, _original);
        context.Features.Set<IHttpResponseBodyFeature>(_feature);
    }

    /// <summary>Starts capturing: the response body goes through the capture from now on.</summary>
    internal static ResponseCapture Start(HttpContext context, long limit) => new(context, limit);

    /// <summary>
    /// Stops capturing (pushing out what the handler left in the capture's pipe writer) and restores the response body.
    /// Returns false when the client went away meanwhile.
    /// </summary>
    internal async ValueTask<bool> StopAsync(bool completed)
    {
        try
        {
            if (completed)
            {
                await _feature.CompleteAsync().ConfigureAwait(false);
            }
        }
        catch (Exception) when (_context.RequestAborted.IsCancellationRequested)
        {
            completed = false;
        }
        finally
        {
            _context.Features.Set(_original);
        }

        return completed;
    }

    /// <summary>Why the captured response must not be stored, or null when it may be.</summary>
    internal string? WhyNotStored(IdempotencyPlan plan)
    {
        var response = _context.Response;
        if (_context.RequestAborted.IsCancellationRequested)
        {
            return "the client disconnected";
        }

        if (_stream.Overflowed)
        {
            return $"the body is larger than {plan.MaxResponseBodyBytes} bytes";
        }

        if (response.ContentLength is { } declared && declared != _stream.BytesWritten && !HttpMethods.IsHead(_context.Request.Method))
        {
            return "the body is shorter or longer than its Content-Length";
        }

        return plan.ShouldStore(response.StatusCode) ? null : "the status code is not stored";
    }

    /// <summary>The captured response, with the headers <paramref name="replayed"/> names.</summary>
    internal StoredResponse ToStoredResponse(byte[] fingerprint, ISet<string> replayed)
    {
        var selected = new List<KeyValuePair<string, string>>();
        foreach (var (name, values) in _context.Response.Headers)
        {
            if (!replayed.Contains(name) || string.Equals(name, HeaderNames.ContentLength, StringComparison.OrdinalIgnoreCase))
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

        return new StoredResponse(fingerprint, _context.Response.StatusCode, selected, _stream.Captured);
    }
}
