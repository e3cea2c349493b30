"""`make bench`: measure the keeper against its baselines and write docs/benchmarks.md.

Figures, not timed tests: nothing here passes or fails on a time. What it measures, on this
machine, with the emulator and Runtime API of the tests (tests/support/local_aws.py):

* cold start, exec to the first ``GET .../invocation/next``, timed by the native
  ``exec-timer`` (bench/exec_timer.rs): the keeper, the same keeper linked non-PIE, the floor
  (a ``lambda_runtime`` hello world, same profile), the floor carrying the keeper's code
  (bench/floor_linked.rs) and the harness baseline (``null-client``,
  a native process that only connects and sends the GET), interleaved in random order;
* what the loader does for each binary (relocations, ``.data.rel.ro``, page faults);
* exec to the first response (init included) of a ``report`` over one directory: the keeper,
  the floor (which answers without any call) and a Python boto3 function making the same
  calls (bench/boto3_function.py), interleaved; then the same against ``ReplayPeer``, which
  answers each call with the emulator's bytes from memory;
* warm invocations in one process, back to back, without sleeps: ``report`` and a scheduled
  run (whose one poll delay, ``POLL_INITIAL_SECONDS=0.01``, is part of the run);
* scale: 1, 10, 100 and 300 directories under a 5 calls/s throttle with 50 ms latency per
  call: wall time against the throttle's own floor (accepted calls / 5 per second), calls per
  operation from the emulator's call log against the minimum, peak RSS;
* two throttled calls in a one-directory run;
* sizes: the release binary and the deployment zips.

Every timed figure is a median with its 10th-90th percentile spread over the stated number of
samples. Run it with the emulator's Python (the Makefile does): python bench/run.py
"""

from __future__ import annotations

import http.client
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import zipfile
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))
from local_aws import Emulator, QuietHandler, RuntimeApi, lambda_env  # noqa: E402

RELEASE = ROOT / "target" / "release"
KEEPER = Path(os.environ.get("BENCH_KEEPER", RELEASE / "ds-snapshot-keeper"))
FLOOR = RELEASE / "hello-floor"
NULL = RELEASE / "null-client"
TIMER = RELEASE / "exec-timer"
FLOOR_LINKED = RELEASE / "floor-linked"  # the floor with the keeper's code linked (bench/floor_linked.rs)
# The same keeper linked without position independence (`make bench` builds it apart, with
# `-C relocation-model=static`): measured to show what PIE costs at load, not shipped.
NOPIE = ROOT / "target" / "nopie" / "x86_64-unknown-linux-gnu" / "release" / "ds-snapshot-keeper"
BOTO3_FUNCTION = ROOT / "bench" / "boto3_function.py"
CERT_DIR = "/etc/ssl/certs"  # openssl-probe's first certificate directory on Linux
SCHEDULED = json.loads((ROOT / "events" / "scheduler-default.json").read_text())
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "40"))
SCALE = [int(n) for n in os.environ.get("BENCH_SCALE", "1,10,100,300").split(",")]
THROTTLE_RATE = 5  # accepted calls per second
# What each change of 0.3 did, measured by hand on this machine while making it (the tables
# above are remeasured by every `make bench`; these rows are the record of why).
CHANGES = [
    ("arm64 zip (`cargo lambda build --release --arm64 --output-format zip`)",
     "2,630,348 bytes (0.2)",
     "2,548,689 bytes without the regex engine (`Targets` instead of `EnvFilter`, `lambda_runtime` "
     "without its `tracing` feature); 2,214,927 bytes with rustls on ring instead of aws-lc and "
     "`opt-level = \"z\"`"),
    ("x86_64 zip of the release binary", "2,762,711 bytes", "2,513,377 bytes (ring); 2,293,979 bytes (ring, `z`)"),
    ("first event, before its first API call (one trace, `RUST_LOG=trace` timestamps)",
     "12.5 ms building the default credential chain (STS, SSO, IMDS, ECS providers) + 6.7 ms",
     "6.7 ms: the credentials Lambda puts in the environment are read directly"),
    ("`DescribeDirectories` calls of a scheduled run with `DIRECTORY_IDS`", "2 (the listed ids, then the Region)",
     "1 (one listing serves both); a `report` over one directory: 4 calls -> 3"),
    ("`trace` events compiled out of release builds (tracing's `release_max_level_debug`): arm64 zip; "
     "x86_64 binary; relative relocations",
     "2,214,767 bytes; 5,239,056 bytes; 16,289", "2,165,409 bytes; 5,008,440 bytes; 13,843"),
    ("arm64 zip, this round (the restore mark and executor, the audit and tamper actions, the CLI on "
     "lexopt with SSO and credential_process, `aws_lambda_events` dropped)",
     "2,262,590 bytes (the round's start)",
     "2,538,847 bytes with it all in one binary; 2,398,363 without SSO and credential_process; 2,251,431 "
     "without the command line (Cargo.toml's feature `cli`, off for the zip: `--no-default-features`); "
     "1,976,380 with the function's configuration built from its environment (`wiring::lambda_config`) "
     "instead of aws-config's loader, which linked the default credential chain, STS and URL parsing"),
]
ARM64_GB_SECOND = 0.0000133334  # Lambda arm64 price per GB-second (first tier, us-east-1)
REQUEST_PRICE = 0.20 / 1_000_000


