using System.Security.Cryptography;
using System.Text;
using KeyedLock.Internal;
using KeyedLock.Idempotency;
using KeyedLock.Postgres.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;

namespace KeyedLock.Postgres;

/// <summary>
/// An <see cref="IIdempotencyStore"/> in a PostgreSQL table, so that every app instance on the database replays the
/// responses of the others. Pair it with the PostgreSQL lock provider, which serializes requests with the
/// same idempotency key across the instances (<c>UsePostgres(...)</c>).
/// </summary>
/// <remarks>
/// <para>
/// The table (<c>key text, value bytea, expires_at timestamptz</c>) is created on first use; the values are opaque
/// bytes encoded by the caller. A value is claimed with <c>INSERT ... ON CONFLICT (key) DO UPDATE ... WHERE
/// expires_at &lt;= now</c>: the first writer wins, an expired value is replaced, a live one never is.
/// </para>
/// <para>
/// Expired values are never returned; they are deleted in batches by the first write after each
/// <see cref="PostgresIdempotencyStoreOptions.CleanupInterval"/>, or by <see cref="RemoveExpiredAsync"/>.
/// Time is the caller's (the app's <see cref="TimeProvider"/>), not the database server's.
/// </para>
/// </remarks>
public sealed class PostgresIdempotencyStore : IIdempotencyStore, IAsyncDisposable, IDisposable
{
    /// <summary>
    /// The longest key in UTF-8 bytes stored as itself: PostgreSQL cannot index a key much longer (about 2.7 KB once
    /// compressed), so a longer one is stored under its hash (<see cref="StoredKey"/>), by the lookup and the write
    /// alike.
    /// </summary>
    internal const int MaxKeyBytes = 2048;

    /// <summary>The start of a stored key that stands for a key hashed by <see cref="StoredKey"/>.</summary>
    internal const string HashedKeyPrefix = "#sha256:";


    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly PostgresIdempotencyStoreOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _create = new(1, 1);
    private readonly string _select;
    private readonly string _insert;
    private readonly string _delete;
    private volatile bool _tableReady;
    private long _nextCleanupTicks;

    /// <summary>Creates a store on <paramref name="dataSource"/> (which the caller keeps owning and disposing).</summary>
    /// <param name="dataSource">The data source.</param>
    /// <param name="options">The options (validated and copied); defaults when null.</param>
    /// <param name="logger">Logs failed cleanups; nothing when null.</param>
    public PostgresIdempotencyStore(NpgsqlDataSource dataSource, PostgresIdempotencyStoreOptions? options = null, ILogger<PostgresIdempotencyStore>? logger = null)
        : this(dataSource, ownsDataSource: false, options, logger)
    {
    }

    internal PostgresIdempotencyStore(NpgsqlDataSource dataSource, bool ownsDataSource, PostgresIdempotencyStoreOptions? options, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        _options = (options ?? new PostgresIdempotencyStoreOptions()).Clone();
        _options.Validate();
        _dataSource = dataSource;
        _ownsDataSource = ownsDataSource;
        _logger = logger ?? NullLogger.Instance;
        var table = SqlIdentifier.Quote(_options.TableName);
        _select = $"SELECT value FROM {table} WHERE key = @key AND expires_at > @now";
        _insert =
            $"INSERT INTO {table} AS t (key, value, expires_at) VALUES (@key, @value, @expires) " +
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at WHERE t.expires_at <= @now";
        _delete = $"DELETE FROM {table} WHERE key IN (SELECT key FROM {table} WHERE expires_at <= @now LIMIT @batch)";
    }

