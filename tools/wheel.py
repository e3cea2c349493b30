"""Wrap a built `ds-snapshot-keeper` binary in a Python wheel, so `pip install`, `pipx install`
and `uv tool install ds-snapshot-keeper` put the command on PATH with no Rust toolchain.

    python3 tools/wheel.py --binary target/aarch64-unknown-linux-gnu/release/ds-snapshot-keeper \
        --target aarch64-unknown-linux-gnu --out dist

The wheel is what maturin's `bindings = "bin"` writes (ruff and uv ship theirs this way): the
binary under `<name>-<version>.data/scripts/`, which installers copy into the environment's
bin/ (Scripts\\ on Windows), and no Python code. One assembler serves both `make test` (around
the debug binary it already has) and `make dist` and the release workflow (around the release
binaries): maturin would run a cargo build of its own for each, and on Linux it would not
reuse cargo-lambda's arm64 build, which serves the Lambda zip and the aarch64 wheel at once.

The platform tag is read from the binary, as auditwheel reads it: on Linux the highest glibc
symbol version it needs gives `manylinux_2_<minor>`, and it must need no shared library
outside the manylinux set. macOS takes Rust's minimum deployment target (or
MACOSX_DEPLOYMENT_TARGET), Windows its architecture. The version is Cargo.toml's. Entries
carry SOURCE_DATE_EPOCH (default 1980-01-01), so the same binary gives the same wheel.

Standard library only: the machine's python3 runs it, here and on the release runners.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import os
import struct
import sys
import time
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAME = "ds-snapshot-keeper"
DIST_NAME = "ds_snapshot_keeper"  # the wheel's file-name form of NAME (PEP 427: - becomes _)
HOMEPAGE = "https://github.com/ds-snapshot-keeper/ds-snapshot-keeper"

# What a manylinux wheel may link against besides itself (PEP 600's policy, auditwheel's list
# for these two architectures): the C library's own parts and the dynamic loader.
MANYLINUX_LIBRARIES = {
    "libc.so.6", "libm.so.6", "libdl.so.2", "librt.so.1", "libpthread.so.0", "libutil.so.1",
    "libgcc_s.so.1", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1",
}
# The legacy names pip < 20.3 understands, beside the PEP 600 tag (as maturin writes them).
MANYLINUX_ALIASES = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
ELF_MACHINES = {"x86_64": 62, "aarch64": 183}
# Rust's default minimum macOS for each architecture, the floor of the wheel's tag.
MACOS_DEFAULT_MINIMUM = {"x86_64": "10.12", "aarch64": "11.0"}
MACOS_ARCH = {"x86_64": "x86_64", "aarch64": "arm64"}
WINDOWS_PLATFORMS = {"x86_64": "win_amd64", "aarch64": "win_arm64"}

DESCRIPTION = f"""\
# ds-snapshot-keeper

The operator command of [ds-snapshot-keeper]({HOMEPAGE}): scheduled, quota-safe manual
snapshots for AWS Directory Service, as a Lambda. This package carries the native binary
(no Python code, no Rust needed):

```
pipx install ds-snapshot-keeper        # or: uv tool install ds-snapshot-keeper
ds-snapshot-keeper points --directory d-0123456789
```

`points` lists a directory's restore points, `restore` restores one with pre-flight checks and
confirmation, `invoke` runs the keeper once from a workstation. Deploying the function itself:
{HOMEPAGE}/blob/main/docs/install.md
"""


class WheelError(Exception):
    """A binary that cannot be packaged as asked, with what to do about it."""


def cargo_version() -> str:
    with open(ROOT / "Cargo.toml", "rb") as f:
        return tomllib.load(f)["package"]["version"]


# ---- What the binary needs (ELF, little-endian 64-bit: both Linux targets) -------------------

def elf_needs(data: bytes) -> tuple[int, list[str], list[str]]:
    """The binary's machine, the shared libraries it names (DT_NEEDED) and the symbol versions
    it requires of them (.gnu.version_r), read from the section headers."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise WheelError("not a little-endian 64-bit ELF file")
    (machine,) = struct.unpack_from("<H", data, 18)
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]

    def string(section: int, offset: int) -> str:
        start = sections[section][4] + offset
        return data[start:data.index(b"\0", start)].decode()

    needed: list[str] = []
    versions: list[str] = []
    for _, kind, _, _, offset, size, link, info, _, _ in sections:
        if kind == 6:  # SHT_DYNAMIC: (tag, value) pairs; DT_NEEDED is 1
            for at in range(offset, offset + size, 16):
                tag, value = struct.unpack_from("<qQ", data, at)
                if tag == 1:
                    needed.append(string(link, value))
        elif kind == 0x6FFFFFFE:  # SHT_GNU_verneed: `info` entries, each with its aux list
            entry = offset
            for _ in range(info):
                _, count, _, aux, next_entry = struct.unpack_from("<HHIII", data, entry)
                at = entry + aux
                for _ in range(count):
                    _, _, _, name, next_aux = struct.unpack_from("<IHHII", data, at)
                    versions.append(string(link, name))
                    at += next_aux
                entry += next_entry
    return machine, needed, versions


