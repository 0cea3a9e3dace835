using System.Globalization;
using CheckoutApi.Checkout;
using CheckoutApi.Data;
using Microsoft.Data.Sqlite;

namespace CheckoutApi.Users;

/// <summary>
/// Users, balances and orders in SQLite. Plain parameterized SQL; no locking of its own. The safe checkout writes
/// through <see cref="ReserveAsync"/>, which refuses what the lock alone cannot: an overdraft and a stale holder.
/// </summary>
public sealed class UserStore(CheckoutDatabase database, TimeProvider timeProvider)
{
    /// <summary>The user's balance in cents, or <see langword="null"/> when there is no such user.</summary>
    public async Task<long?> GetBalanceCentsAsync(string userId, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT balance_cents FROM users WHERE user_id = $userId";
        command.Parameters.AddWithValue("$userId", userId);
        var result = await command.ExecuteScalarAsync(cancellationToken);
        return result is null or DBNull ? null : Convert.ToInt64(result, CultureInfo.InvariantCulture);
    }

    /// <summary>The user with their orders (oldest first), or <see langword="null"/> when there is no such user.</summary>
    public async Task<UserAccount?> GetAccountAsync(string userId, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: true);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT balance_cents FROM users WHERE user_id = $userId";
        command.Parameters.AddWithValue("$userId", userId);
        if (await command.ExecuteScalarAsync(cancellationToken) is not long balanceCents)
        {
            return null;
        }

