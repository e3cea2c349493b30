"""Directory tags as Directory Service enforces them, where moto 5.2 falls short.

moto answers AddTagsToResource, RemoveTagsFromResource and ListTagsForResource, but checks
less than botocore's ``ds`` model and the API reference say, and with an error no tag
operation lists (``ValidationException``). Measured against moto 5.2.5's server, it accepted
an empty key, tabs and newlines in keys and values (``\\s`` where the model says ``\\p{Z}``),
overlong keys in RemoveTagsFromResource, and any number of tags on a directory as long as each
request carried 50 or fewer. This module replaces the three backend methods (moto's response
handlers stay) with checks that follow the sources:

* ``TagKey``: 1 to 128 characters, pattern ``^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$``; the Tag
  documentation adds that a key "cannot be prefixed with aws:" (checked on the keys
  AddTagsToResource sets; RemoveTagsFromResource's TagKeys follow the pattern only);
* ``TagValue``: 0 to 256 characters, the same pattern;
* "Each directory can have a maximum of 50 tags" (AddTagsToResource): counted after the
  request, so overwriting an existing key adds nothing; over the limit, nothing is applied
  and the answer is ``TagLimitExceededException``;
* "Adds or overwrites one or more tags": an existing key takes the new value;
* ``ResourceId``: pattern ``^[d]-[0-9a-f]{10}$``; a well-formed id of no directory in the
  caller's account and Region is ``EntityDoesNotExistException``.

Input that breaks the model is ``InvalidParameterException``, which every tag operation lists.
(AWS's front end may answer such input with the unmodelled ``ValidationException`` instead; the
emulator keeps to the model.) Python's ``re`` has no ``\\p{..}``: each character is checked
against its Unicode general category, L (letters), Z (separators) or N (numbers), as Java's
``\\p{L}``, ``\\p{Z}`` and ``\\p{N}`` do, plus the punctuation the pattern names. Lengths count
code points. Tabs and newlines are control characters (Cc): refused.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from moto.ds.models import DirectoryServiceBackend

from .errors import EntityDoesNotExistException, InvalidParameterException, TagLimitExceededException
from .snapshots import DIRECTORY_ID_PATTERN

TAGS_PER_DIRECTORY = 50
KEY_MAX = 128
VALUE_MAX = 256
PATTERN = r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$"
PUNCTUATION = frozenset("_.:/=+-@")
RESERVED_PREFIX = "aws:"


def allowed(ch: str) -> bool:
    """One character of ``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]``."""
    return unicodedata.category(ch)[0] in "LZN" or ch in PUNCTUATION


def text_problem(text: Any, low: int, high: int) -> str | None:
    """What is wrong with a TagKey (1..128) or TagValue (0..256), or None."""
    if not isinstance(text, str):
        return f"must be a string, got {type(text).__name__}"
    if not low <= len(text) <= high:
        return f"must be {low} to {high} characters long, is {len(text)}"
    bad = sorted({ch for ch in text if not allowed(ch)})
    if bad:
        shown = ", ".join(f"U+{ord(ch):04X} {unicodedata.name(ch, unicodedata.category(ch))}" for ch in bad)
        return f"must match {PATTERN}; {shown} does not"
    return None


def check_key(key: Any, where: str, new: bool) -> None:
    """A TagKey; a ``new`` one (AddTagsToResource's) also must not start with ``aws:``."""
    problem = text_problem(key, 1, KEY_MAX)
    if problem is None and new and key.startswith(RESERVED_PREFIX):
        problem = f"cannot start with {RESERVED_PREFIX!r} (reserved for AWS)"
    if problem:
        raise InvalidParameterException(f"Tag key {key!r} at {where} {problem}.")


def check_value(value: Any, where: str) -> None:
    problem = text_problem(value, 0, VALUE_MAX)
    if problem:
        raise InvalidParameterException(f"Tag value {value!r} at {where} {problem}.")


def check_resource(backend: DirectoryServiceBackend, resource_id: Any) -> None:
    if not isinstance(resource_id, str) or not DIRECTORY_ID_PATTERN.match(resource_id):
        raise InvalidParameterException(
            f"ResourceId {resource_id!r} is not a directory id (d- and 10 hex digits)."
        )
    if resource_id not in backend.directories:
        raise EntityDoesNotExistException(f"Directory {resource_id} does not exist.")


def add_tags_to_resource(self: DirectoryServiceBackend, resource_id: str, tags: Any) -> None:
    if not isinstance(tags, list):
        raise InvalidParameterException("Tags must be a list of {Key, Value}.")
    for i, tag in enumerate(tags, 1):
        if not isinstance(tag, dict) or "Key" not in tag or "Value" not in tag:
            raise InvalidParameterException(f"Tags.{i} must have a Key and a Value.")
        check_key(tag["Key"], f"Tags.{i}.Key", new=True)
        check_value(tag["Value"], f"Tags.{i}.Value")
    check_resource(self, resource_id)
    present = self.tagger.tags.get(resource_id, {})
    after = set(present) | {tag["Key"] for tag in tags}
    if len(after) > TAGS_PER_DIRECTORY:
        raise TagLimitExceededException(
            f"Directory {resource_id} would have {len(after)} tags ({len(present)} now); "
            f"a directory can have at most {TAGS_PER_DIRECTORY}. Remove tags first."
        )
    self.tagger.tag_resource(resource_id, [{"Key": t["Key"], "Value": t["Value"]} for t in tags])


def remove_tags_from_resource(self: DirectoryServiceBackend, resource_id: str, tag_keys: Any) -> None:
    if not isinstance(tag_keys, list):
        raise InvalidParameterException("TagKeys must be a list of tag keys.")
    for i, key in enumerate(tag_keys, 1):
        check_key(key, f"TagKeys.{i}", new=False)
    check_resource(self, resource_id)
    self.tagger.untag_resource_using_names(resource_id, tag_keys)


_ORIGINAL_LIST = DirectoryServiceBackend.list_tags_for_resource
_INSTALLED = False


def list_tags_for_resource(self: DirectoryServiceBackend, resource_id: str, **paging: Any) -> Any:
    """moto's listing (its NextToken and Limit, "reserved for future use" in the model), after
    the model's checks of ResourceId."""
    check_resource(self, resource_id)
    return _ORIGINAL_LIST(self, resource_id=resource_id, **paging)


def install() -> None:
    """Replace moto's tag backend methods (idempotent)."""
    global _INSTALLED
    if _INSTALLED:
        return
    DirectoryServiceBackend.add_tags_to_resource = add_tags_to_resource
    DirectoryServiceBackend.remove_tags_from_resource = remove_tags_from_resource
    DirectoryServiceBackend.list_tags_for_resource = list_tags_for_resource
    _INSTALLED = True
