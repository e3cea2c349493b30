"""Directory Service snapshot operations for moto, written the way moto writes a service.

moto 5.2 models Directory Service directories but none of the snapshot API. This module adds
the four operations the keeper uses -- CreateSnapshot, DescribeSnapshots, DeleteSnapshot and
GetSnapshotLimits -- as backend methods on ``DirectoryServiceBackend`` and response handlers on
``DirectoryServiceResponse``. ``install()`` must run before the server starts; from then on a
plain moto server answers these operations for every account and region, serialised by moto's
own model-driven serialisers (so the wire format is whatever botocore's ``ds`` model says).

Behaviour follows botocore's ``ds`` model and the Directory Service documentation:

* 5 manual snapshots per directory; ``Auto`` snapshots do not count;
* ``SnapshotLimitExceededException`` when the manual quota is full;
* ``EntityDoesNotExistException`` for an unknown directory or snapshot;
* ``ClientException`` for directories that cannot be snapshotted (AD Connector, shared
  directories seen from the consumer account, directories not Active);
* ``InvalidParameterException`` for names that break the model's pattern or length;
* snapshot ids match ``^s-[0-9a-f]{10}$``;
* DescribeSnapshots answers in no order a caller could rely on, in pages that may be shorter
  than ``Limit`` and still carry a NextToken, as AWS allows (``paging.py``);
* a new snapshot is ``Creating`` and reaches its final status asynchronously, as decided by the
  outcome the test queued (see ``control.py``), by default at the first describe.
"""

from __future__ import annotations

import datetime
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from moto.core.responses import ActionResult
from moto.ds import models as ds_models
from moto.ds import responses as ds_responses
from moto.ds.models import DirectoryServiceBackend, ds_backends
from moto.ds.responses import DirectoryServiceResponse

from .errors import (
    ClientException,
    EntityDoesNotExistException,
    InvalidNextTokenException,
    InvalidParameterException,
    SnapshotLimitExceededException,
)
from .paging import PAGING, BadToken

MANUAL_SNAPSHOTS_LIMIT = 5
NAME_PATTERN = re.compile(r"^([a-zA-Z0-9_])[\\a-zA-Z0-9_@#%*+=:?./!\s-]*$")
NAME_MAX = 128
SNAPSHOT_ID_PATTERN = re.compile(r"^s-[0-9a-f]{10}$")
DIRECTORY_ID_PATTERN = re.compile(r"^d-[0-9a-f]{10}$")
SNAPSHOTTABLE_TYPES = ("MicrosoftAD", "SimpleAD")


