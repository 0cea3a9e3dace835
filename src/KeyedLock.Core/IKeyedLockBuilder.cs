namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Returned by <c>AddKeyedLock</c> and <c>AddKeyedSerialization</c>; providers add <c>UseX()</c> extensions to it.</summary>
public interface IKeyedLockBuilder
{
    /// <summary>The application's services.</summary>
    IServiceCollection Services { get; }
}
