"""Every shell block of README.md, CONTRIBUTING.md and docs/*.md is run here, as written, or
says why it cannot be (`<!-- snippet: not-run (why) -->` right before it).

A block runs as one script (`bash -e -o pipefail`: a failing line fails it) in a fresh local
emulator (tests/support/local_aws.py), with the keeper `make` builds
(`target/debug/ds-snapshot-keeper`, or KEEPER_BIN_DIR) on PATH and AWS_ENDPOINT_URL pointing at
the emulator. The emulator holds a directory for each directory id the block names (in the
first Region it names), and one it does not name in each Region it names and in the AWS
config's default Region, each with a few snapshots. The
block must exit 0 and leave every directory it does not name as it was: no write call names
it, and its snapshots and stage are unchanged. (A `DIRECTORY_IDS=d-...` given to the first
command only lets the next one snapshot every directory of the Region: that fails here.)

The docs' example values stand for the emulator's: each `d-...` id for a directory of its own,
`s-...` for a restorable snapshot of the first one, an RFC 3339 time for two days ago,
`http://127.0.0.1:5000` for the emulator, and each AWS profile name (`AWS_PROFILE=...`,
`--profile ...`) for a profile whose credentials reach the emulator. Nothing else is changed.

Annotations (an HTML comment on the line before the block):
  not-run (why)     not run: it needs a real account, a deployed stack, or a build
  terminal          run on a pseudo-terminal; a prompt that names a directory id gets it typed
  check=NAME        also run CHECKS[NAME] (what the block should have done)
"""

from __future__ import annotations

import copy
import datetime
import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest
from doc_markdown import ROOT, Block, blocks, documents

sys.path.insert(0, str(ROOT / "tests" / "support"))
from local_aws import REGION, Emulator  # noqa: E402

KEEPER_BIN_DIR = Path(os.environ.get("KEEPER_BIN_DIR") or ROOT / "target" / "debug")
WORDS = {"not-run", "terminal"}
TIMEOUT = 180
DIRECTORY_ID = re.compile(r"\bd-[0-9a-f]{10}\b")
SNAPSHOT_ID = re.compile(r"\bs-[0-9a-f]{10}\b")
TIME = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\b")
EXAMPLE_ENDPOINT = "http://127.0.0.1:5000"
REGIONS = (re.compile(r"\bAWS_REGION=([a-z]{2}-[a-z]+-\d)"), re.compile(r"--regions?[ =]\"?([a-z]{2}-[a-z]+-\d)"))
PROFILES = (re.compile(r"\bAWS_PROFILE=([A-Za-z0-9_.-]+)"), re.compile(r"--profile[ =]\"?([A-Za-z0-9_.-]+)"))
WRITES = {"CreateSnapshot", "DeleteSnapshot", "RestoreFromSnapshot", "AddTagsToResource",
          "RemoveTagsFromResource", "UpdateDirectorySetup"}
# What every directory holds before a block runs: (type, owner, status, age in days). With
# four manual snapshots of five, one slot is free (for a snapshot, or a restore's safety
# snapshot). The keeper's 3-day snapshot is the restore point the docs' `s-...` and times
# stand for: the newest restorable one taken more than two days ago.
SEEDED = [("Auto", None, "Completed", 0.2), ("Manual", "keeper", "Completed", 1.0),
          ("Manual", "keeper", "Completed", 3.0), ("Manual", "keeper", "Completed", 10.0),
          ("Manual", "someone", "Completed", 20.0)]
RESTORE_POINT_AGE = 3.0


def shell_blocks() -> list[Block]:
    return [b for path in documents() for b in blocks(path) if b.is_shell]


def to_run() -> list[Block]:
    return [b for b in shell_blocks() if not (b.annotation and "not-run" in b.annotation.words)]


# --- the emulator's world ------------------------------------------------------------------


def in_region(emu: Emulator, region: str) -> Emulator:
    """The same emulator, its helpers (new_directory, client) aimed at another Region."""
    other = copy.copy(emu)
    other.region = region
    return other


