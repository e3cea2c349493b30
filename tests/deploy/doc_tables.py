"""The docs' tables of template.yaml's parameters (docs/deploy.md) and of its alarms and
dashboard (docs/operate.md), rendered from the template itself, so the docs cannot fall
behind it. An alarm's "fires when" is rendered from its metric, statistic, period, evaluation
periods, threshold and missing-data rule: the one place the docs say when it fires.

    python tests/deploy/doc_tables.py            # print both tables
    python tests/deploy/doc_tables.py --write    # replace them in the docs (make doc-tables)

test_template.py::test_doc_tables_are_the_templates fails when a doc differs.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[2]
# Each table: the file it lives in, and the markers around it.
MARKERS = {
    "parameters": ("docs/deploy.md",
                   "<!-- template.yaml parameters: begin (make doc-tables) -->",
                   "<!-- template.yaml parameters: end -->"),
    "alarms": ("docs/operate.md",
               "<!-- template.yaml alarms: begin (make doc-tables) -->",
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


OPERATORS = {
    "GreaterThanThreshold": ">",
    "GreaterThanOrEqualToThreshold": ">=",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
}
MISSING = {
    "breaching": "no data counts as breaching",
    "notBreaching": "no data counts as OK",
    "ignore": "no data keeps the state",
    "missing": "no data is missing",
}


def value(v: Any) -> str:
    """A threshold: a parameter (`FreshnessAlarmDays`) or a number (`0`)."""
    if isinstance(v, dict) and "Ref" in v:
        return f"`{v['Ref']}`"
    number = float(v)
    return f"`{int(number)}`" if number.is_integer() else f"`{number}`"


def period_unit(seconds: int) -> str:
    """86400 -> "day", 3600 -> "hour", 300 -> "5-minute period"."""
    seconds = int(seconds)
    if seconds == 86400:
        return "day"
    if seconds == 3600:
        return "hour"
    return f"{seconds // 60}-minute period" if seconds % 60 == 0 else f"{seconds}-second period"


def periods(datapoints: int, evaluated: int, unit: str) -> str:
    """How many periods must breach: "in one day", "2 days running", "in 2 of 3 days"."""
    plural = unit + "s"
    if evaluated == 1:
        return f"in one {unit}"
    if datapoints == evaluated:
        return f"{evaluated} {plural} running"
    return f"in {datapoints} of {evaluated} {plural}"


def metric_words(namespace: str, name: str) -> str:
    return f"`{name}`" if namespace == "DsSnapshotKeeper" else f"{namespace} `{name}`"


def fires_when(p: dict[str, Any]) -> str:
    """An alarm's firing rule, in words, from its properties."""
    op = OPERATORS[p["ComparisonOperator"]]
    evaluated = int(p["EvaluationPeriods"])
    datapoints = int(p.get("DatapointsToAlarm", evaluated))
    if "Metrics" in p:
        [shown] = [m for m in p["Metrics"] if m.get("ReturnData", True)]
        inputs = [m for m in p["Metrics"] if "MetricStat" in m]
        unit = period_unit(inputs[0]["MetricStat"]["Period"])
        terms = "; ".join(
            f"{m['Id']}: {m['MetricStat']['Stat']} of "
            f"{metric_words(m['MetricStat']['Metric']['Namespace'], m['MetricStat']['Metric']['MetricName'])}"
            for m in inputs)
        rule = f"`{shown['Expression']}` {op} {value(p['Threshold'])} {periods(datapoints, evaluated, unit)} ({terms})"
    else:
        unit = period_unit(p["Period"])
        rule = (f"{p['Statistic']} per {unit} of {metric_words(p['Namespace'], p['MetricName'])} "
                f"{op} {value(p['Threshold'])}, {periods(datapoints, evaluated, unit)}")
    ok = "" if p.get("OKActions") else "; no message on the return to OK"
    return f"{rule}; {MISSING[p.get('TreatMissingData', 'missing')]}{ok}"


def alarms_table(t: dict[str, Any]) -> str:
    rows = ["| resource | created | fires when |", "|---|---|---|"]
    for name, r in t["Resources"].items():
        if r["Type"] == "AWS::CloudWatch::Alarm":
            when = fires_when(r["Properties"])
        elif r["Type"] == "AWS::CloudWatch::Dashboard":
            when = "(the dashboard: no alarm)"
        else:
            continue
        rows.append(f"| `{name}` | {condition_words(t, r.get('Condition'))} | {when} |")
    return "\n".join(rows)


def tables() -> dict[str, str]:
    t = template()
    return {"parameters": parameters_table(t), "alarms": alarms_table(t)}


def section(doc: str, which: str) -> str | None:
    _, begin, end = MARKERS[which]
    m = re.search(re.escape(begin) + r"\n(.*?)" + re.escape(end), doc, re.S)
    return m.group(1).rstrip("\n") if m else None


def doc_of(which: str) -> str:
    return (ROOT / MARKERS[which][0]).read_text()


def write() -> None:
    for which, table in tables().items():
        relative, begin, end = MARKERS[which]
        path = ROOT / relative
        doc = path.read_text()
        if section(doc, which) is None:
            raise SystemExit(f"{relative} has no {begin} ... {end} section")
        doc = re.sub(re.escape(begin) + r"\n.*?" + re.escape(end),
                     lambda _: f"{begin}\n{table}\n{end}", doc, flags=re.S)
        path.write_text(doc)


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        write()
    else:
        for table in tables().values():
            print(table + "\n")
