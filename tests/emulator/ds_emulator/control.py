"""Test control plane of the emulator: seed, age, decide outcomes, inject faults, read calls.

It is a WSGI middleware in front of moto's own application. Requests under ``/_emulator/``
are answered here (JSON in, JSON out), the way moto keeps its own ``/moto-api/`` apart from
the AWS APIs. Every other request is an AWS API call: it is logged, may be delayed or failed
by a fault the test armed, and otherwise goes to moto untouched. tests/emulator/CONTROL.md is
the same reference for readers of the tests, with curl examples.

Endpoints
---------

A control call answers 200 with a JSON object (or list), 400 ``{"error"}`` for a body it cannot
use, 404 ``{"error"}`` for a route it does not know. ``?`` marks an optional field.

``GET /_emulator/health``
    -> ``{"ok": true, "order_seed": N}``. Readiness probe; the seed of DescribeSnapshots'
    order and page sizes (``paging.py``).
``POST /_emulator/order`` ``{"seed": N}``
    -> ``{"order_seed": N}``. Replay the order and page sizes a failing run logged.
``POST /_emulator/reset``
    -> ``{}``. moto's reset (every account and Region), and every snapshot, outcome, limit,
    override, fault and logged call below. The order seed stays.
``GET /_emulator/default-subnets?region=R`` (``&account_id=A``?)
    -> ``{"vpc_id", "subnet_ids": [2 ids]}``: two default-VPC subnets in different AZs, as
    CreateMicrosoftAD and friends need.
``POST /_emulator/snapshots``
    ``{"directory_id", "name"?, "type"?: "Manual"|"Auto" (Manual), "status"?: "Creating"|
    "Completed"|"Failed" (Completed), "start_time"?: RFC 3339 or epoch seconds | "age_days"?:
    N (0), "outcome"?: {as in outcomes}}`` -> ``{"snapshot_id"}``. Seed a snapshot without the
    API (an Auto one, an old one, one on a directory the API refuses). A seeded Creating
    snapshot stays Creating unless ``outcome`` says otherwise.
``POST /_emulator/age`` ``{"days": N}``
    -> ``{"aged": count}``. Days pass: every snapshot's StartTime and every directory's
    LaunchTime move N days (fractions allowed) into the past.
``POST /_emulator/outcomes``
    ``{"directory_id", "outcomes": [{"status": "Completed"|"Failed"|"Creating",
    "after_describes"?: N (1), "after_seconds"?: S}]}`` -> ``{"queued": n}``. How the
    directory's next CreateSnapshot calls finish, one outcome per call, in order: the final
    status shows in the N-th DescribeSnapshots answer that includes the snapshot, or S seconds
    after creation, whichever comes first; ``"Creating"``: stuck for ever. Without a queued
    outcome: Completed at the first describe.
``POST /_emulator/limits`` ``{"directory_id", "limit": N}``
    -> ``{}``. The directory's manual snapshot quota (default 5).
``POST /_emulator/restore-outcome``
    ``{"directory_id", "stage"?: "Active"|"RestoreFailed" (Active), "reason"?,
    "after_describes"?: N (2), "after_seconds"?: S}`` -> ``{}``. How the directory's next
    RestoreFromSnapshot ends: Stage Restoring until the N-th DescribeDirectories answer that
    shows the directory (or S seconds), then ``stage``, with ``reason`` as StageReason.
``POST /_emulator/directory``
    ``{"directory_id", "stage"?, "type"?, "regions_info"?: [RegionDescription...]}`` -> ``{}``.
    Override what DescribeDirectories says of a directory: Stage, Type, RegionsInfo.
``POST /_emulator/faults`` ``{Fault}``
    -> ``{"armed": n}``. Arm a fault; the fields are ``Fault``'s (below). Faults stay armed
    until their ``count`` is used up, ``DELETE``, or reset.
``GET /_emulator/faults``
    -> ``[{Fault, "hits"}]``: the armed faults and how many calls each has hit.
``DELETE /_emulator/faults``
    -> ``{"disarmed": n}``. Disarm every fault.
``GET /_emulator/calls``
    -> ``[{"service", "operation", "directory_id", "region", "at", "status", "fault"}]``: the
    AWS calls received, oldest first; ``at`` in epoch seconds, ``status`` the HTTP status
    answered (0: no answer, the line dropped), ``fault`` the kind of fault that answered it
    (``latency``, which only delays, is not named).
    ``directory_id`` comes from the request's DirectoryId, ResourceId or SnapshotId.
"""

