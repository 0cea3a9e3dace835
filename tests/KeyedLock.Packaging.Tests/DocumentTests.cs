using System.Text.RegularExpressions;

namespace KeyedLock.Packaging.Tests;

/// <summary>The documents a user reads stand alone: they refer to nothing outside the repository.</summary>
public sealed partial class DocumentTests
{
    public static TheoryData<string> Documents()
    {
        var data = new TheoryData<string>();
        foreach (var document in Repository.UserDocuments)
        {
            data.Add(Path.GetRelativePath(Repository.Root, document));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void Document_RefersToNothingOutsideTheRepository(string document)
    {
        var lines = File.ReadAllLines(Repository.PathOf(document));
        var findings = lines
            .Select((text, index) => (text, line: index + 1))
            .Where(l => OutsideReference().IsMatch(l.text))
            .Select(l => $"{document}:{l.line}: {OutsideReference().Match(l.text).Value}")
            .ToArray();
        Assert.True(findings.Length == 0, "References to files or trackers a user does not have:\n" + string.Join("\n", findings));
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void Document_RelativeLinksResolve(string document)
    {
        var path = Repository.PathOf(document);
        var folder = Path.GetDirectoryName(path)!;
        var broken = RelativeLink().Matches(File.ReadAllText(path))
            .Select(m => m.Groups["target"].Value)
            .Where(t => !t.Contains("://", StringComparison.Ordinal) && !t.StartsWith("mailto:", StringComparison.Ordinal))
            .Select(t => t.Split('#')[0])
            .Where(t => t.Length > 0)
            .Where(t => !File.Exists(Path.Combine(folder, t)) && !Directory.Exists(Path.Combine(folder, t)))
            .ToArray();
        Assert.True(broken.Length == 0, $"{document} links to missing files: {string.Join(", ", broken)}");
    }

    [GeneratedRegex(@"\.\./shared|DESIGN\.md|(?-i:\bDESIGN\b)|\bissues? #?\d+|\bthe lead\b", RegexOptions.IgnoreCase)]
    private static partial Regex OutsideReference();

    [GeneratedRegex(@"\]\((?<target>[^)\s]+)\)")]
    private static partial Regex RelativeLink();
}
