using Microsoft.Extensions.Options;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>Validates <see cref="IdempotencyOptions"/> at startup.</summary>
internal sealed class IdempotencyOptionsValidator : IValidateOptions<IdempotencyOptions>
{
    public ValidateOptionsResult Validate(string? name, IdempotencyOptions options)
    {
        var errors = new List<string>();
        CheckTemplate(errors, nameof(options.KeyTemplate), options.KeyTemplate);
        CheckWindow(errors, nameof(options.Window), options.Window);
        CheckTimeout(errors, nameof(options.WaitTimeout), options.WaitTimeout);
        CheckSize(errors, nameof(options.MaxResponseBodyBytes), options.MaxResponseBodyBytes);
        if (options.MaxRequestBodyBytes is < 0 or > int.MaxValue - 1)
        {
            errors.Add($"{nameof(options.MaxRequestBodyBytes)} must be between 0 and {int.MaxValue - 1} (was {options.MaxRequestBodyBytes}).");
        }

        if (options.MaxKeyLength < 1)
        {
            errors.Add($"{nameof(options.MaxKeyLength)} must be at least 1 (was {options.MaxKeyLength}).");
        }

        if (options.MemoryStoreSizeLimit < 1)
        {
            errors.Add($"{nameof(options.MemoryStoreSizeLimit)} must be at least 1 (was {options.MemoryStoreSizeLimit}).");
        }

        if (options.ShouldStore is null)
        {
            errors.Add($"{nameof(options.ShouldStore)} must not be null.");
        }

        if (options.RetryAfter < TimeSpan.Zero)
        {
            errors.Add($"{nameof(options.RetryAfter)} must not be negative (was {options.RetryAfter}).");
        }

        CheckStatus(errors, nameof(options.KeyReusedStatusCode), options.KeyReusedStatusCode);
        CheckStatus(errors, nameof(options.InProgressStatusCode), options.InProgressStatusCode);
        CheckStatus(errors, nameof(options.UnavailableStatusCode), options.UnavailableStatusCode);
        foreach (var (policyName, policy) in options.Policies)
        {
            var prefix = $"Idempotency policy '{policyName}'";
            if (policy.KeyTemplate is { } template)
            {
                CheckTemplate(errors, $"{prefix} {nameof(policy.KeyTemplate)}", template);
            }

            if (policy.Window is { } window)
            {
                CheckWindow(errors, $"{prefix} {nameof(policy.Window)}", window);
            }

            if (policy.WaitTimeout is { } timeout)
            {
                CheckTimeout(errors, $"{prefix} {nameof(policy.WaitTimeout)}", timeout);
            }

            if (policy.MaxResponseBodyBytes is { } size)
            {
                CheckSize(errors, $"{prefix} {nameof(policy.MaxResponseBodyBytes)}", size);
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void CheckTemplate(List<string> errors, string what, string? template)
    {
        try
        {
            KeyTemplate.Parse(template!);
        }
        catch (ArgumentException ex)
        {
            errors.Add($"{what}: {ex.Message}");
        }
    }

    private static void CheckStatus(List<string> errors, string what, int status)
    {
        if (status is < 400 or > 599)
        {
            errors.Add($"{what} must be a 4xx or 5xx status code (was {status}).");
        }
    }

    private static void CheckWindow(List<string> errors, string what, TimeSpan window)
    {
        if (window <= TimeSpan.Zero)
        {
            errors.Add($"{what} must be positive (was {window}).");
        }
    }

    private static void CheckTimeout(List<string> errors, string what, TimeSpan timeout)
    {
        if (timeout < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
        {
            errors.Add($"{what} must be zero or more, or Timeout.InfiniteTimeSpan (was {timeout}).");
        }
    }

    private static void CheckSize(List<string> errors, string what, long size)
    {
        if (size is < 0 or > int.MaxValue - 1)
        {
            errors.Add($"{what} must be between 0 and {int.MaxValue - 1} (was {size}).");
        }
    }
}