def keeper_name(age_days: float, n: int) -> str:
    at = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=age_days)
    return f"keeper-{at:%Y%m%dT%H%M%S}Z-r{n:08x}"


def seed(emu: Emulator, directory: str) -> str:
    """The snapshots of SEEDED; returns the restore point's id."""
    point = ""
    for n, (kind, owner, status, age) in enumerate(SEEDED):
        body: dict[str, Any] = {"directory_id": directory, "type": kind, "status": status, "age_days": age}
        if owner == "keeper":
            body["name"] = keeper_name(age, 0x5eed0000 + n)
        elif owner == "someone":
            body["name"] = "before-schema-extension"
        made = emu.control("POST", "snapshots", body)["snapshot_id"]
        if owner == "keeper" and age == RESTORE_POINT_AGE:
            point = made
    return point


def state(emu: Emulator, directory: str, region: str) -> dict[str, Any]:
    ds = in_region(emu, region).client("ds")
    snaps = ds.describe_snapshots(DirectoryId=directory)["Snapshots"]
    [desc] = ds.describe_directories(DirectoryIds=[directory])["DirectoryDescriptions"]
    return {"stage": desc["Stage"],
            "snapshots": sorted((s["SnapshotId"], s.get("Name"), s["Type"], s["Status"]) for s in snaps)}


@dataclass
class World:
    """The emulator, the directories a block names (in order) and those it does not."""

    emu: Emulator
    region: str
    named: list[str] = field(default_factory=list)
    others: list[tuple[str, str]] = field(default_factory=list)  # (directory, region)
    restore_point: str = ""
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    output: str = ""

    def directories(self) -> list[tuple[str, str]]:
        return [(d, self.region) for d in self.named] + self.others

    def snapshot(self) -> dict[str, Any]:
        return {d: state(self.emu, d, r) for d, r in self.directories()}

    def writes(self) -> list[dict[str, Any]]:
        return [c for c in self.emu.calls() if c["operation"] in WRITES and c["status"] < 300]


def regions_of(code: str) -> list[str]:
    """The Regions the block names, first named first, and the AWS config's default Region
    (where a command that names none goes)."""
    found = [m.group(1) for pattern in REGIONS for m in pattern.finditer(code)]
    return list(dict.fromkeys([*found, REGION]))


def build_world(emu: Emulator, code: str) -> tuple[World, str]:
    """The directories and snapshots the block's text asks for, and the text with the docs'
    example values replaced by the emulator's."""
    regions = regions_of(code)
    world = World(emu, regions[0])
    for i, example in enumerate(dict.fromkeys(DIRECTORY_ID.findall(code))):
        real = in_region(emu, world.region).new_directory(name=f"named{i}.example.com")
        world.named.append(real)
        code = re.sub(rf"\b{example}\b", real, code)
    for region in regions:
        world.others.append((in_region(emu, region).new_directory(name=f"bystander.{region}.example.com"), region))
    for i, (directory, _) in enumerate(world.directories()):
        point = seed(emu, directory)
        if i == 0:
            world.restore_point = point
    code = SNAPSHOT_ID.sub(world.restore_point, code)
    two_days_ago = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=2)
    code = TIME.sub(f"{two_days_ago:%Y-%m-%dT%H:%M:%SZ}", code)
    code = code.replace(EXAMPLE_ENDPOINT, emu.endpoint)
    return world, code


