"""template.yaml with its function already built: what the StackSet template (tools/stackset.py)
and the released SAM template (tools/dist.py) start from.

`sam build` reads the function's `BuildMethod` (cargo-lambda) and replaces `CodeUri: .` with
what it built. A template for code built elsewhere drops those instructions and names the
code itself: a zip beside it (the release: `sam package` uploads it) or a bucket and key (the
StackSet). Nothing else changes, so each stays template.yaml in every other respect.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[1]


def prebuilt(code_uri: Any) -> dict[str, Any]:
    """template.yaml as plain data (intrinsics in their long form), the function's code at
    `code_uri` and no build instructions."""
    template, matches = decode(str(ROOT / "template.yaml"))
    if matches:
        raise SystemExit(f"template.yaml does not parse: {matches}")
    template = json.loads(json.dumps(template))
    function = template["Resources"]["KeeperFunction"]
    for key in ("BuildMethod", "BuildProperties"):  # sam build's instructions: nothing to build here
        function.get("Metadata", {}).pop(key, None)
    function["Properties"]["CodeUri"] = code_uri
    return template
