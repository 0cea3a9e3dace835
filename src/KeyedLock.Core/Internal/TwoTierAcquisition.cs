namespace KeyedLock.Internal;

/// <summary>A distributed provider's lease owner, as <see cref="TwoTierAcquisition{TLease}"/> hands it to the caller.</summary>
internal interface IDistributedLeaseOwner
{
    /// <summary>The caller's lease for this grant.</summary>
    KeyedLockLease ToLease();
}

/// <summary>The outcome of one acquisition of a distributed provider: a lease, or why there is none.</summary>
internal readonly record struct DistributedGrant<TLease>(TLease? Lease, KeyedLockFailureReason Reason, string Key, TimeSpan Timeout, int QueueLimit)
    where TLease : class, IDistributedLeaseOwner
{
    internal static readonly Func<DistributedGrant<TLease>, KeyedLockLease> ToLease = static grant => grant.Reason switch
    {
        KeyedLockFailureReason.None => grant.Lease!.ToLease(),
        KeyedLockFailureReason.QueueFull => throw new KeyedLockQueueFullException(grant.Key, grant.QueueLimit),
        _ => throw new KeyedLockTimeoutException(grant.Key, grant.Timeout),
    };

    internal static readonly Func<DistributedGrant<TLease>, KeyedLockAttempt> ToAttempt = static grant => grant.Reason == KeyedLockFailureReason.None
        ? KeyedLockAttempt.Success(grant.Lease!.ToLease())
        : KeyedLockAttempt.Failure(grant.Reason);
}

