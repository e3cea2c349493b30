"""`ds-snapshot-keeper restore` on a real pseudo-terminal, as an operator meets it: the plan
and the prompt, a wrong answer that changes nothing, the confirmed restore with its progress
line, and Ctrl-C, which stops the waiting and not the restore.

The binary runs with stdin, stdout and stderr on a pty (Python's `pty`), against the emulator.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from local_aws import REGION, Emulator  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
KEEPER = Path(os.environ.get("KEEPER_BIN") or ROOT / "target/debug/ds-snapshot-keeper")


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as running:
        yield running


class Terminal:
    """The binary on a pty: what it wrote so far, and keys typed into it."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        assert KEEPER.exists(), f"{KEEPER} missing: run `cargo build --bins`"
        self.master, slave = pty.openpty()
        def controlling_terminal() -> None:
            # A session of its own whose controlling terminal is the pty, as a shell gives a
            # command: the terminal then turns the interrupt character into SIGINT.
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen([str(KEEPER), *args], stdin=slave, stdout=slave, stderr=slave,
                                     env=env, preexec_fn=controlling_terminal)
        os.close(slave)
        self.seen = b""

    def read_until(self, needle: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while needle.encode() not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0, f"{needle!r} never appeared; the terminal shows:\n{self.text()}"
            ready, _, _ = select.select([self.master], [], [], min(left, 0.5))
            if ready:
                try:
                    self.seen += os.read(self.master, 65536)
                except OSError:
                    break
        return self.text()

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def finish(self, timeout: float = 60.0) -> int:
        code = self.proc.wait(timeout=timeout)
        try:
            while True:
                ready, _, _ = select.select([self.master], [], [], 0.2)
                if not ready:
                    break
                chunk = os.read(self.master, 65536)
                if not chunk:
                    break
                self.seen += chunk
        except OSError:
            pass
        os.close(self.master)
        return code

    def text(self) -> str:
        return self.seen.decode(errors="replace")


def env_for(emu: Emulator) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "AWS_ENDPOINT_URL": emu.endpoint, "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "POLL_INITIAL_SECONDS": "0.2", "POLL_MAX_SECONDS": "0.5", "TERM": "xterm"}


def directory_with_a_snapshot(emu: Emulator) -> tuple[str, str]:
    directory = emu.new_directory()
    snapshot = emu.control("POST", "snapshots", {"directory_id": directory, "name": "keeper-20261201T050000Z",
                                                 "type": "Manual", "status": "Completed", "age_days": 2})
    return directory, snapshot["snapshot_id"]


def test_a_wrong_answer_to_the_prompt_changes_nothing(emu: Emulator) -> None:
    emu.reset()
    directory, snapshot = directory_with_a_snapshot(emu)
    term = Terminal(["restore", "--directory", directory, "--snapshot", snapshot], env_for(emu))
    screen = term.read_until(f"Type the directory id ({directory}) to restore it:")
    assert "Everything changed since" in screen and "about 2 to 3 hours" in screen
    term.type("d-0000000000\r")
    assert term.finish() == 2
    assert "Not confirmed: nothing was changed." in term.text()
    writes = [c for c in emu.calls() if c["operation"] in ("CreateSnapshot", "DeleteSnapshot", "RestoreFromSnapshot")]
    assert writes == []


def test_a_confirmed_restore_shows_its_progress_and_ends_restored(emu: Emulator) -> None:
    emu.reset()
    directory, snapshot = directory_with_a_snapshot(emu)
    emu.control("POST", "restore-outcome", {"directory_id": directory, "stage": "Active", "after_describes": 4})
    term = Terminal(["restore", "--directory", directory, "--snapshot", snapshot], env_for(emu))
    term.read_until("to restore it:")
    term.type(directory + "\r")
    screen = term.read_until("Restored:", timeout=60)
    # The progress line is redrawn in place (carriage return, erase line) with the stage.
    assert "\r\x1b[2Kstage Restoring after" in screen
    assert term.finish() == 0
    assert "To undo the restore, restore it:" in term.text()


def test_ctrl_c_stops_the_waiting_not_the_restore(emu: Emulator) -> None:
    emu.reset()
    directory, snapshot = directory_with_a_snapshot(emu)
    emu.control("POST", "restore-outcome", {"directory_id": directory, "stage": "Active", "after_describes": 10_000})
    term = Terminal(["restore", "--directory", directory, "--snapshot", snapshot, "--no-safety-snapshot"],
                    env_for(emu))
    term.read_until("to restore it:")
    term.type(directory + "\r")
    term.read_until("stage Restoring after")
    # Ctrl-C as the terminal sends it: the interrupt character, SIGINT to the foreground group.
    term.type("\x03")
    assert term.finish() == 130
    screen = term.text()
    assert "The restore goes on in AWS: it cannot be stopped." in screen
    assert f"ds-snapshot-keeper points --directory {directory}" in screen
    restores = [c for c in emu.calls() if c["operation"] == "RestoreFromSnapshot"]
    assert len(restores) == 1
    stage = emu.client("ds").describe_directories(DirectoryIds=[directory])["DirectoryDescriptions"][0]["Stage"]
    assert stage == "Restoring"


def test_ctrl_c_while_restore_from_snapshot_is_in_flight_waits_for_its_answer_and_says_it_was_sent(emu: Emulator) -> None:
    emu.reset()
    directory, snapshot = directory_with_a_snapshot(emu)
    emu.control("POST", "restore-outcome", {"directory_id": directory, "stage": "Active", "after_describes": 10_000})
    emu.control("POST", "faults", {"operation": "RestoreFromSnapshot", "kind": "latency", "latency_ms": 3000})
    term = Terminal(["restore", "--directory", directory, "--snapshot", snapshot, "--no-safety-snapshot"],
                    env_for(emu))
    term.read_until("to restore it:")
    term.type(directory + "\r")
    # The mark records the send right before it goes out; then Ctrl-C, with the call in flight.
    ds = emu.client("ds")
    deadline = time.monotonic() + 30
    while not any("sent=" in t["Value"] for t in ds.list_tags_for_resource(ResourceId=directory)["Tags"]):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    term.type("\x03")
    assert term.finish() == 130
    screen = term.text()
    assert "RestoreFromSnapshot was sent (once)." in screen, screen
    assert "The restore goes on in AWS: it cannot be stopped." in screen, screen
    assert len([c for c in emu.calls() if c["operation"] == "RestoreFromSnapshot"]) == 1
