namespace CheckoutApi.Data;

/// <summary>Amounts travel as decimals in JSON and are stored as whole cents, so SQLite never rounds money.</summary>
internal static class Money
{
    public static long ToCents(decimal amount) => decimal.ToInt64(decimal.Round(amount * 100m, MidpointRounding.ToEven));

    public static decimal FromCents(long cents) => cents / 100m;

    /// <summary>True when the amount is positive and has at most two decimals.</summary>
    public static bool IsValidAmount(decimal amount) => amount > 0m && decimal.Round(amount, 2) == amount && amount <= 1_000_000_000m;
}
