using Microsoft.AspNetCore.Http;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>
/// The one key resolver of the package: serialization keys and idempotency keys read their parts here. A part's value is
/// what binding sees, or the part fails (missing, ambiguous, invalid); see <see cref="RequestValues"/> and
/// <see cref="JsonBody"/>.
/// </summary>
internal sealed class KeyResolver(KeyedSerializationOptions options)
{
    /// <summary>
    /// Fills <paramref name="values"/> with the value of every part; returns the first part without one and why, or
    /// (<see cref="KeyFailure.None"/>, null). Completes synchronously unless a custom key source is asynchronous.
    /// </summary>
    /// <remarks>On MVC endpoints the caller first reads the form (<see cref="TryReadFormAsync"/>).</remarks>
    internal ValueTask<(KeyFailure Failure, KeyPart? Part)> ResolveAsync(HttpContext context, KeyPart[] parts, string[] values, JsonBody? body, JsonKeyRules rules, bool mvc)
    {
        for (var i = 0; i < parts.Length; i++)
        {
            var part = parts[i];
            if (part.Source == KeyPartSource.Custom)
            {
                return ResolveFromAsync(context, parts, values, body, rules, mvc, i);
            }

            var value = Read(context, part, body, rules, mvc);
            if (value.Failure != KeyFailure.None)
            {
                return new((value.Failure, part));
            }

            values[i] = value.Value!;
        }

        return new((KeyFailure.None, null));
    }

    /// <summary>
    /// Reads the form of an MVC request with a form content type, so that form fields that shadow route values or query
    /// parameters can be told; false when the form cannot be read (the request gets 400).
    /// </summary>
    internal static async ValueTask<bool> TryReadFormAsync(HttpContext context)
    {
        try
        {
            await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
            return true;
        }
        catch (InvalidDataException)
        {
            return false;
        }
        catch (IOException) when (!context.RequestAborted.IsCancellationRequested)
        {
            return false;
        }
    }

    private async ValueTask<(KeyFailure Failure, KeyPart? Part)> ResolveFromAsync(HttpContext context, KeyPart[] parts, string[] values, JsonBody? body, JsonKeyRules rules, bool mvc, int start)
    {
        for (var i = start; i < parts.Length; i++)
        {
            var part = parts[i];
            var value = part.Source == KeyPartSource.Custom
                ? KeyValue.Of(await options.KeySources[part.Name](context).ConfigureAwait(false))
                : Read(context, part, body, rules, mvc);
            if (value.Failure != KeyFailure.None)
            {
                return (value.Failure, part);
            }

            values[i] = value.Value!;
        }

        return (KeyFailure.None, null);
    }

    private static KeyValue Read(HttpContext context, KeyPart part, JsonBody? body, JsonKeyRules rules, bool mvc) =>
        part.Source == KeyPartSource.Body
            ? body?.Evaluate(part.PointerTokens, rules) ?? KeyValue.Missing
            : RequestValues.Get(context, part, mvc);
}