# --- statistics --------------------------------------------------------------------------------


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(p * (len(ordered) - 1))))]

    return {"median": statistics.median(ordered), "p10": pct(0.1), "p90": pct(0.9), "n": len(ordered)}


def fmt(s: dict[str, float], unit: str = "ms", digits: int = 2) -> str:
    return f"{s['median']:.{digits}f} {unit} [{s['p10']:.{digits}f}-{s['p90']:.{digits}f}]"


# --- cold start and first response ------------------------------------------------------------


class ReplayPeer:
    """A fast stand-in for Directory Service, for one figure: exec to first response when the
    service answers in well under a millisecond. The first time it sees a request (path,
    ``X-Amz-Target`` and body) it forwards it to the emulator and keeps the answer; every later
    identical request gets those same bytes back from memory. Signatures, which differ per
    request, are not part of the key. Only 200 answers are kept."""

    def __init__(self, upstream: str) -> None:
        self.cache: dict[tuple[str, str | None, bytes], tuple[str, bytes]] = {}
        self.forwarded = 0
        self.replayed = 0
        self.lock = threading.Lock()
        target = urllib.parse.urlsplit(upstream)
        peer = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                key = (self.path, self.headers.get("X-Amz-Target"), body)
                with peer.lock:
                    kept = peer.cache.get(key)
                    peer.replayed += kept is not None
                status = 200
                if kept is None:
                    upstream_conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
                    headers = {k: v for k, v in self.headers.items()
                               if k.lower() not in ("host", "content-length", "connection")}
                    upstream_conn.request("POST", self.path, body=body, headers=headers)
                    answer = upstream_conn.getresponse()
                    status = answer.status
                    kept = (answer.getheader("Content-Type") or "application/x-amz-json-1.1", answer.read())
                    upstream_conn.close()
                    with peer.lock:
                        peer.forwarded += 1
                        if status == 200:
                            peer.cache[key] = kept
                content_type, data = kept
                head = (f"HTTP/1.1 {status} {http.client.responses.get(status, '')}\r\n"
                        f"Content-Type: {content_type}\r\nContent-Length: {len(data)}\r\n"
                        "x-amzn-RequestId: 00000000-0000-0000-0000-000000000000\r\n\r\n").encode()
                self.wfile.write(head + data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def __enter__(self) -> "ReplayPeer":
        return self

    def __exit__(self, *_: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- loading ----------------------------------------------------------------------------------


def load_facts(binary: Path) -> dict[str, Any]:
    """What the loader has to do for ``binary``: PIE or not, relative relocations (each one a
    write at load), the size of ``.data.rel.ro`` (the pages those writes copy), and the minor
    page faults up to a first GET that is refused."""
    dynamic = subprocess.run(["readelf", "-d", str(binary)], capture_output=True, text=True).stdout
    sections = subprocess.run(["readelf", "-S", "-W", str(binary)], capture_output=True, text=True).stdout
    header = subprocess.run(["readelf", "-h", str(binary)], capture_output=True, text=True).stdout
    relative = next((int(line.split()[-1]) for line in dynamic.splitlines() if "RELACOUNT" in line), 0)
    relro = 0
    for line in sections.splitlines():
        fields = line.replace("[ ", "[").split()
        if len(fields) > 5 and fields[1] == ".data.rel.ro":
            relro = int(fields[5], 16)
    with tempfile.NamedTemporaryFile() as out:
        # Start-up to a first GET that is refused (nothing listens on port 9): the process exits
        # there, so its page faults are those of loading and starting, and nothing after.
        subprocess.run(["/usr/bin/time", "-f", "%R", "-o", out.name, str(binary)],
                       env=lambda_env("127.0.0.1:9"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        faults = int(Path(out.name).read_text().strip().splitlines()[-1])
    return {"pie": "DYN" in header, "relative": relative, "relro": relro, "faults": faults,
            "size": binary.stat().st_size}


def timer(subjects: list[dict[str, Any]], rounds: int) -> dict[str, list[float]]:
    """Run ``subjects`` through the native ``exec-timer`` (bench/exec_timer.rs), interleaved."""
    done = subprocess.run([str(TIMER), str(rounds), "20261125"], input=json.dumps(subjects), text=True,
                          env=lambda_env(None, {"AWS_LAMBDA_LOG_LEVEL": "WARN"}), capture_output=True)
    if done.returncode != 0:
        raise SystemExit(f"exec-timer failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


# --- warm invocations -------------------------------------------------------------------------


def warm(emu: Emulator, event: Any, count: int, extra: dict[str, str]) -> tuple[list[float], float]:
    """One process, ``count + 1`` events back to back; the first (cold) one is left out.
    Returns the warm samples (ms, served to answered) and the DS calls per invocation, the
    mean over all ``count + 1`` (the emulator's log does not say which invocation made a call)."""
    api = RuntimeApi([event] * (count + 1))
    env = lambda_env(api.address, {"AWS_ENDPOINT_URL": emu.endpoint, "AWS_LAMBDA_LOG_LEVEL": "WARN", **extra})
    before = len(emu.calls())
    proc = subprocess.Popen([str(KEEPER)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        posted = api.wait_for(count + 1, timeout=600)
        assert len(posted) == count + 1, posted[-1:]
        calls = len([c for c in emu.calls()[before:] if c["service"] == "ds"]) / (count + 1)
    finally:
        proc.kill()
        proc.wait()
        api.close()
    samples = []
    for i in range(1, count + 1):
        at, kind, body = api.answered[f"req-{i}"]
        assert kind == "response", body
        samples.append((at - api.served[f"req-{i}"]) * 1000)
    return samples, calls


# --- scale under a throttle -------------------------------------------------------------------


def by_operation(calls: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for c in calls:
        if c["service"] != "ds":
            continue
        row = out.setdefault(c["operation"], {"accepted": 0, "throttled": 0})
        row["throttled" if c["fault"] == "throttle" else "accepted"] += 1
    return out


def minimum(operation: str, n: int, ops: dict[str, dict[str, int]]) -> int | None:
    """The fewest calls of ``operation`` a run over n empty directories can make:
    DescribeDirectories as many pages as the service served; per directory one
    DescribeSnapshots, one GetSnapshotLimits and one CreateSnapshot; one DescribeSnapshots
    per 50 new snapshots (the API's most ids per call) to see them complete; and one listing
    per directory after the wait, so that the after-create deletions and the quota are decided
    from what is there now (none for a lone directory: the wait's last poll lists it)."""
    if operation == "DescribeDirectories":
        return ops.get(operation, {}).get("accepted", 0)
    if operation == "DescribeSnapshots":
        return n + math.ceil(n / 50) + after_wait_listings(n)
    if operation in ("GetSnapshotLimits", "CreateSnapshot"):
        return n
    return None


def after_wait_listings(n: int) -> int:
    """DescribeSnapshots a run over n directories spends listing them again after the wait."""
    return n if n > 1 else 0


def calls_only() -> None:
    """`make bench-calls`: the calls per operation of a scheduled run over 1, 10 and 100 empty
    directories (no throttle, no latency), against the minimum, with the after-wait listings
    apart. Call counts do not depend on the build profile: it runs ``BENCH_KEEPER`` (the debug
    binary, by the Makefile)."""
    with Emulator(directory_limit=1000) as emu:
        print("| directories | DescribeSnapshots | of which listings after the wait | GetSnapshotLimits | CreateSnapshot |")
        print("|---|---|---|---|---|")
        for n in (1, 10, 100):
            emu.reset()
            emu.directories(n)
            before = len(emu.calls())
            env = lambda_env(None, {"AWS_ENDPOINT_URL": emu.endpoint, "POLL_INITIAL_SECONDS": "0.05",
                                    "POLL_MAX_SECONDS": "0.2", "CONCURRENCY": "8", "RUST_LOG": "warn"})
            done = subprocess.run([str(KEEPER), "invoke", "--event", str(ROOT / "events" / "scheduler-default.json")],
                                  env=env, capture_output=True)
            if done.returncode != 0:
                raise SystemExit(done.stderr.decode()[-2000:])
            ops = by_operation(emu.calls()[before:])
            got = {op: ops.get(op, {}).get("accepted", 0) for op in ("DescribeSnapshots", "GetSnapshotLimits", "CreateSnapshot")}
            least = {op: minimum(op, n, ops) for op in got}
            print(f"| {n} | {got['DescribeSnapshots']} (min {least['DescribeSnapshots']}) | {after_wait_listings(n)} "
                  f"| {got['GetSnapshotLimits']} (min {least['GetSnapshotLimits']}) "
                  f"| {got['CreateSnapshot']} (min {least['CreateSnapshot']}) |", flush=True)


def scale_run(emu: Emulator, n: int, throttle: bool) -> dict[str, Any]:
    emu.reset()
    emu.directories(n)
    emu.control("POST", "faults", {"operation": "*", "service": "ds", "kind": "latency", "latency_ms": 50})
    if throttle:
        emu.control("POST", "faults", {"operation": "*", "service": "ds", "kind": "throttle",
                                       "rate_per_second": THROTTLE_RATE})
    before = len(emu.calls())
    env = lambda_env(None, {"AWS_ENDPOINT_URL": emu.endpoint, "POLL_INITIAL_SECONDS": "1", "POLL_MAX_SECONDS": "10",
                            "CONCURRENCY": "8", "RUST_LOG": "warn"})
    # Peak RSS through /usr/bin/time: a child's ru_maxrss would include this Python's image.
    with tempfile.NamedTemporaryFile() as rss_file:
        start = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file.name, str(KEEPER), "invoke",
                               "--event", str(ROOT / "events" / "scheduler-default.json")],
                              env=env, capture_output=True)
        wall = time.perf_counter() - start
        rss_kib = int(Path(rss_file.name).read_text().strip().splitlines()[-1])
    report = json.loads(done.stdout)
    ops = by_operation(emu.calls()[before:])
    accepted = sum(o["accepted"] for o in ops.values())
    return {
        "directories": n, "wall_s": wall, "ops": ops, "accepted": accepted,
        "throttled": sum(o["throttled"] for o in ops.values()),
        "floor_s": accepted / THROTTLE_RATE, "rss_mib": rss_kib / 1024,
        "created": report["summary"]["created"],
        "completed": sum(1 for d in report["directories"] if (d.get("created") or {}).get("status") == "Completed"),
        "failures": report["summary"]["failures"], "exit": done.returncode,
    }


def throttled_pair(emu: Emulator, runs: int) -> list[float]:
    """A one-directory run whose first two DescribeSnapshots calls are throttled (seconds)."""
    walls = []
    for _ in range(runs):
        emu.reset()
        [directory] = emu.directories(1)
        emu.control("POST", "faults", {"operation": "DescribeSnapshots", "service": "ds", "kind": "throttle", "count": 2})
        env = lambda_env(None, {"AWS_ENDPOINT_URL": emu.endpoint, "POLL_INITIAL_SECONDS": "0.05",
                                "DIRECTORY_IDS": directory, "RUST_LOG": "warn"})
        start = time.perf_counter()
        done = subprocess.run([str(KEEPER), "invoke", "--event", str(ROOT / "events" / "scheduler-default.json")],
                              env=env, capture_output=True)
        walls.append(time.perf_counter() - start)
        assert done.returncode == 0, done.stderr[-500:]
    return walls


# --- sizes and the machine --------------------------------------------------------------------


def sizes() -> dict[str, int]:
    out = {"binary": KEEPER.stat().st_size}
    with tempfile.TemporaryDirectory() as tmp:
        zpath = Path(tmp) / "bootstrap.zip"
        with zipfile.ZipFile(zpath, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
            z.write(KEEPER, "bootstrap")
        out["x86_zip"] = zpath.stat().st_size
    arm_zip = ROOT / "target" / "lambda" / "ds-snapshot-keeper" / "bootstrap.zip"
    if arm_zip.exists():
        out["arm64_zip"] = arm_zip.stat().st_size
    return out


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB, {rustc}"


def mb(n: int) -> str:
    return f"{n:,} bytes ({n / 1_000_000:.2f} MB)"


# --- the report -------------------------------------------------------------------------------


SIMULATOR = ROOT / "target" / "release" / "examples" / "simulate"


def simulator() -> list[str]:
    """The simulator's own figures: two simulated years per mode, the time each took
    (release build), and the same with 10% of runs failing."""
    out = ["`target/release/examples/simulate` (the real keeper over the in-memory service; the",
           "last column is the wall time of one directory's two simulated years):", ""]
    for args in ([], ["--fail-percent", "10", "--seed", "3"]):
        done = subprocess.run([str(SIMULATOR), *args], capture_output=True, text=True, check=True, timeout=600)
        table = [l for l in done.stdout.splitlines() if l.startswith("|")]
        out += [f"`{' '.join(['simulate', *args])}`:", ""] + table + [""]
    return out


def main() -> None:
    for binary in (KEEPER, FLOOR, NULL, TIMER):
        if not binary.exists():
            raise SystemExit(f"{binary} missing: `make bench` builds it")
    print(f"cold start: {SAMPLES} rounds ...", flush=True)
    subjects = [
        {"name": "keeper", "argv": [str(KEEPER)], "until": "get"},
        {"name": "floor", "argv": [str(FLOOR)], "until": "get"},
        {"name": "null", "argv": [str(NULL)], "until": "get"},
        # Loading alone: `--help` runs no start-up code; null-client without a Runtime API
        # exits at once.
        {"name": "keeper load", "argv": [str(KEEPER), "--help"], "until": "exit"},
        {"name": "null load", "argv": [str(NULL)], "until": "exit"},
    ]
    subjects.append({"name": "floor, keeper linked", "argv": [str(FLOOR_LINKED)], "until": "get"})
    if NOPIE.exists():
        subjects += [{"name": "keeper, non-PIE", "argv": [str(NOPIE)], "until": "get"},
                     {"name": "keeper, non-PIE load", "argv": [str(NOPIE), "--help"], "until": "exit"}]
    raw = timer(subjects, SAMPLES)
    cold = {k: summary(v) for k, v in raw.items()}

    def paired(subject: str, baseline: str) -> float:
        """Median over rounds of (subject - baseline), both timed in the same round."""
        return statistics.median(a - b for a, b in zip(raw[subject], raw[baseline]))

    net = {k: paired(k, "null") for k in ("keeper", "floor", "keeper, non-PIE", "floor, keeper linked") if k in raw}
    loads = {k: paired(f"{k} load", "null load") for k in ("keeper", "keeper, non-PIE") if f"{k} load" in raw}
    facts = {"keeper": load_facts(KEEPER), "floor": load_facts(FLOOR), "floor, keeper linked": load_facts(FLOOR_LINKED),
             "null": load_facts(NULL)}
    if NOPIE.exists():
        facts["keeper, non-PIE"] = load_facts(NOPIE)

    with Emulator(directory_limit=1000) as emu:
        [directory] = emu.directories(1)
        extra = {"AWS_ENDPOINT_URL": emu.endpoint, "DIRECTORY_IDS": directory}
        print(f"first response: {SAMPLES} rounds ...", flush=True)
        # The keeper pins the platform's CA bundle (wiring::pin_ca_bundle). "every file" is the
        # trust store as rustls-native-certs reads it unpinned: a user's SSL_CERT_DIR turns the
        # pin off, and this one is the directory openssl-probe finds first on Linux.
        every_file = {**extra, "SSL_CERT_DIR": CERT_DIR}
        report = [{"action": "report"}, {"action": "report"}]

        def responding(name: str, argv: list[str], env: dict[str, str]) -> dict[str, Any]:
            return {"name": name, "argv": argv, "until": "response", "env": env, "events": report}

        boto3_argv = [sys.executable, str(BOTO3_FUNCTION)]
        raw_first = timer([
            responding("keeper", [str(KEEPER)], extra),
            responding("keeper, every file", [str(KEEPER)], every_file),
            responding("floor", [str(FLOOR)], extra),
            responding("boto3", boto3_argv, extra),
            {"name": "null", "argv": [str(NULL)], "until": "get"},
        ], SAMPLES)
        with ReplayPeer(emu.endpoint) as peer:
            fast = {**extra, "AWS_ENDPOINT_URL": peer.endpoint}
            fast_every_file = {**every_file, "AWS_ENDPOINT_URL": peer.endpoint}
            # One unmeasured round fills the peer with the emulator's answers.
            timer([responding("keeper", [str(KEEPER)], fast), responding("boto3", boto3_argv, fast)], 1)
            print(f"first response, replaying peer: {SAMPLES} rounds ...", flush=True)
            raw_fast = timer([
                responding("keeper, fast peer", [str(KEEPER)], fast),
                responding("keeper, every file, fast peer", [str(KEEPER)], fast_every_file),
                responding("boto3, fast peer", boto3_argv, fast),
                {"name": "null, fast peer", "argv": [str(NULL)], "until": "get"},
            ], SAMPLES)
            warm_fast, _ = warm(emu, {"action": "report"}, SAMPLES, fast)
            forwarded, replayed = peer.forwarded, peer.replayed
        first = {k: summary(v) for k, v in raw_first.items()}
        first_fast = {k: summary(v) for k, v in raw_fast.items()}
        setup = {k.removesuffix(" first event"): summary(v)
                 for k, v in {**raw_first, **raw_fast}.items() if k.endswith(" first event")}
        # The harness of these rounds: null-client's exec to first GET, in the same rounds.
        first_harness = statistics.median(raw_first["null"] + raw_fast["null, fast peer"])
        print("warm invocations ...", flush=True)
        warm_report, report_calls = warm(emu, {"action": "report"}, SAMPLES, extra)
        emu.reset()
        [directory] = emu.directories(1)
        warm_run, run_calls = warm(emu, SCHEDULED, SAMPLES, {
            "AWS_ENDPOINT_URL": emu.endpoint, "DIRECTORY_IDS": directory, "POLL_INITIAL_SECONDS": "0.01",
            "MIN_INTERVAL_MINUTES": "0"})
        print("two throttled calls ...", flush=True)
        pair = summary(throttled_pair(emu, 10))
        scale = []
        for n in SCALE:
            print(f"scale: {n} directories ...", flush=True)
            result = scale_run(emu, n, throttle=True)
            result["unthrottled"] = scale_run(emu, n, throttle=False)
            scale.append(result)
    size = sizes()

    wr, wrun = summary(warm_report), summary(warm_run)
    lines = [
        "# Benchmarks",
        "",
        f"Measured by `make bench` on {time.strftime('%Y-%m-%d', time.gmtime())}, on: {machine()}.",
        "Release profile (`opt-level = \"z\"`, LTO, one codegen unit, `panic = \"abort\"`, stripped).",
        "Directory Service is the local emulator (moto + our extension) on loopback; the Runtime API",
        "is `tests/support/local_aws.py`, the one `tests/local/test_runtime_api.py` tests the binary",
        f"against. Timed figures: median [10th-90th percentile] of {SAMPLES} samples, taken in",
        "interleaved rounds (every subject once per round, in a random order).",
        "",
        "## Cold start: exec to the first GET",
        "",
        "Exec of the binary to its first `GET /2018-06-01/runtime/invocation/next`, timed by",
        "`exec-timer` (`bench/exec_timer.rs`), a native harness: it spawns the process with",
        "`AWS_LAMBDA_RUNTIME_API` pointing at its own listener and stops the clock at the end of the",
        "request's headers. What the harness itself costs (spawn, the loader, accepting and reading)",
        "is measured with `null-client`, a native process that only connects and sends that GET,",
        "in the same rounds, and subtracted round by round (\"minus the harness\": the median of",
        "the per-round differences). `tests/local/test_runtime_api.py` checks that the timer serves",
        "the keeper's events as the Runtime API does.",
        "",
        "| process | exec to first GET | minus the harness | ratio to the floor, harness excluded |",
        "|---|---|---|---|",
        f"| ds-snapshot-keeper | {fmt(cold['keeper'])} | {net['keeper']:.2f} ms | {net['keeper'] / net['floor']:.2f}x |",
    ]
    if "keeper, non-PIE" in net:
        lines.append(f"| ds-snapshot-keeper linked non-PIE (measured, not shipped: below) | {fmt(cold['keeper, non-PIE'])} | "
                     f"{net['keeper, non-PIE']:.2f} ms | {net['keeper, non-PIE'] / net['floor']:.2f}x |")
    lines += [
        f"| floor with the keeper's code linked in (`bench/floor_linked.rs`: the floor's start-up, the keeper's binary) | "
        f"{fmt(cold['floor, keeper linked'])} | {net['floor, keeper linked']:.2f} ms | {net['floor, keeper linked'] / net['floor']:.2f}x |",
        f"| floor: `lambda_runtime` hello world, same profile | {fmt(cold['floor'])} | {net['floor']:.2f} ms | 1.00x |",
        f"| harness baseline: `null-client` | {fmt(cold['null'])} | 0 | |",
        "",
        "Before the first GET the keeper reads and checks its settings and starts logging; no",
        "network call happens. The AWS clients are built on the first event (below).",
        "",
        f"Of the keeper's {net['keeper']:.2f} ms, {loads['keeper']:.2f} ms is loading the binary: exec to exit of",
        f"`ds-snapshot-keeper --help`, which runs none of the start-up code, takes {fmt(cold['keeper load'])},",
        f"against {fmt(cold['null load'])} for `null-client`. What the loader does for each binary",
        "(`readelf`; minor page faults from `/usr/bin/time`, up to a first GET that is refused):",
        "",
        "| binary | size | position-independent | relative relocations | `.data.rel.ro` | minor page faults | load, minus `null-client` |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, label in (("keeper", "ds-snapshot-keeper"), ("keeper, non-PIE", "ds-snapshot-keeper, non-PIE"),
                        ("floor, keeper linked", "floor, keeper linked"), ("floor", "floor"),
                        ("null", "`null-client`")):
        if name in facts:
            f = facts[name]
            took = f"{loads[name]:.2f} ms" if name in loads else "0" if name == "null" else "not measured"
            lines.append(f"| {label} | {mb(f['size'])} | {'yes' if f['pie'] else 'no'} | {f['relative']:,} | "
                         f"{f['relro'] / 1024:.0f} KiB | {f['faults']} | {took} |")
    lines += [
        "",
        f"The floor with the keeper's code linked in does what the floor does before its first GET",
        f"and carries what the keeper carries: {net['floor, keeper linked']:.2f} ms against the floor's {net['floor']:.2f} ms and",
        f"the keeper's {net['keeper']:.2f} ms. So of the keeper's gap to the floor, "
        f"{net['floor, keeper linked'] - net['floor']:.2f} ms is the linked code and "
        f"{net['keeper'] - net['floor, keeper linked']:.2f} ms the keeper's own",
        "start-up (reading and checking its settings, starting its logging).",
        "",
        "A position-independent binary is relocated at every start: each relative relocation is a",
        "write into `.data.rel.ro`, and each page written is a copy-on-write fault. The keeper's",
        "relocations are the pointers in the statics of the code it links (the AWS SDK, hyper, h2,",
        "rustls, tokio): vtables, format strings, panic locations, tracing call sites. Release",
        "builds already compile out `trace` events (`release_max_level_debug`: 2,446 relocations",
        "fewer); what is left is the code the keeper calls.",
        "",
    ]
    if "keeper, non-PIE" in net:
        ratio = net["keeper, non-PIE"] / net["floor"]
        saved = net["keeper"] - net["keeper, non-PIE"]
        lines += [
            f"Linked non-PIE (`-C relocation-model=static`: no relocations to apply, no `.data.rel.ro` to copy)",
            f"the keeper reaches its first GET in {net['keeper, non-PIE']:.2f} ms, {ratio:.2f}x the floor "
            f"({saved:.2f} ms sooner than the shipped build).",
        ]
        if ratio > 1.5:
            lines += [
                "So position independence is not what stops the 1.5x target: what is left is the size",
                "of the code that runs, mapped and faulted in page by page (the page faults above), and",
                "the keeper's own start-up (settings, logging). The floor is a 1 MB hello world; the",
                "keeper carries the AWS SDK, rustls and hyper's HTTP/2 (which the SDK's HTTPS client",
                "always links), and those are the crates it is built on. The non-PIE build is not",
                "shipped either way: it gives up address-space layout randomisation in the one process",
                "that holds delete rights on a directory's restore points.",
            ]
        else:
            lines += [
                "That build is measured and not shipped: it gives up address-space layout randomisation",
                "in the one process that holds delete rights on a directory's restore points, to save",
                "that much once per cold start of a function that runs daily for seconds.",
            ]
        lines += [
            "Packed relocations (`-z pack-relative-relocs`) would shrink the table but not the writes,",
            "and need glibc 2.36; Lambda's `provided.al2023` has 2.34.",
            "",
        ]
    else:
        lines += ["The non-PIE comparison was not built in this run (`make bench` builds it into `target/nopie`).", ""]
    lines += [
        "## Exec to the first response",
        "",
        "Exec to the response of the first invocation, init included: a `report` over one",
        "directory (DescribeDirectories, DescribeSnapshots, GetSnapshotLimits against the emulator),",
        "timed by `exec-timer` acting as the Runtime API (two identical events; the clock stops at",
        "the end of the first response's body).",
        "",
        "| function | exec to first response | ratio to the keeper |",
        "|---|---|---|",
        f"| ds-snapshot-keeper | {fmt(first['keeper'])} | 1.00x |",
        f"| ds-snapshot-keeper, every certificate file read (`SSL_CERT_DIR={CERT_DIR}`: the trust store unpinned) | {fmt(first['keeper, every file'])} | {first['keeper, every file']['median'] / first['keeper']['median']:.2f}x |",
        f"| Python 3 + boto3, same three calls (`bench/boto3_function.py`, client built at init) | {fmt(first['boto3'])} | {first['boto3']['median'] / first['keeper']['median']:.1f}x |",
        f"| floor: hello world, answers without a call | {fmt(first['floor'])} | {first['floor']['median'] / first['keeper']['median']:.2f}x |",
        "",
        f"The same `report` warm (the process already running): {fmt(wr)}, {report_calls:.0f} calls each:",
        "that is the emulator (moto, in Python) answering three calls, and no client can answer",
        "sooner than it. What the keeper itself adds is exec to its first GET (above) and what its",
        "first event costs beyond a warm one, measured in the same process (a second, identical",
        "event follows the first):",
        "",
        "| function | first event's own cost (first minus second) | exec to first GET, harness excluded | keeper's own total |",
        "|---|---|---|---|",
        f"| ds-snapshot-keeper | {fmt(setup['keeper'])} | {net['keeper']:.2f} ms | {setup['keeper']['median'] + net['keeper']:.2f} ms |",
        f"| ds-snapshot-keeper, every certificate file read | {fmt(setup['keeper, every file'])} | {net['keeper']:.2f} ms | {setup['keeper, every file']['median'] + net['keeper']:.2f} ms |",
        f"| Python 3 + boto3 | {fmt(setup['boto3'])} | | |",
        "",
        "The first event builds the AWS config (credentials straight from the environment, as",
        "Lambda provides them), the HTTPS connector with the platform's trust store, and the first",
        "connection. The trust store is the platform's CA bundle alone: in Lambda mode the keeper",
        "points `SSL_CERT_FILE` at the bundle `openssl-probe` finds (`wiring::pin_ca_bundle`), unless",
        "the user set `SSL_CERT_FILE` or `SSL_CERT_DIR`. Unpinned, `rustls-native-certs` also reads",
        "every file of every certificate directory it finds: the \"every certificate file\" rows.",
        "",
        "### With a peer that answers at once",
        "",
        "The emulator is not the service: moto spends milliseconds on each call. To measure the",
        "first response when the client is all there is to wait for, `ReplayPeer` (`bench/run.py`)",
        "answers each call with the emulator's own bytes for that request, from memory (it forwarded",
        f"{forwarded} distinct requests to the emulator and replayed {replayed}). The same `report` warm",
        f"through it takes {fmt(summary(warm_fast))}.",
        "",
        "| function | exec to first response, replaying peer | minus the harness | first event's own cost | 10 ms target |",
        "|---|---|---|---|---|",
    ]
    for name, label in (("keeper, fast peer", "ds-snapshot-keeper"),
                        ("keeper, every file, fast peer", "ds-snapshot-keeper, every certificate file read"),
                        ("boto3, fast peer", "Python 3 + boto3")):
        took = first_fast[name]["median"]
        verdict = "met" if took <= 10 else "met, harness excluded" if took - first_harness <= 10 else "over"
        lines.append(f"| {label} | {fmt(first_fast[name])} | {took - first_harness:.2f} ms | {fmt(setup[name])} | {verdict} |")
    lines += [
        "",
        f"\"Minus the harness\" subtracts {first_harness:.2f} ms, `null-client`'s exec to first GET timed in",
        "the same rounds (spawn, the loader, the timer's listener). This machine's Debian layout puts about 150 single",
        "certificates in `/etc/ssl/certs`, which is what the \"every certificate file\" rows read.",
        "Amazon Linux 2023 (Lambda's `provided.al2023`) keeps bundles in its certificate directory",
        "(`ca-bundle.crt`, `ca-bundle.trust.crt`), as RHEL-family systems do, so unpinned it would",
        "read the bundle again instead; no Lambda image runs here to measure that.",
        "",
        "## Warm invocations",
        "",
        "| invocation, one directory, in a warm process | wall time (event served to answer) | Directory Service calls each (mean) |",
        "|---|---|---|",
        f"| `report` | {fmt(wr)} | {report_calls:.1f} |",
        f"| scheduled run: make room, create, poll once, prune (`MIN_INTERVAL_MINUTES=0`) | {fmt(wrun)} | {run_calls:.1f} |",
        "",
        "The scheduled run includes its one poll delay, `POLL_INITIAL_SECONDS=0.01` (the smallest",
        "accepted): the emulator completes a snapshot at its first describe. A real snapshot takes",
        "minutes, and backoff polling costs about 8 describes for a 10-minute one (`tests/it/calls.rs`).",
        "",
        "## Scale under a throttle",
        "",
        f"One invocation over N Managed Microsoft AD directories, 50 ms added latency per call, Directory Service",
        f"throttled to {THROTTLE_RATE} calls per second (excess calls get `ClientException` \"Rate exceeded\", Directory Service's throttle shape), `CONCURRENCY=8`,",
        "`POLL_INITIAL_SECONDS=1`. The throttle's floor is the accepted calls divided by the rate:",
        "no client can finish sooner. Call counts come from the emulator's call log. Peak RSS from",
        "`/usr/bin/time`, in MiB. One run per size (each takes up to minutes).",
        "",
        "| directories | wall time | throttle floor | ratio | accepted calls | throttled, retried | created / completed | failures | peak RSS | wall time, no throttle |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in scale:
        lines.append(
            f"| {s['directories']} | {s['wall_s']:.1f} s | {s['floor_s']:.1f} s | {s['wall_s'] / s['floor_s']:.2f}x | "
            f"{s['accepted']} | {s['throttled']} | {s['created']} / {s['completed']} | {s['failures']} | "
            f"{s['rss_mib']:.1f} MiB | {s['unthrottled']['wall_s']:.1f} s |"
        )
    lines += [
        "",
        "Accepted calls per operation against the minimum a run over empty directories needs",
        "(DescribeDirectories: the pages the service served; per directory one DescribeSnapshots,",
        "one GetSnapshotLimits and one CreateSnapshot; one DescribeSnapshots per 50 new snapshots;",
        "one listing per directory after the wait, none for a lone directory):",
        "",
        "| directories | " + " | ".join(sorted({op for s in scale for op in s["ops"]})) + " |",
        "|---|" + "---|" * len({op for s in scale for op in s["ops"]}),
    ]
    ops_all = sorted({op for s in scale for op in s["ops"]})
    for s in scale:
        cells = []
        for op in ops_all:
            got = s["ops"].get(op, {}).get("accepted", 0)
            least = minimum(op, s["directories"], s["ops"])
            cells.append(f"{got}" if least is None else f"{got} (min {least})")
        lines.append(f"| {s['directories']} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Two throttled calls",
        "",
        "A one-directory scheduled run whose first two `DescribeSnapshots` calls are throttled;",
        f"wall time of `ds-snapshot-keeper invoke`, {pair['n']} runs: {fmt(pair, 's')}.",
        "With adaptive retry (measured by hand before 0.2, debug build) the same run took 28.5 s:",
        "adaptive retry turns one throttled call into a client-side rate limit on every later call.",
        "",
        "## Size",
        "",
        "| artefact | size |",
        "|---|---|",
        f"| release binary, x86_64 | {mb(size['binary'])} |",
        f"| deployment zip of that binary (`bootstrap`, deflate -9) | {mb(size['x86_zip'])} |",
    ]
    if "arm64_zip" in size:
        lines.append(f"| `cargo lambda build --release --arm64 --no-default-features --output-format zip` (the deployment zip) | {mb(size['arm64_zip'])} |")
    else:
        lines.append("| arm64 zip | not built in this run: `cargo lambda build` failed (see `make bench`'s output) |")
    lines += ["", "## The restore-reach simulator", ""] + simulator()
    lines += [
        "",
        "## What closed the gaps",
        "",
        "Measured by hand while making each change, on this machine (one build each; the tables",
        "above are what `make bench` measures now).",
        "",
        "| figure | before | after |",
        "|---|---|---|",
    ] + [f"| {what} | {before} | {after} |" for what, before, after in CHANGES]
    gb = 128 / 1024
    daily_s = 600 + wrun["median"] / 1000
    monthly = 30 * (daily_s * gb * ARM64_GB_SECOND + REQUEST_PRICE)
    lines += [
        "",
        "## Cost",
        "",
        f"At 128 MB on arm64 (${ARM64_GB_SECOND:.10f} per GB-second, us-east-1 first tier), a daily run",
        "costs its duration. Even waiting the full 600-second budget for the real snapshot every",
        f"day, that is {daily_s:.0f} s x 0.125 GB x 30 days = ${monthly:.3f} per month per stack.",
        "",
    ]
    text = "\n".join(lines)
    (ROOT / "docs" / "benchmarks.md").write_text(text)
    print(text)


if __name__ == "__main__":
    if sys.argv[1:] == ["--calls"]:
        calls_only()
    else:
        main()
