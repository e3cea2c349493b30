"""One version everywhere: check that the places that carry the keeper's version agree, or set
them all at once for a release.

    python3 tools/version.py check                 # Cargo.toml = npm = SAR = CHANGELOG
    python3 tools/version.py check --tag v0.3.0    # and the tag, and a dated heading on top
    python3 tools/version.py set 0.3.0             # write it everywhere, date the CHANGELOG
    python3 tools/version.py notes 0.3.0           # its CHANGELOG section (the release's notes)

Cargo.toml is the source; the others follow it: Cargo.lock, the construct's package.json and
package-lock.json, template.yaml's `SemanticVersion` (the Serverless Application Repository),
and the CHANGELOG's newest released heading. The binary's `--version` and the run report's
`keeper_version` come from Cargo.toml at build time; the CLI wheel takes its version from
Cargo.toml too (tools/wheel.py). tests/packaging/test_versions.py checks the built artifacts.

Between releases the CHANGELOG's `## [Unreleased]` sits above the last release's heading and
the files carry that release's version; `set` moves the unreleased entries under the new
heading. A tag is only released from a tree whose newest heading is its version, dated.
Standard library only.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEMVER = re.compile(r"^\d+\.\d+\.\d+$")
HEADING = re.compile(r"^## \[(?P<name>[^\]]+)\](?: - (?P<date>\S+))?\s*$", re.M)


def changelog_headings(text: str) -> list[tuple[str, str | None, str]]:
    """Each `## [name] - date` heading, newest first, with the text under it."""
    found = list(HEADING.finditer(text))
    return [(m["name"], m["date"], text[m.end():found[i + 1].start() if i + 1 < len(found) else len(text)])
            for i, m in enumerate(found)]


def versions() -> dict[str, str | None]:
    """Where the version is written, and what each place says."""
    with open(ROOT / "Cargo.toml", "rb") as f:
        cargo = tomllib.load(f)["package"]["version"]
    lock = re.search(r'\[\[package\]\]\nname = "ds-snapshot-keeper"\nversion = "([^"]+)"',
                     (ROOT / "Cargo.lock").read_text())
    npm_lock = json.loads((ROOT / "cdk/package-lock.json").read_text())
    sar = re.search(r"^    SemanticVersion: (\S+)\s*$", (ROOT / "template.yaml").read_text(), re.M)
    released = [name for name, _, _ in changelog_headings((ROOT / "CHANGELOG.md").read_text())
                if name != "Unreleased"]
    return {
        "Cargo.toml": cargo,
        "Cargo.lock": lock[1] if lock else None,
        "cdk/package.json": json.loads((ROOT / "cdk/package.json").read_text())["version"],
        "cdk/package-lock.json": npm_lock["version"],
        "cdk/package-lock.json (packages[''])": npm_lock["packages"][""]["version"],
        "template.yaml SemanticVersion": sar[1] if sar else None,
        "CHANGELOG.md newest release": released[0] if released else None,
    }


def problems(tag: str | None = None) -> list[str]:
    found = versions()
    expected = found["Cargo.toml"]
    out = [f"{where} says {value!r}, Cargo.toml {expected!r}" for where, value in found.items()
           if value != expected]
    if not SEMVER.match(expected):
        out.append(f"Cargo.toml's version {expected!r} is not MAJOR.MINOR.PATCH")
    if tag is not None:
        if tag != f"v{expected}":
            out.append(f"the tag {tag!r} is not v{expected}: tag the commit `python3 tools/version.py set` made")
        headings = changelog_headings((ROOT / "CHANGELOG.md").read_text())
        pending = [(name, body) for name, _, body in headings[:1] if name == "Unreleased" and body.strip()]
        if pending:
            out.append("CHANGELOG.md has entries under [Unreleased], which this tag would not release: "
                       "`python3 tools/version.py set NEXT` moves them under NEXT's heading; tag vNEXT")
        dated = [date for name, date, _ in headings if name == expected]
        if not dated or not dated[0] or not re.match(r"^\d{4}-\d{2}-\d{2}$", dated[0]):
            out.append(f"CHANGELOG.md has no dated heading `## [{expected}] - YYYY-MM-DD`")
    return out


def replace_once(path: Path, pattern: str, replacement: str, flags: int = 0) -> None:
    text = path.read_text()
    new, count = re.subn(pattern, replacement, text, count=1, flags=flags)
    if count != 1:
        raise SystemExit(f"version.py: {path.relative_to(ROOT)}: found no version to replace ({pattern})")
    path.write_text(new)


def set_version(version: str, today: str) -> None:
    if not SEMVER.match(version):
        raise SystemExit(f"version.py: {version!r} is not MAJOR.MINOR.PATCH")
    replace_once(ROOT / "Cargo.toml", r'(?m)^(version = )"[^"]+"', rf'\g<1>"{version}"')
    replace_once(ROOT / "Cargo.lock", r'(\[\[package\]\]\nname = "ds-snapshot-keeper"\nversion = )"[^"]+"',
                 rf'\g<1>"{version}"')
    for name in ("cdk/package.json", "cdk/package-lock.json"):
        path = ROOT / name
        data = json.loads(path.read_text())
        data["version"] = version
        if "packages" in data:
            data["packages"][""]["version"] = version
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    replace_once(ROOT / "template.yaml", r"(?m)^(    SemanticVersion: )\S+", rf"\g<1>{version}")
    changelog = ROOT / "CHANGELOG.md"
    headings = changelog_headings(changelog.read_text())
    if not any(name == version for name, _, _ in headings):
        replace_once(changelog, r"(?m)^## \[Unreleased\]\s*$", f"## [Unreleased]\n\n## [{version}] - {today}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="the versions agree (exit 1 and say where not)")
    check.add_argument("--tag", help="a release tag, vMAJOR.MINOR.PATCH: also the tag and the CHANGELOG's date")
    setter = sub.add_parser("set", help="write a version everywhere and date its CHANGELOG heading")
    setter.add_argument("version")
    setter.add_argument("--date", default=datetime.date.today().isoformat())
    notes = sub.add_parser("notes", help="print a version's CHANGELOG section")
    notes.add_argument("version", help="MAJOR.MINOR.PATCH or vMAJOR.MINOR.PATCH")
    args = parser.parse_args()
    if args.command == "notes":
        wanted = args.version.removeprefix("v")
        for name, _, body in changelog_headings((ROOT / "CHANGELOG.md").read_text()):
            if name == wanted:
                print(body.strip())
                return 0
        print(f"version: CHANGELOG.md has no heading for {wanted}", file=sys.stderr)
        return 1
    if args.command == "set":
        set_version(args.version, args.date)
    found = problems(getattr(args, "tag", None))
    for problem in found:
        print(f"version: {problem}", file=sys.stderr)
    if not found:
        print(f"version {versions()['Cargo.toml']}: Cargo.toml, Cargo.lock, the construct's package, "
              "template.yaml and CHANGELOG.md agree")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