from __future__ import annotations

import datetime
import io
import json
import random
import threading
import time
import urllib.parse
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable

from . import snapshots
from .paging import PAGING
from .snapshots import STORE, Outcome, Snapshot

PREFIX = "/_emulator/"
FAULT_KINDS = (
    "throttle", "service", "error", "access_denied", "latency", "slow_answer", "disconnect", "lost_answer",
)
DS_TARGET_PREFIX = "DirectoryService_20150416."
ERROR_CODES_BY_KIND = {
    "throttle": ("ClientException", 400, "Rate exceeded"),
    "service": ("ServiceException", 500, "An internal error occurred (injected)."),
}
# The shapes a throttle can take. botocore's Directory Service model defines no throttling
# error (every operation lists ClientException, ServiceException and modeled errors only), so
# the default is what JSON services of its generation send: ClientException, "Rate exceeded".
# ThrottlingException is the shape the SDK's code-based classifier knows.
THROTTLE_SHAPES = ("ClientException", "ThrottlingException")


@dataclass
class Fault:
    """One armed fault. ``operation`` is an API name such as CreateSnapshot or Publish, or "*".

    ``kind`` -- what happens to a call it hits:

    * ``throttle``: refused, 400 "Rate exceeded" with the error code ``shape``
      (``ClientException``, the default, or ``ThrottlingException``);
    * ``service``: refused, 500 ServiceException;
    * ``error``: refused with ``error_code`` (required), ``http_status`` (default 400) and
      ``message``;
    * ``access_denied``: refused as IAM refuses: Directory Service (and every JSON service)
      400 ``AccessDeniedException``, SNS 403 ``AuthorizationError``, with IAM's message;
    * ``latency``: waits ``latency_ms``, then the call goes through (it takes effect late);
    * ``slow_answer``: the call takes effect at once; its answer waits ``latency_ms``;
    * ``disconnect``: the connection drops; the call never happens;
    * ``lost_answer``: the call takes effect, then its answer is lost: the connection drops,
      or, with ``http_status``, an error replaces it (``error_code``, default
      ServiceException; ``message``). AWS did the work; the caller never heard.

    ``error_code``, ``http_status`` and ``message`` override any refusal's. ``count`` limits
    how many calls it hits (None = every call), ``probability`` hits only a fraction of calls
    (seeded, so runs repeat), ``directory_id`` limits it to calls about one directory (their
    DirectoryId, ResourceId or SnapshotId's directory; DescribeDirectories names none),
    ``service`` to one service (``ds``, ``sns``...),
    and ``rate_per_second`` makes it fire only for calls beyond that rate (a token bucket:
    throttling as AWS does it). When several faults hit one call, every ``latency`` waits and
    the first armed of the others decides the answer.
    """

    operation: str
    kind: str
    shape: str = THROTTLE_SHAPES[0]
    error_code: str | None = None
    http_status: int | None = None
    message: str | None = None
    latency_ms: int = 0
    count: int | None = None
    probability: float = 1.0
    directory_id: str | None = None
    service: str | None = None
    rate_per_second: float | None = None
    hits: int = 0
    # token bucket state for rate_per_second
    tokens: float = -1.0
    refilled_at: float = 0.0

    def matches(self, service: str, operation: str, directory_id: str | None) -> bool:
        if self.operation not in ("*", operation):
            return False
        if self.service is not None and self.service != service:
            return False
        if self.directory_id is not None and self.directory_id != directory_id:
            return False
        return self.count is None or self.hits < self.count

    def over_rate(self) -> bool:
        """With rate_per_second, fire only for calls beyond the rate (a token bucket)."""
        if self.rate_per_second is None:
            return True
        now = time.monotonic()
        if self.tokens < 0:
            self.tokens, self.refilled_at = self.rate_per_second, now
        self.tokens = min(self.rate_per_second, self.tokens + (now - self.refilled_at) * self.rate_per_second)
        self.refilled_at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return False
        return True


