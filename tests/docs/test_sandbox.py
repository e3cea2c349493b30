"""`make sandbox` (tests/emulator/sandbox.py): what it seeds, and that what it prints works.

The sandbox's seeding runs against an emulator of this test's own; its printed instructions are
then used as a person would use them: the exports pasted into a fresh shell, and each command
run as printed, with the keeper `make` builds (`target/debug/ds-snapshot-keeper`, or
KEEPER_BIN_DIR) on PATH through the printed export. The restore, which a person confirms by
typing the directory id, gets `--yes` instead: here there is no terminal. The printed `curl`
that makes the next restore fail is run too.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "emulator"))
sys.path.insert(0, str(ROOT / "tests" / "support"))
import sandbox  # noqa: E402
from local_aws import Emulator  # noqa: E402

KEEPER_BIN_DIR = Path(os.environ.get("KEEPER_BIN_DIR") or ROOT / "target" / "debug")
WRITES = {"CreateSnapshot", "DeleteSnapshot", "RestoreFromSnapshot", "AddTagsToResource",
          "RemoveTagsFromResource"}
SAFETY_NAME = re.compile(r"^pre-restore-\d{8}T\d{6}Z-(s-[0-9a-f]{10})$")


@pytest.fixture(scope="module")
def seeded() -> Iterator[tuple[Emulator, sandbox.Sandbox, str]]:
    keeper = KEEPER_BIN_DIR / "ds-snapshot-keeper"
    assert keeper.exists(), f"{keeper} missing: run `make keeper-bin` (or set KEEPER_BIN_DIR)"
    with Emulator() as emu:
        box = sandbox.seed(emu)
        yield emu, box, sandbox.instructions(box, KEEPER_BIN_DIR)


def snapshots(emu: Emulator, directory: str) -> dict[str, dict[str, Any]]:
    pages = emu.client("ds").get_paginator("describe_snapshots").paginate(DirectoryId=directory)
    return {s["SnapshotId"]: s for page in pages for s in page["Snapshots"]}


def pasted(text: str) -> tuple[str, list[str]]:
    """The printed exports (with their continuation lines) and the printed commands, each
    without its trailing comment."""
    exports, commands, continued = [], [], False
    for line in text.splitlines():
        if line.startswith("export ") or continued:
            exports.append(line)
            continued = line.endswith("\\")
        elif line.startswith(("ds-snapshot-keeper ", "DISCOVERY_TAG=")):
            commands.append(line.split("   # ")[0])
    return "\n".join(exports), commands


def run(exports: str, command: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    """A fresh shell with nothing of AWS's set: only what the sandbox said to paste."""
    (tmp / "home").mkdir(exist_ok=True)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp / "home"), "LANG": "C.UTF-8",
           "TERM": "dumb", "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
           "AWS_EC2_METADATA_DISABLED": "true"}
    return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", f"{exports}\n{command}"], env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


def test_it_seeds_two_directories_and_the_snapshots_an_operator_meets(seeded):
    emu, box, text = seeded
    ds = emu.client("ds")
    found = {d["DirectoryId"]: d for d in ds.describe_directories(
        DirectoryIds=[box.corp.directory_id, box.branch.directory_id])["DirectoryDescriptions"]}
    tags = {d: {t["Key"]: t["Value"] for t in ds.list_tags_for_resource(ResourceId=d)["Tags"]} for d in found}
    assert tags[box.corp.directory_id] == dict([sandbox.DISCOVERY_TAG])
    assert tags[box.branch.directory_id] == {}
    for directory in (box.corp, box.branch):
        assert found[directory.directory_id]["Type"] == "MicrosoftAD"
        assert found[directory.directory_id]["Stage"] == "Active"
        assert directory.directory_id in text
        held = snapshots(emu, directory.directory_id)
        assert set(held) == {s.snapshot_id for s in directory.snapshots}
        for s in directory.snapshots:
            assert s.snapshot_id in text
            assert held[s.snapshot_id]["Status"] == "Completed"
            assert held[s.snapshot_id]["Type"] == s.kind
            assert held[s.snapshot_id].get("Name") == s.name
    corp = snapshots(emu, box.corp.directory_id)
    names = [s.get("Name") or "" for s in corp.values()]
    assert sum(s["Type"] == "Auto" for s in corp.values()) == 1
    assert sum(s["Type"] == "Manual" for s in corp.values()) == 5, "the quota full: the restore must free a slot"
    assert "before-schema-extension" in names
    assert sum(n.startswith("keeper-") for n in names) == 3
    [safety] = [SAFETY_NAME.match(n) for n in names if n.startswith("pre-restore-")]
    assert safety and safety.group(1) in corp, names
    assert box.target in corp and corp[box.target]["Name"].startswith("keeper-")
    ages = sorted(s.age_days for s in box.branch.snapshots if s.name and s.name.startswith("keeper-"))
    assert ages[-1] > 180 > ages[-2], "one past the restore limit, one before it"
    assert f"CORP={box.corp.directory_id} BRANCH={box.branch.directory_id}" in text


