"""A scheduled run at every stage of a restore, with the real binary on the emulator: before
the confirmation, during the safety snapshot's wait, during the send, while Restoring, and
right after Active. The operator's terminal and the function share nothing but AWS: what keeps
the run off the restore's target and safety snapshot is the restore mark on the directory
(docs/restore.md, "The restore mark").

The keeper holds points 3, 2 and 1 days old, and the operator restores the oldest: the one a
daily run (RETAIN_COUNT=3, a new snapshot) would prune as beyond-retain.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from local_aws import Emulator  # noqa: E402
from test_restore_terminal import KEEPER, Terminal, env_for  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SCHEDULED = ROOT / "events" / "eventbridge-rule-schedule.json"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as running:
        yield running


def keeper_points(emu: Emulator) -> tuple[str, str]:
    """A directory with the keeper's points 3, 2 and 1 days old; the oldest is the target."""
    emu.reset()
    directory = emu.new_directory()
    now = datetime.datetime.now(datetime.timezone.utc)
    ids = []
    for age in (3, 2, 1):
        stamp = (now - datetime.timedelta(days=age)).strftime("%Y%m%dT%H%M%SZ")
        ids.append(emu.control("POST", "snapshots", {"directory_id": directory, "name": f"keeper-{stamp}",
                                                     "status": "Completed", "age_days": age})["snapshot_id"])
    return directory, ids[0]


def snapshot_ids(emu: Emulator, directory: str) -> set[str]:
    ds = emu.client("ds")
    out, token = set(), None
    while True:
        page = ds.describe_snapshots(DirectoryId=directory, **({"NextToken": token} if token else {}))
        out |= {s["SnapshotId"] for s in page["Snapshots"]}
        token = page.get("NextToken")
        if not token:
            return out


def scheduled_run(emu: Emulator) -> dict:
    done = subprocess.run([str(KEEPER), "invoke", "--event", str(SCHEDULED)], env=env_for(emu),
                          capture_output=True, text=True, timeout=120)
    assert done.stdout, done.stderr
    return json.loads(done.stdout)


def the_directory(report: dict, directory: str) -> dict:
    return next(d for d in report["directories"] if d["directory_id"] == directory)


def restore_yes(emu: Emulator, directory: str, target: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([str(KEEPER), "restore", "--directory", directory, "--snapshot", target, "--yes",
                             "--output", "json", *extra],
                            env=env_for(emu), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(what, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def mark_of(emu: Emulator, directory: str) -> str | None:
    tags = emu.client("ds").list_tags_for_resource(ResourceId=directory)["Tags"]
    return next((t["Value"] for t in tags if t["Key"] == "ds-snapshot-keeper:restore"), None)


def stage_of(emu: Emulator, directory: str) -> str:
    return emu.client("ds").describe_directories(DirectoryIds=[directory])["DirectoryDescriptions"][0]["Stage"]


def finished(proc: subprocess.Popen) -> tuple[int, dict, str]:
    out, err = proc.communicate(timeout=120)
    return proc.returncode, json.loads(out), err


def test_before_the_confirmation_a_run_acts_and_the_restore_decides_from_what_is_left(emu: Emulator) -> None:
    directory, target = keeper_points(emu)
    term = Terminal(["restore", "--directory", directory, "--snapshot", target], env_for(emu))
    term.read_until("to restore it:")
    run = the_directory(scheduled_run(emu), directory)
    # No mark yet: the run is a run, and prunes the oldest point (the target) as beyond-retain.
    assert run.get("skipped") is None
    assert target in [d["snapshot_id"] for d in run["deleted"]]
    term.type(directory + "\r")
    assert term.finish() == 2
    screen = term.text()
    assert f"snapshot {target} is not one of directory {directory}'s snapshots" in screen, screen
    ops = [c["operation"] for c in emu.calls()]
    assert "RestoreFromSnapshot" not in ops
    assert mark_of(emu, directory) is None


def test_during_the_safety_wait_a_run_leaves_the_directory_alone(emu: Emulator) -> None:
    directory, target = keeper_points(emu)
    emu.control("POST", "outcomes", {"directory_id": directory,
                                     "outcomes": [{"status": "Completed", "after_seconds": 8}]})
    proc = restore_yes(emu, directory, target)
    wait_for(lambda: any(c["operation"] == "CreateSnapshot" for c in emu.calls()))
    run = the_directory(scheduled_run(emu), directory)
    assert run["skipped"]["reason"] == "restore-under-way", run
    assert target in snapshot_ids(emu, directory)
    code, report, err = finished(proc)
    assert code == 0, err
    assert report["outcome"]["kind"] == "restored"
    assert report["mark"] == "cleared"


def test_during_the_send_a_run_leaves_the_directory_alone(emu: Emulator) -> None:
    directory, target = keeper_points(emu)
    emu.control("POST", "faults", {"operation": "RestoreFromSnapshot", "kind": "latency", "latency_ms": 4000})
    proc = restore_yes(emu, directory, target, "--no-safety-snapshot")
    wait_for(lambda: "sent=" in (mark_of(emu, directory) or ""))
    run = the_directory(scheduled_run(emu), directory)
    assert run["skipped"]["reason"] in ("restore-under-way", "restoring"), run
    assert not run["deleted"]
    code, report, err = finished(proc)
    assert code == 0, err
    assert report["outcome"]["kind"] == "restored"
    assert len([c for c in emu.calls() if c["operation"] == "RestoreFromSnapshot"]) == 1


def test_while_restoring_and_right_after_active(emu: Emulator) -> None:
    directory, target = keeper_points(emu)
    emu.control("POST", "restore-outcome", {"directory_id": directory, "stage": "Active", "after_seconds": 6})
    proc = restore_yes(emu, directory, target)
    wait_for(lambda: stage_of(emu, directory) == "Restoring")
    run = the_directory(scheduled_run(emu), directory)
    assert run["skipped"]["reason"] in ("restore-under-way", "restoring"), run
    assert target in snapshot_ids(emu, directory)
    code, report, err = finished(proc)
    assert code == 0, err
    safety = report["safety"]["snapshot_id"]
    # Right after Active the mark is gone and the run is a run again; the safety snapshot,
    # the operator's undo, is never the keeper's to delete.
    assert mark_of(emu, directory) is None
    after = the_directory(scheduled_run(emu), directory)
    assert after.get("skipped") is None, after
    assert after["created"] is not None
    assert safety not in [d["snapshot_id"] for d in after["deleted"]]
    assert safety in snapshot_ids(emu, directory)
    labels = after["safety_snapshots"]
    assert labels == [l for l in labels if l.startswith(f"{safety}: safety snapshot before the restore of {target} at ")]
    assert len(labels) == 1, after