# --- state ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """How a Creating snapshot finishes: its final status, and when.

    ``after_describes``: the N-th DescribeSnapshots answer that includes the snapshot already
    shows the final status (1 = the first describe). ``after_seconds``: the final status shows
    once this much wall time has passed since creation. Whichever comes first wins; with both
    unset the snapshot stays Creating for ever (a stuck snapshot).
    """

    status: str = "Completed"
    after_describes: int | None = 1
    after_seconds: float | None = None

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> "Outcome":
        status = raw.get("status", "Completed")
        if status not in ("Completed", "Failed", "Creating"):
            raise ValueError(f"outcome status must be Completed, Failed or Creating, got {status!r}")
        if status == "Creating":
            return cls(status="Completed", after_describes=None, after_seconds=None)
        return cls(
            status=status,
            after_describes=raw.get("after_describes", None if "after_seconds" in raw else 1),
            after_seconds=raw.get("after_seconds"),
        )


@dataclass
class Snapshot:
    directory_id: str
    snapshot_id: str
    snapshot_type: str
    name: str | None
    status: str
    start_time: datetime.datetime
    outcome: Outcome | None = None
    created_monotonic: float = field(default_factory=time.monotonic)
    describes_seen: int = 0

    def settle(self, describing: bool) -> None:
        """Move a Creating snapshot to its final status when its outcome says so."""
        if self.status != "Creating" or self.outcome is None:
            return
        if describing:
            self.describes_seen += 1
        out = self.outcome
        by_count = out.after_describes is not None and self.describes_seen >= out.after_describes
        by_time = (
            out.after_seconds is not None
            and time.monotonic() - self.created_monotonic >= out.after_seconds
        )
        if by_count or by_time:
            self.status = out.status
            self.outcome = None

    def to_api(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "DirectoryId": self.directory_id,
            "SnapshotId": self.snapshot_id,
            "Type": self.snapshot_type,
            "Status": self.status,
            "StartTime": self.start_time,
        }
        if self.name is not None:
            item["Name"] = self.name
        return item


@dataclass
class RestoreOutcome:
    """How a restore ends: ``stage`` (``Active`` or ``RestoreFailed``, with ``reason``) at the
    ``after_describes``-th DescribeDirectories answer that shows the directory, or once
    ``after_seconds`` have passed. Default: Active at the second describe."""

    stage: str = "Active"
    reason: str | None = None
    after_describes: int | None = 2
    after_seconds: float | None = None

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> "RestoreOutcome":
        stage = raw.get("stage", "Active")
        if stage not in ("Active", "RestoreFailed"):
            raise ValueError(f"restore outcome stage {stage!r}: expected Active or RestoreFailed")
        return cls(
            stage=stage,
            reason=raw.get("reason"),
            after_describes=raw.get("after_describes", None if "after_seconds" in raw else 2),
            after_seconds=raw.get("after_seconds"),
        )


@dataclass
class Restore:
    """A restore under way."""

    outcome: RestoreOutcome
    started: float = field(default_factory=time.monotonic)
    describes_seen: int = 0


class SnapshotStore:
    """Per-process snapshot state: every account and region, plus test-queued outcomes.

    Kept outside moto's backends so that a test can seed and age snapshots without caring which
    backend instance owns them, and so that ``reset`` clears it in one place.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.snapshots: dict[str, Snapshot] = {}
        self.outcomes: dict[str, deque[Outcome]] = {}
        self.limits: dict[str, int] = {}
        self.directory_overrides: dict[str, dict[str, Any]] = {}
        # directory id -> how its next restore ends, and the restores under way.
        self.restore_outcomes: dict[str, RestoreOutcome] = {}
        self.restoring: dict[str, Restore] = {}

    def reset(self) -> None:
        with self.lock:
            self.restore_outcomes.clear()
            self.restoring.clear()
            self.snapshots.clear()
            self.outcomes.clear()
            self.limits.clear()
            self.directory_overrides.clear()

    def new_id(self) -> str:
        while True:
            candidate = f"s-{secrets.token_hex(5)}"
            if candidate not in self.snapshots:
                return candidate

    def for_directory(self, directory_id: str) -> list[Snapshot]:
        return [s for s in self.snapshots.values() if s.directory_id == directory_id]

    def limit_for(self, directory_id: str) -> int:
        return self.limits.get(directory_id, MANUAL_SNAPSHOTS_LIMIT)

    def next_outcome(self, directory_id: str) -> Outcome:
        queue = self.outcomes.get(directory_id)
        if queue:
            return queue.popleft()
        return Outcome()


STORE = SnapshotStore()


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


# --- backend methods --------------------------------------------------------------------------


def _directory(backend: DirectoryServiceBackend, directory_id: str) -> Any:
    if directory_id not in backend.directories:
        raise EntityDoesNotExistException(f"Directory {directory_id} does not exist.")
    return backend.directories[directory_id]


def _check_snapshottable(directory: Any) -> None:
    kind = directory.directory_type
    if kind not in SNAPSHOTTABLE_TYPES:
        raise ClientException(
            f"Snapshots are not supported for {kind} directories ({directory.directory_id})."
        )
    if directory.stage != "Active":
        raise ClientException(
            f"Directory {directory.directory_id} is in stage {directory.stage}; "
            "snapshots can be taken only while it is Active."
        )


