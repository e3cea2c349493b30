"""Least privilege and completeness of template.yaml (and of the CDK construct's output).

Fails if any ds: action other than the two Describe calls is granted on '*', if any
permission is wider than the keeper needs, if a setting the keeper reads is not wired into
the function's environment, or if the schedule, alarms or encryption lose what makes them safe.
"""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[2]
DESCRIBE_ONLY_ON_STAR = {"ds:DescribeSnapshots", "ds:DescribeDirectories"}
DIRECTORY_SCOPED = {
    "ds:CreateSnapshot", "ds:DeleteSnapshot", "ds:GetSnapshotLimits", "ds:DescribeRegions",
    "ds:ListTagsForResource",
    # Only where the stack opts in (AllowRestore=enabled): test_aws_semantics.py evaluates it.
    "ds:RestoreFromSnapshot",
    # The restore mark, with the same opt-in, for its one tag key (test_restore_mark.py): set
    # when the restore action begins, removed when it ends.
    "ds:AddTagsToResource",
    "ds:RemoveTagsFromResource",
}
# Tag writes name the only key they may write (the restore mark).
TAG_WRITES = {"ds:AddTagsToResource", "ds:RemoveTagsFromResource"}
RESTORE_MARK = "ds-snapshot-keeper:restore"
ALLOWED_ACTIONS = DESCRIBE_ONLY_ON_STAR | DIRECTORY_SCOPED | {
    "sns:Publish", "kms:GenerateDataKey", "kms:Decrypt", "sqs:SendMessage",
    "logs:CreateLogStream", "logs:PutLogEvents",
    # CDK's grant for the dead-letter queue adds these two reads of the queue itself.
    "sqs:GetQueueAttributes", "sqs:GetQueueUrl",
}
PHYSICAL_NAMES = {"FunctionName", "TopicName", "QueueName", "RoleName", "LogGroupName",
                  "AlarmName", "PolicyName_", "Name"}


def load_template(path: Path) -> dict[str, Any]:
    template, matches = decode(str(path))
    assert not matches, matches
    return template


def keeper_settings() -> list[str]:
    source = (ROOT / "src" / "settings.rs").read_text()
    names = re.findall(r'variable: "([A-Z_]+)"', source)
    assert len(names) >= 15, names
    return names


def branches(node: Any) -> Iterator[Any]:
    """Every concrete value a node can take: both sides of each Fn::If, NoValue dropped."""
    if isinstance(node, dict) and set(node) == {"Fn::If"}:
        _, yes, no = node["Fn::If"]
        for side in (yes, no):
            yield from branches(side)
    elif isinstance(node, dict) and node == {"Ref": "AWS::NoValue"}:
        return
    else:
        yield node


def statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    """All IAM statements of the function's role(s) and of the policies in the template."""
    out: list[dict[str, Any]] = []
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        docs = []
        trusted = json.dumps(props.get("AssumeRolePolicyDocument", {}))
        if resource["Type"] == "AWS::IAM::Role" and "lambda.amazonaws.com" in trusted:
            docs = [p["PolicyDocument"] for p in props.get("Policies", [])]
            assert not props.get("ManagedPolicyArns"), "no managed policies: they are wider than needed"
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            docs = [props["PolicyDocument"]]
        for doc in docs:
            for raw in doc["Statement"]:
                out.extend(s for s in branches(raw) if isinstance(s, dict))
    return out


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def resources_of(statement: dict[str, Any]) -> list[Any]:
    out = []
    for r in as_list(statement["Resource"]):
        out.extend(branches(r))
    return out


def is_star(resource: Any) -> bool:
    return resource == "*"


def check_least_privilege(template: dict[str, Any]) -> list[str]:
    problems = []
    for s in statements(template):
        if s.get("Effect") != "Allow":
            continue
        actions = as_list(s["Action"])
        for action in actions:
            if "*" in action:
                problems.append(f"wildcard action {action}")
            if action not in ALLOWED_ACTIONS:
                problems.append(f"action {action} is not one the keeper needs")
            if action in TAG_WRITES:
                keys = s.get("Condition", {}).get("ForAllValues:StringEquals", {}).get("aws:TagKeys")
                if as_list(keys or []) != [RESTORE_MARK]:
                    problems.append(f"{action} may write tag keys other than {RESTORE_MARK}")
        for resource in resources_of(s):
            for action in actions:
                if is_star(resource) and action not in DESCRIBE_ONLY_ON_STAR:
                    problems.append(f"{action} granted on *")
                if isinstance(resource, str) and resource.endswith(":*") and action in DIRECTORY_SCOPED:
                    problems.append(f"{action} on {resource}")
                if action in DIRECTORY_SCOPED and "directory/*" in json.dumps(resource):
                    tag_condition = json.dumps(s.get("Condition", {}))
                    if "aws:ResourceTag/" not in tag_condition and action != "ds:ListTagsForResource":
                        problems.append(f"{action} on every directory without an opt-in tag condition")
    return problems


@pytest.fixture(scope="module")
def sam() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")


