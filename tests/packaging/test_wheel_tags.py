"""tools/wheel.py's platform tags for the targets only the release workflow builds (macOS,
Windows), and its refusals, on stand-in binaries: the parts of the assembler that no build
here exercises."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

import wheel

MACHO_64 = b"\xcf\xfa\xed\xfe" + bytes(60)
WINDOWS_EXE = b"MZ" + bytes(62)


def test_macos_and_windows_tags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MACOSX_DEPLOYMENT_TARGET", raising=False)
    assert wheel.platform_tag("aarch64-apple-darwin", MACHO_64) == "macosx_11_0_arm64"
    assert wheel.platform_tag("x86_64-apple-darwin", MACHO_64) == "macosx_10_12_x86_64"
    monkeypatch.setenv("MACOSX_DEPLOYMENT_TARGET", "13.0")
    assert wheel.platform_tag("aarch64-apple-darwin", MACHO_64) == "macosx_13_0_arm64"
    assert wheel.platform_tag("x86_64-pc-windows-msvc", WINDOWS_EXE) == "win_amd64"


@pytest.mark.parametrize("target, data, says", [
    ("x86_64-apple-darwin", WINDOWS_EXE, "not a 64-bit Mach-O"),
    ("x86_64-pc-windows-msvc", MACHO_64, "not a Windows executable"),
    ("x86_64-unknown-linux-gnu", WINDOWS_EXE, "not a little-endian 64-bit ELF"),
    ("x86_64-unknown-linux-musl", b"\x7fELF", "no wheel for target"),
    ("i686-pc-windows-msvc", WINDOWS_EXE, "no wheel for architecture"),
])
def test_a_binary_that_is_not_for_the_target_is_refused(target: str, data: bytes, says: str) -> None:
    with pytest.raises(wheel.WheelError, match=says):
        wheel.platform_tag(target, data)


def test_a_windows_wheel_carries_the_exe(tmp_path: Path) -> None:
    binary = tmp_path / "ds-snapshot-keeper.exe"
    binary.write_bytes(WINDOWS_EXE)
    built = wheel.build(binary, "x86_64-pc-windows-msvc", tmp_path / "out", "1.2.3")
    assert built.name == "ds_snapshot_keeper-1.2.3-py3-none-win_amd64.whl"
    with zipfile.ZipFile(built) as whl:
        assert "ds_snapshot_keeper-1.2.3.data/scripts/ds-snapshot-keeper.exe" in whl.namelist()


def test_the_same_binary_gives_the_same_wheel(tmp_path: Path) -> None:
    binary = tmp_path / "ds-snapshot-keeper"
    binary.write_bytes(MACHO_64)
    first = wheel.build(binary, "aarch64-apple-darwin", tmp_path / "a", "1.2.3").read_bytes()
    second = wheel.build(binary, "aarch64-apple-darwin", tmp_path / "b", "1.2.3").read_bytes()
    assert first == second