# What a test may set when it arms a fault (the rest is the fault's own state).
FAULT_FIELDS = tuple(f for f in Fault.__dataclass_fields__ if f not in ("hits", "tokens", "refilled_at"))


@dataclass
class Call:
    service: str
    operation: str
    directory_id: str | None
    region: str | None
    at: float
    status: int
    fault: str | None


class Controller:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.faults: list[Fault] = []
        self.calls: list[Call] = []
        self.rng = random.Random(1234)

    def reset(self) -> None:
        with self.lock:
            self.faults.clear()
            self.calls.clear()
            self.rng = random.Random(1234)

    def pick_fault(self, service: str, operation: str, directory_id: str | None) -> list[Fault]:
        """All faults that fire for this call; each fired fault counts one hit."""
        fired = []
        with self.lock:
            for fault in self.faults:
                if (
                    fault.matches(service, operation, directory_id)
                    and self.rng.random() < fault.probability
                    and fault.over_rate()
                ):
                    fault.hits += 1
                    fired.append(fault)
        return fired


CONTROLLER = Controller()


class BadRequest(Exception):
    pass


def _parse_time(raw: Any) -> datetime.datetime:
    if isinstance(raw, (int, float)):
        return datetime.datetime.fromtimestamp(raw, datetime.timezone.utc)
    try:
        value = datetime.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadRequest(f"start_time must be RFC 3339 or epoch seconds, got {raw!r}") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value


def _require(body: dict[str, Any], key: str) -> Any:
    if key not in body:
        raise BadRequest(f"missing field {key!r}")
    return body[key]


def seed_snapshot(body: dict[str, Any]) -> dict[str, Any]:
    directory_id = _require(body, "directory_id")
    try:
        snapshots.find_directory(directory_id)
    except KeyError as exc:
        raise BadRequest(f"no directory {directory_id} in any account or region") from exc
    kind = body.get("type", "Manual")
    status = body.get("status", "Completed")
    if kind not in ("Auto", "Manual"):
        raise BadRequest("type must be Auto or Manual")
    if status not in ("Creating", "Completed", "Failed"):
        raise BadRequest("status must be Creating, Completed or Failed")
    if "start_time" in body:
        start = _parse_time(body["start_time"])
    else:
        start = snapshots.utcnow() - datetime.timedelta(days=float(body.get("age_days", 0)))
    with STORE.lock:
        snapshot = Snapshot(
            directory_id=directory_id,
            snapshot_id=STORE.new_id(),
            snapshot_type=kind,
            name=body.get("name"),
            status=status,
            start_time=start,
            # A seeded Creating snapshot stays Creating unless the test says otherwise.
            outcome=Outcome.from_json(body["outcome"]) if "outcome" in body else None,
        )
        STORE.snapshots[snapshot.snapshot_id] = snapshot
    return {"snapshot_id": snapshot.snapshot_id}


def age(body: dict[str, Any]) -> dict[str, Any]:
    """Days pass: snapshots and directories grow older together, so a directory created
    before its snapshots stays older than them."""
    from moto.ds.models import ds_backends

    days = float(_require(body, "days"))
    delta = datetime.timedelta(days=days)
    with STORE.lock:
        for snapshot in STORE.snapshots.values():
            snapshot.start_time -= delta
        aged = len(STORE.snapshots)
    for account in list(ds_backends.values()):
        for backend in list(account.values()):
            for directory in backend.directories.values():
                directory.launch_time -= delta
    return {"aged": aged}


def queue_outcomes(body: dict[str, Any]) -> dict[str, Any]:
    directory_id = _require(body, "directory_id")
    try:
        outcomes = [Outcome.from_json(o) for o in _require(body, "outcomes")]
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    with STORE.lock:
        STORE.outcomes.setdefault(directory_id, snapshots.deque()).extend(outcomes)
    return {"queued": len(outcomes)}


def set_limit(body: dict[str, Any]) -> dict[str, Any]:
    STORE.limits[_require(body, "directory_id")] = int(_require(body, "limit"))
    return {}


def set_restore_outcome(body: dict[str, Any]) -> dict[str, Any]:
    """How the directory's next restore ends (see ``snapshots.RestoreOutcome``)."""
    STORE.restore_outcomes[_require(body, "directory_id")] = snapshots.RestoreOutcome.from_json(body)
    return {}


