"""One version everywhere: Cargo.toml, Cargo.lock, the construct's package, template.yaml's
SemanticVersion and the CHANGELOG's newest release agree (tools/version.py), every artifact
of the release folder carries that version, and the docs speak of released versions only.
The installed command's `--version` is checked in test_cli_wheel.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import version as versions_tool
from conftest import ROOT


def test_the_sources_agree() -> None:
    assert versions_tool.problems() == []


def test_a_release_tag_must_be_the_version_with_a_dated_changelog_heading(version: str) -> None:
    wrong = versions_tool.problems(tag="v0.0.0")
    assert any("the tag 'v0.0.0' is not" in p for p in wrong), wrong
    headings = versions_tool.changelog_headings((ROOT / "CHANGELOG.md").read_text())
    pending = headings[0][0] == "Unreleased" and headings[0][2].strip()
    right = versions_tool.problems(tag=f"v{version}")
    assert bool(right) == bool(pending), right


def test_every_artifact_carries_the_version(dist: Path, version: str) -> None:
    names = sorted(p.name for p in dist.iterdir())
    versioned = [n for n in names if re.search(r"\d+\.\d+\.\d+", n)]
    assert versioned, names
    for name in versioned:
        assert re.search(rf"[-_]{re.escape(version)}[-_.]", name), f"{name} is not version {version}"
    expected = {f"ds-snapshot-keeper-{version}-lambda-arm64.zip", f"ds-snapshot-keeper-cdk-{version}.tgz",
                f"ds_snapshot_keeper_cdk-{version}-py3-none-any.whl", f"ds_snapshot_keeper_cdk-{version}.tar.gz",
                "template.yaml", "template-stackset.json", "LICENSE", "README.md", "SHA256SUMS"}
    assert expected <= set(names), sorted(expected - set(names))
    assert any(n.startswith(f"ds_snapshot_keeper-{version}-py3-none-") for n in names)
    assert f"    SemanticVersion: {version}\n" in (dist / "template.yaml").read_text().replace("'", "")


def test_checksums_cover_every_artifact(dist: Path) -> None:
    import hashlib

    listed = {}
    for line in (dist / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        listed[name] = digest
    assert set(listed) == {p.name for p in dist.iterdir() if p.name != "SHA256SUMS"}
    for name, digest in listed.items():
        assert hashlib.sha256((dist / name).read_bytes()).hexdigest() == digest, name


UNRELEASED = re.compile(r"\b\d+\.\d+(?:\.\d+)?\s*\(?\s*unreleased", re.I)


def unreleased_mentions(path: Path) -> list[str]:
    return [f"{path.relative_to(ROOT)}:{n}: {line.strip()}" for n, line in enumerate(path.read_text().splitlines(), 1)
            if UNRELEASED.search(line)]


def test_the_docs_speak_of_released_versions() -> None:
    """No "0.2 (unreleased)": a version is released (the CHANGELOG dates it) or not named."""
    docs = [ROOT / "README.md", ROOT / "cdk/README.md", *sorted((ROOT / "docs").glob("*.md"))]
    assert [m for path in docs for m in unreleased_mentions(path)] == []
