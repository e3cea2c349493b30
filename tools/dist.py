"""Lay out a release: every artifact in one folder, with SHA256SUMS over them. `make dist`
writes dist/ from the release builds; `make test` writes target/packaging/dist/ the same way
from the debug binary and a stand-in zip, and tests/packaging tests either folder.

    python tools/dist.py layout --out dist --lambda-zip Z --construct DIR --stackset F \
        --binary x86_64-unknown-linux-gnu=PATH --binary aarch64-unknown-linux-gnu=PATH
    python tools/dist.py checksums dist     # after adding the macOS and Windows wheels

What the folder holds (docs/install.md says what each is for):

| file | what |
|---|---|
| ds-snapshot-keeper-<v>-lambda-arm64.zip | the function: cargo lambda's arm64 `bootstrap.zip` |
| template.yaml | the SAM template, its CodeUri that zip (no build step): `sam package`, then `sam deploy` |
| LICENSE, README.md | what the template's Serverless Application Repository metadata names |
| template-stackset.json | the StackSet template (`make stackset`), code from a bucket per Region |
| ds_snapshot_keeper-<v>-py3-none-<platform>.whl | the operator CLI, one wheel per platform |
| ds-snapshot-keeper-cdk-<v>.tgz | the construct for npm, the zip inside |
| ds_snapshot_keeper_cdk-<v>-py3-none-any.whl, .tar.gz | the construct for PyPI (jsii-pacmak) |
| SHA256SUMS | `sha256sum -c SHA256SUMS` checks them all |

`layout` runs in the deployment checkers' venv (cfn-lint reads template.yaml); `checksums`
needs only the standard library (the release workflow runs it with the runner's python3).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
from pathlib import Path

from wheel import WheelError, build as build_wheel, cargo_version

ROOT = Path(__file__).resolve().parents[1]
SUMS = "SHA256SUMS"


def lambda_zip_name(version: str) -> str:
    return f"ds-snapshot-keeper-{version}-lambda-arm64.zip"


def sam_template(code_uri: str) -> str:
    """template.yaml for the built zip beside it: no BuildMethod, CodeUri the zip. Written
    out as YAML with the intrinsics in their long form (Fn::If, not !If)."""
    import yaml

    from prebuilt_template import prebuilt

    return yaml.safe_dump(prebuilt(code_uri), sort_keys=False, width=100, allow_unicode=True)


def checksums(folder: Path) -> Path:
    """SHA256SUMS over every file of the folder, in sha256sum's format."""
    lines = []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and p.name != SUMS):
        lines.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}\n")
    out = folder / SUMS
    out.write_text("".join(lines))
    return out


def layout(out: Path, lambda_zip: Path, construct: Path, stackset: Path, binaries: list[tuple[str, Path]]) -> None:
    version = cargo_version()
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    zip_name = lambda_zip_name(version)
    shutil.copy2(lambda_zip, out / zip_name)
    (out / "template.yaml").write_text(sam_template(zip_name))
    for name in ("LICENSE", "README.md"):
        shutil.copy2(ROOT / name, out / name)
    shutil.copy2(stackset, out / "template-stackset.json")
    for target, binary in binaries:
        build_wheel(binary, target, out, version)
    [tarball] = (construct / "js").glob("*.jsii.tgz")
    shutil.copy2(tarball, out / f"ds-snapshot-keeper-cdk-{version}.tgz")
    for built in sorted((construct / "python").glob("ds_snapshot_keeper_cdk-*")):
        shutil.copy2(built, out / built.name)
    checksums(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    lay = sub.add_parser("layout", help="write every artifact and SHA256SUMS into --out (emptied first)")
    lay.add_argument("--out", type=Path, required=True)
    lay.add_argument("--lambda-zip", type=Path, required=True, help="cargo lambda's arm64 bootstrap.zip")
    lay.add_argument("--construct", type=Path, required=True, help="tools/pack_construct.py's --out")
    lay.add_argument("--stackset", type=Path, required=True, help="make stackset's template")
    lay.add_argument("--binary", action="append", default=[], metavar="TARGET=PATH",
                     help="a built ds-snapshot-keeper and its Rust target triple: one wheel each")
    sums = sub.add_parser("checksums", help="write FOLDER/SHA256SUMS over the files in it")
    sums.add_argument("folder", type=Path)
    args = parser.parse_args()
    if args.command == "checksums":
        print(checksums(args.folder))
        return 0
    binaries = []
    for given in args.binary:
        target, _, path = given.partition("=")
        binaries.append((target, Path(path)))
    try:
        layout(args.out, args.lambda_zip, args.construct, args.stackset, binaries)
    except (WheelError, OSError, ValueError) as e:
        print(f"dist.py: {e}", file=sys.stderr)
        return 2
    print(f"{args.out}: {', '.join(sorted(p.name for p in args.out.iterdir()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
