using System.Text.RegularExpressions;

namespace KeyedLock.Packaging.Tests;

/// <summary>
/// Packs every src/ project once (<c>dotnet pack -c Release</c>) into a temporary local feed, as a release would.
/// </summary>
public sealed partial class PackedPackages : IAsyncLifetime
{
    public string Root { get; } = Path.Combine(Path.GetTempPath(), "keyedlock-pack-" + Guid.NewGuid().ToString("N")[..8]);

    public string Feed => Path.Combine(Root, "feed");

    /// <summary>The version set in Directory.Build.props (VersionPrefix).</summary>
    public string Version { get; } = VersionPrefixPattern().Match(File.ReadAllText(Repository.PathOf("Directory.Build.props"))).Groups[1].Value;

    /// <summary>Package ids, one per src/ project.</summary>
    public IReadOnlyList<string> PackageIds { get; } = Repository.PackageProjects.Select(Path.GetFileNameWithoutExtension).ToArray()!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Feed);
        foreach (var project in Repository.PackageProjects)
        {
            var (exitCode, output) = await DotnetCli.RunAsync(Repository.Root, TimeSpan.FromMinutes(5),
                "pack", project, "-c", "Release", "-o", Feed, "-nologo", "-v", "minimal");
            Assert.True(exitCode == 0, $"dotnet pack {Path.GetFileName(project)} failed:\n{output}");
            Assert.DoesNotContain(": warning ", output, StringComparison.Ordinal);
        }
    }

    public Task DisposeAsync()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }

        return Task.CompletedTask;
    }

    public string PackagePath(string id, string extension = "nupkg") => Path.Combine(Feed, $"{id}.{Version}.{extension}");

    [GeneratedRegex(@"<VersionPrefix>([^<]+)</VersionPrefix>")]
    private static partial Regex VersionPrefixPattern();
}