def test_the_printed_commands_run_with_the_keeper(seeded, tmp_path: Path):
    emu, box, text = seeded
    exports, commands = pasted(text)
    assert "AWS_ENDPOINT_URL=" in exports and "AWS_REGION=" in exports and f'"{KEEPER_BIN_DIR}:$PATH"' in exports
    assert len(commands) == len(sandbox.commands(box)), commands
    *reads, restore = commands
    assert restore.startswith("ds-snapshot-keeper restore ") and "--dry-run" not in restore, restore
    corp = box.corp.directory_id
    before = {d: snapshots(emu, d) for d in (corp, box.branch.directory_id)}
    calls = len(emu.calls())
    for command in reads:
        done = run(exports, command, tmp_path)
        assert done.returncode == 0, f"{command}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
        if command.startswith("DISCOVERY_TAG="):
            assert corp in done.stdout and box.branch.directory_id not in done.stdout, done.stdout
        elif "points" in command:
            # Piped, `points` answers JSON: every snapshot of the directory it names.
            named = box.branch if "$BRANCH" in command else box.corp
            for s in named.snapshots:
                assert s.snapshot_id in done.stdout, f"{command}: {s.snapshot_id} missing\n{done.stdout}"
        if "--dry-run" in command:
            assert box.target in done.stdout, done.stdout
            assert "nothing was changed" in done.stdout + done.stderr, done.stderr
    assert any("--dry-run" in c for c in reads), reads
    writes = [c for c in emu.calls()[calls:] if c["operation"] in WRITES]
    assert writes == [], "points and the drill change nothing"
    assert {d: snapshots(emu, d) for d in before} == before

    done = run(exports, f"{restore} --yes", tmp_path)
    assert done.returncode == 0, f"{restore}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    [directory] = emu.client("ds").describe_directories(DirectoryIds=[corp])["DirectoryDescriptions"]
    assert directory["Stage"] == "Active"
    after = snapshots(emu, corp)
    kept = [s for s in after.values() if (m := SAFETY_NAME.match(s.get("Name") or "")) and m.group(1) == box.target]
    assert len(kept) == 1 and kept[0]["Status"] == "Completed", after
    assert kept[0]["SnapshotId"] in done.stdout
    assert sum(s["Type"] == "Manual" for s in after.values()) == 5, "a keeper snapshot freed the safety slot"


def test_the_printed_curl_makes_the_next_restore_fail(tmp_path: Path):
    with Emulator() as emu:
        box = sandbox.seed(emu)
        text = sandbox.instructions(box, KEEPER_BIN_DIR)
        exports, commands = pasted(text)
        [curl] = [line for line in text.splitlines() if line.startswith("curl ")]
        done = run(exports, f"{curl}\n{commands[-1]} --yes", tmp_path)
        assert done.returncode == 1, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
        [directory] = emu.client("ds").describe_directories(
            DirectoryIds=[box.corp.directory_id])["DirectoryDescriptions"]
        assert directory["Stage"] == "RestoreFailed"
