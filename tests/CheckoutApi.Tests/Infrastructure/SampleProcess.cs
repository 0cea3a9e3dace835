using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;

namespace CheckoutApi.Tests.Infrastructure;

/// <summary>
/// The built sample started as its own process (<c>dotnet CheckoutApi.dll --urls http://127.0.0.1:0</c>) on real
/// Kestrel; the bound address is read from the "Now listening on" line.
/// </summary>
public sealed partial class SampleProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private SampleProcess(Process process) => _process = process;

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Everything the process wrote so far (for failure messages).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The sample's project folder (its content root when the page must be served).</summary>
    public static string ProjectDirectory { get; } = typeof(SampleProcess).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "CheckoutApiProjectDirectory").Value!;

    /// <summary>Starts the sample with <paramref name="contentRoot"/> as content root and working directory.</summary>
    public static async Task<SampleProcess> StartAsync(string contentRoot, params string[] extraArguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = contentRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "CheckoutApi.dll"));
        foreach (var argument in new[] { "--urls", "http://127.0.0.1:0", "--contentRoot", contentRoot }.Concat(extraArguments))
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["Logging__Console__FormatterName"] = "simple";
        start.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var sample = new SampleProcess(process);
        process.OutputDataReceived += (_, e) => sample.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => sample.OnLine(e.Data);
        process.Exited += (_, _) => sample._listening.TrySetException(new InvalidOperationException($"The sample exited with code {process.ExitCode}:\n{sample.Output}"));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            sample.BaseAddress = await sample._listening.Task.Bounded(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            await sample.DisposeAsync();
            throw new TimeoutException($"The sample did not report its address within 60 s:\n{sample.Output}");
        }

        return sample;
    }

    public HttpClient CreateClient() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync().Bounded();
        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }

        if (ListeningLine().Match(line) is { Success: true } match)
        {
            _listening.TrySetResult(new Uri(match.Groups["url"].Value));
        }
    }

    [GeneratedRegex(@"Now listening on: (?<url>http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningLine();
}
