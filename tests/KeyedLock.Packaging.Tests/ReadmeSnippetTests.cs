using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace KeyedLock.Packaging.Tests;

/// <summary>
/// Every <c>```csharp</c> block of README.md, of the package READMEs and of docs/configuration.md compiles against
/// the current packages (all src/ projects), as a top-level program with the usings of a web project. Whatever the
/// files contain is checked.
/// </summary>
public sealed class ReadmeSnippetTests
{
    private static readonly string[] s_implicitUsings =
    [
        "System", "System.Collections.Generic", "System.IO", "System.Linq", "System.Net.Http", "System.Net.Http.Json",
        "System.Threading", "System.Threading.Tasks", "Microsoft.AspNetCore.Builder", "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.Http", "Microsoft.AspNetCore.Routing", "Microsoft.Extensions.Configuration",
        "Microsoft.Extensions.DependencyInjection", "Microsoft.Extensions.Hosting", "Microsoft.Extensions.Logging",
    ];

    private static readonly Lazy<MetadataReference[]> s_references = new(() =>
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Where(p => p.EndsWith(".dll", StringComparison.Ordinal))
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToArray());

    private static IEnumerable<string> Files() =>
        new[] { Repository.PathOf("README.md"), Repository.PathOf("docs/configuration.md") }
            .Concat(Repository.PackageProjects.Select(p => Path.Combine(Path.GetDirectoryName(p)!, "README.md")).Where(File.Exists));

    private static IEnumerable<ReadmeSnippet> All() => Files().SelectMany(ReadmeSnippet.Parse);

    public static TheoryData<string> Snippets()
    {
        var data = new TheoryData<string>();
        foreach (var snippet in All())
        {
            data.Add(snippet.Location);
        }

        return data;
    }

    [Fact]
    public void Readme_HasCSharpSnippets() => Assert.True(ReadmeSnippet.Parse(Repository.PathOf("README.md")).Count >= 5);

    [Theory]
    [MemberData(nameof(Snippets))]
    public void ReadmeSnippet_Compiles(string location)
    {
        var snippet = All().Single(s => s.Location == location);
        var parse = new CSharpParseOptions(LanguageVersion.Preview);
        var usings = string.Join("\n", s_implicitUsings.Select(u => $"global using global::{u};"));
        var compilation = CSharpCompilation.Create(
            "ReadmeSnippet",
            [
                CSharpSyntaxTree.ParseText(usings, parse, path: "GlobalUsings.cs"),
                CSharpSyntaxTree.ParseText(snippet.CompilableSource, parse, path: snippet.File),
            ],
            s_references.Value,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));

        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToArray();
        Assert.True(errors.Length == 0,
            $"The C# snippet at {snippet.Location} does not compile:\n"
            + string.Join("\n", errors.Select(e => e.ToString()))
            + $"\n\nCompiled source:\n{snippet.CompilableSource}");
    }
}