def manylinux_tag(data: bytes, arch: str) -> str:
    machine, needed, versions = elf_needs(data)
    if machine != ELF_MACHINES[arch]:
        raise WheelError(f"the binary is for ELF machine {machine}, not {arch}: was it built for this --target?")
    foreign = sorted(set(needed) - MANYLINUX_LIBRARIES)
    if foreign:
        raise WheelError(f"the binary links {', '.join(foreign)}, which a manylinux wheel may not "
                         "assume: link it statically, or build it as the Makefile does")
    glibc = [tuple(map(int, v[len("GLIBC_"):].split("."))) for v in versions
             if v.startswith("GLIBC_") and v[len("GLIBC_"):].replace(".", "").isdigit()]
    major, minor = max(glibc, default=(2, 17))[:2]
    if major != 2:
        raise WheelError(f"glibc {major}.{minor}: no manylinux tag for it")
    minor = max(minor, 17)  # manylinux2014 is the oldest policy for aarch64, and pip's floor
    tags = [f"manylinux_2_{minor}_{arch}"]
    if minor in MANYLINUX_ALIASES:
        tags.append(f"{MANYLINUX_ALIASES[minor]}_{arch}")
    return ".".join(tags)


def platform_tag(target: str, data: bytes) -> str:
    """The wheel platform tag for a Rust target triple, checked against the binary."""
    arch, _, rest = target.partition("-")
    if arch not in ELF_MACHINES:
        raise WheelError(f"no wheel for architecture {arch!r}: x86_64 and aarch64 are built")
    if rest.endswith("linux-gnu"):
        return manylinux_tag(data, arch)
    if rest.endswith("apple-darwin"):
        if data[:4] != b"\xcf\xfa\xed\xfe":
            raise WheelError("not a 64-bit Mach-O binary: was it built for this --target?")
        major, minor = os.environ.get("MACOSX_DEPLOYMENT_TARGET", MACOS_DEFAULT_MINIMUM[arch]).split(".")[:2]
        return f"macosx_{major}_{minor}_{MACOS_ARCH[arch]}"
    if rest.endswith("windows-msvc"):
        if data[:2] != b"MZ":
            raise WheelError("not a Windows executable: was it built for this --target?")
        return WINDOWS_PLATFORMS[arch]
    raise WheelError(f"no wheel for target {target!r}: *-unknown-linux-gnu, *-apple-darwin and "
                     "*-pc-windows-msvc are built")


# ---- The wheel -------------------------------------------------------------------------------

def record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def metadata(version: str) -> str:
    with open(ROOT / "Cargo.toml", "rb") as f:
        summary = tomllib.load(f)["package"]["description"]
    headers = [
        ("Metadata-Version", "2.4"),
        ("Name", NAME),
        ("Version", version),
        ("Summary", summary),
        ("Keywords", "aws,directory-service,active-directory,snapshots,backup,lambda"),
        ("License-Expression", "Apache-2.0"),
        ("License-File", "LICENSE"),
        ("Classifier", "Environment :: Console"),
        ("Classifier", "Intended Audience :: System Administrators"),
        ("Classifier", "Programming Language :: Rust"),
        ("Classifier", "Topic :: System :: Archiving :: Backup"),
        ("Project-URL", f"Homepage, {HOMEPAGE}"),
        ("Project-URL", f"Documentation, {HOMEPAGE}/blob/main/docs/install.md"),
        ("Project-URL", f"Changelog, {HOMEPAGE}/blob/main/CHANGELOG.md"),
        ("Description-Content-Type", "text/markdown"),
    ]
    return "".join(f"{k}: {v}\n" for k, v in headers) + "\n" + DESCRIPTION


def build(binary: Path, target: str, out: Path, version: str) -> Path:
    data = binary.read_bytes()
    platform = platform_tag(target, data)
    exe = NAME + (".exe" if "windows" in target else "")
    stem = f"{DIST_NAME}-{version}"
    tags = [f"py3-none-{p}" for p in platform.split(".")]
    wheel_file = "".join([
        "Wheel-Version: 1.0\n",
        "Generator: ds-snapshot-keeper tools/wheel.py\n",
        "Root-Is-Purelib: false\n",
        *(f"Tag: {t}\n" for t in tags),
    ])
    files: list[tuple[str, bytes, int]] = [
        (f"{stem}.data/scripts/{exe}", data, 0o755),
        (f"{stem}.dist-info/METADATA", metadata(version).encode(), 0o644),
        (f"{stem}.dist-info/WHEEL", wheel_file.encode(), 0o644),
        (f"{stem}.dist-info/licenses/LICENSE", (ROOT / "LICENSE").read_bytes(), 0o644),
    ]
    record = "".join(f"{name},{record_hash(content)},{len(content)}\n" for name, content, _ in files)
    files.append((f"{stem}.dist-info/RECORD", (record + f"{stem}.dist-info/RECORD,,\n").encode(), 0o644))

    epoch = max(int(os.environ.get("SOURCE_DATE_EPOCH", "315532800")), 315532800)
    stamp = time.gmtime(epoch)[:6]
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{stem}-py3-none-{platform}.whl"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as whl:
        for name, content, mode in files:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            whl.writestr(info, content)
    path.write_bytes(buffer.getvalue())
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", type=Path, required=True, help="the built ds-snapshot-keeper")
    parser.add_argument("--target", required=True, help="its Rust target triple, e.g. x86_64-unknown-linux-gnu")
    parser.add_argument("--out", type=Path, required=True, help="the directory to write the wheel in")
    parser.add_argument("--version", default=None, help="default: Cargo.toml's")
    args = parser.parse_args()
    try:
        path = build(args.binary, args.target, args.out, args.version or cargo_version())
    except (WheelError, OSError) as e:
        print(f"wheel.py: {args.binary}: {e}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
