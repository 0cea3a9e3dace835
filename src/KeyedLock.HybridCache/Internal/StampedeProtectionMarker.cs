namespace KeyedLock.Caching.Internal;

/// <summary>Registered once the app's HybridCache is decorated, so that a second call does not wrap it twice.</summary>
internal sealed class StampedeProtectionMarker;