        command.CommandText = "SELECT order_id, amount_cents, created_at FROM orders WHERE user_id = $userId ORDER BY order_id";
        var orders = new List<Order>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                orders.Add(new Order(
                    reader.GetInt64(0),
                    userId,
                    Money.FromCents(reader.GetInt64(1)),
                    DateTimeOffset.Parse(reader.GetString(2), CultureInfo.InvariantCulture)));
            }
        }

        return new UserAccount(userId, Money.FromCents(balanceCents), orders);
    }

    /// <summary>Sets the balance, creating the user when missing (demo/admin).</summary>
    public async Task SetBalanceAsync(string userId, long balanceCents, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO users (user_id, balance_cents) VALUES ($userId, $balance)
            ON CONFLICT (user_id) DO UPDATE SET balance_cents = excluded.balance_cents
            """;
        command.Parameters.AddWithValue("$userId", userId);
        command.Parameters.AddWithValue("$balance", balanceCents);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Deducts <paramref name="amountCents"/> and records the order, in one transaction. It trusts the caller's
    /// earlier funds check: that is exactly the read-check-write that races when two requests interleave.
    /// </summary>
    public async Task<Order> DeductAndCreateOrderAsync(string userId, long amountCents, CancellationToken cancellationToken = default)
    {
        var createdAt = timeProvider.GetUtcNow();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction(); // BEGIN IMMEDIATE: take the write lock up front
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            UPDATE users SET balance_cents = balance_cents - $amount WHERE user_id = $userId;
            INSERT INTO orders (user_id, amount_cents, created_at) VALUES ($userId, $amount, $createdAt)
            RETURNING order_id;
            """;
        command.Parameters.AddWithValue("$userId", userId);
        command.Parameters.AddWithValue("$amount", amountCents);
        command.Parameters.AddWithValue("$createdAt", createdAt.ToString("O", CultureInfo.InvariantCulture));
        var orderId = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        await transaction.CommitAsync(cancellationToken);
        return new Order(orderId, userId, Money.FromCents(amountCents), createdAt);
    }

    /// <summary>
    /// Reserves <paramref name="amountCents"/> for a pending order in one statement that checks and writes at once:
    /// the balance must cover the amount, and (when <paramref name="fencingToken"/> is given) no holder with the same
    /// or a newer token may have written it. A second reservation with the same <paramref name="requestKey"/> is
    /// refused by a unique index. Nothing is written unless everything holds.
    /// </summary>
    public async Task<Reservation> ReserveAsync(string userId, long amountCents, long? fencingToken, string? requestKey, CancellationToken cancellationToken = default)
    {
        var createdAt = timeProvider.GetUtcNow();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction(); // BEGIN IMMEDIATE
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            UPDATE users SET balance_cents = balance_cents - $amount, fence = coalesce($fence, fence)
            WHERE user_id = $userId AND balance_cents >= $amount AND ($fence IS NULL OR fence < $fence)
            """;
        command.Parameters.AddWithValue("$userId", userId);
        command.Parameters.AddWithValue("$amount", amountCents);
        command.Parameters.AddWithValue("$fence", fencingToken is { } token ? token : DBNull.Value);
        if (await command.ExecuteNonQueryAsync(cancellationToken) == 0)
        {
            command.CommandText = "SELECT balance_cents, fence FROM users WHERE user_id = $userId";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return new Reservation(ReservationStatus.UnknownUser);
            }

            var balanceCents = reader.GetInt64(0);
            return fencingToken is { } mine && reader.GetInt64(1) >= mine
                ? new Reservation(ReservationStatus.Stale, BalanceCents: balanceCents)
                : new Reservation(ReservationStatus.InsufficientFunds, BalanceCents: balanceCents);
        }

        command.CommandText = """
            INSERT INTO orders (user_id, amount_cents, created_at, status, request_key)
            VALUES ($userId, $amount, $createdAt, 'pending', $requestKey)
            RETURNING order_id
            """;
        command.Parameters.AddWithValue("$createdAt", createdAt.ToString("O", CultureInfo.InvariantCulture));
        command.Parameters.AddWithValue("$requestKey", requestKey is null ? DBNull.Value : requestKey);
        long orderId;
        try
        {
            orderId = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == 19) // SQLITE_CONSTRAINT: the request key exists
        {
            await transaction.RollbackAsync(CancellationToken.None);
            return new Reservation(ReservationStatus.Duplicate);
        }

        await transaction.CommitAsync(cancellationToken);
        return new Reservation(ReservationStatus.Reserved, orderId);
    }

    /// <summary>Marks a reserved order paid (after the charge: recorded whatever happened to the lock meanwhile).</summary>
    public async Task<Order> ConfirmOrderAsync(long orderId, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE orders SET status = 'paid' WHERE order_id = $orderId
            RETURNING user_id, amount_cents, created_at
            """;
        command.Parameters.AddWithValue("$orderId", orderId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new Order(orderId, reader.GetString(0), Money.FromCents(reader.GetInt64(1)), DateTimeOffset.Parse(reader.GetString(2), CultureInfo.InvariantCulture));
    }

    /// <summary>Gives a reservation back (nothing was charged): deletes the pending order and refunds its amount.</summary>
    public async Task CancelReservationAsync(long orderId, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction();
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            UPDATE users SET balance_cents = balance_cents + (SELECT amount_cents FROM orders WHERE order_id = $orderId AND status = 'pending')
            WHERE user_id = (SELECT user_id FROM orders WHERE order_id = $orderId AND status = 'pending');
            DELETE FROM orders WHERE order_id = $orderId AND status = 'pending';
            """;
        command.Parameters.AddWithValue("$orderId", orderId);
        await command.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>True when a webhook with this id was processed before.</summary>
    public async Task<bool> IsWebhookProcessedAsync(string webhookId, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM processed_webhooks WHERE webhook_id = $webhookId";
        command.Parameters.AddWithValue("$webhookId", webhookId);
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    /// <summary>
    /// Records the webhook id and credits the user (created when missing), in one transaction; returns the new
    /// balance in cents. The primary key on the webhook id refuses a second record, so even without serialization
    /// a duplicate could not credit twice: it would fail with a constraint error instead of a clean answer.
    /// </summary>
    public async Task<long> RecordWebhookAndCreditAsync(string webhookId, string userId, long amountCents, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction();
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO processed_webhooks (webhook_id, user_id, amount_cents, processed_at)
            VALUES ($webhookId, $userId, $amount, $processedAt);
            INSERT INTO users (user_id, balance_cents) VALUES ($userId, $amount)
            ON CONFLICT (user_id) DO UPDATE SET balance_cents = balance_cents + excluded.balance_cents
            RETURNING balance_cents;
            """;
        command.Parameters.AddWithValue("$webhookId", webhookId);
        command.Parameters.AddWithValue("$userId", userId);
        command.Parameters.AddWithValue("$amount", amountCents);
        command.Parameters.AddWithValue("$processedAt", timeProvider.GetUtcNow().ToString("O", CultureInfo.InvariantCulture));
        var balanceCents = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        await transaction.CommitAsync(cancellationToken);
        return balanceCents;
    }
}
