using System.Reflection;

namespace KeyedLock.Packaging.Tests;

/// <summary>Where the repository is (the test reads its files and packs its projects).</summary>
internal static class Repository
{
    public static string Root { get; } = typeof(Repository).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "RepositoryRoot").Value!;

    public static string PathOf(string relative) => Path.Combine(Root, relative);

    /// <summary>The package projects: every src/*/*.csproj.</summary>
    public static IReadOnlyList<string> PackageProjects { get; } = Directory
        .GetDirectories(PathOf("src"))
        .SelectMany(d => Directory.GetFiles(d, "*.csproj"))
        .OrderBy(p => p, StringComparer.Ordinal)
        .ToArray();

    /// <summary>README.md and every docs/*.md: the documents a user reads.</summary>
    public static IReadOnlyList<string> UserDocuments { get; } = new[] { PathOf("README.md") }
        .Concat(Directory.GetFiles(PathOf("docs"), "*.md", SearchOption.AllDirectories))
        .Concat(PackageProjects.Select(p => Path.Combine(Path.GetDirectoryName(p)!, "README.md")).Where(File.Exists))
        .OrderBy(p => p, StringComparer.Ordinal)
        .ToArray();
}
