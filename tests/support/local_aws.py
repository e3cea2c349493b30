"""Local AWS for the Python tests and the benchmark: the emulator, and a Lambda Runtime API.

One copy of each, shared by ``tests/local``, ``tests/deploy`` and ``bench/run.py`` (the Rust
tests have their own in ``tests/support/mod.rs``). Standard library only, plus boto3 where a
caller asks for a client, so any of the project's venvs can import it::

    sys.path.insert(0, str(ROOT / "tests" / "support"))
    from local_aws import Emulator, RuntimeApi, lambda_env
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:keeper"


def emulator_python() -> Path:
    """The interpreter with moto installed: ``DS_EMULATOR_PYTHON``, or the emulator's venv."""
    found = Path(os.environ.get("DS_EMULATOR_PYTHON") or ROOT / "tests/emulator/.venv/bin/python")
    assert found.exists(), f"{found} missing: run `make emulator-venv` (or set DS_EMULATOR_PYTHON)"
    return found


class _Forks:
    """This process's ``python -m ds_emulator --forks``: moto imported once, an emulator forked
    per request (a few milliseconds, where a new interpreter takes 3 s of CPU). It exits when
    this process does (its stdin closes), and its emulators with it."""

    lock = threading.Lock()
    proc: subprocess.Popen | None = None

    @classmethod
    def start(cls) -> tuple[str, int]:
        """A new emulator: its endpoint and its process id."""
        with cls.lock:
            if cls.proc is None or cls.proc.poll() is not None:
                cls.proc = subprocess.Popen(
                    [str(emulator_python()), "-m", "ds_emulator", "--forks", "--quiet"],
                    cwd=ROOT / "tests/emulator", stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL, text=True,
                )
            cls.proc.stdin.write("start\n")
            cls.proc.stdin.flush()
            line = cls.proc.stdout.readline()
        assert line.startswith("READY "), f"the emulator did not start: {line!r}"
        _, endpoint, pid = line.split()
        return endpoint, int(pid)


class Emulator:
    """A private emulator (moto plus the snapshot operations) on a free port, with state of its
    own: forked from this process's forks server, or, with a ``directory_limit``, a process of
    its own.

    It stops with the caller (``--watch-parent``, or with the forks server) even when a test is
    killed.
    """

    def __init__(self, region: str = REGION, directory_limit: int | None = None) -> None:
        self.region = region
        self.proc: subprocess.Popen | None = None
        if not directory_limit:
            self.endpoint, self.pid = _Forks.start()
            return
        args = [str(emulator_python()), "-m", "ds_emulator", "--port", "0", "--quiet", "--watch-parent",
                "--directory-limit", str(directory_limit)]
        self.proc = subprocess.Popen(
            args, cwd=ROOT / "tests/emulator", stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        line = self.proc.stdout.readline()
        assert line.startswith("READY "), f"the emulator did not start: {line!r}"
        self.endpoint = line.split()[1]
        self.pid = self.proc.pid

    def __enter__(self) -> "Emulator":
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            return
        try:
            os.kill(self.pid, signal.SIGKILL)  # the forks server's child: the kernel reaps it
        except ProcessLookupError:
            pass

    def control(self, method: str, route: str, body: Any = None) -> Any:
        """The emulator's control API (``tests/emulator/ds_emulator/control.py``)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.endpoint}/_emulator/{route}", data=data, method=method)
        with urllib.request.urlopen(request) as response:
            return json.loads(response.read())

    def calls(self) -> list[dict[str, Any]]:
        """Every AWS call received, oldest first, with its operation and any fault it got."""
        return self.control("GET", "calls")

    def reset(self) -> None:
        self.control("POST", "reset", {})

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.endpoint, region_name=self.region,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def new_directory(self, tags: dict[str, str] | None = None, name: str = "corp.example.com") -> str:
        """An Active Managed Microsoft AD directory, optionally tagged."""
        subnets = self.control("GET", f"default-subnets?region={self.region}")
        ds = self.client("ds")
        directory = ds.create_microsoft_ad(
            Name=name, Password="Sup3r-Secret!",
            VpcSettings={"VpcId": subnets["vpc_id"], "SubnetIds": subnets["subnet_ids"]},
        )["DirectoryId"]
        if tags:
            ds.add_tags_to_resource(ResourceId=directory, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
        return directory

    def directories(self, n: int) -> list[str]:
        return [self.new_directory(name=f"d{i}.example.com") for i in range(n)]


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive, TCP_NODELAY (no Nagle delay lands in a measured figure), and
    no access log. The local servers of the tests and the bench build on it."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args: Any) -> None:
        pass


class RuntimeApi:
    """A local Lambda Runtime API: serves queued events, records what comes back and when.

    ``first_next`` is when the first ``GET .../invocation/next`` arrived; ``served[id]`` when
    an event went out; ``posted`` every POST in order (path and JSON body), and
    ``answered[id]`` when an invocation's answer came back. Headers and body go out in one
    write with TCP_NODELAY, so no Nagle delay lands in a measured figure. The deadline
    header is an epoch time in milliseconds, as Lambda sends it.
    """

    def __init__(self, events: list[Any], deadline_s: float = 900.0) -> None:
        self.events = list(events)
        self.deadline_s = deadline_s
        self.first_next: float | None = None
        self.first_seen = threading.Event()
        self.served: dict[str, float] = {}
        self.answered: dict[str, tuple[float, str, Any]] = {}
        self.posted: list[tuple[str, Any]] = []
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.handed_out = 0
        api = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802
                now = time.perf_counter()
                with api.lock:
                    if api.first_next is None:
                        api.first_next = now
                        api.first_seen.set()
                    event = api.events.pop(0) if api.events else None
                    request_id = f"req-{api.handed_out}"
                    api.handed_out += 1
                if event is None:
                    api.done.set()
                    time.sleep(3600)  # hold the runtime here until it is killed
                    return
                body = json.dumps(event).encode()
                deadline_ms = int((time.time() + api.deadline_s) * 1000)
                head = (
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\nLambda-Runtime-Aws-Request-Id: {request_id}\r\n"
                    f"Lambda-Runtime-Deadline-Ms: {deadline_ms}\r\n"
                    f"Lambda-Runtime-Invoked-Function-Arn: {FUNCTION_ARN}\r\n"
                    "Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000\r\n\r\n"
                ).encode()
                with api.lock:
                    api.served[request_id] = time.perf_counter()
                self.wfile.write(head + body)

            def do_POST(self) -> None:  # noqa: N802
                now = time.perf_counter()
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                parts = self.path.strip("/").split("/")
                with api.lock:
                    api.posted.append((self.path, body))
                    if len(parts) >= 2 and parts[-2].startswith("req-"):
                        api.answered[parts[-2]] = (now, parts[-1], body)
                self.wfile.write(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.address = f"127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 60.0) -> list[tuple[str, Any]]:
        """The POSTs once ``count`` have arrived (or what arrived before the timeout)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if len(self.posted) >= count:
                    break
            time.sleep(0.02)
        with self.lock:
            return list(self.posted)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def lambda_env(runtime_api: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment Lambda gives a function (a fresh one, nothing inherited but PATH)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_FUNCTION_NAME": "keeper",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    if runtime_api:
        env["AWS_LAMBDA_RUNTIME_API"] = runtime_api
    env.update(extra or {})
    return env
