"""The operator CLI as a Python wheel: well formed, and installed the three ways docs/install.md
gives (pip in a fresh venv, `uv tool install`, `pipx install`) it puts `ds-snapshot-keeper`
on PATH, and the installed command runs against the emulator with no Rust on PATH.

Only the wheel for this machine (Linux x86_64) is run here; the aarch64 Linux, macOS and
Windows wheels are built (aarch64 here, the others by the release workflow) and checked for
form, not run.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, without_rust
from local_aws import Emulator

WHEEL_NAME = re.compile(r"^ds_snapshot_keeper-(?P<version>[^-]+)-py3-none-(?P<platform>[^-]+)\.whl$")
UV = ROOT / ".tools/uv/bin/uv"


def cli_wheels(dist: Path) -> list[Path]:
    return sorted(dist.glob("ds_snapshot_keeper-*.whl"))


@pytest.fixture(scope="module")
def host_wheel(dist: Path) -> Path:
    machine = platform.machine()
    found = [w for w in cli_wheels(dist) if "linux" in w.name and w.name.endswith(f"_{machine}.whl")]
    assert len(found) == 1, f"one Linux {machine} wheel in {dist}: {[w.name for w in cli_wheels(dist)]}"
    return found[0]


def required_glibc(binary: bytes, scratch: Path) -> tuple[int, int]:
    """The newest GLIBC_x.y the binary needs, as binutils' readelf reads it (not tools/wheel.py's
    own reader: the check is independent of what it checks)."""
    path = scratch / "binary"
    path.write_bytes(binary)
    out = subprocess.run(["readelf", "-V", "-W", str(path)], capture_output=True, text=True, check=True).stdout
    versions = {tuple(map(int, v.split("."))) for v in re.findall(r"Name: GLIBC_(\d+\.\d+(?:\.\d+)?)", out)}
    return max(versions, default=(2, 17))[:2]


def test_each_wheel_is_what_installers_expect(dist: Path, version: str, tmp_path: Path) -> None:
    """Name, tags, metadata, RECORD and the executable bit; a Linux wheel's manylinux tag is at
    least the glibc its binary needs, and its binary is for the tag's architecture."""
    wheels = cli_wheels(dist)
    assert wheels, f"no ds_snapshot_keeper wheel in {dist}"
    for wheel in wheels:
        name = WHEEL_NAME.match(wheel.name)
        assert name, wheel.name
        assert name["version"] == version
        platforms = name["platform"].split(".")
        stem = f"ds_snapshot_keeper-{version}"
        with zipfile.ZipFile(wheel) as whl:
            names = set(whl.namelist())
            exe = "ds-snapshot-keeper.exe" if name["platform"].startswith("win") else "ds-snapshot-keeper"
            script = f"{stem}.data/scripts/{exe}"
            assert script in names
            assert (whl.getinfo(script).external_attr >> 16) & 0o111, "the command is executable"
            meta = whl.read(f"{stem}.dist-info/METADATA").decode()
            assert "\nName: ds-snapshot-keeper\n" in meta and f"\nVersion: {version}\n" in meta
            wheel_file = whl.read(f"{stem}.dist-info/WHEEL").decode()
            assert "Root-Is-Purelib: false" in wheel_file
            assert re.findall(r"^Tag: (\S+)$", wheel_file, re.M) == [f"py3-none-{p}" for p in platforms]
            record = whl.read(f"{stem}.dist-info/RECORD").decode().splitlines()
            listed = {line.split(",")[0] for line in record}
            assert listed == names, "RECORD lists every file, and only those"
            for line in record:
                path, digest, size = line.split(",")
                if path.endswith("/RECORD"):
                    continue
                data = whl.read(path)
                assert int(size) == len(data), path
                assert digest == "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            if "linux" in name["platform"]:
                binary = whl.read(script)
                tag = re.match(r"manylinux_(\d+)_(\d+)_(x86_64|aarch64)$", platforms[0])
                assert tag, platforms[0]
                assert required_glibc(binary, tmp_path) <= (int(tag[1]), int(tag[2])), wheel.name
                elf_machine = int.from_bytes(binary[18:20], "little")
                assert elf_machine == {"x86_64": 62, "aarch64": 183}[tag[3]], wheel.name