def set_directory(body: dict[str, Any]) -> dict[str, Any]:
    directory_id = _require(body, "directory_id")
    try:
        directory = snapshots.find_directory(directory_id)
    except KeyError as exc:
        raise BadRequest(f"no directory {directory_id}") from exc
    if "stage" in body:
        directory.stage = body["stage"]
    if "type" in body:
        directory.directory_type = body["type"]
    if "regions_info" in body:
        STORE.directory_overrides.setdefault(directory_id, {})["RegionsInfo"] = body["regions_info"]
    return {}


def arm_fault(body: dict[str, Any]) -> dict[str, Any]:
    unknown = set(body) - set(FAULT_FIELDS)
    if unknown:
        raise BadRequest(f"unknown fault fields {sorted(unknown)}; accepted: {sorted(FAULT_FIELDS)}")
    fault = Fault(**body)
    if fault.kind not in FAULT_KINDS:
        raise BadRequest("kind must be one of " + ", ".join(FAULT_KINDS))
    if fault.kind == "error" and not fault.error_code:
        raise BadRequest("kind=error needs error_code")
    if fault.kind in ("latency", "slow_answer") and fault.latency_ms <= 0:
        raise BadRequest(f"kind={fault.kind} needs latency_ms > 0")
    if fault.shape not in THROTTLE_SHAPES:
        raise BadRequest("shape must be one of " + ", ".join(THROTTLE_SHAPES))
    with CONTROLLER.lock:
        CONTROLLER.faults.append(fault)
    return {"armed": len(CONTROLLER.faults)}


def set_order_seed(body: dict[str, Any]) -> dict[str, Any]:
    """Replay an order: the seed a failing run logged (``paging.py``)."""
    seed = _require(body, "seed")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise BadRequest(f"seed must be an integer, got {seed!r}")
    PAGING.reseed(seed)
    return {"order_seed": seed}


def armed_faults() -> list[dict[str, Any]]:
    with CONTROLLER.lock:
        return [
            {k: v for k, v in asdict(f).items() if k not in ("tokens", "refilled_at")}
            for f in CONTROLLER.faults
        ]


def logged_calls() -> list[dict[str, Any]]:
    with CONTROLLER.lock:
        return [asdict(c) for c in CONTROLLER.calls]


def disarm_faults() -> dict[str, Any]:
    with CONTROLLER.lock:
        disarmed = len(CONTROLLER.faults)
        CONTROLLER.faults.clear()
    return {"disarmed": disarmed}


def access_denied(
    service: str, operation: str, directory_id: str | None, region: str | None
) -> tuple[str, int, str]:
    """(code, status, message) of an IAM refusal, as the service sends it."""
    from moto.core import DEFAULT_ACCOUNT_ID

    region = region or "us-east-1"
    if service == "ds":
        resource = f"arn:aws:ds:{region}:{DEFAULT_ACCOUNT_ID}:" + (
            f"directory/{directory_id}" if directory_id else "*"
        )
    else:
        resource = "*"
    message = (
        f"User: arn:aws:sts::{DEFAULT_ACCOUNT_ID}:assumed-role/ds-emulator/test is not authorized "
        f"to perform: {service}:{operation} on resource: {resource} because no identity-based "
        f"policy allows the {service}:{operation} action"
    )
    if service == "sns":
        return "AuthorizationError", 403, message
    return "AccessDeniedException", 400, message


