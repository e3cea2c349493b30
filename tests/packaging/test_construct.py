"""The construct as released: its npm tarball and its PyPI wheel carry the function's zip, and
an app that installs them, not the source tree, synthesises with no Rust on PATH and no
codeDir, and deploys exactly that zip.

The apps are the project's own examples: cdk/example/app.ts (compiled by tsc, its one
`require("../lib")` pointed at the installed package) and cdk/example/python/app.py.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, without_rust

CONTEXT = ["-c", "account=123456789012", "-c", "region=eu-west-1", "-c", "directoryIds=d-0123456789"]


def lambda_zip(dist: Path, version: str) -> bytes:
    return (dist / f"ds-snapshot-keeper-{version}-lambda-arm64.zip").read_bytes()


def carried_zip(tarball: bytes) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(tarball)) as tgz:
        return tgz.extractfile("package/assets/bootstrap.zip").read()


def assert_deploys(cdk_out: Path, stack: str, expected: bytes) -> None:
    """The keeper function's code in the synthesised template is a file asset whose bytes are
    `expected`."""
    template = json.loads((cdk_out / f"{stack}.template.json").read_text())
    [function] = [r for r in template["Resources"].values()
                  if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("Handler") == "bootstrap"]
    key = function["Properties"]["Code"]["S3Key"]
    assets = json.loads((cdk_out / f"{stack}.assets.json").read_text())["files"]
    [asset] = [a for a in assets.values() if any(d["objectKey"] == key for d in a["destinations"].values())]
    assert asset["source"]["packaging"] == "file", asset
    assert (cdk_out / asset["source"]["path"]).read_bytes() == expected, "the asset is the zip the package carries"


def test_the_npm_package_carries_the_function_zip(dist: Path, version: str) -> None:
    tarball = (dist / f"ds-snapshot-keeper-cdk-{version}.tgz").read_bytes()
    assert carried_zip(tarball) == lambda_zip(dist, version)
    with tarfile.open(fileobj=io.BytesIO(tarball)) as tgz:
        package = json.loads(tgz.extractfile("package/package.json").read())
        names = set(tgz.getnames())
    assert package["version"] == version
    assert {"package/jsii-lib/index.js", "package/.jsii", "package/LICENSE"} <= names


def test_an_app_that_npm_installs_the_tarball_synthesises_without_rust(dist: Path, version: str, tmp_path: Path) -> None:
    """npm install of the tarball beside aws-cdk-lib and constructs (the versions the construct
    is built against), then `cdk synth` of the example app with no codeDir and no Rust."""
    cdk_dev = json.loads((ROOT / "cdk/package.json").read_text())["devDependencies"]
    app = tmp_path / "app"
    app.mkdir()
    (app / "package.json").write_text(json.dumps({"name": "keeper-scratch-app", "private": True}))
    env = {**os.environ, "PATH": without_rust(os.environ["PATH"]), "CDK_DISABLE_CLI_TELEMETRY": "true"}
    assert shutil.which("cargo", path=env["PATH"]) is None
    subprocess.run(["npm", "install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error",
                    str(dist / f"ds-snapshot-keeper-cdk-{version}.tgz"),
                    f"aws-cdk-lib@{cdk_dev['aws-cdk-lib']}", f"constructs@{cdk_dev['constructs']}"],
                   cwd=app, env=env, check=True, stdout=subprocess.DEVNULL)
    example = ROOT / "cdk/dist/example"
    shutil.copy2(example / "settings.js", app / "settings.js")
    source = (example / "app.js").read_text()
    assert source.count('require("../lib")') == 1, "the compiled example imports the construct once"
    (app / "app.js").write_text(source.replace('require("../lib")', 'require("ds-snapshot-keeper-cdk")'))

    done = subprocess.run([str(ROOT / "cdk/node_modules/.bin/cdk"), "synth", "--app", "node app.js", "--output", "cdk.out",
                           "--quiet", "--no-notices", *CONTEXT], cwd=app, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert_deploys(app / "cdk.out", "DsSnapshotKeeperExample", lambda_zip(dist, version))


@pytest.fixture(scope="module")
def python_cdk_out(dist: Path, version: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Python example app synthesised from the PyPI wheel. `make test` has done it already
    (cdk-python installs the same wheel: CDK_PYTHON_OUT names its output); otherwise here."""
    given = os.environ.get("CDK_PYTHON_OUT")
    if given:
        return Path(given)
    scratch = tmp_path_factory.mktemp("python-app")
    venv = scratch / "venv"
    uv = str(ROOT / ".tools/uv/bin/uv")
    subprocess.run([uv, "venv", "--quiet", str(venv)], check=True)
    subprocess.run([uv, "pip", "install", "--quiet", "--python", str(venv / "bin/python"),
                    "-r", str(ROOT / "cdk/example/python/requirements.txt"),
                    str(dist / f"ds_snapshot_keeper_cdk-{version}-py3-none-any.whl")], check=True)
    env = {"PATH": without_rust(os.environ["PATH"]), "HOME": os.environ.get("HOME", "/tmp"),
           "KEEPER_ACCOUNT": "123456789012", "KEEPER_REGION": "eu-west-1", "CDK_OUTDIR": str(scratch / "cdk.out")}
    subprocess.run([str(venv / "bin/python"), str(ROOT / "cdk/example/python/app.py")], cwd=scratch, env=env,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return scratch / "cdk.out"


def test_the_pypi_package_carries_the_function_zip_and_its_app_deploys_it(
        dist: Path, version: str, python_cdk_out: Path) -> None:
    wheel = dist / f"ds_snapshot_keeper_cdk-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as whl:
        tarball = whl.read(f"ds_snapshot_keeper_cdk/_jsii/ds-snapshot-keeper-cdk@{version}.jsii.tgz")
    assert carried_zip(tarball) == lambda_zip(dist, version)
    assert (dist / f"ds_snapshot_keeper_cdk-{version}.tar.gz").exists(), "the sdist beside the wheel"
    assert_deploys(python_cdk_out, "DsSnapshotKeeperPython", lambda_zip(dist, version))
