using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace KeyedLock.AspNetCore;

/// <summary>
/// Applies a <c>KeyedSerialization</c> configuration section (appsettings.json, environment variables, ...) to the
/// options. The shape is documented in docs/configuration.md.
/// </summary>
internal static class KeyedSerializationConfiguration
{
    private static readonly string[] s_topLevel =
    [
        nameof(KeyedSerializationOptions.DefaultTimeout), nameof(KeyedSerializationOptions.DefaultQueueLimit),
        nameof(KeyedSerializationOptions.MaxBodyBytes), nameof(KeyedSerializationOptions.RejectionStatusCode),
        nameof(KeyedSerializationOptions.UnavailableStatusCode), nameof(KeyedSerializationOptions.RetryAfter),
        nameof(KeyedSerializationOptions.MissingKeyBehavior), "Policies", "KeySources", "Idempotency", "Lock",
    ];

    private static readonly string[] s_policy =
    [
        nameof(KeyedSerializationPolicy.Timeout), nameof(KeyedSerializationPolicy.QueueLimit),
        nameof(KeyedSerializationPolicy.RejectionStatusCode), nameof(KeyedSerializationPolicy.MissingKeyBehavior),
        nameof(KeyedSerializationPolicy.Scope),
    ];

    private static readonly string[] s_idempotency =
    [
        nameof(IdempotencyOptions.KeyTemplate), nameof(IdempotencyOptions.Window), nameof(IdempotencyOptions.KeyRequired),
        nameof(IdempotencyOptions.Wait), nameof(IdempotencyOptions.WaitTimeout), nameof(IdempotencyOptions.MaxKeyLength),
        nameof(IdempotencyOptions.MaxRequestBodyBytes), nameof(IdempotencyOptions.MaxResponseBodyBytes),
        nameof(IdempotencyOptions.MemoryStoreSizeLimit), nameof(IdempotencyOptions.RetryAfter), "Policies",
    ];

    private static readonly string[] s_idempotencyPolicy =
    [
        nameof(IdempotencyPolicy.KeyTemplate), nameof(IdempotencyPolicy.Scope), nameof(IdempotencyPolicy.Window),
        nameof(IdempotencyPolicy.KeyRequired), nameof(IdempotencyPolicy.Wait), nameof(IdempotencyPolicy.WaitTimeout),
        nameof(IdempotencyPolicy.MaxResponseBodyBytes),
    ];

    private static readonly string[] s_lock =
    [
        nameof(KeyedLockOptions.MaxConcurrencyPerKey), nameof(KeyedLockOptions.MaxQueueLengthPerKey),
        nameof(KeyedLockOptions.DetectReentrancy),
    ];

    private static readonly string[] s_keySourceKinds = ["header", "query", "route"];

    public static void Apply(IConfiguration section, KeyedSerializationOptions options)
    {
        var errors = new List<string>();
        var reader = Reader(section, errors);
        reader.RejectUnknown(s_topLevel);

        if (reader.TimeSpan(nameof(options.DefaultTimeout)) is { } timeout)
        {
            options.DefaultTimeout = timeout;
        }

        if (reader.Int32(nameof(options.DefaultQueueLimit)) is { } queueLimit)
        {
            options.DefaultQueueLimit = queueLimit;
        }

        if (reader.Int64(nameof(options.MaxBodyBytes)) is { } maxBody)
        {
            options.MaxBodyBytes = maxBody;
        }

        if (reader.Int32(nameof(options.RejectionStatusCode)) is { } rejection)
        {
            options.RejectionStatusCode = rejection;
        }

        if (reader.Int32(nameof(options.UnavailableStatusCode)) is { } unavailable)
        {
            options.UnavailableStatusCode = unavailable;
        }

        options.RetryAfter = reader.OptionalTimeSpan(nameof(options.RetryAfter), options.RetryAfter);

        if (reader.Enum<KeyedSerializationMissingKeyBehavior>(nameof(options.MissingKeyBehavior)) is { } missing)
        {
            options.MissingKeyBehavior = missing;
        }

        foreach (var (name, policy) in reader.Entries("Policies"))
        {
            policy.RejectUnknown(s_policy);
            var timeoutValue = policy.TimeSpan(nameof(KeyedSerializationPolicy.Timeout));
            var queueLimitValue = policy.Int32(nameof(KeyedSerializationPolicy.QueueLimit));
            var statusValue = policy.Int32(nameof(KeyedSerializationPolicy.RejectionStatusCode));
            var missingValue = policy.Enum<KeyedSerializationMissingKeyBehavior>(nameof(KeyedSerializationPolicy.MissingKeyBehavior));
            var scope = policy.String(nameof(KeyedSerializationPolicy.Scope));
            Add(errors, policy.Path, () => options.AddPolicy(name, p =>
            {
                p.Timeout = timeoutValue;
                p.QueueLimit = queueLimitValue;
                p.RejectionStatusCode = statusValue;
                p.MissingKeyBehavior = missingValue;
                p.Scope = scope;
            }));
        }

        foreach (var (name, source) in reader.Entries("KeySources"))
        {
            AddKeySource(options, name, source, errors);
        }

        Throw(errors, typeof(KeyedSerializationOptions));
    }

