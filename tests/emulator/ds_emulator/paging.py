"""The order and the pages of DescribeSnapshots: nothing a caller could rely on.

AWS documents no order for DescribeSnapshots (its own examples sort the answer themselves),
and botocore's model says of ``DescribeSnapshotsResult.Snapshots``: "It is possible that this
list contains less than the number of items specified in the Limit member of the request.
This occurs if there are less than the requested number of items left to retrieve, or if the
limitations of the operation have been exceeded." So the emulator answers

* in an order that is neither creation order nor id order, nor either reversed: snapshots
  sorted by a salted hash of their id. The salt (the *order seed*) differs from one emulator
  process to the next unless ``DS_EMULATOR_ORDER_SEED`` fixes it; the server logs it at start
  and ``GET /_emulator/health`` reports it, so a failure can be replayed;
* pages shorter than the page size that still carry a NextToken, whenever more snapshots are
  left than fit in one page: the first such page is always short, the later ones are of a
  size drawn from 1 to the page size (by the same salt). The page size is ``Limit``, or 50
  when the caller sets none (or 0). Every page holds at least one snapshot;
* a NextToken that is a cursor: the hash of the last snapshot returned. Walking every page
  yields every snapshot exactly once, and a snapshot deleted between two pages shifts no other
  one. A token that does not decode, or that belongs to another query (other DirectoryId or
  SnapshotIds), is refused: the caller maps it to InvalidNextTokenException.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import threading
from typing import Callable, TypeVar

SEED_ENV = "DS_EMULATOR_ORDER_SEED"
DEFAULT_PAGE_SIZE = 50
_KEY = re.compile(r"^[0-9a-f]{64}$")

T = TypeVar("T")


class BadToken(ValueError):
    """A NextToken this emulator did not hand out for this query."""


def seed_from_env() -> int:
    """``DS_EMULATOR_ORDER_SEED`` if set (an integer), else a fresh random seed."""
    raw = os.environ.get(SEED_ENV, "").strip()
    if not raw:
        return secrets.randbelow(2**31)
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{SEED_ENV} must be an integer, got {raw!r}") from None


class Paging:
    """The order seed and what it decides: the order of items and the size of each page."""

    def __init__(self, seed: int) -> None:
        self.lock = threading.Lock()
        self.seed = seed

    def reseed(self, seed: int) -> None:
        with self.lock:
            self.seed = seed

    def _hash(self, *parts: str) -> str:
        return hashlib.sha256("|".join((str(self.seed), *parts)).encode()).hexdigest()

    def order_key(self, item_id: str) -> str:
        return self._hash("order", item_id)

    def page(
        self,
        items: list[T],
        id_of: Callable[[T], str],
        limit: int | None,
        token: str | None,
        scope: str,
    ) -> tuple[list[T], str | None]:
        """One page of ``items`` after ``token``, and the token of the next page (or None)."""
        after = decode_token(token, scope) if token else None
        keyed = sorted((self.order_key(id_of(item)), item) for item in items)
        left = [(key, item) for key, item in keyed if after is None or key > after]
        size = self.page_size(limit or DEFAULT_PAGE_SIZE, len(left), after, scope)
        page = left[:size]
        if size >= len(left):
            return [item for _, item in page], None
        return [item for _, item in page], encode_token(page[-1][0], scope)

    def page_size(self, limit: int, left: int, after: str | None, scope: str) -> int:
        """All that is left when it fits in ``limit``; otherwise fewer than ``limit`` on the
        first page and 1 to ``limit`` on the next ones."""
        if left <= limit:
            return left
        top = limit - 1 if after is None and limit > 1 else limit
        return 1 + int(self._hash("size", scope, after or ""), 16) % top


def encode_token(after: str, scope: str) -> str:
    raw = json.dumps({"after": after, "scope": scope}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_token(token: str, scope: str) -> str:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        after, token_scope = data["after"], data["scope"]
    except Exception as exc:  # noqa: BLE001 - whatever is wrong with it, it is not our token
        raise BadToken(f"NextToken {token!r} does not decode") from exc
    if not isinstance(after, str) or not _KEY.match(after) or token_scope != scope:
        raise BadToken(f"NextToken {token!r} belongs to another query")
    return after


PAGING = Paging(seed_from_env())
