using Microsoft.Data.Sqlite;

namespace CheckoutApi.Data;

/// <summary>
/// The sample's SQLite database: opens connections that several threads and several processes can share
/// (WAL journal, busy timeout), and creates and seeds the schema on start.
/// </summary>
public sealed class CheckoutDatabase
{
    /// <summary>The connection string used when <c>ConnectionStrings:Checkout</c> is not set.</summary>
    public const string DefaultConnectionString = "Data Source=App_Data/checkout.db";

    private readonly string _connectionString;

    public CheckoutDatabase(string connectionString, string contentRootPath)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        var isFile = builder.Mode != SqliteOpenMode.Memory
            && !string.IsNullOrEmpty(builder.DataSource)
            && !string.Equals(builder.DataSource, ":memory:", StringComparison.Ordinal);
        if (isFile && !Path.IsPathRooted(builder.DataSource))
        {
            // Relative to the content root, not to whatever directory the process was started from.
            builder.DataSource = Path.GetFullPath(Path.Combine(contentRootPath, builder.DataSource));
        }

        if (isFile)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(builder.DataSource)!);
        }

        FilePath = isFile ? builder.DataSource : null;
        _connectionString = builder.ToString();
    }

    /// <summary>The full path of the database file, or <see langword="null"/> for an in-memory database.</summary>
    public string? FilePath { get; }

    /// <summary>Opens a connection that waits (up to 5 s) instead of failing when another writer holds the file.</summary>
    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using var pragma = connection.CreateCommand();
            pragma.CommandText = "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;";
            await pragma.ExecuteNonQueryAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Creates the tables when missing and seeds the demo users and products (idempotent).</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using (var wal = connection.CreateCommand())
        {
            // WAL lets readers run while one process writes; it is a property of the file, set once.
            wal.CommandText = "PRAGMA journal_mode = WAL;";
            await wal.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var transaction = connection.BeginTransaction();
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            CREATE TABLE IF NOT EXISTS users (
                user_id       TEXT    NOT NULL PRIMARY KEY,
                balance_cents INTEGER NOT NULL
            );
            CREATE TABLE IF NOT EXISTS orders (
                order_id     INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
                user_id      TEXT    NOT NULL REFERENCES users (user_id),
                amount_cents INTEGER NOT NULL,
                created_at   TEXT    NOT NULL
            );
            CREATE INDEX IF NOT EXISTS ix_orders_user_id ON orders (user_id);
            CREATE TABLE IF NOT EXISTS processed_webhooks (
                webhook_id   TEXT    NOT NULL PRIMARY KEY,
                user_id      TEXT    NOT NULL,
                amount_cents INTEGER NOT NULL,
                processed_at TEXT    NOT NULL
            );
            CREATE TABLE IF NOT EXISTS products (
                product_id  INTEGER NOT NULL PRIMARY KEY,
                name        TEXT    NOT NULL,
                price_cents INTEGER NOT NULL
            );
            INSERT OR IGNORE INTO users (user_id, balance_cents) VALUES
                ('alice', 10000), ('bob', 10000), ('carol', 25000);
            INSERT OR IGNORE INTO products (product_id, name, price_cents) VALUES
                (1, 'Espresso beans, 1 kg', 2490),
                (2, 'Pour-over kettle', 6000),
                (3, 'Hand grinder', 8900);
            """;
        await command.ExecuteNonQueryAsync(cancellationToken);

        // The safe checkout's columns, added to databases created before them (ALTER TABLE ... ADD COLUMN is idempotent
        // only through this check). users.fence: the highest fencing token that wrote the balance; orders.status:
        // 'pending' while the payment runs (the money is reserved), 'paid' after; orders.request_key: the client's
        // Idempotency-Key, unique per user, so a retry on another instance cannot reserve a second time.
        await AddColumnAsync(command, "users", "fence", "INTEGER NOT NULL DEFAULT 0", cancellationToken);
        await AddColumnAsync(command, "orders", "status", "TEXT NOT NULL DEFAULT 'paid'", cancellationToken);
        await AddColumnAsync(command, "orders", "request_key", "TEXT NULL", cancellationToken);
        command.CommandText = "CREATE UNIQUE INDEX IF NOT EXISTS ux_orders_request_key ON orders (user_id, request_key) WHERE request_key IS NOT NULL;";
        await command.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    private static async Task AddColumnAsync(SqliteCommand command, string table, string column, string definition, CancellationToken cancellationToken)
    {
        command.CommandText = $"SELECT count(*) FROM pragma_table_info('{table}') WHERE name = '{column}'";
        if ((long)(await command.ExecuteScalarAsync(cancellationToken))! == 0)
        {
            command.CommandText = $"ALTER TABLE {table} ADD COLUMN {column} {definition}";
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}