def function(template: dict[str, Any]) -> dict[str, Any]:
    [fn] = [r for r in template["Resources"].values()
            if r["Type"] in ("AWS::Serverless::Function", "AWS::Lambda::Function")]
    return fn


def test_least_privilege(sam):
    assert check_least_privilege(sam) == []
    granted = {a for s in statements(sam) for a in as_list(s["Action"])}
    assert DESCRIBE_ONLY_ON_STAR | {"ds:CreateSnapshot", "ds:DeleteSnapshot", "ds:GetSnapshotLimits",
                                    "sns:Publish"} <= granted


def test_the_check_catches_wider_permissions(sam):
    """The least-privilege check must be able to fail."""
    for bad in (
        {"Effect": "Allow", "Action": "ds:CreateSnapshot", "Resource": "*"},
        {"Effect": "Allow", "Action": "ds:*", "Resource": {"Fn::Sub": "arn:x:ds:r:a:directory/d-0123456789"}},
        {"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"},
        {"Effect": "Allow", "Action": "ds:DeleteSnapshot", "Resource": {"Fn::Sub": "arn:${AWS::Partition}:ds:${AWS::Region}:${AWS::AccountId}:directory/*"}},
        {"Effect": "Allow", "Action": "ds:AddTagsToResource", "Resource": "arn:aws:ds:r:a:directory/d-0123456789"},
    ):
        mutated = copy.deepcopy(sam)
        role = mutated["Resources"]["KeeperRole"]["Properties"]
        role["Policies"][0]["PolicyDocument"]["Statement"].append(bad)
        assert check_least_privilege(mutated), bad


def test_no_condition_key_needs_substitution(sam):
    """CloudFormation never substitutes inside a map key: a key with ${...} reaches IAM as is.
    (Whether the policy allows what the keeper does is test_aws_semantics.py's job.)"""
    def keys(node):
        if isinstance(node, dict):
            for k, v in node.items():
                yield k
                yield from keys(v)
        elif isinstance(node, list):
            for v in node:
                yield from keys(v)
    bad = [k for s in statements(sam) for k in keys(s.get("Condition", {})) if "${" in k or "{" in k]
    assert bad == []


def test_every_setting_the_keeper_reads_is_wired(sam):
    env = function(sam)["Properties"]["Environment"]["Variables"]
    missing = [name for name in keeper_settings() if name not in env]
    assert missing == [], f"template does not set {missing}"


def test_function_shape(sam):
    fn = function(sam)
    props = fn["Properties"]
    assert props["Runtime"] == "provided.al2023"
    assert props["Architectures"] == ["arm64"]
    assert props["Handler"] == "bootstrap"
    assert fn["Metadata"]["BuildMethod"] == "rust-cargolambda"
    assert props["ReservedConcurrentExecutions"] == 1
    assert props["Timeout"] == 900 and props["MemorySize"] == 128
    assert props["LoggingConfig"]["LogFormat"] == "JSON"
    invoke = props["EventInvokeConfig"]
    assert invoke["MaximumRetryAttempts"] == 0 and "DestinationConfig" not in invoke
    assert "DeadLetterQueue" not in props


