using System.Diagnostics;
using StackExchange.Redis;

namespace KeyedLock.Redis.Tests;

/// <summary>
/// Stops and starts the test server (KEYEDLOCK_REDIS_SERVER, KEYEDLOCK_REDIS_PORT, KEYEDLOCK_REDIS_DIR), the way
/// ./build.sh starts it: persistence off, so a restart loses every key.
/// </summary>
internal static class RedisServer
{
    internal static async Task StopAsync(IConnectionMultiplexer admin)
    {
        try
        {
            await admin.GetServers()[0].ExecuteAsync("SHUTDOWN", "NOSAVE");
        }
        catch (RedisException)
        {
            // The server closes the connection instead of answering.
        }

        await TestWait.UntilAsync(async () => await IsUpAsync() ? 1 : 0, 0, "redis-server stopped");
    }

    internal static async Task StartAsync()
    {
        var directory = Required("KEYEDLOCK_REDIS_DIR");
        var info = new ProcessStartInfo(Required("KEYEDLOCK_REDIS_SERVER")) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[]
        {
            "--port", Required("KEYEDLOCK_REDIS_PORT"), "--bind", "127.0.0.1", "--save", string.Empty, "--appendonly", "no",
            "--daemonize", "yes", "--pidfile", Path.Combine(directory, "redis.pid"), "--dir", directory, "--logfile", Path.Combine(directory, "redis.log"),
        })
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"redis-server exited with {process.ExitCode}: {await process.StandardError.ReadToEndAsync()}");
        }

        await TestWait.UntilAsync(async () => await IsUpAsync() ? 1 : 0, 1, "redis-server started");
    }

    private static async Task<bool> IsUpAsync()
    {
        try
        {
            using var client = new System.Net.Sockets.TcpClient();
            await client.ConnectAsync("127.0.0.1", int.Parse(Required("KEYEDLOCK_REDIS_PORT"), System.Globalization.CultureInfo.InvariantCulture));
            await using var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray());
            var buffer = new byte[16];
            var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(2));
            return read > 0 && buffer[0] == (byte)'+';
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException or TimeoutException)
        {
            return false;
        }
    }

    private static string Required(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
        ? value
        : throw new InvalidOperationException($"{name} is not set: the fault tests stop and start redis-server (run them through ./build.sh test).");
}
