"""The release folder under test, and what the packaging tests share.

`PACKAGING_DIST` names the folder `tools/dist.py layout` wrote: target/packaging/dist from the
debug binary and a stand-in zip (`make packaging-test`, part of `make test`), or dist/ from
the release builds (`make dist`, which tests what it built). The tests are the same for both.
"""

from __future__ import annotations

import os
import shutil
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT / "tools"))


def cargo_version() -> str:
    with open(ROOT / "Cargo.toml", "rb") as f:
        return tomllib.load(f)["package"]["version"]


@pytest.fixture(scope="session")
def version() -> str:
    return cargo_version()


@pytest.fixture(scope="session")
def dist() -> Path:
    folder = Path(os.environ.get("PACKAGING_DIST") or ROOT / "target/packaging/dist")
    if not folder.is_dir():
        pytest.fail(f"{folder} missing: `make packaging-test` lays it out (or `make dist`)")
    return folder


def without_rust(path: str) -> str:
    """PATH less every folder that holds cargo, rustc or rustup: what a user without Rust has."""
    kept = [d for d in path.split(os.pathsep)
            if d and not any(shutil.which(tool, path=d) for tool in ("cargo", "rustc", "rustup"))]
    return os.pathsep.join(kept)
