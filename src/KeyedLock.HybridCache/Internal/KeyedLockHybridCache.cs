using System.Runtime.CompilerServices;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace KeyedLock.Caching.Internal;

/// <summary>
/// The app's <see cref="HybridCache"/>, with cold loads coordinated across instances through the key's lock.
/// </summary>
/// <remarks>
/// <para>
/// HybridCache already shares one load per key inside this instance (its stampede protection): only that one load
/// reaches the factory below. The factory takes the key's lock, reads the distributed cache again (bypassing the
/// local one), and on a miss loads and writes the distributed cache before the lock is released. The outer call then
/// writes only the local cache, so the distributed cache is written once per load.
/// </para>
/// <para>
/// The re-check and the write go through the inner HybridCache with other flags than any outer call (the re-check
/// always has DisableCompression, an outer call never); HybridCache keys its in-flight loads by key and flags, so
/// they never join an outer load, their own or another caller's.
/// </para>
/// </remarks>
internal sealed class KeyedLockHybridCache : HybridCache, IDisposable
{
    // Calls that do not read the distributed cache, or never load, have nothing to coordinate. A call that only
    // disables the distributed write is protected like any other (its write under the lock then writes nothing): passed
    // through, its flags would be exactly an outer call's, and HybridCache would join it to that call's in-flight load.
    private const HybridCacheEntryFlags PassThrough = HybridCacheEntryFlags.DisableDistributedCacheRead | HybridCacheEntryFlags.DisableUnderlyingData;
    private const HybridCacheEntryFlags RecheckFlags = HybridCacheEntryFlags.DisableLocalCache | HybridCacheEntryFlags.DisableDistributedCacheWrite | HybridCacheEntryFlags.DisableCompression;

    // HybridCache keys its in-flight loads by key and flags. A caller's flags may already disable the local cache, so
    // DisableLocalCache alone does not tell the re-check from the outer call: the compression flag does. It changes
    // nothing on either call (compression only shapes a distributed cache write, and neither writes it), so the outer
    // call never carries it and the re-check always does.
    private const HybridCacheEntryFlags OuterFlagsCleared = HybridCacheEntryFlags.DisableCompression;

    private readonly HybridCache _inner;
    private readonly bool _ownsInner;
    private readonly IKeyedLockProvider _locks;
    private readonly string _lockKeyPrefix;
    private readonly TimeSpan _lockTimeout;
    private readonly HybridCacheEntryFlags _defaultFlags;
    private readonly Entry _defaults;
    private readonly ConditionalWeakTable<HybridCacheEntryOptions, Entry> _entries = new();
    private readonly ConditionalWeakTable<HybridCacheEntryOptions, Entry>.CreateValueCallback _createEntry;
    private readonly ILogger _logger;

    // One load per key at a time in this instance, whatever the provider allows: with a keyed semaphore
    // (MaxConcurrencyPerKey > 1) two loads of a key could hold its lock at once, both miss and both load, and their
    // re-checks could carry the same flags, which HybridCache would join (the second would then see no miss of its own).
    // It publishes no instruments: the provider's lock counts the load's acquisition, once.
    private readonly KeyedLockRegistry _local = new(null, null, meterFactory: null, publishMetrics: false);

    internal KeyedLockHybridCache(HybridCache inner, bool ownsInner, IKeyedLockProvider locks, KeyedLockStampedeProtectionOptions options, HybridCacheEntryFlags defaultFlags, ILogger? logger)
    {
        _inner = inner;
        _ownsInner = ownsInner;
        _locks = locks;
        _lockKeyPrefix = options.LockKeyPrefix;
        _lockTimeout = options.LockTimeout;
        _defaultFlags = defaultFlags;
        _defaults = new Entry(null, defaultFlags);
        _createEntry = o => new Entry(o, o.Flags ?? _defaultFlags);
        _logger = logger ?? NullLogger.Instance;
    }

    internal static KeyedLockHybridCache Create(IServiceProvider services, ServiceDescriptor inner)
    {
        var cache = inner.ImplementationInstance as HybridCache
            ?? inner.ImplementationFactory?.Invoke(services) as HybridCache
            ?? (inner.ImplementationType is { } type ? ActivatorUtilities.CreateInstance(services, type) as HybridCache : null)
            ?? throw new InvalidOperationException("The registered HybridCache service could not be created.");
        return new KeyedLockHybridCache(
            cache,
            ownsInner: inner.ImplementationInstance is null,
            services.GetService<IKeyedLockProvider>() ?? throw new InvalidOperationException("KeyedLock stampede protection needs the app's IKeyedLockProvider: call AddKeyedLock() (or AddKeyedSerialization()) and register a distributed provider, for example UsePostgres(...)."),
            services.GetRequiredService<IOptions<KeyedLockStampedeProtectionOptions>>().Value,
            services.GetRequiredService<IOptions<HybridCacheOptions>>().Value.DefaultEntryOptions?.Flags ?? HybridCacheEntryFlags.None,
            services.GetService<ILoggerFactory>()?.CreateLogger("KeyedLock.HybridCache"));
    }