    /// <inheritdoc />
    public async ValueTask<byte[]?> GetAsync(string key, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var stored = StoredKey(key);
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        await using var command = _dataSource.CreateCommand(_select);
        command.Parameters.Add(new NpgsqlParameter<string>("key", stored));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("now", now.ToUniversalTime()));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? reader.GetFieldValue<byte[]>(0) : null;
    }

    /// <inheritdoc />
    public async ValueTask<bool> TryAddAsync(string key, ReadOnlyMemory<byte> value, DateTimeOffset expiresAt, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var stored = StoredKey(key);
        if (expiresAt <= now)
        {
            return false;
        }

        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        int rows;
        await using (var command = _dataSource.CreateCommand(_insert))
        {
            command.Parameters.Add(new NpgsqlParameter<string>("key", stored));
            command.Parameters.Add(new NpgsqlParameter<ReadOnlyMemory<byte>>("value", value) { NpgsqlDbType = NpgsqlDbType.Bytea });
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("expires", expiresAt.ToUniversalTime()));
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("now", now.ToUniversalTime()));
            rows = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await CleanUpIfDueAsync(now, cancellationToken).ConfigureAwait(false);
        return rows == 1;
    }

    /// <summary>Deletes up to <see cref="PostgresIdempotencyStoreOptions.CleanupBatchSize"/> records that expired at <paramref name="now"/>.</summary>
    /// <param name="now">The current time.</param>
    /// <param name="cancellationToken">Cancels the delete.</param>
    /// <returns>How many records were deleted.</returns>
    public async ValueTask<int> RemoveExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        await using var command = _dataSource.CreateCommand(_delete);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("now", now.ToUniversalTime()));
        command.Parameters.Add(new NpgsqlParameter<int>("batch", _options.CleanupBatchSize));
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Creates the table and its expiry index if they do not exist yet (done automatically on first use).</summary>
    /// <param name="cancellationToken">Cancels the creation.</param>
    /// <returns>A task that completes when the table exists.</returns>
    public async ValueTask EnsureTableAsync(CancellationToken cancellationToken = default)
    {
        if (_tableReady)
        {
            return;
        }

        await _create.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_tableReady)
            {
                return;
            }

            var name = _options.TableName;
            var table = SqlIdentifier.Quote(name);
            var index = SqlIdentifier.Quote(name[(name.LastIndexOf('.') + 1)..] + "_expires_at_idx");
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

            // Instances starting together would race in CREATE TABLE IF NOT EXISTS (a unique violation in the
            // catalog): take a transaction-level advisory lock on the table name first.
            await using (var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@id)", connection, transaction))
            {
                command.Parameters.Add(new NpgsqlParameter<long>("id", DdlLockId(name)));
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            var ddl =
                $"CREATE TABLE IF NOT EXISTS {table} (key text PRIMARY KEY, value bytea NOT NULL, expires_at timestamptz NOT NULL); " +
                $"CREATE INDEX IF NOT EXISTS {index} ON {table} (expires_at);";
            await using (var command = new NpgsqlCommand(ddl, connection, transaction))
            {
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            // A table of an older layout under the same name is never misread: refuse it with a clear message.
            await using (var command = new NpgsqlCommand("SELECT count(*) FROM pg_attribute WHERE attrelid = @table::regclass AND attname IN ('key', 'value', 'expires_at') AND NOT attisdropped", connection, transaction))
            {
                command.Parameters.Add(new NpgsqlParameter<string>("table", table));
                if ((long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))! != 3)
                {
                    throw new InvalidOperationException($"The table {name} exists with another layout than (key, value, expires_at); it may be an idempotency table of an earlier version. Use another TableName, or drop it.");
                }
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            _tableReady = true;
        }
        finally
        {
            _create.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_ownsDataSource)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }

        _create.Dispose();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsDataSource)
        {
            _dataSource.Dispose();
        }

        _create.Dispose();
    }

    private async ValueTask CleanUpIfDueAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (_options.CleanupInterval == Timeout.InfiniteTimeSpan)
        {
            return;
        }

        var due = Interlocked.Read(ref _nextCleanupTicks);
        // An interval that reaches past the end of time means: not again.
        var next = now.UtcTicks > DateTimeOffset.MaxValue.UtcTicks - _options.CleanupInterval.Ticks ? long.MaxValue : (now + _options.CleanupInterval).UtcTicks;
        if (now.UtcTicks < due || Interlocked.CompareExchange(ref _nextCleanupTicks, next, due) != due)
        {
            return;
        }

        try
        {
            await RemoveExpiredAsync(now, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException)
        {
            // The record is stored; the next interval tries the cleanup again.
            _logger.LogWarning(ex, "Deleting expired idempotency records from {Table} failed.", _options.TableName);
        }
    }

    /// <summary>
    /// The text a key is stored under. A key that PostgreSQL <c>text</c> cannot hold (a NUL, a lone surrogate), that is
    /// longer than <see cref="MaxKeyBytes"/> in UTF-8 (more than the index keeps), or that starts with
    /// <see cref="HashedKeyPrefix"/> is stored as that prefix and the hex SHA-256 of its bytes (a lone surrogate kept as
    /// its code point); every other key as itself. No stored text stands for two keys, and a key that reaches the store
    /// from request input (a JSON string with <c>\u0000</c>) is served like any other, never refused after the
    /// request ran.
    /// </summary>
    internal static string StoredKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Storable(key) ? key : HashedKeyPrefix + Convert.ToHexString(SHA256.HashData(LosslessUtf8.GetBytes(key)));
    }

    private static bool Storable(string key) =>
        !key.Contains('\0', StringComparison.Ordinal) && !key.StartsWith(HashedKeyPrefix, StringComparison.Ordinal)
        && !LosslessUtf8.HasLoneSurrogate(key) && Encoding.UTF8.GetByteCount(key) <= MaxKeyBytes;

    /// <summary>A stable 64-bit FNV-1a hash of the table name, for the DDL advisory lock.</summary>
    private static long DdlLockId(string table)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes("keyedlock-idempotency-ddl:" + table))
        {
            hash = unchecked((hash ^ b) * 1099511628211UL);
        }

        return unchecked((long)hash);
    }
}
