using Microsoft.Extensions.Options;

namespace KeyedLock.AspNetCore.Internal;

/// <summary>Validates <see cref="KeyedSerializationOptions"/> at startup.</summary>
internal sealed class KeyedSerializationOptionsValidator : IValidateOptions<KeyedSerializationOptions>
{
    public ValidateOptionsResult Validate(string? name, KeyedSerializationOptions options)
    {
        var errors = new List<string>();
        CheckTimeout(errors, nameof(options.DefaultTimeout), options.DefaultTimeout);
        CheckQueueLimit(errors, nameof(options.DefaultQueueLimit), options.DefaultQueueLimit);
        if (options.MaxBodyBytes is < 1 or > int.MaxValue - 1)
        {
            errors.Add($"{nameof(options.MaxBodyBytes)} must be between 1 and {int.MaxValue - 1} (was {options.MaxBodyBytes}).");
        }

        CheckStatus(errors, nameof(options.RejectionStatusCode), options.RejectionStatusCode);
        CheckStatus(errors, nameof(options.UnavailableStatusCode), options.UnavailableStatusCode);
        if (options.RetryAfter < TimeSpan.Zero)
        {
            errors.Add($"{nameof(options.RetryAfter)} must not be negative (was {options.RetryAfter}).");
        }

        foreach (var (policyName, policy) in options.Policies)
        {
            if (policy.Timeout is { } timeout)
            {
                CheckTimeout(errors, $"Policy '{policyName}' {nameof(policy.Timeout)}", timeout);
            }

            CheckQueueLimit(errors, $"Policy '{policyName}' {nameof(policy.QueueLimit)}", policy.QueueLimit);
            if (policy.RejectionStatusCode is { } status)
            {
                CheckStatus(errors, $"Policy '{policyName}' {nameof(policy.RejectionStatusCode)}", status);
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void CheckTimeout(List<string> errors, string what, TimeSpan timeout)
    {
        if (timeout < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
        {
            errors.Add($"{what} must be zero or more, or Timeout.InfiniteTimeSpan (was {timeout}).");
        }
    }

    private static void CheckQueueLimit(List<string> errors, string what, int? limit)
    {
        if (limit < 0)
        {
            errors.Add($"{what} must be zero or more (was {limit}).");
        }
    }

    private static void CheckStatus(List<string> errors, string what, int status)
    {
        if (status is < 400 or > 599)
        {
            errors.Add($"{what} must be a 4xx or 5xx status code (was {status}).");
        }
    }
}
