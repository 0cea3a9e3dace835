namespace KeyedLock.AspNetCore.Internal;

/// <summary>Set on a request once idempotency handled it, so that the middleware and the endpoint wrapper of <c>.Idempotent()</c> never both do.</summary>
internal sealed class IdempotencyHandledFeature
{
    internal static readonly IdempotencyHandledFeature Instance = new();
}