def _validate_name(name: Any) -> None:
    if name is None:
        return
    if not isinstance(name, str) or len(name) > NAME_MAX or (name and not NAME_PATTERN.match(name)):
        raise InvalidParameterException(
            f"Invalid snapshot name {name!r}: it must be at most {NAME_MAX} characters, start "
            "with a letter, digit or underscore, and use only letters, digits, spaces and "
            r"_@#%*+=:?./!\- after that."
        )


def _manual_count(directory_id: str) -> int:
    return sum(1 for s in STORE.for_directory(directory_id) if s.snapshot_type == "Manual")


def create_snapshot(self: DirectoryServiceBackend, directory_id: str, name: str | None) -> str:
    """Start a manual snapshot; it is Creating until its queued outcome settles it."""
    _validate_name(name)
    directory = _directory(self, directory_id)
    _check_snapshottable(directory)
    with STORE.lock:
        if _manual_count(directory_id) >= STORE.limit_for(directory_id):
            raise SnapshotLimitExceededException(
                f"The maximum number of manual snapshots for directory {directory_id} has been "
                "reached. Delete a manual snapshot before creating another."
            )
        snapshot = Snapshot(
            directory_id=directory_id,
            snapshot_id=STORE.new_id(),
            snapshot_type="Manual",
            name=name,
            status="Creating",
            start_time=utcnow(),
            outcome=STORE.next_outcome(directory_id),
        )
        if snapshot.outcome is not None and snapshot.outcome.after_describes == 0:
            snapshot.status = snapshot.outcome.status
            snapshot.outcome = None
        STORE.snapshots[snapshot.snapshot_id] = snapshot
        return snapshot.snapshot_id


def describe_snapshots(
    self: DirectoryServiceBackend,
    directory_id: str | None,
    snapshot_ids: list[str] | None,
    next_token: str | None,
    limit: int | None,
) -> tuple[list[Snapshot], str | None]:
    """Filtered by directory and/or ids, in an order and pages nothing can rely on (see
    ``paging``), paginated with an opaque cursor token."""
    if limit is not None and limit < 0:
        raise InvalidParameterException("Limit must be 0 or greater.")
    with STORE.lock:
        if directory_id is not None:
            _directory(self, directory_id)
            candidates = STORE.for_directory(directory_id)
        else:
            owned = set(self.directories)
            candidates = [s for s in STORE.snapshots.values() if s.directory_id in owned]
        if snapshot_ids:
            wanted = set(snapshot_ids)
            for sid in snapshot_ids:
                if not SNAPSHOT_ID_PATTERN.match(sid) or sid not in {s.snapshot_id for s in candidates}:
                    raise EntityDoesNotExistException(f"Snapshot {sid} does not exist.")
            candidates = [s for s in candidates if s.snapshot_id in wanted]
        scope = f"{directory_id}|{','.join(sorted(snapshot_ids or []))}"
        try:
            page, token = PAGING.page(candidates, lambda s: s.snapshot_id, limit, next_token, scope)
        except BadToken as exc:
            raise InvalidNextTokenException() from exc
        for snapshot in page:
            snapshot.settle(describing=True)
        return page, token


def delete_snapshot(self: DirectoryServiceBackend, snapshot_id: str) -> str:
    with STORE.lock:
        snapshot = STORE.snapshots.get(snapshot_id)
        if snapshot is None or snapshot.directory_id not in self.directories:
            raise EntityDoesNotExistException(f"Snapshot {snapshot_id} does not exist.")
        if snapshot.status == "Creating":
            snapshot.settle(describing=False)
        if snapshot.status == "Creating":
            raise ClientException(
                f"Snapshot {snapshot_id} is still being created and cannot be deleted yet."
            )
        del STORE.snapshots[snapshot_id]
        return snapshot_id


