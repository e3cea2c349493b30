"""Run it locally the way a Rust Lambda developer does: `cargo lambda watch` serves the function
on a local Lambda Runtime API, `cargo lambda invoke --data-file events/...` sends each event,
and the function talks to the local emulator. Every line the function writes (read from the
watch output) must be in the log schema Lambda's log filtering reads (src/log.rs).

This is CONTRIBUTING.md's "Run it locally" section, command for command.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from log_schema import check_schema

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from local_aws import REGION, Emulator  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CARGO_LAMBDA = os.environ.get("CARGO_LAMBDA", "cargo-lambda")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as running:
        yield running


@pytest.fixture(scope="module")
def emulator(emu: Emulator) -> str:
    return emu.endpoint


@pytest.fixture(scope="module")
def directory(emu: Emulator) -> str:
    return emu.new_directory()


class Watch:
    """`cargo lambda watch` in the background, its output collected line by line."""

    def __init__(self, emulator: str, directory: str):
        assert shutil.which(CARGO_LAMBDA), f"{CARGO_LAMBDA} not found: run `make local-venv`"
        self.port = free_port()
        self.lines: list[str] = []
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": emulator, "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            # The settings CONTRIBUTING.md gives for fast local runs.
            "DIRECTORY_IDS": directory, "POLL_INITIAL_SECONDS": "0.2", "POLL_MAX_SECONDS": "1",
        }
        env.pop("AWS_LAMBDA_RUNTIME_API", None)
        self.proc = subprocess.Popen(
            [CARGO_LAMBDA, "lambda", "watch", "--invoke-port", str(self.port), "--ignore-changes"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def invoke(self, event: Path) -> subprocess.CompletedProcess:
        return subprocess.run(
            [CARGO_LAMBDA, "lambda", "invoke", "--invoke-port", str(self.port), "--data-file", str(event),
             "ds-snapshot-keeper"],
            cwd=ROOT, capture_output=True, text=True, timeout=600,
        )

    def function_lines(self) -> list[dict[str, Any]]:
        """The function's own lines: JSON objects (cargo-lambda's lines are plain text)."""
        return [json.loads(l) for l in self.lines if l.startswith("{")]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def test_every_events_file_runs_under_cargo_lambda_watch_and_every_line_is_in_the_schema(emulator, directory):
    watch = Watch(emulator, directory)
    try:
        deadline = time.time() + 600
        while not any("starting Runtime server" in l for l in watch.lines):
            assert watch.proc.poll() is None, "\n".join(watch.lines[-30:])
            assert time.time() < deadline, "cargo lambda watch did not start"
            time.sleep(0.5)
        events = sorted((ROOT / "events").glob("*.json"))
        assert len(events) >= 7
        answers = {}
        for event in events:
            done = watch.invoke(event)
            answers[event.name] = done
        time.sleep(1)
        lines = watch.function_lines()
    finally:
        watch.stop()

    # tamper-*: CloudTrail records the tamper rule hands the function (docs/tamper-alert.md).
    tampers = [n for n in answers if n.startswith("tamper-")]
    restores = [n for n in answers if "restore" in n and n not in tampers]
    assert restores == ["manual-restore-drill.json"], restores
    for name, done in answers.items():
        if name in tampers:
            # Judged and published: the report names the call, and every line is in the schema.
            assert done.returncode == 0, (name, done.stderr[-2000:])
            assert json.loads(done.stdout)["event"]["call"] in ("DeleteSnapshot", "RestoreFromSnapshot",
                                                                "DeleteDirectory"), name
            continue
        if name in restores:
            # The restore action is off unless the stack opts in (AllowRestore): refused,
            # before any AWS call, with the opt-in named.
            assert done.returncode != 0, name
            assert "AllowRestore=enabled" in done.stderr.replace("\n  │ ", " "), done.stderr[-2000:]
            continue
        if name == "manual-snapshot-before-schema-extension.json":
            # It names d-0123456789, outside DIRECTORY_IDS: refused, nothing touched; the
            # error Lambda returns is one short line, the details are in the report.
            assert done.returncode != 0, name
            assert "RunFailed" in done.stderr and "see the run report" in done.stderr.replace("\n  │ ", " "), done
            assert len(done.stderr) < 2000
            continue
        assert done.returncode == 0, (name, done.stdout[-2000:], done.stderr[-2000:])
        report = json.loads(done.stdout)
        assert report["directories"][0]["directory_id"] == directory, name

    # Kept for reading (and for the README's examples): tests/local/.last-run.jsonl
    (ROOT / "tests/local/.last-run.jsonl").write_text("".join(json.dumps(l) + "\n" for l in lines))
    assert lines, "the function wrote no line"
    for line in lines:
        check_schema(line)
    reports = [l for l in lines if l["message"] == "run report"]
    assert len(reports) == len(answers) - len(restores) - len(tampers), len(reports)
    assert len([l for l in lines if l["message"] == "tamper report"]) == len(tampers)
    assert any(e["code"] == "OutOfScope" for r in reports for e in r["report"]["errors"])
    assert all(r.get("requestId") for r in reports)
    assert reports[0]["cold_start"] is True and all(r["cold_start"] is False for r in reports[1:])
    assert [l for l in lines if l["message"] == "metrics"], "EMF lines"
    # cargo lambda watch sets AWS_LAMBDA_MAX_CONCURRENCY; the keeper handles one invocation at
    # a time by design and says so once, instead of the runtime's warning that a feature is off.
    assert not any("concurrency-tokio" in l for l in watch.lines), [l for l in watch.lines if "concurrency" in l]
    assert [l for l in lines if "one invocation at a time" in l["message"]], "the keeper's own line"
    # cargo lambda sends a deadline that is no epoch time: the run warns and goes on.
    assert any("deadline is already past" in l["message"] for l in lines)
    assert not any("request_id" in l and str(l["request_id"]).startswith('"') for l in lines), "no quoted ids"
