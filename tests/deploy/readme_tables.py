"""The README's tables of template.yaml's parameters and of its alarms and dashboard, rendered
from the template itself, so the README cannot fall behind it.

    python tests/deploy/readme_tables.py            # print both tables
    python tests/deploy/readme_tables.py --write    # replace them in README.md (make readme-tables)

test_template.py::test_readme_tables_are_the_templates fails when README.md differs.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[2]
MARKERS = {
    "parameters": ("<!-- template.yaml parameters: begin (make readme-tables) -->",
                   "<!-- template.yaml parameters: end -->"),
    "alarms": ("<!-- template.yaml alarms: begin (make readme-tables) -->",
               "<!-- template.yaml alarms: end -->"),
}


def template() -> dict[str, Any]:
    parsed, matches = decode(str(ROOT / "template.yaml"))
    assert not matches, matches
    return parsed


def one_line(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def accepted(p: dict[str, Any]) -> str:
    if "AllowedValues" in p:
        return ", ".join(f"`{v}`" for v in p["AllowedValues"])
    if "MinValue" in p or "MaxValue" in p:
        return f"{p.get('MinValue', '')}..{p.get('MaxValue', '')}"
    if "ConstraintDescription" in p:
        return one_line(p["ConstraintDescription"])
    if "AllowedPattern" in p:
        return f"`{p['AllowedPattern']}`".replace("|", "\\|")
    return "any"


def parameters_table(t: dict[str, Any]) -> str:
    rows = ["| parameter | default | accepted | what it does |", "|---|---|---|---|"]
    for name, p in t["Parameters"].items():
        default = p.get("Default")
        default = "empty" if default in ("", None) else f"`{default}`"
        rows.append(f"| `{name}` | {default} | {accepted(p)} | {one_line(p.get('Description', ''))} |")
    return "\n".join(rows)


def condition_words(t: dict[str, Any], condition: str | None) -> str:
    """`Condition: AlarmOnLowSlots` as "when `AlarmOnLowFreeSlots` is `enabled`"."""
    if condition is None:
        return "always"
    body = t["Conditions"][condition]
    equals = body.get("Fn::Equals") if isinstance(body, dict) else None
    if equals and isinstance(equals[0], dict) and "Ref" in equals[0]:
        return f"when `{equals[0]['Ref']}` is `{equals[1]}` (the default)" if \
            t["Parameters"][equals[0]["Ref"]].get("Default") == equals[1] else \
            f"when `{equals[0]['Ref']}` is `{equals[1]}`"
    return f"when `{condition}`"


def alarms_table(t: dict[str, Any]) -> str:
    rows = ["| resource | created | what it means |", "|---|---|---|"]
    outputs = t.get("Outputs", {})
    for name, r in t["Resources"].items():
        if r["Type"] == "AWS::CloudWatch::Alarm":
            what = r["Properties"]["AlarmDescription"]
        elif r["Type"] == "AWS::CloudWatch::Dashboard":
            described = [o["Description"] for o in outputs.values()
                         if o.get("Condition") == r.get("Condition") and "Description" in o]
            what = described[0] if described else "The keeper's CloudWatch dashboard"
        else:
            continue
        rows.append(f"| `{name}` | {condition_words(t, r.get('Condition'))} | {one_line(what)} |")
    return "\n".join(rows)


def tables() -> dict[str, str]:
    t = template()
    return {"parameters": parameters_table(t), "alarms": alarms_table(t)}


def section(readme: str, which: str) -> str | None:
    begin, end = MARKERS[which]
    m = re.search(re.escape(begin) + r"\n(.*?)" + re.escape(end), readme, re.S)
    return m.group(1).rstrip("\n") if m else None


def write() -> None:
    path = ROOT / "README.md"
    readme = path.read_text()
    for which, table in tables().items():
        begin, end = MARKERS[which]
        if section(readme, which) is None:
            raise SystemExit(f"README.md has no {begin} ... {end} section")
        readme = re.sub(re.escape(begin) + r"\n.*?" + re.escape(end),
                        lambda _: f"{begin}\n{table}\n{end}", readme, flags=re.S)
    path.write_text(readme)


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        write()
    else:
        for table in tables().values():
            print(table + "\n")
