"""The shipped binary in Lambda mode, against a local Lambda Runtime API: the wiring in
`main.rs` (settings at init, clients on the first event, error types) as Lambda sees it.

The Runtime API here (tests/support/local_aws.py) sends what Lambda sends: an epoch deadline
in milliseconds, a request id, the function ARN. It is the same one `make bench` measures
against, so the figures there come from a harness these tests check.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from log_schema import check_schema

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from local_aws import Emulator, RuntimeApi, lambda_env  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
KEEPER = Path(os.environ.get("KEEPER_BIN") or ROOT / "target/debug/ds-snapshot-keeper")


def start(api: RuntimeApi, emu: Emulator, log: Path, extra: dict[str, str]) -> subprocess.Popen:
    assert KEEPER.exists(), f"{KEEPER} missing: run `cargo build --bins`"
    env = lambda_env(api.address, {"AWS_ENDPOINT_URL": emu.endpoint, "POLL_INITIAL_SECONDS": "0.05", **extra})
    return subprocess.Popen([str(KEEPER)], env=env, stdout=log.open("w"), stderr=subprocess.DEVNULL)


def serve(events: list[Any], emu: Emulator, log: Path, extra: dict[str, str]) -> list[tuple[str, Any]]:
    """Run the keeper in Lambda mode until it has answered every event; what it posted."""
    api = RuntimeApi(events, deadline_s=60)
    proc = start(api, emu, log, extra)
    try:
        return api.wait_for(len(events))
    finally:
        proc.kill()
        proc.wait()
        api.close()


def lines_of(log: Path) -> list[dict[str, Any]]:
    out = []
    for raw in log.read_text().splitlines():
        assert len(raw) < 256 * 1024
        line = json.loads(raw)
        check_schema(line)
        out.append(line)
    return out


def test_lambda_mode_answers_reports_and_typed_errors(tmp_path: Path) -> None:
    with Emulator() as emu:
        directory = emu.new_directory()
        scheduled = json.loads((ROOT / "events/scheduler-default.json").read_text())
        log = tmp_path / "keeper.log"
        posted = serve([scheduled, {"action": "explode"}, {"action": "report"}], emu, log,
                       {"DIRECTORY_IDS": directory})
        snapshots = emu.client("ds").describe_snapshots(DirectoryId=directory)["Snapshots"]

    assert len(posted) == 3, posted
    lines = lines_of(log)
    reports = [l for l in lines if l["message"] == "run report"]
    assert len(reports) == 2, lines
    assert reports[0]["cold_start"] is True, "the first invocation is the cold one"
    assert reports[1]["cold_start"] is False
    assert reports[0]["function_name"] == "keeper"
    assert reports[0]["requestId"] == "req-0"
    assert len([l for l in lines if l["message"] == "metrics"]) >= 2, "EMF lines, INFO"
    refused = [l for l in lines if l["message"] == "event refused; nothing was changed"]
    assert len(refused) == 1 and refused[0]["level"] == "ERROR", refused
    assert "Expected an EventBridge" in refused[0]["error"]

    (path0, body0), (path1, body1), (path2, body2) = posted
    assert path0.endswith("/req-0/response"), path0
    assert body0["directories"][0]["directory_id"] == directory
    assert body0["directories"][0]["created"]["status"] == "Completed"
    assert path1.endswith("/req-1/error"), path1
    assert body1["errorType"] == "BadEvent"
    assert "unknown action" in body1["errorMessage"]
    assert path2.endswith("/req-2/response")
    assert body2["action"] == "report"
    assert len(snapshots) == 1


def test_bad_settings_fail_the_init_before_any_event(tmp_path: Path) -> None:
    with Emulator() as emu:
        api = RuntimeApi([{"action": "run"}])
        log = tmp_path / "keeper.log"
        proc = start(api, emu, log, {"RETAIN_COUNT": "0"})
        status = proc.wait(timeout=30)
        posted = api.wait_for(1, timeout=5)
        api.close()
        calls = emu.calls()

    assert status != 0, "the process exits at init"
    assert all("/invocation/" not in path for path, _ in posted), f"no event was handled: {posted}"
    assert any(path.endswith("/init/error") and "RETAIN_COUNT" in body.get("errorMessage", "")
               for path, body in posted), posted
    assert calls == [], "no AWS call at all"
    lines = lines_of(log)
    assert any(l["message"].startswith("invalid settings") for l in lines), lines


def test_lambda_mode_pins_the_platform_ca_bundle_unless_the_user_chose_a_trust_store(tmp_path: Path) -> None:
    """In Lambda mode the keeper sets SSL_CERT_FILE to the bundle openssl-probe finds, so the
    trust store is that one file and not also every file of the certificate directories
    (wiring::pin_ca_bundle); an SSL_CERT_FILE or SSL_CERT_DIR of the user's own wins."""
    pinned = "trust store: the platform's CA bundle"
    seen = {}
    with Emulator() as emu:
        directory = emu.new_directory()
        for name in ("default", "user dir"):
            # The user's directory: the one the found bundle lives in (it must hold certificates).
            extra = {"SSL_CERT_DIR": str(Path(seen["default"][0]["bundle"]).parent)} if name == "user dir" else {}
            log = tmp_path / f"{name}.log"
            posted = serve([{"action": "report"}], emu, log,
                           {"DIRECTORY_IDS": directory, "RUST_LOG": "ds_snapshot_keeper=debug", **extra})
            assert posted and posted[0][0].endswith("/req-0/response"), posted
            seen[name] = [l for l in lines_of(log) if l["message"] == pinned]

    assert len(seen["default"]) == 1, seen
    bundle = Path(seen["default"][0]["bundle"])
    assert bundle.is_file() and b"BEGIN CERTIFICATE" in bundle.read_bytes(), bundle
    assert seen["user dir"] == [], "the user's SSL_CERT_DIR is left alone"