@pytest.mark.skipif(not os.environ.get("PACKAGING_RELEASE"), reason="the release wheels are built by make dist")
def test_the_release_has_both_linux_wheels_and_the_zip_serves_lambda_only(dist: Path, version: str) -> None:
    """x86_64 and aarch64 manylinux wheels with the command line (its help and the SSO
    credential client); the Lambda zip's bootstrap is the arm64 build without them (Cargo.toml's
    feature `cli`, off for the zip: it only serves the Runtime API)."""
    linux = {re.search(r"_(x86_64|aarch64)\.whl$", w.name)[1]: w for w in cli_wheels(dist) if "manylinux" in w.name}
    assert set(linux) == {"x86_64", "aarch64"}, sorted(linux)
    with zipfile.ZipFile(linux["aarch64"]) as whl:
        in_wheel = whl.read(f"ds_snapshot_keeper-{version}.data/scripts/ds-snapshot-keeper")
    lambda_zip = dist / f"ds-snapshot-keeper-{version}-lambda-arm64.zip"
    # The zip's budget (docs/benchmarks.md): 2.2 MB, what a cold start loads.
    assert lambda_zip.stat().st_size <= 2_200_000, lambda_zip.stat().st_size
    with zipfile.ZipFile(lambda_zip) as z:
        bootstrap = z.read("bootstrap")
    cli_marks = [b"help exit-codes", b"portal.sso"]
    assert all(m in in_wheel for m in cli_marks), "the aarch64 wheel has the command line"
    assert not any(m in bootstrap for m in cli_marks), "the zip serves Lambda only"


def cli_env(bin_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A user's environment: the install's bin/ on PATH, no Rust, no AWS settings inherited."""
    env = {"PATH": os.pathsep.join([str(bin_dir), without_rust(os.environ.get("PATH", "/usr/bin:/bin"))]),
           "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8"}
    env.update(extra or {})
    return env


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ds-snapshot-keeper", *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def pip_bin(host_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip install` of the wheel in a fresh venv (offline: the wheel has no dependencies)."""
    venv = tmp_path_factory.mktemp("pip") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin/python"), "-m", "pip", "install", "--quiet", "--no-index",
                    "--disable-pip-version-check", str(host_wheel)], check=True)
    assert (venv / "bin/ds-snapshot-keeper").exists()
    return venv / "bin"


def test_pip_installs_the_command_and_it_runs_against_the_emulator(pip_bin: Path) -> None:
    """`--help` and `points` against the emulator, found on PATH as a user finds it, no Rust."""
    env = cli_env(pip_bin)
    assert subprocess.run(["sh", "-c", "command -v cargo || command -v rustc"], env=env).returncode != 0

    helped = run_cli(env, "--help")
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("usage: ds-snapshot-keeper")
    assert "points" in helped.stdout and "restore" in helped.stdout

    with Emulator() as emu:
        directory = emu.new_directory()
        snapshot = emu.client("ds").create_snapshot(DirectoryId=directory, Name="keeper-20261124T060000Z-r3fa9c2d1")
        listed = run_cli(cli_env(pip_bin, {
            "AWS_ENDPOINT_URL": emu.endpoint, "AWS_REGION": emu.region,
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        }), "points", "--directory", directory)  # JSON: stdout is not a terminal
    assert listed.returncode == 0, listed.stderr
    text = json.dumps(json.loads(listed.stdout))
    assert directory in text and snapshot["SnapshotId"] in text


def test_the_installed_command_tells_its_version(pip_bin: Path, version: str) -> None:
    shown = run_cli(cli_env(pip_bin), "--version")
    assert shown.returncode == 0, shown.stderr
    assert version in shown.stdout


def test_uv_tool_and_pipx_put_the_command_on_path(host_wheel: Path, tmp_path: Path) -> None:
    """`uv tool install` and `pipx install` of the wheel: each links the command into its bin
    folder, and it runs from there."""
    uv_bin = tmp_path / "uv-bin"
    subprocess.run([str(UV), "tool", "install", "--offline", "--quiet", str(host_wheel)], check=True, env={
        **os.environ, "UV_TOOL_DIR": str(tmp_path / "uv-tools"), "UV_TOOL_BIN_DIR": str(uv_bin)})
    pipx_bin = tmp_path / "pipx-bin"
    subprocess.run([str(Path(sys.executable).parent / "pipx"), "install", "--quiet", str(host_wheel)], check=True, env={
        **os.environ, "PIPX_HOME": str(tmp_path / "pipx"), "PIPX_BIN_DIR": str(pipx_bin),
        "PIPX_MAN_DIR": str(tmp_path / "pipx-man")})
    for bin_dir in (uv_bin, pipx_bin):
        done = run_cli(cli_env(bin_dir), "--help")
        assert done.returncode == 0 and done.stdout.startswith("usage: ds-snapshot-keeper"), (bin_dir, done.stderr)