def environment(tmp: Path, emu: Emulator, code: str) -> dict[str, str]:
    """A shell as an operator has it: an AWS config with a default Region and the profiles the
    block names, the keeper on PATH; AWS_ENDPOINT_URL aimed at the emulator. No setting of the
    keeper's is set (POLL_* aside: the emulator's snapshots settle at once)."""
    profiles = ["default", *dict.fromkeys(m.group(1) for p in PROFILES for m in p.finditer(code))]
    (tmp / "aws-config").write_text("".join(
        f"[{'default' if p == 'default' else 'profile ' + p}]\nregion = {REGION}\n" for p in profiles))
    (tmp / "aws-credentials").write_text("".join(
        f"[{p}]\naws_access_key_id = testing\naws_secret_access_key = testing\n" for p in profiles))
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    return {
        "PATH": f"{KEEPER_BIN_DIR}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "AWS_CONFIG_FILE": str(tmp / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "aws-credentials"),
        "AWS_ENDPOINT_URL": emu.endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
        "POLL_INITIAL_SECONDS": "0.2",
        "POLL_MAX_SECONDS": "1",
    }


def workdir(tmp: Path) -> Path:
    """A copy of the repository's top level made of links, so that relative paths such as
    events/ resolve and whatever a block writes stays out of the tree."""
    work = tmp / "work"
    work.mkdir()
    for entry in ROOT.iterdir():
        if entry.name not in (".git", "target"):
            (work / entry.name).symlink_to(entry)
    return work


