using System.IO.Compression;
using System.Xml.Linq;

namespace KeyedLock.Packaging.Tests;

/// <summary>
/// The packages as a user gets them: <c>dotnet pack -c Release</c> into a local feed, then a consumer app restored
/// from that feed (plus the normal feed for everything else), built and run.
/// </summary>
public sealed class PackAndConsumeTests(PackedPackages packages) : IClassFixture<PackedPackages>
{
    [Fact]
    public void Version_IsZeroMajorUntilTheApiIsDeclaredStable()
    {
        var version = Version.Parse(packages.Version);
        Assert.Equal(0, version.Major);
        Assert.Equal(3, packages.Version.Split('.').Length);
    }

    [Fact]
    public void EveryPackage_HasReadmeLicenceDescriptionTagsAndSymbols()
    {
        Assert.Contains("KeyedLock.Core", packages.PackageIds);
        foreach (var id in packages.PackageIds)
        {
            Assert.True(File.Exists(packages.PackagePath(id)), $"{id}: no .nupkg");
            Assert.True(File.Exists(packages.PackagePath(id, "snupkg")), $"{id}: no .snupkg");
            using var zip = ZipFile.OpenRead(packages.PackagePath(id));
            var metadata = Nuspec(zip);
            Assert.Equal(packages.Version, Text(metadata, "version"));
            Assert.Equal("MIT", Text(metadata, "license"));
            Assert.Equal("README.md", Text(metadata, "readme"));
            Assert.Equal("KeyedLock contributors", Text(metadata, "authors"));
            Assert.False(string.IsNullOrWhiteSpace(Text(metadata, "description")), $"{id}: no description");
            Assert.Contains("keyed-lock", Text(metadata, "tags"), StringComparison.Ordinal);
            Assert.NotNull(zip.GetEntry("README.md"));
            Assert.NotNull(zip.GetEntry("LICENSE"));
            Assert.NotNull(zip.GetEntry($"lib/net10.0/{id}.dll"));
            Assert.NotNull(zip.GetEntry($"lib/net10.0/{id}.xml"));

            using var symbols = ZipFile.OpenRead(packages.PackagePath(id, "snupkg"));
            Assert.NotNull(symbols.GetEntry($"lib/net10.0/{id}.pdb"));
        }
    }

    [Fact]
    public void DependenciesBetweenKeyedLockPackages_ArePinnedToTheExactVersion()
    {
        var inner = 0;
        foreach (var id in packages.PackageIds)
        {
            using var zip = ZipFile.OpenRead(packages.PackagePath(id));
            foreach (var dependency in Nuspec(zip).Descendants().Where(e => e.Name.LocalName == "dependency"))
            {
                if (dependency.Attribute("id")!.Value.StartsWith("KeyedLock.", StringComparison.Ordinal))
                {
                    Assert.Equal($"[{packages.Version}]", dependency.Attribute("version")!.Value);
                    inner++;
                }
            }
        }

        Assert.True(inner >= 2, "AspNetCore and Postgres depend on Core");
    }

    [Fact]
    public async Task ConsumerApp_RestoredFromTheLocalFeed_BuildsAndRuns()
    {
        var app = Path.Combine(packages.Root, "consumer");
        Directory.CreateDirectory(app);
        var references = string.Join("\n", packages.PackageIds.Select(id => $"""    <PackageReference Include="{id}" Version="{packages.Version}" />"""));
        await File.WriteAllTextAsync(Path.Combine(app, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk.Web">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <OutputType>Exe</OutputType>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
              </PropertyGroup>
              <ItemGroup>
            {references}
              </ItemGroup>
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), ConsumerProgram);

        // The local feed plus the normal feed; a private packages folder so that no stale KeyedLock package from an
        // earlier run is used, with the machine's packages folder as a read-only fallback for everything else.
        var machinePackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        await File.WriteAllTextAsync(Path.Combine(app, "NuGet.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config>
                <add key="globalPackagesFolder" value="{Path.Combine(packages.Root, "packages")}" />
              </config>
              <fallbackPackageFolders>
                <add key="machine" value="{machinePackages}" />
              </fallbackPackageFolders>
              <packageSources>
                <add key="keyedlock-local" value="{packages.Feed}" />
              </packageSources>
            </configuration>
            """);
        Assert.False(Directory.Exists(Path.Combine(machinePackages, "keyedlock.core", packages.Version)),
            $"{machinePackages} holds a KeyedLock.Core {packages.Version}: the consumer would not use the fresh package");

        var (buildExit, buildOutput) = await DotnetCli.RunAsync(app, TimeSpan.FromMinutes(5), "build", "-c", "Release", "-nologo", "-v", "minimal");
        Assert.True(buildExit == 0, $"The consumer app did not build against the packages:\n{buildOutput}");

        var (runExit, runOutput) = await DotnetCli.RunAsync(app, TimeSpan.FromMinutes(2), "run", "-c", "Release", "--no-build");
        Assert.True(runExit == 0, $"The consumer app failed:\n{runOutput}");
        Assert.Contains("registry: acquired user:42, 1 key active, 0 after release", runOutput, StringComparison.Ordinal);
        Assert.Contains("http: first 200, second 200, missing key 400", runOutput, StringComparison.Ordinal);
        Assert.Contains($"packages: {packages.Version}", runOutput, StringComparison.Ordinal);
    }

    private const string ConsumerProgram = """
        using System.Reflection;
        using KeyedLock;
        using KeyedLock.AspNetCore;
        using KeyedLock.Postgres;

        var registry = new KeyedLockRegistry();
        int during;
        await using (var lease = await registry.AcquireAsync("user:42", TimeSpan.FromSeconds(5)))
        {
            during = registry.Count;
        }

        Console.WriteLine($"registry: acquired {"user:42"}, {during} key active, {registry.Count} after release");

        var builder = WebApplication.CreateSlimBuilder(args);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddKeyedSerialization();
        var app = builder.Build();
        app.UseKeyedSerialization();
        app.MapPost("/users/{userId}/checkout", (string userId) => Results.Ok()).SerializeBy("route:userId");
        app.MapPost("/orders", () => Results.Ok()).SerializeBy("header:Order-Id");
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()), Timeout = TimeSpan.FromSeconds(30) };
        var first = await http.PostAsync("/users/42/checkout", null);
        var second = await http.PostAsync("/users/42/checkout", null);
        var missing = await http.PostAsync("/orders", null);
        Console.WriteLine($"http: first {(int)first.StatusCode}, second {(int)second.StatusCode}, missing key {(int)missing.StatusCode}");
        await app.StopAsync();

        var versions = new[] { typeof(KeyedLockRegistry), typeof(SerializeByAttribute), typeof(PostgresKeyedLockProvider) }
            .Select(t => t.Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion.Split('+')[0])
            .Distinct()
            .ToArray();
        Console.WriteLine($"packages: {string.Join(", ", versions)}");
        """;

    private static XElement Nuspec(ZipArchive zip)
    {
        var entry = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
        using var stream = entry.Open();
        return XDocument.Load(stream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
    }

    private static string Text(XElement metadata, string name) =>
        metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value ?? "";
}
