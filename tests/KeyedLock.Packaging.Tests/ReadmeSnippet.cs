using System.Text.RegularExpressions;

namespace KeyedLock.Packaging.Tests;

/// <summary>
/// One <c>```csharp</c> block of a Markdown file, with the hidden context the file gives it.
/// </summary>
/// <remarks>
/// A snippet that needs context a reader does not need to see (a <c>builder</c>, a request type) gets it from an HTML
/// comment right before the block (<c>&lt;!-- snippet-before: ... --&gt;</c>, prepended) or right after it
/// (<c>&lt;!-- snippet-after: ... --&gt;</c>, appended, e.g. types used by the snippet). In the block, <c>{ ... }</c>
/// and <c>=&gt; ...</c> stand for the reader's own code.
/// </remarks>
public sealed partial record ReadmeSnippet(string File, int Line, string Code, string Before, string After)
{
    public string Location => $"{System.IO.Path.GetRelativePath(Repository.Root, File)} line {Line}";

    /// <summary>The code as compiled: context, the block with its placeholders filled, context.</summary>
    public string CompilableSource
    {
        get
        {
            var code = BodyPlaceholder().Replace(Code, "{ throw new global::System.NotImplementedException(); }");
            code = LambdaPlaceholder().Replace(code, "=> throw new global::System.NotImplementedException()");

            // using directives (of the block and of its context) must precede the context's statements.
            var (codeUsings, codeRest) = SplitUsings(code);
            var (beforeUsings, beforeRest) = SplitUsings(Before);
            return $"{beforeUsings}{codeUsings}{beforeRest}\n#line {Line + 1}\n{new string('\n', codeUsings.Count(c => c == '\n'))}{codeRest}\n#line default\n{After}\n";
        }
    }

    private static (string Usings, string Body) SplitUsings(string code)
    {
        var lines = code.Split('\n');
        var count = lines.TakeWhile(l => l.Trim().Length == 0 || UsingDirective().IsMatch(l)).Count();
        return (string.Concat(lines.Take(count).Select(l => l + "\n")), string.Join('\n', lines.Skip(count)));
    }

    public static IReadOnlyList<ReadmeSnippet> Parse(string file)
    {
        var text = System.IO.File.ReadAllText(file).Replace("\r\n", "\n", StringComparison.Ordinal);
        var snippets = new List<ReadmeSnippet>();
        foreach (Match block in CSharpBlock().Matches(text))
        {
            var line = text[..block.Index].Count(c => c == '\n') + 1;
            var preceding = text[..block.Index].TrimEnd();
            var following = text[(block.Index + block.Length)..].TrimStart();
            var before = BeforeComment().Match(preceding);
            var after = AfterComment().Match(following);
            snippets.Add(new ReadmeSnippet(
                file,
                line,
                block.Groups["code"].Value,
                before.Success ? before.Groups["code"].Value : "",
                after.Success ? after.Groups["code"].Value : ""));
        }

        return snippets;
    }

    [GeneratedRegex(@"^```csharp[ \t]*\n(?<code>.*?)^```[ \t]*$", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    [GeneratedRegex(@"<!--\s*snippet-before:(?<code>.*?)-->$", RegexOptions.Singleline | RegexOptions.RightToLeft)]
    private static partial Regex BeforeComment();

    [GeneratedRegex(@"^<!--\s*snippet-after:(?<code>.*?)-->", RegexOptions.Singleline)]
    private static partial Regex AfterComment();

    [GeneratedRegex(@"^\s*using\s+[\w.=\s]+;\s*(//.*)?$")]
    private static partial Regex UsingDirective();

    [GeneratedRegex(@"\{\s*\.\.\.\s*\}")]
    private static partial Regex BodyPlaceholder();

    [GeneratedRegex(@"=>\s*\.\.\.(?=\s*[);,])")]
    private static partial Regex LambdaPlaceholder();
}
