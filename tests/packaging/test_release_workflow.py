"""The release workflow (.github/workflows/release.yml) as GitHub would read it: actionlint
(with shellcheck on PATH, so every `run:` script is checked too) finds nothing, and each of its
build steps is a make target of the Makefile, the one a person runs here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from conftest import ROOT

WORKFLOW = ROOT / ".github/workflows/release.yml"
TOOLS = Path(sys.executable).parent  # actionlint and shellcheck, from requirements.txt


def test_actionlint_finds_nothing() -> None:
    env = {**os.environ, "PATH": os.pathsep.join([str(TOOLS), os.environ.get("PATH", "")])}
    done = subprocess.run([str(TOOLS / "actionlint"), "-no-color", str(WORKFLOW)], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def makefile_targets() -> set[str]:
    targets: set[str] = set()
    for line in (ROOT / "Makefile").read_text().splitlines():
        rule = re.match(r"^([A-Za-z0-9_./ -]+):(?!=)", line)
        if rule:
            targets.update(rule[1].split())
    return targets


def test_every_build_step_is_a_make_target() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    called = []
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            for line in step.get("run", "").splitlines():
                called += re.findall(r"(?:^|&&\s*)make\s+([a-z][a-z0-9-]*)", line.strip())
    assert {"test", "dist", "wheel", "checksums", "version-check"} <= set(called), called
    assert set(called) <= makefile_targets(), sorted(set(called) - makefile_targets())
