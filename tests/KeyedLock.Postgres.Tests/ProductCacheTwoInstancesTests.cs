using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CheckoutApi.Products;
using KeyedLock.Testing;
using Npgsql;

namespace KeyedLock.Postgres.Tests;

/// <summary>
/// Two CheckoutApi processes in multi-instance mode (PostgreSQL locks, one folder's SQLite shared): 50 concurrent
/// cold reads of one product, spread over both, load it once in total.
/// </summary>
public sealed class ProductCacheTwoInstancesTests : PostgresTestBase
{
    private const int Reads = 50;

    [PostgresFact]
    public async Task FiftyColdReadsSpreadOverTwoInstances_LoadTheProductOnce()
    {
        var directory = Directory.CreateTempSubdirectory("keyedlock-product-cache-").FullName;
        var appA = TestDatabase.UniqueName("kl-products-a");
        var appB = TestDatabase.UniqueName("kl-products-b");
        try
        {
            await using var instanceA = await SampleInstance.StartAsync(directory, appA);
            await using var instanceB = await SampleInstance.StartAsync(directory, appB);
            using var clientA = instanceA.CreateClient();
            using var clientB = instanceB.CreateClient();

            // Hold the product's cache lock (the sample's lock namespace and the documented lock key), so that both
            // instances provably miss the cache and queue for it before anyone loads.
            var locks = CreateInstance(o => o.KeyNamespace = "checkoutapi");
            await using var held = await locks.AcquireAsync("hybridcache|product:3").Bounded();
            var reads = Enumerable.Range(0, Reads)
                .Select(i => (i % 2 == 0 ? clientA : clientB).GetAsync("/api/products/3"))
                .ToArray();
            await TestDatabase.UntilAsync(() => CountWaitingAsync(appA), 1, "instance A's load waits for the product's lock");
            await TestDatabase.UntilAsync(() => CountWaitingAsync(appB), 1, "instance B's load waits for the product's lock");
            Assert.All(reads, r => Assert.False(r.IsCompleted));

            await held.DisposeAsync(); // a second dispose at the end of the scope is harmless
            var responses = await Task.WhenAll(reads).Bounded(TimeSpan.FromSeconds(60));

            Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
            var products = await Task.WhenAll(responses.Select(r => r.Content.ReadFromJsonAsync<Product>())).Bounded();
            Assert.All(products, p => Assert.Equal(products[0], p));
            Assert.Equal(new Product(3, "Hand grinder", 89.00m), products[0]);
            var loads = await ProductLoadsAsync(clientA) + await ProductLoadsAsync(clientB);
            Assert.True(loads == 1, $"Expected one load across both instances, saw {loads}.\nA:\n{instanceA.Output}\nB:\n{instanceB.Output}");
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: a temp folder is not worth failing the test over.
            }
        }
    }

    private static async Task<long> ProductLoadsAsync(HttpClient client)
    {
        using var stats = JsonDocument.Parse(await client.GetStringAsync("/api/stats").Bounded());
        return stats.RootElement.GetProperty("productLoads").GetInt64();
    }

    private async Task<long> CountWaitingAsync(string applicationName)
    {
        await using var command = Monitor.CreateCommand(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid " +
            "WHERE l.locktype = 'advisory' AND NOT l.granted AND a.application_name = @app");
        command.Parameters.AddWithValue("app", applicationName);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>The built sample as its own process (<c>dotnet CheckoutApi.dll</c>) on Kestrel, in multi-instance mode.</summary>
    private sealed class SampleInstance : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();
        private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private SampleInstance(Process process) => _process = process;

        private Uri BaseAddress { get; set; } = null!;

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

        public static async Task<SampleInstance> StartAsync(string contentRoot, string applicationName)
        {
            var keyedLock = new NpgsqlConnectionStringBuilder(TestDatabase.ConnectionString) { ApplicationName = applicationName };
            var start = new ProcessStartInfo("dotnet")
            {
                WorkingDirectory = contentRoot,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in new[]
            {
                Path.Combine(AppContext.BaseDirectory, "CheckoutApi.dll"),
                "--urls", "http://127.0.0.1:0",
                "--contentRoot", contentRoot,
                "--ConnectionStrings:KeyedLock", keyedLock.ConnectionString,
                "--Checkout:ProductLoadDelay", "00:00:00",
            })
            {
                start.ArgumentList.Add(argument);
            }

            start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
            var process = new Process { StartInfo = start, EnableRaisingEvents = true };
            var instance = new SampleInstance(process);
            process.OutputDataReceived += (_, e) => instance.OnLine(e.Data);
            process.ErrorDataReceived += (_, e) => instance.OnLine(e.Data);
            process.Exited += (_, _) => instance._listening.TrySetException(new InvalidOperationException($"The sample exited:\n{instance.Output}"));
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            try
            {
                instance.BaseAddress = await instance._listening.Task.Bounded(TimeSpan.FromSeconds(60));
            }
            catch
            {
                await instance.DisposeAsync();
                throw;
            }

            return instance;
        }

        public HttpClient CreateClient() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

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

            const string Listening = "Now listening on: ";
            var at = line.IndexOf(Listening, StringComparison.Ordinal);
            if (at >= 0)
            {
                _listening.TrySetResult(new Uri(line[(at + Listening.Length)..].Trim()));
            }
        }
    }
}