TIMER = KEEPER.parent / "exec-timer"


def run_timer(subjects: list[dict[str, Any]], rounds: int) -> subprocess.CompletedProcess:
    assert TIMER.exists(), f"{TIMER} missing: run `cargo build --bins`"
    return subprocess.run([str(TIMER), str(rounds), "1"], input=json.dumps(subjects), text=True,
                          env=lambda_env(None, {"AWS_LAMBDA_LOG_LEVEL": "WARN"}), capture_output=True, timeout=120)


def test_the_bench_clock_serves_events_the_way_the_runtime_api_does() -> None:
    """bench/exec_timer.rs is the Runtime API of the cold-start figures: the keeper must take
    its events and answer them as it does under tests/support's RuntimeApi, and the timer must
    refuse to time an invocation that ended in an error."""
    with Emulator() as emu:
        directory = emu.new_directory()
        env = {"AWS_ENDPOINT_URL": emu.endpoint, "DIRECTORY_IDS": directory}
        report = {"action": "report"}
        done = run_timer([
            {"name": "first response", "argv": [str(KEEPER)], "until": "response", "env": env, "events": [report, report]},
            {"name": "first GET", "argv": [str(KEEPER)], "until": "get", "env": env},
            {"name": "help", "argv": [str(KEEPER), "--help"], "until": "exit"},
        ], rounds=2)
        reads = ("DescribeDirectories", "DescribeSnapshots", "GetSnapshotLimits")
        calls = [c for c in emu.calls() if c["operation"] in reads]
        refused = run_timer([{"name": "bad event", "argv": [str(KEEPER)], "until": "response", "env": env,
                              "events": [{"action": "explode"}, report]}], rounds=1)

    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out) == {"first response", "first response first event", "first GET", "help"}, out
    assert all(len(samples) == 2 and all(t > 0 for t in samples) for name, samples in out.items() if name != "first response first event")
    # Two rounds, two `report` events each, three Directory Service calls per report: every
    # event was handed out and answered, none served twice.
    assert len(calls) == 2 * 2 * 3, [c["operation"] for c in calls]
    assert refused.returncode != 0
    assert "answered" in refused.stderr and "BadEvent" in refused.stderr, refused.stderr
