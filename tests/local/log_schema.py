"""The log schema of src/log.rs, as Lambda's advanced logging controls read it.

Shared by the tests that read the function's own output (cargo-lambda's and the Runtime API's).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

LEVELS = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}


def check_schema(line: dict[str, Any]) -> None:
    """The schema of src/log.rs, as Lambda's advanced logging controls read it."""
    for field in ("timestamp", "level", "message", "service", "function_name", "cold_start"):
        assert field in line, (field, line)
    assert line["level"] in LEVELS, line
    assert line["service"] == "ds-snapshot-keeper"
    # RFC 3339 (Python's parser takes at most microseconds: cut the fraction).
    stamp = line["timestamp"]
    head, _, rest = stamp.partition(".")
    datetime.fromisoformat(head + "+00:00" if rest else stamp.replace("Z", "+00:00"))
    if "_aws" in line:
        assert line["level"] == "INFO", "EMF lines must survive LogLevel filtering"
        for directive in line["_aws"]["CloudWatchMetrics"]:
            for dims in directive["Dimensions"]:
                for d in dims:
                    assert isinstance(line[d], str), d
            for m in directive["Metrics"]:
                assert isinstance(line[m["Name"]], (int, float)), m