    public static void ApplyIdempotency(IConfiguration section, IdempotencyOptions options)
    {
        var errors = new List<string>();
        var reader = Reader(section, errors).Child("Idempotency");
        reader.RejectUnknown(s_idempotency);
        options.KeyTemplate = reader.String(nameof(options.KeyTemplate)) ?? options.KeyTemplate;
        options.Window = reader.TimeSpan(nameof(options.Window)) ?? options.Window;
        options.KeyRequired = reader.Boolean(nameof(options.KeyRequired)) ?? options.KeyRequired;
        options.Wait = reader.Boolean(nameof(options.Wait)) ?? options.Wait;
        options.WaitTimeout = reader.TimeSpan(nameof(options.WaitTimeout)) ?? options.WaitTimeout;
        options.MaxKeyLength = reader.Int32(nameof(options.MaxKeyLength)) ?? options.MaxKeyLength;
        options.MaxRequestBodyBytes = reader.Int64(nameof(options.MaxRequestBodyBytes)) ?? options.MaxRequestBodyBytes;
        options.MaxResponseBodyBytes = reader.Int64(nameof(options.MaxResponseBodyBytes)) ?? options.MaxResponseBodyBytes;
        options.MemoryStoreSizeLimit = reader.Int64(nameof(options.MemoryStoreSizeLimit)) ?? options.MemoryStoreSizeLimit;
        options.RetryAfter = reader.OptionalTimeSpan(nameof(options.RetryAfter), options.RetryAfter);

        foreach (var (name, policy) in reader.Entries("Policies"))
        {
            policy.RejectUnknown(s_idempotencyPolicy);
            var keyTemplate = policy.String(nameof(IdempotencyPolicy.KeyTemplate));
            var scope = policy.String(nameof(IdempotencyPolicy.Scope));
            var window = policy.TimeSpan(nameof(IdempotencyPolicy.Window));
            var keyRequired = policy.Boolean(nameof(IdempotencyPolicy.KeyRequired));
            var wait = policy.Boolean(nameof(IdempotencyPolicy.Wait));
            var waitTimeout = policy.TimeSpan(nameof(IdempotencyPolicy.WaitTimeout));
            var maxResponse = policy.Int64(nameof(IdempotencyPolicy.MaxResponseBodyBytes));
            Add(errors, policy.Path, () => options.AddPolicy(name, p =>
            {
                p.KeyTemplate = keyTemplate;
                p.Scope = scope;
                p.Window = window;
                p.KeyRequired = keyRequired;
                p.Wait = wait;
                p.WaitTimeout = waitTimeout;
                p.MaxResponseBodyBytes = maxResponse;
            }));
        }

        Throw(errors, typeof(IdempotencyOptions));
    }

    public static void ApplyLock(IConfiguration section, KeyedLockOptions options)
    {
        var errors = new List<string>();
        var reader = Reader(section, errors).Child("Lock");
        reader.RejectUnknown(s_lock);
        options.MaxConcurrencyPerKey = reader.Int32(nameof(options.MaxConcurrencyPerKey)) ?? options.MaxConcurrencyPerKey;
        options.MaxQueueLengthPerKey = reader.Int32(nameof(options.MaxQueueLengthPerKey)) ?? options.MaxQueueLengthPerKey;
        options.DetectReentrancy = reader.Boolean(nameof(options.DetectReentrancy)) ?? options.DetectReentrancy;
        Throw(errors, typeof(KeyedLockOptions));
    }

    private static KeyedSerializationConfigurationReader Reader(IConfiguration section, List<string> errors) =>
        new(section, section is IConfigurationSection s ? s.Path : "(configuration root)", errors);

    /// <summary>
    /// A named key source from configuration is an alias for one request value: <c>"tenant": "header:X-Tenant-Id"</c>
    /// lets endpoints say <c>[SerializeBy("tenant")]</c> while operations decide where the tenant comes from.
    /// A value that is absent or given more than once resolves to no value, which the endpoint's missing-key
    /// behaviour handles (400 by default): an ambiguous value is never picked.
    /// </summary>
    private static void AddKeySource(KeyedSerializationOptions options, string name, KeyedSerializationConfigurationReader source, List<string> errors)
    {
        var value = source.Value?.Trim();
        var colon = value?.IndexOf(':', StringComparison.Ordinal) ?? -1;
        if (value is null || colon <= 0 || colon == value.Length - 1)
        {
            errors.Add($"{source.Path} is '{value}': expected 'header:NAME', 'query:NAME' or 'route:NAME'.");
            return;
        }

        var kind = value[..colon].ToLowerInvariant();
        var key = value[(colon + 1)..];
        Func<HttpContext, string?>? read = kind switch
        {
            "header" => context => Single(context.Request.Headers.TryGetValue(key, out var v) ? v : default),
            "query" => context => Single(context.Request.Query.TryGetValue(key, out var v) ? v : default),
            "route" => context => context.Request.RouteValues.TryGetValue(key, out var v)
                ? v as string ?? Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)
                : null,
            _ => null,
        };
        if (read is null)
        {
            errors.Add($"{source.Path} is '{value}': a configured key source reads one of {string.Join(", ", s_keySourceKinds)} (claims and body values go into the key template itself).");
            return;
        }

        Add(errors, source.Path, () => options.AddKeySource(name, read));
    }

    private static string? Single(Microsoft.Extensions.Primitives.StringValues values) => values.Count == 1 ? values[0] : null;

    private static void Add(List<string> errors, string path, Action add)
    {
        try
        {
            add();
        }
        catch (ArgumentException ex)
        {
            errors.Add($"{path}: {ex.Message}");
        }
    }

    private static void Throw(List<string> errors, Type optionsType)
    {
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, optionsType, errors);
        }
    }
}