/// <summary>
/// The single-key acquisition that the distributed providers share around their own server tier: argument checks,
/// re-entrancy detection, the in-process first tier (one server waiter per key and app instance: requests queue per
/// key in a <see cref="KeyedLockRegistry"/>, and only the head of that queue waits on the server), the provider's
/// disposal as cancellation, one cancellation type (<see cref="TaskCanceledException"/> with the caller's token),
/// and the completion in the caller's flow (<see cref="CallerFlow"/>).
/// </summary>
/// <typeparam name="TLease">The provider's lease owner.</typeparam>
internal sealed class TwoTierAcquisition<TLease>
    where TLease : class, IDistributedLeaseOwner
{
    /// <summary>The server tier: waits for the key on the server. Null when the timeout elapsed.</summary>
    /// <param name="key">The key.</param>
    /// <param name="timeout">The caller's timeout, counted from <paramref name="started"/>.</param>
    /// <param name="started">When the acquisition started (a timestamp of the provider's clock).</param>
    /// <param name="token">The caller's token linked with the provider's disposal.</param>
    internal delegate Task<TLease?> ServerTier(string key, TimeSpan timeout, long started, CancellationToken token);

    private readonly object _provider;
    private readonly Func<bool> _isDisposed;
    private readonly CancellationToken _disposing;
    private readonly ServerTier _server;
    private readonly bool _detectReentrancy;
    private readonly int _queueLimit;
    private readonly TimeProvider _time;
    private readonly RegistryMetrics _metrics;
    private readonly KeyedLockRegistry _local;
    private readonly InFlightWork _inFlight;
    private readonly Func<DistributedGrant<TLease>, KeyedLockLease> _toLeaseInCallerFlow;
    private readonly Func<DistributedGrant<TLease>, KeyedLockAttempt> _toAttemptInCallerFlow;

    /// <summary>Creates the acquisition of one provider.</summary>
    /// <param name="provider">The provider: the scope of re-entrancy detection and the object a disposal names.</param>
    /// <param name="isDisposed">Whether the provider is disposed (acquisitions then throw <see cref="ObjectDisposedException"/>).</param>
    /// <param name="disposing">Cancelled when the provider is disposed: waiting acquisitions then throw <see cref="ObjectDisposedException"/>.</param>
    /// <param name="server">The provider's server tier.</param>
    /// <param name="detectReentrancy">Whether a flow that already holds the key is refused (the opt-in diagnostic).</param>
    /// <param name="queueLimit">How many requests may queue per key in this instance.</param>
    /// <param name="time">The provider's clock.</param>
    /// <param name="metrics">The provider's instruments: acquisitions by result and wait durations are recorded there.</param>
    internal TwoTierAcquisition(object provider, Func<bool> isDisposed, CancellationToken disposing, ServerTier server, bool detectReentrancy, int queueLimit, TimeProvider time, RegistryMetrics metrics)
    {
        _provider = provider;
        _isDisposed = isDisposed;
        _disposing = disposing;
        _server = server;
        _detectReentrancy = detectReentrancy;
        _queueLimit = queueLimit;
        _time = time;
        _metrics = metrics;
        _inFlight = new InFlightWork(disposing);
        // The first tier publishes no instruments: the provider's own count each acquisition once, with its real result.
        _local = new KeyedLockRegistry(
            new KeyedLockOptions { MaxConcurrencyPerKey = 1, MaxQueueLengthPerKey = queueLimit, DetectReentrancy = false },
            time,
            meterFactory: null,
            publishMetrics: false);
        _toLeaseInCallerFlow = grant => DistributedGrant<TLease>.ToLease(TrackInCallerFlow(grant));
        _toAttemptInCallerFlow = grant => DistributedGrant<TLease>.ToAttempt(TrackInCallerFlow(grant));
    }

    /// <summary>The first tier (for tests).</summary>
    internal KeyedLockRegistry FirstTier => _local;

    /// <summary>Keys with a request waiting in this instance right now (the first tier's keys).</summary>
    internal int WaitingKeys => _local.Count;

    /// <summary>See <see cref="IKeyedLockProvider.AcquireAsync(string, TimeSpan, CancellationToken)"/>.</summary>
    internal ValueTask<KeyedLockLease> AcquireAsync(string key, TimeSpan timeout, CancellationToken cancellationToken)
        => CallerFlow.Complete(new ValueTask<DistributedGrant<TLease>>(Start(key, timeout, cancellationToken)), _toLeaseInCallerFlow);

    /// <summary>See <see cref="IKeyedLockProvider.TryAcquireAsync(string, TimeSpan, CancellationToken)"/>.</summary>
    internal ValueTask<KeyedLockAttempt> TryAcquireAsync(string key, TimeSpan timeout, CancellationToken cancellationToken)
        => CallerFlow.Complete(new ValueTask<DistributedGrant<TLease>>(Start(key, timeout, cancellationToken)), _toAttemptInCallerFlow);

    /// <summary>
    /// The provider's work on its way to the server or waiting there: server-tier acquisitions are counted here, and
    /// the provider counts what undoes them and its other commands; its disposal drains it.
    /// </summary>
    internal InFlightWork InFlight => _inFlight;

    /// <summary>Disposes the first tier's registry.</summary>
    internal void Dispose() => _local.Dispose();

    private Task<DistributedGrant<TLease>> Start(string key, TimeSpan timeout, CancellationToken cancellationToken)
    {
        Arguments.ValidateKey(key);
        Arguments.ValidateTimeout(timeout);
        ObjectDisposedException.ThrowIf(_isDisposed(), _provider);
        if (cancellationToken.IsCancellationRequested)
        {
            _metrics.Acquisition(RegistryMetrics.Canceled);
            return Task.FromCanceled<DistributedGrant<TLease>>(cancellationToken);
        }

        if (_detectReentrancy && HeldLeases.IsHeldByCurrentFlow(_provider, key))
        {
            throw new KeyedLockRecursionException(key);
        }

        return AcquireCoreAsync(key, timeout, cancellationToken);
    }

    /// <summary>
    /// Records a granted lease for re-entrancy detection, where the caller reads the result (see
    /// <see cref="CallerFlow"/>): the acquisition itself is an async method, whose writes would not reach the caller.
    /// </summary>
    private DistributedGrant<TLease> TrackInCallerFlow(DistributedGrant<TLease> grant)
    {
        if (_detectReentrancy && grant.Lease is { } lease)
        {
            HeldLeases.Push(_provider, lease.ToLease());
        }

        return grant;
    }

    private async Task<DistributedGrant<TLease>> AcquireCoreAsync(string key, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        using var linked = cancellationToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposing) : null;
        var token = linked?.Token ?? _disposing;
        var result = RegistryMetrics.TimedOut;
        try
        {
            var local = await _local.TryAcquireAsync(key, timeout, token).ConfigureAwait(false);
            if (!local.Succeeded)
            {
                result = local.FailureReason == KeyedLockFailureReason.QueueFull ? RegistryMetrics.QueueFull : RegistryMetrics.TimedOut;
                return new DistributedGrant<TLease>(null, local.FailureReason, key, timeout, _queueLimit);
            }

            TLease? lease;
            try
            {
                if (!_inFlight.TryEnter())
                {
                    throw new OperationCanceledException(_disposing); // the disposal has begun: nothing more is sent
                }

                try
                {
                    lease = await _server(key, timeout, started, token).ConfigureAwait(false);
                    if (lease is not null && _disposing.IsCancellationRequested)
                    {
                        // Granted while the provider is being disposed: released at once, never handed out.
                        await lease.ToLease().DisposeAsync().ConfigureAwait(false);
                        throw new OperationCanceledException(_disposing);
                    }
                }
                finally
                {
                    _inFlight.Exit();
                }
            }
            finally
            {
                // Granted, timed out or failed: this request no longer waits, so the next local waiter may queue on
                // the server (behind the other instances). Mutual exclusion is the server tier's job.
                await local.Lease.DisposeAsync().ConfigureAwait(false);
            }

            if (lease is null)
            {
                return new DistributedGrant<TLease>(null, KeyedLockFailureReason.TimedOut, key, timeout, _queueLimit);
            }

            result = RegistryMetrics.Acquired;
            return new DistributedGrant<TLease>(lease, KeyedLockFailureReason.None, key, timeout, _queueLimit);
        }
        catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested)
        {
            result = RegistryMetrics.Canceled;
            throw new TaskCanceledException(ex.Message, ex, cancellationToken);
        }
        catch (OperationCanceledException) when (_disposing.IsCancellationRequested)
        {
            result = RegistryMetrics.Canceled;
            var name = _provider.GetType().Name;
            throw new ObjectDisposedException(name, $"The {name} was disposed while this acquisition waited.");
        }
        catch (KeyedLockUnavailableException)
        {
            result = RegistryMetrics.Unavailable;
            throw;
        }
        finally
        {
            _metrics.Acquisition(result);
            _metrics.WaitEnded(result, started, _time);
        }
    }
}