def default_subnets(query: dict[str, list[str]]) -> dict[str, Any]:
    """Two subnets of the default VPC in different AZs, as directory creation needs."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ec2.models import ec2_backends

    region = query.get("region", ["us-east-1"])[0]
    account = query.get("account_id", [DEFAULT_ACCOUNT_ID])[0]
    backend = ec2_backends[account][region]
    by_az: dict[str, Any] = {}
    for subnet in backend.describe_subnets():
        vpc = backend.get_vpc(subnet.vpc_id)
        if getattr(vpc, "is_default", False):
            by_az.setdefault(subnet.availability_zone, subnet)
    chosen = sorted(by_az.values(), key=lambda s: s.availability_zone)[:2]
    if len(chosen) < 2:
        raise BadRequest(f"region {region} has no default VPC with two availability zones")
    return {"vpc_id": chosen[0].vpc_id, "subnet_ids": [s.id for s in chosen]}


def reset_all() -> dict[str, Any]:
    from moto.core.base_backend import BackendDict  # noqa: F401 - moto must be importable
    from moto.moto_api import _internal

    _internal.moto_api_backend.reset()
    STORE.reset()
    CONTROLLER.reset()
    return {}


def _json_response(start_response: Callable, status: int, payload: Any) -> list[bytes]:
    body = json.dumps(payload, default=str).encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}.get(status, "Error")
    start_response(
        f"{status} {reason}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


def _identify(environ: dict[str, Any], body: bytes) -> tuple[str, str, str | None, str | None]:
    """(service, operation, directory_id, region) of an AWS API request."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    auth = environ.get("HTTP_AUTHORIZATION", "")
    region = None
    if "Credential=" in auth:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        if len(scope) >= 4:
            region = scope[2]
    path = environ.get("PATH_INFO", "")
    if target.startswith(DS_TARGET_PREFIX) or "/service/DirectoryService_20150416/" in path:
        operation = (
            target[len(DS_TARGET_PREFIX) :] if target else path.rsplit("/operation/", 1)[-1]
        )
        directory_id = None
        try:
            request = json.loads(body or b"{}")
            # ListTagsForResource and the tag calls name the directory as ResourceId.
            directory_id = request.get("DirectoryId") or request.get("ResourceId")
            if directory_id is None and "SnapshotId" in request:
                snapshot = STORE.snapshots.get(request["SnapshotId"])
                directory_id = snapshot.directory_id if snapshot else None
        except (ValueError, AttributeError, TypeError):
            pass
        return "ds", operation, directory_id, region
    if target:
        service, _, operation = target.partition(".")
        return service, operation, None, region
    form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
    operation = form.get("Action", [""])[0]
    service = auth.split("Credential=", 1)[1].split("/")[3] if "Credential=" in auth else "?"
    return service, operation or "?", None, region


def sns_region_refusal(service: str, operation: str, region: str | None, body: bytes) -> str | None:
    """SNS answers a Publish to a topic of another Region with ``InvalidParameter: Invalid
    parameter: TopicArn`` (reported in mozilla/security#8 and aws-sdk-go#1714); moto looks the
    topic up in the caller's Region and answers NotFound instead. Answer as SNS does."""
    if service != "sns" or operation != "Publish" or region is None:
        return None
    form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
    arn = (form.get("TopicArn") or form.get("TargetArn") or [""])[0]
    parts = arn.split(":")
    if len(parts) >= 6 and parts[2] == "sns" and parts[3] != region:
        return "Invalid parameter: TopicArn"
    return None


# (method, route under /_emulator/) -> handler(body, query). The module docstring and
# CONTROL.md document each (test_conformance.py checks that they do).
ROUTES: dict[tuple[str, str], Callable[[dict[str, Any], dict[str, list[str]]], Any]] = {
    ("GET", "health"): lambda body, query: {"ok": True, "order_seed": PAGING.seed},
    ("POST", "order"): lambda body, query: set_order_seed(body),
    ("POST", "reset"): lambda body, query: reset_all(),
    ("GET", "default-subnets"): lambda body, query: default_subnets(query),
    ("POST", "snapshots"): lambda body, query: seed_snapshot(body),
    ("POST", "age"): lambda body, query: age(body),
    ("POST", "outcomes"): lambda body, query: queue_outcomes(body),
    ("POST", "limits"): lambda body, query: set_limit(body),
    ("POST", "restore-outcome"): lambda body, query: set_restore_outcome(body),
    ("POST", "directory"): lambda body, query: set_directory(body),
    ("POST", "faults"): lambda body, query: arm_fault(body),
    ("GET", "faults"): lambda body, query: armed_faults(),
    ("DELETE", "faults"): lambda body, query: disarm_faults(),
    ("GET", "calls"): lambda body, query: logged_calls(),
}