def test_schedule_has_time_zone_retries_and_dead_letters(sam):
    events = function(sam)["Properties"]["Events"]
    [schedule] = [e for e in events.values() if e["Type"] == "ScheduleV2"]
    p = schedule["Properties"]
    assert p["ScheduleExpressionTimezone"] == {"Ref": "ScheduleTimezone"}
    assert p["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    assert p["DeadLetterConfig"]["Arn"]
    assert p["OmitName"] is True, "a generated name, so two stacks can share an account and Region"


def test_alarms_mean_something(sam):
    alarms = {k: r["Properties"] for k, r in sam["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert {"UnreportedFailureAlarm", "FreshnessAlarm", "DeadLetterAlarm", "UnmanagedDirectoriesAlarm",
            "LowFreeSlotsAlarm"} <= set(alarms)
    for name, a in alarms.items():
        assert len(a["AlarmDescription"]) > 60, name
        assert a["AlarmActions"], name
        # An OK only where it means "resolved"; the unreported-failure alarm's OK an hour
        # later would read as such without being so.
        assert bool(a.get("OKActions")) == (name != "UnreportedFailureAlarm"), name
    assert alarms["FreshnessAlarm"]["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "KeeperFunction"}}]
    assert alarms["FreshnessAlarm"]["TreatMissingData"] == "breaching"
    assert alarms["FreshnessAlarm"]["MetricName"] == "MaxNewestCompletedSnapshotAgeDays"
    assert alarms["FreshnessAlarm"]["Namespace"] == "DsSnapshotKeeper"


def test_encryption(sam):
    r = sam["Resources"]
    assert r["AlertTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "KeeperKey"}
    assert r["KeeperKey"]["Properties"]["EnableKeyRotation"] is True
    assert r["DeadLetterQueue"]["Properties"]["SqsManagedSseEnabled"] is True
    assert r["LogGroup"]["Properties"]["KmsKeyId"]
    assert r["LogGroup"]["Properties"]["RetentionInDays"]


def test_stackset_friendly_no_fixed_physical_names(sam):
    for name, resource in sam["Resources"].items():
        props = resource.get("Properties", {})
        fixed = [p for p in ("FunctionName", "TopicName", "QueueName", "RoleName", "LogGroupName", "AlarmName")
                 if isinstance(props.get(p), str)]
        assert not fixed, f"{name} has fixed physical names {fixed}"


def test_doc_tables_are_the_templates():
    """docs/deploy.md lists every parameter, and docs/operate.md every alarm (with when it fires
    and what to do) and the dashboard, as template.yaml defines them."""
    import doc_tables

    for which, table in doc_tables.tables().items():
        assert doc_tables.section(doc_tables.doc_of(which), which) == table, (
            f"{doc_tables.MARKERS[which][0]}'s {which} table differs from template.yaml: run `make doc-tables`")
    t = doc_tables.template()
    deploy, operate = doc_tables.doc_of("parameters"), doc_tables.doc_of("alarms")
    for name in t["Parameters"]:
        assert f"| `{name}` |" in deploy
    alarms = [n for n, r in t["Resources"].items() if r["Type"].startswith("AWS::CloudWatch::")]
    assert len(alarms) == 6, alarms  # five alarms and the dashboard
    for name in alarms:
        assert f"| `{name}` |" in operate
    for name in (n for n, r in t["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"):
        # the rendered row, and a row of the hand-written "what to do" table
        assert operate.count(f"| `{name}` |") == 2, f"docs/operate.md: what to do when {name} fires"


@pytest.mark.skipif(not os.environ.get("REQUIRE_CDK"), reason="the construct's packages are built by make")
def test_the_cdk_steps_name_what_make_builds():
    """docs/deploy.md's first-deployment steps install the tarball and wheel `make cdk-jsii` builds."""
    readme = (ROOT / "docs/deploy.md").read_text()
    version = json.loads((ROOT / "cdk/package.json").read_text())["version"]
    tarball = f"cdk/dist-pacmak/js/ds-snapshot-keeper-cdk@{version}.jsii.tgz"
    assert tarball in readme, tarball
    assert (ROOT / tarball).exists(), tarball
    assert list((ROOT / "cdk/dist-pacmak/python").glob("*.whl")), "the wheel"
    for step in ("cdk bootstrap", "Subscription Confirmation", "aws ds add-tags-to-resource", "DashboardUrl",
                 "sts:AssumeRole"):
        assert step in readme, step


@pytest.mark.skipif(not os.environ.get("REQUIRE_CDK"), reason="the CDK example is synthesised by make")
def test_both_templates_output_the_dashboards_console_url(sam):
    """SAM's DashboardUrl and the CDK example's name the dashboard the stack creates."""
    url = sam["Outputs"]["DashboardUrl"]
    assert url["Condition"] == "CreateDashboard"
    assert url["Value"]["Fn::Sub"].endswith(
        "console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}#dashboards/dashboard/${KeeperDashboard}")
    cdk = load_template(ROOT / "cdk/cdk.out/DsSnapshotKeeperExample.template.json")
    [dashboard] = [k for k, r in cdk["Resources"].items() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    value = json.dumps(cdk["Outputs"]["DashboardUrl"]["Value"])
    assert "#dashboards/dashboard/" in value and f'{{"Ref": "{dashboard}"}}' in value, value


def test_parameters_are_described_and_constrained(sam):
    for name, p in sam["Parameters"].items():
        assert p.get("Description"), name
        assert "Default" in p, f"{name} needs a safe default"
        constrained = any(k in p for k in ("AllowedPattern", "AllowedValues", "MinValue"))
        assert constrained, f"{name} has no allowed pattern, values or range"
    assert sam["Parameters"]["DryRun"]["Default"] == "false"
    assert sam["Parameters"]["PruneUnowned"]["Default"] == "false"


CDK_TEMPLATE = ROOT / "cdk" / "cdk.out" / "DsSnapshotKeeperExample.template.json"
# The same construct through jsii, from a Python app (make cdk-python).
CDK_PYTHON_TEMPLATE = ROOT / "cdk" / "cdk.out.python" / "DsSnapshotKeeperPython.template.json"


@pytest.mark.parametrize("path", [CDK_TEMPLATE, CDK_PYTHON_TEMPLATE], ids=["typescript", "python"])
def test_cdk_output_is_least_privilege_and_complete(path: Path):
    if not path.exists() and not os.environ.get("REQUIRE_CDK"):
        pytest.skip(f"{path.name} is not synthesised (make cdk-synth cdk-python)")
    template = json.loads(path.read_text())
    assert check_least_privilege(template) == []
    fn = function(template)["Properties"]
    missing = [n for n in keeper_settings() if n not in fn["Environment"]["Variables"]]
    assert missing == []
    assert fn["ReservedConcurrentExecutions"] == 1
    assert fn["Architectures"] == ["arm64"]