def run_piped(script: Path, cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    done = subprocess.run(["bash", "-e", "-o", "pipefail", str(script)], cwd=cwd, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT)
    return done.returncode, f"--- stdout\n{done.stdout}--- stderr\n{done.stderr}"


def run_on_terminal(script: Path, cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """On a pseudo-terminal. A prompt (the text after the last newline) naming one directory id
    and ending in ':' gets that id typed, as a person confirming a restore would."""
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(["bash", "-e", "-o", "pipefail", str(script)], cwd=cwd, env=env,
                            stdin=terminal, stdout=terminal, stderr=terminal, close_fds=True)
    os.close(terminal)
    out, answered, end = b"", 0, time.monotonic() + TIMEOUT
    while time.monotonic() < end:
        ready, _, _ = select.select([controller], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal closed: every process on it has ended
                break
            if not chunk:
                break
            out += chunk
            tail = out[answered:].decode(errors="replace").rsplit("\n", 1)[-1]
            ids = DIRECTORY_ID.findall(tail)
            if len(set(ids)) == 1 and tail.rstrip().endswith(":"):
                os.write(controller, f"{ids[0]}\n".encode())
                answered = len(out)
        elif proc.poll() is not None:
            break
    else:
        proc.kill()
    os.close(controller)
    code = proc.wait(timeout=10)
    return code, "--- terminal\n" + out.decode(errors="replace")


# --- what a block should have done, beyond exiting 0 and leaving the others alone -----------


def keeper_snapshots(world: World, which: str, directory: str) -> list[tuple]:
    return [s for s in getattr(world, which)[directory]["snapshots"] if (s[1] or "").startswith("keeper-")]


def check_snapshot_one_directory(world: World) -> None:
    """The named directory got the snapshot (the others were held to that by the invariant)."""
    [directory] = world.named
    created = [c for c in world.writes() if c["operation"] == "CreateSnapshot"]
    assert [c["directory_id"] for c in created] == [directory], created
    new = set(keeper_snapshots(world, "after", directory)) - set(keeper_snapshots(world, "before", directory))
    assert len(new) == 1 and next(iter(new))[3] == "Completed", new


def check_changes_nothing(world: World) -> None:
    assert not world.writes(), world.writes()
    assert world.after == world.before


def check_restores(world: World) -> None:
    """One restore, of the restore point, on the first named directory, which is Active again."""
    directory = world.named[0]
    restores = [c for c in world.writes() if c["operation"] == "RestoreFromSnapshot"]
    assert [c["directory_id"] for c in restores] == [directory], restores
    assert world.after[directory]["stage"] == "Active"
    safety = set(world.after[directory]["snapshots"]) - set(world.before[directory]["snapshots"])
    assert len(safety) == 1, f"one safety snapshot of the present, got {safety}"


CHECKS: dict[str, Callable[[World], None]] = {
    "snapshot-one-directory": check_snapshot_one_directory,
    "changes-nothing": check_changes_nothing,
    "restores": check_restores,
}


# --- the tests ------------------------------------------------------------------------------


def test_every_block_names_its_language():
    """An unlabelled block could be shell that escapes the test: each says what it is."""
    unlabelled = [b.where for path in documents() for b in blocks(path) if not b.lang]
    assert not unlabelled, f"fenced blocks without a language (use `text` for output): {unlabelled}"


def test_every_annotation_is_understood():
    problems = []
    used = set()
    for path in documents():
        for b in blocks(path):
            a = b.annotation
            if a is None:
                continue
            if not b.is_shell:
                problems.append(f"{b.where}: a snippet comment before a {b.lang} block")
            unknown = a.words - WORDS
            if unknown:
                problems.append(f"{b.where}: unknown {sorted(unknown)} (known: {sorted(WORDS)}, check=NAME)")
            if "not-run" in a.words and (not a.reason or len(a.words) > 1 or a.checks):
                problems.append(f"{b.where}: not-run takes a reason in parentheses, and nothing else")
            for name in a.checks:
                used.add(name)
                if name not in CHECKS:
                    problems.append(f"{b.where}: no check {name} (known: {sorted(CHECKS)})")
    problems += [f"check {name} is used by no block" for name in sorted(set(CHECKS) - used)]
    assert not problems, "\n".join(problems)


def test_some_blocks_run():
    """The documents hold runnable blocks: a parser that found none would pass everything."""
    assert len(to_run()) >= 5, [b.where for b in to_run()]


@pytest.mark.parametrize("block", to_run(), ids=lambda b: b.where)
def test_the_block_runs_as_written(block: Block, tmp_path: Path):
    keeper = KEEPER_BIN_DIR / "ds-snapshot-keeper"
    assert keeper.exists(), f"{keeper} missing: run `make keeper-bin` (or set KEEPER_BIN_DIR)"
    with Emulator() as emu:
        world, code = build_world(emu, block.code)
        script = tmp_path / "snippet.sh"
        script.write_text(code)
        env = environment(tmp_path, emu, code)
        world.before = world.snapshot()
        runner = run_on_terminal if block.annotation and "terminal" in block.annotation.words else run_piped
        status, world.output = runner(script, workdir(tmp_path), env)
        world.after = world.snapshot()
        context = f"{block.where}, run as:\n{code}\n{world.output}"
        assert status == 0, f"exit {status}: {context}"
        named = set(world.named)
        stray = [c for c in world.writes() if c["directory_id"] and c["directory_id"] not in named]
        assert not stray, f"writes on directories the block does not name: {stray}\n{context}"
        for directory, _ in world.others:
            assert world.after[directory] == world.before[directory], (
                f"{directory}, which the block does not name, changed:\n"
                f"before {json.dumps(world.before[directory])}\nafter {json.dumps(world.after[directory])}\n{context}")
        for name in block.annotation.checks if block.annotation else []:
            try:
                CHECKS[name](world)
            except AssertionError as e:
                raise AssertionError(f"check {name}: {e}\n{context}") from e


def test_the_invariant_catches_a_setting_given_to_one_command_only(tmp_path: Path):
    """The bug this test exists for: `DIRECTORY_IDS=d-... cmd1` then `cmd2` snapshots every
    directory of the Region with cmd2. Run as a block, it must fail the invariant."""
    wrong = Block(ROOT / "README.md", 0, "sh", (
        "DIRECTORY_IDS=d-0123456789 AWS_REGION=eu-west-1 \\\n"
        "  ds-snapshot-keeper invoke --event events/manual-report.json\n"
        "echo '{\"action\":\"snapshot\",\"force\":true}' | ds-snapshot-keeper invoke\n"), None)
    with pytest.raises(AssertionError, match="does not name"):
        test_the_block_runs_as_written(wrong, tmp_path)


if __name__ == "__main__":
    for b in shell_blocks():
        print(b.where, "not-run" if b.annotation and "not-run" in b.annotation.words else "run",
              b.annotation.text if b.annotation else "")
