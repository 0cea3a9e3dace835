#!/usr/bin/env python3
"""Rewrites src/*/PublicAPI.Unshipped.txt from the code (./build.sh api).

Builds every src/ project once with the public API analyzer's findings as warnings, then for each project:
- every public symbol that is in neither PublicAPI.Shipped.txt nor PublicAPI.Unshipped.txt (RS0016) is added,
- every Unshipped entry that no longer exists in the code (RS0017) is dropped,
- every Shipped entry that no longer exists (RS0017) is recorded as *REMOVED*<entry> in Unshipped,
so that the Unshipped file lists exactly the public changes since the last release. Missing files are created.
"""
import glob
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER = "#nullable enable"
DIAG = re.compile(r"warning (RS0016|RS0017): Symbol '(.*)' (?:is not part of the declared|is part of the declared).*\[(.+?\.csproj)")


def read_entries(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip() and not line.startswith("#")]


def write_entries(path, entries):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(HEADER + "\n")
        for entry in sorted(set(entries), key=lambda e: (e.removeprefix("*REMOVED*"), e)):
            f.write(entry + "\n")


def main():
    projects = sorted(glob.glob(os.path.join(ROOT, "src", "*", "*.csproj")))
    for project in projects:
        folder = os.path.dirname(project)
        for name in ("PublicAPI.Shipped.txt", "PublicAPI.Unshipped.txt"):
            path = os.path.join(folder, name)
            if not os.path.exists(path):
                write_entries(path, [])
                print(f"created {os.path.relpath(path, ROOT)}")

    found = {os.path.normpath(p): {"RS0016": set(), "RS0017": set()} for p in projects}
    for project in projects:
        # Rebuild so that the analyzer runs on every file; findings stay warnings so that dependants compile too.
        result = subprocess.run(
            ["dotnet", "build", project, "-c", os.environ.get("CONFIGURATION", "Release"), "--no-incremental",
             "-nologo", "-v", "quiet", "-clp:NoSummary", "-p:TreatWarningsAsErrors=false",
             "-p:KeyedLockApiScan=true"],
            cwd=ROOT, capture_output=True, text=True)
        out = result.stdout + result.stderr
        for match in DIAG.finditer(out):
            rule, symbol, csproj = match.groups()
            key = os.path.normpath(csproj)
            if key in found:
                found[key][rule].add(symbol)
        errors = [line for line in out.splitlines() if ": error " in line]
        if errors:
            print("\n".join(sorted(set(errors))), file=sys.stderr)
            return 1

    changed = 0
    for project in projects:
        folder = os.path.dirname(project)
        shipped_path = os.path.join(folder, "PublicAPI.Shipped.txt")
        unshipped_path = os.path.join(folder, "PublicAPI.Unshipped.txt")
        shipped = read_entries(shipped_path)
        unshipped = read_entries(unshipped_path)
        added, missing = found[os.path.normpath(project)]["RS0016"], found[os.path.normpath(project)]["RS0017"]
        new = [e for e in unshipped if e not in missing]
        new += [s for s in added if s not in new]
        new += ["*REMOVED*" + s for s in missing if s in shipped and "*REMOVED*" + s not in new]
        if sorted(set(new)) != sorted(set(unshipped)) or not open(unshipped_path, encoding="utf-8").read().startswith(HEADER):
            write_entries(unshipped_path, new)
            changed += 1
            print(f"updated {os.path.relpath(unshipped_path, ROOT)}: +{len(added)} -{len(missing)}")
    print(f"public API files up to date ({changed} changed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
