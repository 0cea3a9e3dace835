using System.Diagnostics;

namespace KeyedLock.Postgres.Tests;

/// <summary>Stops and starts the test server through pg_ctl (KEYEDLOCK_PG_CTL, KEYEDLOCK_PG_DATA, KEYEDLOCK_PG_RUN_AS).</summary>
internal static class PgCtl
{
    internal static Task StopAsync() => RunAsync("-D", Data, "-m", "fast", "-w", "-t", "60", "stop");

    internal static Task StartAsync()
    {
        var args = new List<string> { "-D", Data, "-l", Path.Combine(Path.GetDirectoryName(Data)!, "server-restart.log"), "-w", "-t", "60" };
        var port = Environment.GetEnvironmentVariable("KEYEDLOCK_PG_PORT");
        var socketDir = Environment.GetEnvironmentVariable("KEYEDLOCK_PG_SOCKETDIR");
        if (!string.IsNullOrEmpty(port))
        {
            // Explicit, in case the cluster was started with pg_ctl -o instead of settings in postgresql.conf.
            var options = $"-p {port} -c listen_addresses=127.0.0.1";
            if (!string.IsNullOrEmpty(socketDir))
            {
                options += $" -k {socketDir}";
            }

            args.AddRange(["-o", options]);
        }

        args.Add("start");
        return RunAsync([.. args]);
    }

    private static string Data => Required("KEYEDLOCK_PG_DATA");

    private static string Required(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
        ? value
        : throw new InvalidOperationException($"{name} is not set: the fault tests stop and start the server through pg_ctl (run them through ./build.sh test).");

    private static async Task RunAsync(params string[] arguments)
    {
        var runAs = (Environment.GetEnvironmentVariable("KEYEDLOCK_PG_RUN_AS") ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var command = runAs.Concat([Required("KEYEDLOCK_PG_CTL")]).Concat(arguments).ToArray();
        var info = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in command.Skip(1))
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(90));
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{string.Join(' ', command)} exited with {process.ExitCode}: {await output} {await error}");
        }
    }
}