class EmulatorMiddleware:
    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(PREFIX):
            return self.control(environ, start_response, path[len(PREFIX) :])
        return self.aws_call(environ, start_response)

    def control(self, environ: dict[str, Any], start_response: Callable, route: str) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
            if not isinstance(body, dict):
                raise BadRequest("body must be a JSON object")
            handler = ROUTES.get((method, route))
            if handler is None:
                return _json_response(start_response, 404, {"error": f"no route {method} {route}"})
            query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
            return _json_response(start_response, 200, handler(body, query))
        except (BadRequest, ValueError, TypeError) as exc:
            return _json_response(start_response, 400, {"error": str(exc)})

    def aws_call(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        service, operation, directory_id, region = _identify(environ, body)
        fired = CONTROLLER.pick_fault(service, operation, directory_id)
        answer: Fault | None = None
        for fault in fired:
            if fault.kind == "latency":
                time.sleep(fault.latency_ms / 1000)
            elif answer is None:
                answer = fault
        status_box: list[int] = [0]

        def record(status: int) -> None:
            call = Call(
                service, operation, directory_id, region, time.time(), status,
                answer.kind if answer else None,
            )
            with CONTROLLER.lock:
                CONTROLLER.calls.append(call)

        if answer is not None and answer.kind in ("lost_answer", "slow_answer"):
            # moto carries the call out; what becomes of its answer is the fault's.
            status, headers, chunks = self.carry_out(environ)
            if answer.kind == "slow_answer":
                record(status)  # it took effect now; the answer follows
                time.sleep(answer.latency_ms / 1000)
                start_response(headers[0], headers[1])
                return chunks
            if answer.http_status:
                record(answer.http_status)
                return self.error_response(
                    start_response, service, answer.error_code or "ServiceException", answer.http_status,
                    answer.message or "An internal error occurred (injected, after the call took effect).",
                )
        if answer is not None and answer.kind in ("disconnect", "lost_answer"):
            record(0)
            self.drop(environ)
        if answer is not None:
            if answer.kind == "access_denied":
                code, status, message = access_denied(service, operation, directory_id, region)
            else:
                code, status, message = ERROR_CODES_BY_KIND.get(
                    answer.kind, (answer.error_code, answer.http_status or 400, "Injected error")
                )
            if answer.kind == "throttle":
                code = answer.shape
            code = answer.error_code or code
            status = answer.http_status or status
            message = answer.message or message
            record(status)
            return self.error_response(start_response, service, code, status, message)

        refusal = sns_region_refusal(service, operation, region, body)
        if refusal is not None:
            record(400)
            return self.error_response(start_response, service, "InvalidParameter", 400, refusal)

        def capture(status: str, headers: list, exc_info: Any = None) -> Any:
            status_box[0] = int(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        result = self.app(environ, capture)
        record(status_box[0])
        return result

    def carry_out(self, environ: dict[str, Any]) -> tuple[int, tuple[str, list], list[bytes]]:
        """Run the call through moto and keep its answer: (status, (status line, headers), body)."""
        kept: list[tuple[str, list]] = []

        def keep(status: str, headers: list, exc_info: Any = None) -> Callable[[bytes], None]:
            kept.append((status, headers))
            return lambda _data: None

        chunks = self.app(environ, keep)
        body = list(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
        status_line, headers = kept[0]
        return int(status_line.split(" ", 1)[0]), (status_line, headers), body

    @staticmethod
    def drop(environ: dict[str, Any]) -> None:
        """Close the connection without an answer."""
        sock = environ.get("werkzeug.socket")
        if sock is not None:
            import socket

            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        raise ConnectionAbortedError("injected disconnect")

    @staticmethod
    def error_response(
        start_response: Callable, service: str, code: str, status: int, message: str
    ) -> list[bytes]:
        reason = "Internal Server Error" if status >= 500 else "Bad Request"
        if service == "ds" or service not in ("sns", "sqs"):
            body = json.dumps({"__type": code, "Message": message}).encode()
            headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)]
        else:
            body = (
                '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error>'
                f"<Type>{'Receiver' if status >= 500 else 'Sender'}</Type><Code>{code}</Code>"
                f"<Message>{message}</Message></Error><RequestId>injected</RequestId>"
                "</ErrorResponse>"
            ).encode()
            headers = [("Content-Type", "text/xml")]
        headers.append(("Content-Length", str(len(body))))
        headers.append(("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000"))
        start_response(f"{status} {reason}", headers)
        return [body]
