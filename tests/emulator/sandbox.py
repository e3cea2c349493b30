"""``make sandbox``: a local AWS to practise ``points``, the restore drill and a restore on.

It starts the emulator on a port (``--port``, default ``EMULATOR_PORT`` or 5000), creates two
Managed Microsoft AD directories, one tagged for discovery (``ds-snapshot-keeper=enabled``) and
one not, gives them snapshots of the kinds an operator meets (the keeper's of various ages, one
past 180 days, someone else's manual one, AWS's Auto ones, a safety snapshot an earlier restore
left), prints what to paste into another terminal and the commands to try, and serves until
Ctrl-C. Nothing is kept: the next start begins again from the same picture.

``seed`` and ``instructions`` take any emulator (``tests/support/local_aws.py``), so
``tests/docs/test_sandbox.py`` checks what is seeded and runs the printed commands.
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from local_aws import REGION, ROOT, Emulator, emulator_python  # noqa: E402

DISCOVERY_TAG = ("ds-snapshot-keeper", "enabled")
# The drill's --before: two days ago picks the keeper's 4-day-old snapshot.
BEFORE_DAYS = 2.0


@dataclass
class Seeded:
    """A seeded snapshot: its id, type, name (None for Auto) and age in days."""

    snapshot_id: str
    kind: str
    name: str | None
    age_days: float
    whose: str


@dataclass
class Directory:
    directory_id: str
    name: str
    tagged: bool
    snapshots: list[Seeded] = field(default_factory=list)


@dataclass
class Sandbox:
    """What ``seed`` made: the tagged directory (the one to drill on), the untagged one, the
    ``--before`` time of the drill and the snapshot it picks."""

    endpoint: str
    corp: Directory
    branch: Directory
    before: str
    target: str


def stamp(age_days: float) -> str:
    """The UTC time ``age_days`` ago as the keeper writes it in names: ``YYYYMMDDTHHMMSSZ``."""
    at = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=age_days)
    return f"{at:%Y%m%dT%H%M%S}Z"


def add(emu: Emulator, directory: Directory, kind: str, name: str | None, age_days: float, whose: str) -> str:
    body: dict[str, object] = {"directory_id": directory.directory_id, "type": kind, "age_days": age_days}
    if name is not None:
        body["name"] = name
    snapshot_id = emu.control("POST", "snapshots", body)["snapshot_id"]
    directory.snapshots.append(Seeded(snapshot_id, kind, name, age_days, whose))
    return snapshot_id


def keeper(emu: Emulator, directory: Directory, age_days: float) -> str:
    """A snapshot the keeper took ``age_days`` ago, named as it names them (0.2 format)."""
    tag = f"{0x5eed0000 + len(directory.snapshots):08x}"
    return add(emu, directory, "Manual", f"keeper-{stamp(age_days)}-r{tag}", age_days, "the keeper's")


def seed(emu: Emulator) -> Sandbox:
    """Two directories created 200 days ago, and their snapshots."""
    corp = Directory(emu.new_directory(tags=dict([DISCOVERY_TAG]), name="corp.example.com"),
                     "corp.example.com", tagged=True)
    branch = Directory(emu.new_directory(name="branch.example.com"), "branch.example.com", tagged=False)
    emu.control("POST", "age", {"days": 200})  # directories first: their snapshots are younger

    # corp: its five manual slots full, so the restore's safety snapshot needs one freed.
    add(emu, corp, "Auto", None, 0.3, "AWS's own (Auto)")
    keeper(emu, corp, 1.0)
    target = keeper(emu, corp, 4.0)
    restored = keeper(emu, corp, 12.0)
    # Nine days ago someone restored the 12-day-old snapshot; this kept what was there before.
    add(emu, corp, "Manual", f"pre-restore-{stamp(9.0)}-{restored}", 9.0, "a safety snapshot of an earlier restore")
    add(emu, corp, "Manual", "before-schema-extension", 40.0, "someone else's")

    # branch: nobody tagged it; one snapshot past 180 days, one about to be.
    add(emu, branch, "Auto", None, 0.5, "AWS's own (Auto)")
    keeper(emu, branch, 2.0)
    keeper(emu, branch, 176.0)
    keeper(emu, branch, 190.0)

    before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=BEFORE_DAYS)
    return Sandbox(emu.endpoint, corp, branch, f"{before:%Y-%m-%dT%H:%M:%SZ}", target)


def commands(box: Sandbox) -> list[tuple[str, str]]:
    """The commands to try, each with what it shows. Every ``ds-snapshot-keeper`` invocation
    the sandbox suggests is here, so a change to the command line is made once."""
    drill = f"ds-snapshot-keeper restore --directory $CORP --before {box.before}"
    return [
        ("ds-snapshot-keeper points --directory $CORP",
         "every snapshot, newest first: restorable until, days left, who holds it"),
        ("ds-snapshot-keeper points --directory $BRANCH",
         "one snapshot past 180 days (not restorable), one with days left"),
        (f"DISCOVERY_TAG={'='.join(DISCOVERY_TAG)} ds-snapshot-keeper points",
         "the directories discovery finds: $CORP only"),
        (f"ds-snapshot-keeper points --directory $CORP --before {box.before}",
         "marks the point --before picks"),
        (f"{drill} --dry-run",
         "the drill: what is lost, what is freed for the safety snapshot; nothing changed"),
        (drill,
         "the restore: type the directory id to confirm; the emulator ends it Active in seconds"),
    ]


def instructions(box: Sandbox, keeper_bin_dir: Path | None = None) -> str:
    """What to paste into another terminal, the directories and the commands to try."""
    lines = [f"The sandbox: a local AWS on {box.endpoint}, until Ctrl-C (nothing is kept).", ""]
    for d in (box.corp, box.branch):
        tag = f"tagged {'='.join(DISCOVERY_TAG)}" if d.tagged else "not tagged: discovery leaves it out"
        lines.append(f"  {d.name}  {d.directory_id}  (Managed Microsoft AD, {tag})")
        for s in sorted(d.snapshots, key=lambda s: s.age_days):
            lines.append(f"    {s.snapshot_id}  {s.kind:<6}  {s.age_days:>5.1f} days  {s.whose}"
                         + (f": {s.name}" if s.name else ""))
    lines += ["", "In another terminal, paste:", "",
              f"export AWS_ENDPOINT_URL={box.endpoint} AWS_REGION={REGION} \\",
              "       AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \\",
              "       POLL_INITIAL_SECONDS=0.2 POLL_MAX_SECONDS=1 \\",
              f"       CORP={box.corp.directory_id} BRANCH={box.branch.directory_id}"]
    if keeper_bin_dir is not None:
        lines.append(f'export PATH="{keeper_bin_dir}:$PATH"   # the keeper make built')
    lines += ["", "Then try:", ""]
    lines += [f"{command}   # {what}" for command, what in commands(box)]
    lines += ["", "To see a restore fail, before restoring:",
              f"curl -s -d '{{\"directory_id\": \"'$CORP'\", \"stage\": \"RestoreFailed\"}}' "
              "$AWS_ENDPOINT_URL/_emulator/restore-outcome",
              "Every emulator control: tests/emulator/CONTROL.md."]
    return "\n".join(lines)


class PortEmulator(Emulator):
    """The emulator as ``local_aws.Emulator`` starts a process of its own, on a chosen port
    (a user pastes its address) instead of a free one."""

    def __init__(self, port: int) -> None:
        self.region = REGION
        log = tempfile.TemporaryFile("w+")  # its order seed, or why it could not start
        self.proc = subprocess.Popen(
            [str(emulator_python()), "-m", "ds_emulator", "--port", str(port), "--quiet", "--watch-parent"],
            cwd=ROOT / "tests/emulator", stdout=subprocess.PIPE, stderr=log, text=True,
        )
        line = self.proc.stdout.readline()
        if not line.startswith("READY "):
            self.proc.wait()
            log.seek(0)
            reason = log.read().strip().splitlines()[-1:] or ["no reason given"]
            raise SystemExit(f"the emulator did not start on port {port}: {reason[0]}\n"
                             f"(another one on that port? EMULATOR_PORT={port + 1} make sandbox)")
        self.endpoint = line.split()[1]
        self.pid = self.proc.pid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("EMULATOR_PORT", "5000")))
    args = parser.parse_args()
    with PortEmulator(args.port) as emu:
        box = seed(emu)
        keeper_bin_dir = ROOT / "target" / "debug"
        found = (keeper_bin_dir / "ds-snapshot-keeper").exists()
        print(instructions(box, keeper_bin_dir if found else None), flush=True)
        try:
            emu.proc.wait()
        except KeyboardInterrupt:
            print("\nstopped; the sandbox is gone.")


if __name__ == "__main__":
    main()