def get_snapshot_limits(self: DirectoryServiceBackend, directory_id: str) -> dict[str, Any]:
    directory = _directory(self, directory_id)
    if directory.directory_type == "ADConnector":
        raise ClientException(
            f"Snapshot limits do not apply to AD Connector directory {directory_id}."
        )
    with STORE.lock:
        limit = STORE.limit_for(directory_id)
        count = _manual_count(directory_id)
    return {
        "ManualSnapshotsLimit": limit,
        "ManualSnapshotsCurrentCount": count,
        "ManualSnapshotsLimitReached": count >= limit,
    }


# --- response handlers ------------------------------------------------------------------------


def _create_snapshot_response(self: DirectoryServiceResponse) -> ActionResult:
    snapshot_id = self.ds_backend.create_snapshot(
        directory_id=self._get_param("DirectoryId"), name=self._get_param("Name")
    )
    return ActionResult({"SnapshotId": snapshot_id})


def _describe_snapshots_response(self: DirectoryServiceResponse) -> ActionResult:
    snapshots, token = self.ds_backend.describe_snapshots(
        directory_id=self._get_param("DirectoryId"),
        snapshot_ids=self._get_param("SnapshotIds"),
        next_token=self._get_param("NextToken"),
        limit=self._get_int_param("Limit"),
    )
    result: dict[str, Any] = {"Snapshots": [s.to_api() for s in snapshots]}
    if token:
        result["NextToken"] = token
    return ActionResult(result)


def _delete_snapshot_response(self: DirectoryServiceResponse) -> ActionResult:
    snapshot_id = self.ds_backend.delete_snapshot(snapshot_id=self._get_param("SnapshotId"))
    return ActionResult({"SnapshotId": snapshot_id})


def _get_snapshot_limits_response(self: DirectoryServiceResponse) -> ActionResult:
    limits = self.ds_backend.get_snapshot_limits(directory_id=self._get_param("DirectoryId"))
    return ActionResult({"SnapshotLimits": limits})


def _directory_description_with_overrides(directory: Any) -> dict[str, Any]:
    """moto's directory description plus what tests may override (RegionsInfo, for
    multi-Region) and a restore's progress: Stage ``Restoring`` until the queued outcome, then
    ``Active`` or ``RestoreFailed`` with ``StageReason``; ``StageLastUpdatedDateTime`` moves
    with each change."""
    with STORE.lock:
        restore = STORE.restoring.get(directory.directory_id)
        if restore is not None:
            restore.describes_seen += 1
            out = restore.outcome
            by_count = out.after_describes is not None and restore.describes_seen >= out.after_describes
            by_time = out.after_seconds is not None and time.monotonic() - restore.started >= out.after_seconds
            if by_count or by_time:
                directory.stage = out.stage
                _stage_changed(directory, out.reason)
                del STORE.restoring[directory.directory_id]
        override = dict(STORE.directory_overrides.get(directory.directory_id, {}))
    description = _ORIGINAL_DESCRIPTION(directory)
    for key in ("RegionsInfo", "StageReason"):
        if key in override:
            description[key] = override[key]
    return description


def _stage_changed(directory: Any, reason: str | None) -> None:
    directory.stage_last_updated_date_time = utcnow()
    override = STORE.directory_overrides.setdefault(directory.directory_id, {})
    if reason:
        override["StageReason"] = reason
    else:
        override.pop("StageReason", None)