    public override ValueTask<T> GetOrCreateAsync<TState, T>(string key, TState state, Func<TState, CancellationToken, ValueTask<T>> factory, HybridCacheEntryOptions? options = null, IEnumerable<string>? tags = null, CancellationToken cancellationToken = default)
    {
        var entry = options is null ? _defaults : _entries.GetValue(options, _createEntry);
        if ((entry.Flags & PassThrough) != 0)
        {
            return _inner.GetOrCreateAsync(key, state, factory, options, tags, cancellationToken);
        }

        return _inner.GetOrCreateAsync(
            key,
            new Load<TState, T>(this, key, state, factory, entry, tags),
            static (load, ct) => load.Cache.LoadUnderLockAsync(load, ct),
            entry.Outer,
            tags,
            cancellationToken);
    }

    /// <summary>Whether the in-process registry has a meter of its own (for tests: it must not).</summary>
    internal bool LocalRegistryHasMeter => _local.Metrics.Meter is not null;

    /// <summary>Loads of <paramref name="key"/> waiting for this instance's load of it (for tests).</summary>
    internal int LocalQueueLength(string key) => _local.QueueLength(key);

    public override ValueTask SetAsync<T>(string key, T value, HybridCacheEntryOptions? options = null, IEnumerable<string>? tags = null, CancellationToken cancellationToken = default)
        => _inner.SetAsync(key, value, options, tags, cancellationToken);

    public override ValueTask RemoveAsync(string key, CancellationToken cancellationToken = default)
        => _inner.RemoveAsync(key, cancellationToken);

    public override ValueTask RemoveAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default)
        => _inner.RemoveAsync(keys, cancellationToken);

    public override ValueTask RemoveByTagAsync(string tag, CancellationToken cancellationToken = default)
        => _inner.RemoveByTagAsync(tag, cancellationToken);

    public override ValueTask RemoveByTagAsync(IEnumerable<string> tags, CancellationToken cancellationToken = default)
        => _inner.RemoveByTagAsync(tags, cancellationToken);

    public void Dispose()
    {
        _local.Dispose();
        if (_ownsInner && _inner is IDisposable disposable)
        {
            disposable.Dispose();
        }
    }

    /// <summary>The one load of this instance for a key missing from both cache levels.</summary>
    private async ValueTask<T> LoadUnderLockAsync<TState, T>(Load<TState, T> load, CancellationToken cancellationToken)
    {
        using var local = await _local.AcquireAsync(load.Key, _lockTimeout, cancellationToken).ConfigureAwait(false);
        var lease = await _locks.AcquireAsync(_lockKeyPrefix + load.Key, _lockTimeout, cancellationToken).ConfigureAwait(false);
        try
        {
            // Another instance may have loaded the key while this one waited for the lock.
            var missed = new StrongBox<bool>();
            var found = await _inner.GetOrCreateAsync(load.Key, missed, static (m, _) =>
            {
                m.Value = true;
                return default(ValueTask<T>);
            }, load.Entry.Recheck, load.Tags, cancellationToken).ConfigureAwait(false);
            if (!missed.Value)
            {
                StampedeProtectionLog.LoadedElsewhere(_logger, load.Key);
                return found;
            }

            var value = await load.Factory(load.State, cancellationToken).ConfigureAwait(false);

            // Written before the lock is released, so the instance granted next finds it.
            await _inner.SetAsync(load.Key, value, load.Entry.Write, load.Tags, cancellationToken).ConfigureAwait(false);
            StampedeProtectionLog.LoadedUnderLock(_logger, load.Key);
            return value;
        }
        finally
        {
            await lease.DisposeAsync().ConfigureAwait(false);
        }
    }

    private readonly record struct Load<TState, T>(KeyedLockHybridCache Cache, string Key, TState State, Func<TState, CancellationToken, ValueTask<T>> Factory, Entry Entry, IEnumerable<string>? Tags);

    /// <summary>The options of one caller's entry options, as the three inner calls need them (built once per options object).</summary>
    private sealed class Entry(HybridCacheEntryOptions? options, HybridCacheEntryFlags flags)
    {
        public HybridCacheEntryFlags Flags { get; } = flags;

        /// <summary>The outer call: local cache only; the distributed cache is written under the lock.</summary>
        public HybridCacheEntryOptions Outer { get; } = With(options, (flags | HybridCacheEntryFlags.DisableDistributedCacheWrite) & ~OuterFlagsCleared);

        /// <summary>The re-check: the distributed cache only, read only; never the flags of an outer call.</summary>
        public HybridCacheEntryOptions Recheck { get; } = With(options, flags | RecheckFlags);

        /// <summary>The write under the lock: the distributed cache only.</summary>
        public HybridCacheEntryOptions Write { get; } = With(options, flags | HybridCacheEntryFlags.DisableLocalCache);

        private static HybridCacheEntryOptions With(HybridCacheEntryOptions? options, HybridCacheEntryFlags flags) => new()
        {
            Expiration = options?.Expiration,
            LocalCacheExpiration = options?.LocalCacheExpiration,
            Flags = flags,
        };
    }
}
