namespace KeyedLock;

/// <summary>
/// A granted key. Dispose it (synchronously or asynchronously) to release the key. Releasing twice, or disposing
/// <c>default(KeyedLockLease)</c>, does nothing.
/// </summary>
/// <remarks>
/// The lease is a struct so that the uncontended path allocates nothing. Copies of a lease refer to the same grant:
/// the first release wins, later ones are ignored.
/// </remarks>
public readonly struct KeyedLockLease : IDisposable, IAsyncDisposable, IEquatable<KeyedLockLease>
{
    private readonly KeyedLockLeaseOwner? _owner;
    private readonly string? _key;
    private readonly long _id;

    /// <summary>Creates a lease. Used by lock providers.</summary>
    /// <param name="owner">The object that releases the grant.</param>
    /// <param name="key">The granted key (for a multi-key lease, a display form of all keys).</param>
    /// <param name="id">The grant's id, unique per owner for the owner's lifetime.</param>
    public KeyedLockLease(KeyedLockLeaseOwner owner, string key, long id)
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(key);
        _owner = owner;
        _key = key;
        _id = id;
    }

    /// <summary>Creates a lease without argument checks, for the registry's own grants.</summary>
    internal KeyedLockLease(KeyedLockLeaseOwner owner, string key, long id, bool trusted)
    {
        _ = trusted;
        _owner = owner;
        _key = key;
        _id = id;
    }

    /// <summary>The granted key, or an empty string for <c>default</c>.</summary>
    public string Key => _key ?? string.Empty;

    /// <summary>
    /// A number that strictly increases with every grant of the provider, so that storage can reject writes from
    /// a holder that has since lost its lease. 0 for <c>default</c>.
    /// </summary>
    public long FencingToken => _owner?.GetFencingToken(_key!, _id) ?? 0;

    /// <summary>
    /// Fires if the provider loses the lock while the lease is held (for example a distributed provider's
    /// connection dies). Never fires for the in-process <see cref="KeyedLockRegistry"/>.
    /// </summary>
    public CancellationToken LostToken => _owner?.GetLostToken(_key!, _id) ?? CancellationToken.None;

    /// <summary>Whether the lease is still held: not released and not lost.</summary>
    public bool IsHeld => _owner is not null && _owner.IsHeld(_key!, _id);

    internal KeyedLockLeaseOwner? Owner => _owner;

    internal long Id => _id;

    /// <summary>Releases the key. Does nothing when already released.</summary>
    public void Dispose() => _owner?.Release(_key!, _id);

    /// <summary>Releases the key. Does nothing when already released.</summary>
    /// <returns>A task that completes when the key is released.</returns>
    public ValueTask DisposeAsync() => _owner?.ReleaseAsync(_key!, _id) ?? default;

    internal int AbortWaiters(Exception reason) => _owner?.AbortWaiters(_key!, _id, reason) ?? 0;

    /// <inheritdoc />
    public bool Equals(KeyedLockLease other) => ReferenceEquals(_owner, other._owner) && _id == other._id && string.Equals(_key, other._key, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is KeyedLockLease other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(_owner, _id);

    /// <summary>Compares two leases.</summary>
    /// <param name="left">The first lease.</param>
    /// <param name="right">The second lease.</param>
    /// <returns>Whether both refer to the same grant.</returns>
    public static bool operator ==(KeyedLockLease left, KeyedLockLease right) => left.Equals(right);

    /// <summary>Compares two leases.</summary>
    /// <param name="left">The first lease.</param>
    /// <param name="right">The second lease.</param>
    /// <returns>Whether they refer to different grants.</returns>
    public static bool operator !=(KeyedLockLease left, KeyedLockLease right) => !left.Equals(right);

    /// <inheritdoc />
    public override string ToString() => _owner is null ? "KeyedLockLease(none)" : $"KeyedLockLease({_key}, #{_id})";
}