def restore_from_snapshot(self: DirectoryServiceBackend, snapshot_id: str | None) -> None:
    """RestoreFromSnapshot: {SnapshotId} -> {}. Errors as botocore's model lists them:
    EntityDoesNotExistException, InvalidParameterException, ClientException, ServiceException.

    What AWS answers for a snapshot 180 days old or more is not documented; the emulator
    refuses it with a ClientException (the conservative shape: the restore does not start),
    and the keeper never sends such a request (``policy::restore`` refuses it first)."""
    if not snapshot_id or not SNAPSHOT_ID_PATTERN.match(snapshot_id):
        raise InvalidParameterException(f"Invalid snapshot id {snapshot_id!r}.")
    with STORE.lock:
        snapshot = STORE.snapshots.get(snapshot_id)
        if snapshot is None or snapshot.directory_id not in self.directories:
            raise EntityDoesNotExistException(f"Snapshot {snapshot_id} does not exist.")
        directory = self.directories[snapshot.directory_id]
        if directory.directory_type not in ("MicrosoftAD", "SimpleAD"):
            raise ClientException(
                f"Directory {directory.directory_id} of type {directory.directory_type} cannot be restored."
            )
        if directory.stage not in ("Active", "RestoreFailed"):
            raise ClientException(
                f"Directory {directory.directory_id} is in stage {directory.stage} and cannot be restored."
            )
        snapshot.settle(describing=False)
        if snapshot.status != "Completed":
            raise InvalidParameterException(f"Snapshot {snapshot_id} is {snapshot.status}, not Completed.")
        if (utcnow() - snapshot.start_time).total_seconds() >= 180 * 86400:
            raise ClientException(f"Snapshot {snapshot_id} is older than 180 days and cannot be restored.")
        directory.stage = "Restoring"
        _stage_changed(directory, None)
        outcome = STORE.restore_outcomes.pop(directory.directory_id, None) or RestoreOutcome()
        STORE.restoring[directory.directory_id] = Restore(outcome=outcome)


def _restore_from_snapshot_response(self: DirectoryServiceResponse) -> ActionResult:
    self.ds_backend.restore_from_snapshot(snapshot_id=self._get_param("SnapshotId"))
    return ActionResult({})


_ORIGINAL_DESCRIPTION = ds_responses._directory_description
_INSTALLED = False


def install() -> None:
    """Register the snapshot operations on moto's Directory Service classes (idempotent)."""
    global _INSTALLED
    if _INSTALLED:
        return
    DirectoryServiceBackend.create_snapshot = create_snapshot
    DirectoryServiceBackend.describe_snapshots = describe_snapshots
    DirectoryServiceBackend.delete_snapshot = delete_snapshot
    DirectoryServiceBackend.get_snapshot_limits = get_snapshot_limits
    DirectoryServiceResponse.create_snapshot = _create_snapshot_response
    DirectoryServiceResponse.describe_snapshots = _describe_snapshots_response
    DirectoryServiceResponse.delete_snapshot = _delete_snapshot_response
    DirectoryServiceResponse.get_snapshot_limits = _get_snapshot_limits_response
    DirectoryServiceBackend.restore_from_snapshot = restore_from_snapshot
    DirectoryServiceResponse.restore_from_snapshot = _restore_from_snapshot_response
    ds_responses._directory_description = _directory_description_with_overrides

    original_delete_directory = DirectoryServiceBackend.delete_directory

    def delete_directory(self: DirectoryServiceBackend, directory_id: str) -> str:
        result = original_delete_directory(self, directory_id)
        with STORE.lock:
            for sid in [s.snapshot_id for s in STORE.for_directory(directory_id)]:
                del STORE.snapshots[sid]
        return result

    DirectoryServiceBackend.delete_directory = delete_directory
    _INSTALLED = True


def find_directory(directory_id: str) -> Any:
    """The moto Directory object with this id, in whatever account and region holds it."""
    for account_id, regions in list(ds_backends.items()):
        for region, backend in list(regions.items()):
            if directory_id in backend.directories:
                return backend.directories[directory_id]
    raise KeyError(directory_id)


__all__ = [
    "STORE",
    "Outcome",
    "RestoreOutcome",
    "Snapshot",
    "install",
    "find_directory",
    "DIRECTORY_ID_PATTERN",
    "NAME_PATTERN",
    "ds_models",
]
