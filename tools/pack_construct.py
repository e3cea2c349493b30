"""Pack the jsii construct (cdk/) for npm and PyPI, with the function's zip inside or without.

    python3 tools/pack_construct.py --out cdk/dist-pacmak                      # no code inside
    python3 tools/pack_construct.py --out DIR --zip dist/ds-snapshot-keeper-0.2.0-lambda-arm64.zip

Writes DIR/js/<name>@<version>.jsii.tgz (npm's tarball, as jsii-pacmak names it) and
DIR/python/ (the wheel and the sdist). With --zip, the package carries that file as
`assets/bootstrap.zip`, which the construct deploys when it is given no `code`
(`bundledCode` in cdk/lib/index.ts); `make dist` packs the arm64 release zip, `make test` a
small stand-in.

The package is laid out in a staging folder of its own (package.json, the jsii assembly,
jsii-lib/, the README, the LICENSE and assets/), never in cdk/: a test build beside a release
build cannot put the wrong zip in the other's package. cdk/ must have been built by jsii
(`npx jsii`, the Makefile's $(CDK_JSII)). jsii-pacmak writes the npm tarball and the Python
package's source; uv builds the wheel and the sdist from that source with the backend it
names (setuptools), as pacmak's own `python -m build` would, without the two venvs pacmak
fills by pip for it (docs/test-command.md).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CDK = ROOT / "cdk"
UV = ROOT / ".tools/uv/bin/uv"


def run(*args: str | Path, cwd: Path) -> None:
    done = subprocess.run([str(a) for a in args], cwd=cwd)
    if done.returncode != 0:
        raise SystemExit(f"pack_construct.py: `{' '.join(map(str, args))}` failed ({done.returncode})")


def pack(out: Path, zip_file: Path | None) -> None:
    if not (CDK / ".jsii").exists() or not (CDK / "jsii-lib/index.js").exists():
        raise SystemExit("pack_construct.py: cdk/ is not built by jsii: run `cd cdk && npx jsii` (make cdk-jsii does)")
    stage = out.with_name(out.name + ".stage")
    shutil.rmtree(stage, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    package = stage / "package"
    package.mkdir(parents=True)
    for name in ("package.json", ".jsii", "README.md"):
        shutil.copy2(CDK / name, package / name)
    shutil.copy2(ROOT / "LICENSE", package / "LICENSE")
    shutil.copytree(CDK / "jsii-lib", package / "jsii-lib", ignore=shutil.ignore_patterns("*.tsbuildinfo"))
    if zip_file is not None:
        (package / "assets").mkdir()
        shutil.copy2(zip_file, package / "assets" / "bootstrap.zip")
    # pacmak finds aws-cdk-lib's and constructs' assemblies from the package's node_modules.
    os.symlink(CDK / "node_modules", package / "node_modules")

    run("npx", "jsii-pacmak", "--targets", "js,python", "--code-only", "--outdir", stage / "src", package, cwd=CDK)
    (out / "js").mkdir(parents=True)
    [tarball] = (stage / "src/js").glob("*.jsii.tgz")
    shutil.copy2(tarball, out / "js" / tarball.name)
    run(UV, "build", "--quiet", "--out-dir", out / "python", stage / "src/python", cwd=ROOT)
    shutil.rmtree(stage)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="where js/ and python/ go (emptied first)")
    parser.add_argument("--zip", type=Path, help="the function's zip to carry as assets/bootstrap.zip")
    args = parser.parse_args()
    if args.zip is not None and not args.zip.is_file():
        print(f"pack_construct.py: no zip at {args.zip}", file=sys.stderr)
        return 2
    pack(args.out.resolve(), args.zip.resolve() if args.zip else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
