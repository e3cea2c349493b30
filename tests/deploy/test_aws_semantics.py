"""The templates read as AWS reads them: does the first real deployment work?

Every check here goes through something that implements AWS's semantics rather than our
reading of the template:

* the SAM transform (``aws-sam-translator``, what ``sam deploy`` runs) turns template.yaml into
  CloudFormation; the CDK construct is synthesised by aws-cdk-lib;
* ``cloud-radar`` resolves every intrinsic function and condition for a concrete parameter set,
  as CloudFormation would (it leaves map keys alone, as CloudFormation does);
* the keeper binary runs against the local emulator with the environment the resolved
  template gives the function, and the emulator's call log says which calls it made;
* ``@cloud-copilot/iam-simulate`` (tests/deploy/iam_eval.js) evaluates the resolved policies
  for exactly those calls, conditions included, and for every service-to-resource path
  (Scheduler -> function and dead-letter queue, CloudWatch alarms -> topic and its key,
  the function -> topic and its key).

The parameter sets: discovery with the default tag, discovery with a custom tag (a custom
value for SAM, whose key is fixed, a custom key for CDK), one directory id, 25 ids.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator

import pytest
from cfnlint.decode import decode
from cloud_radar.cf.unit import Template
from samtranslator.translator.transform import transform

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests/support"))
from local_aws import Emulator  # noqa: E402

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's account, so the emulator's ARNs and the templates' agree
KEEPER = Path(os.environ.get("KEEPER_BIN", ROOT / "target/debug/ds-snapshot-keeper"))
CDK_PYTHON_TEMPLATE = ROOT / "cdk" / "cdk.out.python" / "DsSnapshotKeeperPython.template.json"
CDK_VARIANTS = ROOT / "cdk/dist/example/variants.js"
IAM_EVAL = ROOT / "tests/deploy/iam_eval.js"

KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
FUNCTION_NAME = "keeper-function"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION_NAME}"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/keeper-role"
SCHEDULER_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/keeper-scheduler-role"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:keeper-dead-letters"
LOG_GROUP_ARN = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:keeper-logs"

# The keeper's writes: these must be denied on a directory outside its scope.
WRITES = {"ds:CreateSnapshot", "ds:DeleteSnapshot", "ds:GetSnapshotLimits"}
# Calls allowed on every directory, and why (AWS's own rules, not our choice):
ALLOWED_EVERYWHERE = {
    # DescribeSnapshots and DescribeDirectories support no resource-level permissions
    # (Service Authorization Reference for AWS Directory Service): Resource must be '*'.
    "ds:DescribeSnapshots": "no resource-level permissions",
    "ds:DescribeDirectories": "no resource-level permissions",
    # With discovery the keeper must read the tags of every directory to find the opted-in
    # ones; tags are not secret and reading them changes nothing.
    "ds:ListTagsForResource": "discovery reads every directory's tags",
}


# --- the emulator and the keeper -------------------------------------------------------------


@pytest.fixture(scope="module")
def emulators() -> Iterator[list[Emulator]]:
    """Private emulators: each deployment gets its own, so one's discovery never sees
    another's directories."""
    started: list[Emulator] = []
    yield started
    for emu in started:
        emu.close()


def seed_full_quota(emu: Emulator, directory: str) -> None:
    """Five keeper snapshots: the run must make room (DeleteSnapshot), create and prune."""
    for day in range(1, 6):
        emu.control("POST", "snapshots", {
            "directory_id": directory, "name": f"keeper-2025010{day}T060000Z",
            "type": "Manual", "status": "Completed", "age_days": day,
        })


def new_topic(emu: Emulator) -> str:
    return emu.client("sns").create_topic(Name="keeper-alerts")["TopicArn"]


class Run:
    """One run of the real binary: the AWS calls it made and the log lines it wrote."""

    def __init__(self, calls: list[dict[str, Any]], lines: list[dict[str, Any]]):
        self.calls, self.lines = calls, lines


def run_keeper(emu: Emulator, env: dict[str, str]) -> Run:
    """Run the real binary once with the function's environment, named as Lambda names it
    (AWS_LAMBDA_FUNCTION_NAME is the function's physical name, what Ref resolves to)."""
    assert KEEPER.exists(), f"{KEEPER} missing: run `cargo build --bins`"
    before = len(emu.calls())
    process_env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_ENDPOINT_URL": emu.endpoint, "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_LAMBDA_FUNCTION_NAME": FUNCTION_NAME,
        **env,
        # Fast polling: the emulator's snapshots complete at once.
        "POLL_INITIAL_SECONDS": "0.05", "POLL_MAX_SECONDS": "0.2", "WAIT_BUDGET_SECONDS": "20",
    }
    done = subprocess.run(
        [str(KEEPER), "invoke", "--event", str(ROOT / "events/scheduler-default.json"),
         "--log-format", "json", "-v"],
        env=process_env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]
    lines = [json.loads(l) for l in done.stderr.splitlines() if l.startswith("{")]
    return Run(emu.calls()[before:], lines)


# --- rendering -------------------------------------------------------------------------------


def render_sam(params: dict[str, str]) -> dict[str, Any]:
    """template.yaml through the SAM transform, then every intrinsic resolved by cloud-radar."""
    template, matches = decode(str(ROOT / "template.yaml"))
    assert not matches, matches
    template = json.loads(json.dumps(template))
    # What `sam package` does before `sam deploy`: the code is an S3 object.
    template["Resources"]["KeeperFunction"]["Properties"]["CodeUri"] = "s3://artifacts/keeper.zip"
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    cfn = transform(template, params, _NoManagedPolicies())
    return _resolve(cfn, params)


class _NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


def render_cdk(variants: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    assert CDK_VARIANTS.exists(), f"{CDK_VARIANTS} missing: run `make cdk-test`"
    out = subprocess.run(
        ["node", str(CDK_VARIANTS), json.dumps(variants)], cwd=ROOT / "cdk",
        env={**os.environ, "KEEPER_REGION": REGION, "KEEPER_ACCOUNT": ACCOUNT},
        capture_output=True, text=True, check=True, timeout=300,
    )
    return {name: _resolve(t, {}) for name, t in json.loads(out.stdout).items()}


NO_VALUE = "<AWS::NoValue>"


def _resolve(template: dict[str, Any], params: dict[str, str], region: str = REGION) -> dict[str, Any]:
    """Every intrinsic of a plain CloudFormation template resolved by cloud-radar, for these
    parameters in `region`: the resources as CloudFormation would create them."""
    template = copy.deepcopy(template)
    template.pop("Rules", None)  # evaluated by rule_allows below; cloud-radar does not know them
    # CloudFormation hands every parameter value over as a string, whatever its Type (a
    # Number default of 150 is "150" in a Sub); cloud-radar would keep the YAML integer.
    for parameter in template.get("Parameters", {}).values():
        if isinstance(parameter.get("Default"), (int, float)):
            parameter["Default"] = str(parameter["Default"])
    Template.AccountId = ACCOUNT
    Template.NoValue = NO_VALUE  # cloud-radar's default is "", which would stay in lists
    stack = Template(template).create_stack(params, region=region)
    return _drop_no_value(stack["Resources"])


STACKSET_TEMPLATE = ROOT / "target" / "stackset" / "template-stackset.json"
STACKSET_CODE = {"CodeBucketPrefix": "keeper-artifacts", "CodeKey": "ds-snapshot-keeper/0.2.0.zip"}


def render_stackset(params: dict[str, str], region: str = REGION) -> dict[str, Any]:
    """The StackSet template `make stackset` builds, resolved for one Region's instance."""
    assert STACKSET_TEMPLATE.exists(), f"{STACKSET_TEMPLATE} missing: run `make stackset`"
    return _resolve(json.loads(STACKSET_TEMPLATE.read_text()), {**STACKSET_CODE, **params}, region)


def _drop_no_value(node: Any) -> Any:
    """CloudFormation removes a property or list item whose value is AWS::NoValue."""
    if isinstance(node, dict):
        return {k: _drop_no_value(v) for k, v in node.items() if v != NO_VALUE}
    if isinstance(node, list):
        return [_drop_no_value(v) for v in node if v != NO_VALUE]
    return node


def placeholders(resources: dict[str, Any], topic: str) -> dict[str, str]:
    """cloud-radar leaves a reference to a resource as its logical id ('X' or 'X.Arn');
    give each the concrete value AWS would, by resource type."""
    concrete = {
        "AWS::SNS::Topic": {"": topic},
        "AWS::KMS::Key": {"": KEY_ARN, ".Arn": KEY_ARN},
        "AWS::Lambda::Function": {"": FUNCTION_NAME, ".Arn": FUNCTION_ARN},
        "AWS::SQS::Queue": {"": "https://sqs/keeper-dead-letters", ".Arn": QUEUE_ARN,
                            ".QueueName": "keeper-dead-letters"},
        "AWS::Logs::LogGroup": {"": "keeper-logs", ".Arn": LOG_GROUP_ARN},
    }
    names: dict[str, str] = {}
    for logical, r in resources.items():
        if r["Type"] == "AWS::IAM::Role":
            trusted = json.dumps(r["Properties"]["AssumeRolePolicyDocument"])
            arn = ROLE_ARN if "lambda.amazonaws.com" in trusted else f"arn:aws:iam::{ACCOUNT}:role/{logical}"
            names[logical], names[f"{logical}.Arn"] = logical, arn
        for suffix, value in concrete.get(r["Type"], {}).items():
            names[f"{logical}{suffix}"] = value
    return names


def concrete(node: Any, names: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {k: concrete(v, names) for k, v in node.items()}
    if isinstance(node, list):
        return [concrete(v, names) for v in node]
    if isinstance(node, str):
        if node in names:
            return names[node]
        # A JSON document built by Sub/Join (a dashboard body): the references inside it.
        if node.startswith("{"):
            try:
                return json.dumps(concrete(json.loads(node), names))
            except ValueError:
                pass
        # A Logs Insights query over a referenced log group: "SOURCE 'KeeperLogGroup' | ..."
        source = re.match(r"SOURCE '([^']+)'(.*)", node, re.S)
        if source and source[1] in names:
            return f"SOURCE '{names[source[1]]}'{source[2]}"
        # Sub/Join over a reference: "KeeperLogGroup.Arn:*"
        for k in sorted(names, key=len, reverse=True):
            if node.startswith(k + ":") and k.endswith(".Arn"):
                return names[k] + node[len(k):]
    return node


def unresolved(node: Any, path: str = "") -> list[str]:
    """Anything CloudFormation would have left unresolved: ${...} and intrinsics, in keys too."""
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            if "${" in k or k.startswith("Fn::") or k == "Ref":
                out.append(f"{path}/{k}")
            out.extend(unresolved(v, f"{path}/{k}"))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.extend(unresolved(v, f"{path}[{i}]"))
    elif isinstance(node, str) and "${" in node:
        out.append(f"{path}: {node}")
    return out


def of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: r for k, r in resources.items() if r["Type"] == kind}


def role_policies(resources: dict[str, Any], role_logical: str) -> list[dict[str, Any]]:
    role = resources[role_logical]["Properties"]
    docs = [p["PolicyDocument"] for p in role.get("Policies", [])]
    for r in of_type(resources, "AWS::IAM::Policy").values():
        refs = r["Properties"].get("Roles", [])
        if role_logical in refs:
            docs.append(r["Properties"]["PolicyDocument"])
    return docs


def keeper_role(resources: dict[str, Any]) -> str:
    [logical] = [k for k, r in of_type(resources, "AWS::IAM::Role").items()
                 if "lambda.amazonaws.com" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])]
    return logical


def function_env(resources: dict[str, Any]) -> dict[str, str]:
    [fn] = of_type(resources, "AWS::Lambda::Function").values()
    return {k: str(v) for k, v in fn["Properties"]["Environment"]["Variables"].items()}


# --- IAM -------------------------------------------------------------------------------------


def evaluate(simulations: list[dict[str, Any]]) -> list[str]:
    done = subprocess.run(["node", str(IAM_EVAL)], input=json.dumps(simulations), capture_output=True,
                          text=True, check=True, cwd=ROOT / "tests/deploy", timeout=300)
    results = json.loads(done.stdout)
    for sim, r in zip(simulations, results):
        assert r["result"] != "Error", (sim["action"], sim["resource"], r)
    return [r["result"] for r in results]


def directory_arn(directory: str) -> str:
    return f"arn:aws:ds:{REGION}:{ACCOUNT}:directory/{directory}"


def requests_of(calls: list[dict[str, Any]], tags: dict[str, dict[str, str]], topic: str,
                retarget: str | None = None) -> list[tuple[str, str, dict[str, str]]]:
    """The IAM request behind each call: action, resource ARN, request context. With
    `retarget`, the same calls aimed at another directory."""
    out = []
    for c in calls:
        if c["service"] == "ds":
            action = f"ds:{c['operation']}"
            if action in ("ds:DescribeSnapshots", "ds:DescribeDirectories"):
                resource, directory = "*", None
            else:
                directory = retarget or c["directory_id"]
                assert directory, c
                resource = directory_arn(directory)
            context = {"aws:RequestedRegion": REGION, "aws:SecureTransport": "true"}
            for k, v in tags.get(directory or "", {}).items():
                context[f"aws:ResourceTag/{k}"] = v
            # The keeper's one tag write is the restore mark (the call log names no keys).
            if action == "ds:AddTagsToResource":
                context |= {"aws:TagKeys": [RESTORE_MARK], f"aws:RequestTag/{RESTORE_MARK}": "set"}
            elif action == "ds:RemoveTagsFromResource":
                context |= {"aws:TagKeys": [RESTORE_MARK]}
            out.append((action, resource, context))
        elif c["service"] == "sns":
            assert c["operation"] == "Publish", c
            out.append(("sns:Publish", topic, {"aws:RequestedRegion": REGION, "aws:SecureTransport": "true"}))
    return out


def simulate_role(policies: list[dict[str, Any]], requests: list[tuple[str, str, dict[str, str]]]) -> list[str]:
    return evaluate([
        {"identityPolicies": policies, "principal": ROLE_ARN, "action": a, "resource": r,
         "accountId": ACCOUNT, "context": ctx}
        for a, r, ctx in requests
    ])


# --- the parameter sets ----------------------------------------------------------------------


class Case:
    """One deployment: the rendered resources, the directory it must manage, and one it must
    leave alone."""

    def __init__(self, name: str, emu: Emulator, resources: dict[str, Any], topic: str, managed: str,
                 outsider: str, tags: dict[str, dict[str, str]], also_configured: list[str]):
        self.name, self.emu = name, emu
        self.names = placeholders(resources, topic)
        self.resources = concrete(resources, self.names)
        self.topic, self.managed, self.outsider = topic, managed, outsider
        self.tags, self.also_configured = tags, also_configured


FAKE_IDS = [f"d-{i:010x}" for i in range(0x9000000001, 0x9000000001 + 24)]


@pytest.fixture(scope="module")
def cases(emulators: list) -> list[Case]:
    default_tag = {"ds-snapshot-keeper": "enabled"}

    def deployment(managed_tags: dict[str, str], outsider_tags: dict[str, str]):
        emu = Emulator(region=REGION)
        emulators.append(emu)
        managed = emu.new_directory(managed_tags)
        outsider = emu.new_directory(outsider_tags)
        seed_full_quota(emu, managed)
        return emu, new_topic(emu), managed, outsider, {managed: managed_tags, outsider: outsider_tags}

    specs = {
        "sam discovery, default tag": (default_tag, {}),
        "sam discovery, custom tag value": ({"ds-snapshot-keeper": "prod"}, default_tag),
        "sam one id": ({}, default_tag),
        "sam 25 ids": ({}, default_tag),
        "cdk discovery, default tag": (default_tag, {}),
        "cdk discovery, custom tag key": ({"backup-policy": "ds-daily"}, default_tag),
        "cdk one id": ({}, default_tag),
        "cdk 25 ids": ({}, default_tag),
        "cdk python, discovery, default tag": (default_tag, {}),
        "stackset discovery, default tag": (default_tag, {}),
    }
    # Side by side: each emulator takes about 3 s of CPU to import moto, one after the other
    # they held this module up for 39 s.
    with ThreadPoolExecutor(max_workers=len(specs)) as pool:
        made = dict(zip(specs, pool.map(lambda tags: deployment(*tags), specs.values())))
    managed = {name: m[2] for name, m in made.items()}
    rendered = {
        # Tiered retention in the default pair (and the Python app): its settings must reach
        # the function's environment, and the binary runs with them below.
        "sam discovery, default tag": render_sam({"NotifyLevel": "all", "Retention": "tiered", "TierDays": "35"}),
        "sam discovery, custom tag value": render_sam({"NotifyLevel": "all", "DiscoveryTagValue": "prod"}),
        "sam one id": render_sam({"NotifyLevel": "all", "DirectoryIds": managed["sam one id"]}),
        "sam 25 ids": render_sam({"NotifyLevel": "all", "DirectoryIds": ",".join([managed["sam 25 ids"]] + FAKE_IDS)}),
    }
    cdk = render_cdk({
        "cdkDefault": {"notifyLevel": "all", "retention": "tiered", "tiers": [35]},
        "cdkCustomKey": {"notifyLevel": "all", "discoveryTag": {"key": "backup-policy", "value": "ds-daily"}},
        "cdkOneId": {"notifyLevel": "all", "directoryIds": [managed["cdk one id"]]},
        "cdk25Ids": {"notifyLevel": "all", "directoryIds": [managed["cdk 25 ids"]] + FAKE_IDS},
    })
    rendered |= {"cdk discovery, default tag": cdk["cdkDefault"], "cdk discovery, custom tag key": cdk["cdkCustomKey"],
                 "cdk one id": cdk["cdkOneId"], "cdk 25 ids": cdk["cdk25Ids"]}
    # The construct through jsii, from the Python app (make cdk-python): same props as cdkDefault.
    assert CDK_PYTHON_TEMPLATE.exists(), f"{CDK_PYTHON_TEMPLATE} missing: run `make cdk-python`"
    rendered["cdk python, discovery, default tag"] = _resolve(json.loads(CDK_PYTHON_TEMPLATE.read_text()), {})
    # An instance of the StackSet template (make stackset), as the SAM default's.
    rendered["stackset discovery, default tag"] = render_stackset(
        {"NotifyLevel": "all", "Retention": "tiered", "TierDays": "35"})
    out = []
    for name in specs:
        emu, topic, m, o, tags = made[name]
        out.append(Case(name, emu, rendered[name], topic, m, o, tags, FAKE_IDS if "25" in name else []))
    return out


def case_ids() -> list[str]:
    return ["sam discovery, default tag", "sam discovery, custom tag value", "sam one id", "sam 25 ids",
            "cdk discovery, default tag", "cdk discovery, custom tag key", "cdk one id", "cdk 25 ids",
            "cdk python, discovery, default tag", "stackset discovery, default tag"]


@pytest.fixture(params=range(10), ids=case_ids())
def case(request, cases: list[Case]) -> Case:
    c = cases[request.param]
    assert c.name == case_ids()[request.param]
    return c


# --- the tests -------------------------------------------------------------------------------


def test_nothing_is_left_unresolved_in_the_keepers_policy(case: Case):
    policies = role_policies(case.resources, keeper_role(case.resources))
    assert unresolved(policies) == [], case.name
    assert unresolved(function_env(case.resources)) == []


def test_every_call_the_keeper_makes_is_allowed_and_its_writes_are_denied_elsewhere(case: Case):
    env = function_env(case.resources)
    calls = run_keeper(case.emu, env).calls
    made = {(c["service"], c["operation"]) for c in calls}
    # The run exercised every permission the keeper needs.
    for op in ("DescribeDirectories", "DescribeSnapshots", "GetSnapshotLimits", "CreateSnapshot", "DeleteSnapshot"):
        assert ("ds", op) in made, (case.name, sorted(made))
    assert ("sns", "Publish") in made
    if not env.get("DIRECTORY_IDS"):
        assert ("ds", "ListTagsForResource") in made
    # Only its own directory was written to.
    written = {c["directory_id"] for c in calls if f"ds:{c['operation']}" in WRITES}
    assert written == {case.managed}, written

    policies = role_policies(case.resources, keeper_role(case.resources))
    requests = requests_of(calls, case.tags, case.topic)
    decisions = simulate_role(policies, requests)
    denied = [(a, r) for (a, r, _), d in zip(requests, decisions) if d != "Allowed"]
    assert denied == [], f"{case.name}: IAM denies calls the keeper makes: {denied}"

    elsewhere = requests_of(calls, case.tags, case.topic, retarget=case.outsider)
    decisions = simulate_role(policies, elsewhere)
    for (action, resource, _), decision in zip(elsewhere, decisions):
        if action in WRITES:
            assert decision != "Allowed", f"{case.name}: {action} allowed on {resource}"
        elif action in ALLOWED_EVERYWHERE:
            assert decision == "Allowed", (action, ALLOWED_EVERYWHERE[action])

    # With 25 ids, every configured directory is writable, not only the first 20.
    if case.also_configured:
        extra = [(w, directory_arn(d), {"aws:RequestedRegion": REGION}) for d in case.also_configured for w in sorted(WRITES)]
        assert set(simulate_role(policies, extra)) == {"Allowed"}
        # ... and only in the stack's Region.
        other_region = [(w, r.replace(REGION, "us-east-1"), {"aws:RequestedRegion": "us-east-1"}) for w, r, _ in extra[:3]]
        assert "Allowed" not in simulate_role(policies, other_region)


def test_the_function_can_use_the_topics_key(case: Case):
    policies = role_policies(case.resources, keeper_role(case.resources))
    [key] = of_type(case.resources, "AWS::KMS::Key").values()
    key_policy = key["Properties"]["KeyPolicy"]
    [topic] = of_type(case.resources, "AWS::SNS::Topic").values()
    assert topic["Properties"]["KmsMasterKeyId"] == KEY_ARN
    decisions = evaluate([
        {"identityPolicies": policies, "resourcePolicy": key_policy, "principal": ROLE_ARN, "action": action,
         "resource": KEY_ARN, "accountId": ACCOUNT, "context": {"aws:SecureTransport": "true"}}
        for action in ("kms:GenerateDataKey", "kms:Decrypt")
    ])
    assert decisions == ["Allowed", "Allowed"], case.name


def test_alarms_can_publish_to_the_encrypted_topic(case: Case):
    topic_policy = [r["Properties"]["PolicyDocument"] for r in of_type(case.resources, "AWS::SNS::TopicPolicy").values()]
    [key] = of_type(case.resources, "AWS::KMS::Key").values()
    alarms = of_type(case.resources, "AWS::CloudWatch::Alarm")
    assert alarms
    for name, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [case.topic], name
    context = {"aws:SourceAccount": ACCOUNT, "aws:SecureTransport": "true"}
    sims = [{"identityPolicies": [], "resourcePolicy": topic_policy[0], "principal": "cloudwatch.amazonaws.com",
             "action": "sns:Publish", "resource": case.topic, "accountId": ACCOUNT, "context": context}]
    sims += [{"identityPolicies": [], "resourcePolicy": key["Properties"]["KeyPolicy"],
              "principal": "cloudwatch.amazonaws.com", "action": action, "resource": KEY_ARN,
              "accountId": ACCOUNT, "context": context} for action in ("kms:GenerateDataKey", "kms:Decrypt")]
    assert evaluate(sims) == ["Allowed"] * 3, case.name
    # The checker can fail: another account's alarms may not publish.
    sims[0]["context"] = {"aws:SourceAccount": "999999999999", "aws:SecureTransport": "true"}
    assert evaluate(sims[:1]) != ["Allowed"]


def test_the_schedule_can_invoke_the_function_and_write_its_dead_letters(case: Case):
    [schedule] = of_type(case.resources, "AWS::Scheduler::Schedule").values()
    props = schedule["Properties"]
    assert "Name" not in props, "a generated name, so two stacks can share an account and Region"
    target = props["Target"]
    assert target["Arn"] == FUNCTION_ARN
    role_logical = next(k for k, v in case.names.items() if v == target["RoleArn"] and k.endswith(".Arn"))[:-4]
    role = case.resources[role_logical]
    # Scheduler may assume the role ...
    trust = role["Properties"]["AssumeRolePolicyDocument"]
    assert evaluate([{"identityPolicies": [], "resourcePolicy": trust, "principal": "scheduler.amazonaws.com",
                      "action": "sts:AssumeRole", "resource": target["RoleArn"], "accountId": ACCOUNT,
                      "context": {"aws:SourceAccount": ACCOUNT}}]) == ["Allowed"]
    # ... which may invoke the function and send to the dead-letter queue ...
    policies = role_policies(case.resources, role_logical)
    dlq = target["DeadLetterConfig"]["Arn"]
    assert dlq == QUEUE_ARN
    queue_policies = [r["Properties"]["PolicyDocument"] for r in of_type(case.resources, "AWS::SQS::QueuePolicy").values()]
    sims = [{"identityPolicies": policies, "principal": target["RoleArn"], "action": "lambda:InvokeFunction",
             "resource": FUNCTION_ARN, "accountId": ACCOUNT, "context": {}},
            {"identityPolicies": policies, "principal": target["RoleArn"], "action": "sqs:SendMessage",
             "resource": QUEUE_ARN, "accountId": ACCOUNT, "context": {"aws:SecureTransport": "true"},
             **({"resourcePolicy": queue_policies[0]} if queue_policies else {})}]
    assert evaluate(sims) == ["Allowed", "Allowed"], case.name
    # ... whose encryption needs no KMS permission the role lacks.
    [queue] = of_type(case.resources, "AWS::SQS::Queue").values()
    assert queue["Properties"].get("SqsManagedSseEnabled") is True
    assert "KmsMasterKeyId" not in queue["Properties"]


def test_a_failed_run_is_not_retried_and_has_no_second_alert_path(case: Case):
    [config] = of_type(case.resources, "AWS::Lambda::EventInvokeConfig").values()
    assert config["Properties"]["MaximumRetryAttempts"] == 0
    assert not config["Properties"].get("DestinationConfig", {}).get("OnFailure")
    [fn] = of_type(case.resources, "AWS::Lambda::Function").values()
    assert "DeadLetterConfig" not in fn["Properties"]
    for name, alarm in of_type(case.resources, "AWS::CloudWatch::Alarm").items():
        if "FailedRunsReported" in json.dumps(alarm):
            assert not alarm["Properties"].get("OKActions"), f"{name}: an OK an hour later reads as 'resolved'"


# --- the quota rule of template.yaml ---------------------------------------------------------


def rule_allows(rule: Any, params: dict[str, str]) -> bool:
    """CloudFormation's rule functions used by RetentionFitsTheQuota, on parameter values."""
    if isinstance(rule, dict):
        [(fn, arg)] = rule.items()
        if fn == "Ref":
            return params[arg]
        if fn == "Fn::Or":
            return any(rule_allows(a, params) for a in arg)
        if fn == "Fn::And":
            return all(rule_allows(a, params) for a in arg)
        if fn == "Fn::Equals":
            return rule_allows(arg[0], params) == rule_allows(arg[1], params)
        if fn == "Fn::Contains":
            return rule_allows(arg[1], params) in [rule_allows(a, params) for a in arg[0]]
        if fn == "Fn::Not":
            [inner] = arg
            return not rule_allows(inner, params)
        raise AssertionError(f"rule function {fn} is not evaluated here")
    return rule


def keeper_refuses_settings(env: dict[str, str]) -> str | None:
    """The keeper binary's refusal of these settings at start (any of them), or None. The
    settings are read before the event, so a refused event costs no AWS call either way."""
    done = subprocess.run(
        [str(KEEPER), "invoke", "--event", "-", "--output", "json"],
        input=b'{"action": "not-an-action"}', capture_output=True, timeout=60,
        env={"PATH": os.environ.get("PATH", ""), "AWS_REGION": "eu-west-1",
             "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
             "AWS_ENDPOINT_URL": "http://127.0.0.1:9", **env},
    )
    text = done.stderr.decode()
    return text if "invalid setting" in text else None


def keeper_refuses_at_start(env: dict[str, str]) -> bool:
    """Whether the keeper binary refuses these settings as not fitting the quota
    (`Policy::misfit`, the one fit rule): the template's rule is a deploy-time copy of it."""
    return "does not fit a quota of 5" in (keeper_refuses_settings(env) or "")


def test_the_template_refuses_retention_that_cannot_fit_the_quota():
    template, _ = decode(str(ROOT / "template.yaml"))
    params = template["Parameters"]
    [assertion] = template["Rules"]["RetentionFitsTheQuota"]["Assertions"]
    for retain in params["RetainCount"]["AllowedValues"]:
        for reserved in params["ReservedSlots"]["AllowedValues"]:
            fits = not keeper_refuses_at_start({"RETAIN_COUNT": retain, "RESERVED_SLOTS": reserved})
            allowed = rule_allows(assertion["Assert"], {"RetainCount": retain, "ReservedSlots": reserved})
            assert allowed == fits, (retain, reserved)
    assert "at most 5" in assertion["AssertDescription"]


@pytest.mark.skipif(not (ROOT / "cdk/dist/lib/index.js").exists() and not os.environ.get("REQUIRE_CDK"),
                    reason="the construct is not built (make cdk-synth)")
def test_the_constructs_fit_rules_refuse_what_the_keeper_refuses():
    """The construct checks retainCount, reservedSlots, retention, tiers and warnAgeDays at
    synth time, a copy of the keeper's own rules (Policy::misfit and the tiered promise): for
    every combination here both refuse, or both accept."""
    combos = []
    for retain in range(1, 7):
        for reserved in range(0, 4):
            combos.append({"retainCount": retain, "reservedSlots": reserved})
            for tiers in ([35], [7, 35], [60], [80]):
                for warn in (150, 100, 60):
                    combos.append({"retainCount": retain, "reservedSlots": reserved, "retention": "tiered",
                                   "tiers": tiers, "warnAgeDays": warn})
    done = subprocess.run(["node", str(ROOT / "tests/deploy/cdk_fit.js")], input=json.dumps(combos),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    answers = json.loads(done.stdout)
    refused = 0
    for props, answer in zip(combos, answers, strict=True):
        env = {"RETAIN_COUNT": str(props["retainCount"]), "RESERVED_SLOTS": str(props["reservedSlots"])}
        if props.get("retention") == "tiered":
            env.update({"RETENTION": "tiered", "TIERS": ",".join(map(str, props["tiers"])),
                        "WARN_AGE_DAYS": str(props["warnAgeDays"])})
        keeper = keeper_refuses_settings(env)
        assert answer["refused"] == (keeper is not None), (props, answer["message"], keeper)
        refused += answer["refused"]
    # Both answers occur: the comparison is not trivially all-accept or all-refuse.
    assert 0 < refused < len(combos), refused


# --- the StackSet template ---------------------------------------------------------------------


def test_the_stackset_template_reads_its_code_from_each_regions_bucket():
    template = json.loads(STACKSET_TEMPLATE.read_text())
    # No macro: a service-managed StackSet refuses templates that reference one, and the SAM
    # transform is one (AWS CloudFormation User Guide, "Overview of CloudFormation macros":
    # "CloudFormation StackSets doesn't currently support creating or updating stack sets with
    # service-managed permissions from templates that reference macros").
    assert "Transform" not in template
    assert not [r for r in template["Resources"].values() if r["Type"].startswith("AWS::Serverless::")]
    for region in ("eu-west-1", "us-east-1"):
        resources = render_stackset({}, region)
        [function] = of_type(resources, "AWS::Lambda::Function").values()
        assert function["Properties"]["Code"] == {
            "S3Bucket": f"keeper-artifacts-{region}", "S3Key": "ds-snapshot-keeper/0.2.0.zip"}, region
        assert unresolved(function["Properties"]) == [], region
    assert template["Parameters"]["CodeKey"]["Default"].endswith(".zip")


@pytest.mark.parametrize("params", [
    {"NotifyLevel": "all", "Retention": "tiered", "TierDays": "35"},
    {"DirectoryIds": "d-0123456789,d-abcdef0123", "AllowRestore": "enabled", "Dashboard": "disabled"},
    {},
], ids=["tiered discovery", "ids, restore, no dashboard", "defaults"])
def test_the_stackset_template_is_template_yaml_but_for_the_code(params: dict[str, str]):
    """Resolved with the same parameters, every resource of the StackSet template is the one
    template.yaml deploys through `sam deploy`, except where the function's code comes from."""
    sam, stackset = render_sam(params), render_stackset(params)
    assert sorted(sam) == sorted(stackset)
    for logical in sam:
        a, b = copy.deepcopy(sam[logical]), copy.deepcopy(stackset[logical])
        if a["Type"] == "AWS::Lambda::Function":
            assert a["Properties"].pop("Code") == {"S3Bucket": "artifacts", "S3Key": "keeper.zip"}
            assert b["Properties"].pop("Code")["S3Bucket"] == f"keeper-artifacts-{REGION}"
        # sam build's instructions (SAM copies the function's Metadata to what it derives from
        # it): the StackSet's code is built already.
        for key in ("BuildMethod", "BuildProperties"):
            a.get("Metadata", {}).pop(key, None)
        assert a == b, logical
    template = json.loads(STACKSET_TEMPLATE.read_text())
    original, _ = decode(str(ROOT / "template.yaml"))
    assert set(template["Parameters"]) - set(original["Parameters"]) == {"CodeBucketPrefix", "CodeKey"}
    assert template["Rules"] == json.loads(json.dumps(original["Rules"]))


def test_the_artifact_bucket_policy_lets_the_organization_read_the_code_and_nothing_more():
    """docs/stackset-artifact-bucket-policy.json, the README's snippet: an account of the
    Organization (the StackSet's execution role there, whose own policy allows s3:GetObject)
    reads the zip; another organization's account cannot, and nobody may write."""
    policy = json.loads((ROOT / "docs/stackset-artifact-bucket-policy.json").read_text())
    [statement] = policy["Statement"]
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-exampleorgid"}}
    member = "arn:aws:iam::111122223333:role/stacksets-exec-0123456789abcdef"
    reads_anything = [{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"}]}]
    obj = "arn:aws:s3:::keeper-artifacts-eu-west-1/ds-snapshot-keeper/0.2.0.zip"

    def sim(action: str, resource: str, org: str) -> dict[str, Any]:
        return {"identityPolicies": reads_anything, "resourcePolicy": policy, "principal": member,
                "action": action, "resource": resource, "accountId": "444455556666",
                "context": {"aws:PrincipalOrgID": org, "aws:PrincipalAccount": "111122223333",
                            "aws:SecureTransport": "true"}}

    decisions = evaluate([
        sim("s3:GetObject", obj, "o-exampleorgid"),
        sim("s3:GetObject", obj, "o-someoneelse"),
        sim("s3:PutObject", obj, "o-exampleorgid"),
        sim("s3:GetObject", "arn:aws:s3:::keeper-artifacts-eu-west-1/other/secret.zip", "o-exampleorgid"),
    ])
    assert decisions[0] == "Allowed", decisions
    assert "Allowed" not in decisions[1:], decisions


def rules_allow(template: dict[str, Any], rule: str, params: dict[str, str]) -> bool:
    """One rule of the template as CloudFormation applies it: every assertion must hold,
    when its RuleCondition (if any) holds."""
    body = template["Rules"][rule]
    if "RuleCondition" in body and not rule_allows(body["RuleCondition"], params):
        return True
    return all(rule_allows(a["Assert"], params) for a in body["Assertions"])


def test_the_template_refuses_tiers_that_cannot_keep_their_promise():
    # The keeper's own check at start (settings.rs, check_retention): the newest and two
    # snapshots per tier must fit RetainCount, and twice the period must stay under WarnAgeDays.
    template, _ = decode(str(ROOT / "template.yaml"))
    params = template["Parameters"]
    checked = 0
    for retention in params["Retention"]["AllowedValues"]:
        for tier in params["TierDays"]["AllowedValues"]:
            for retain in params["RetainCount"]["AllowedValues"]:
                for warn in range(params["WarnAgeDays"]["MinValue"], params["WarnAgeDays"]["MaxValue"] + 1):
                    p = {"Retention": retention, "TierDays": tier, "RetainCount": retain,
                         "WarnAgeDays": str(warn), "ReservedSlots": "1"}
                    keeps_promise = retention == "newest" or (int(retain) >= 3 and 2 * int(tier) < warn)
                    assert rules_allow(template, "TieredRetentionFits", p) == keeps_promise, p
                    checked += 1
    assert checked == 2 * len(params["TierDays"]["AllowedValues"]) * 4 * 179
    # The defaults keep it, and the recommended tier fits the default WarnAgeDays.
    assert rules_allow(template, "TieredRetentionFits", {
        "Retention": "tiered", "TierDays": params["TierDays"]["Default"],
        "RetainCount": params["RetainCount"]["Default"], "WarnAgeDays": str(params["WarnAgeDays"]["Default"])})


def test_the_template_refuses_the_opt_out_value_as_the_discovery_tag():
    # ds-snapshot-keeper=excluded opts a directory out: as the opt-in value it would manage
    # nothing, silently (excluded directories are not counted as unmanaged).
    template, _ = decode(str(ROOT / "template.yaml"))
    [assertion] = template["Rules"]["DiscoveryTagIsNotTheOptOut"]["Assertions"]
    assert not rule_allows(assertion["Assert"], {"DiscoveryTagValue": "excluded"})
    for value in ("enabled", "", "excluded-not"):
        assert rule_allows(assertion["Assert"], {"DiscoveryTagValue": value}), value


# --- SAM and CDK say the same thing ----------------------------------------------------------


def features(case: Case) -> dict[str, Any]:
    r = case.resources
    policies = role_policies(r, keeper_role(r))
    # The directories differ per deployment (the emulator made them): compare the shape.
    policies = json.loads(json.dumps(policies).replace(case.managed, "<managed>"))
    statements = sorted(
        json.dumps({"Action": sorted(s["Action"] if isinstance(s["Action"], list) else [s["Action"]]),
                    "Resource": sorted(s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]),
                    "Condition": s.get("Condition")}, sort_keys=True)
        for p in policies for s in p["Statement"]
    )
    alarms = sorted(
        json.dumps({
            "metric": a["Properties"].get("MetricName") or sorted(
                m.get("MetricStat", {}).get("Metric", {}).get("MetricName", m.get("Expression", ""))
                for m in a["Properties"]["Metrics"]),
            "dimensions": sorted(d["Name"] for d in a["Properties"].get("Dimensions", [])),
            "threshold": float(a["Properties"]["Threshold"]),
            "comparison": a["Properties"]["ComparisonOperator"],
            "missing": a["Properties"].get("TreatMissingData"),
            "ok": bool(a["Properties"].get("OKActions")),
        }, sort_keys=True)
        for a in of_type(r, "AWS::CloudWatch::Alarm").values()
    )
    [schedule] = of_type(r, "AWS::Scheduler::Schedule").values()
    sp = schedule["Properties"]
    [fn] = of_type(r, "AWS::Lambda::Function").values()
    [queue] = of_type(r, "AWS::SQS::Queue").values()
    [topic] = of_type(r, "AWS::SNS::Topic").values()
    [logs] = of_type(r, "AWS::Logs::LogGroup").values()
    return {
        "iam": statements,
        "alarms": alarms,
        "dashboard": [json.loads(d["Properties"]["DashboardBody"]) for d in of_type(r, "AWS::CloudWatch::Dashboard").values()],
        "schedule": {k: sp.get(k) for k in ("ScheduleExpression", "ScheduleExpressionTimezone", "State", "Name")}
        | {"retry": sp["Target"].get("RetryPolicy"), "dlq": sp["Target"].get("DeadLetterConfig")},
        "encryption": {"topic": topic["Properties"].get("KmsMasterKeyId"), "queue": queue["Properties"].get("SqsManagedSseEnabled"),
                       "logs": logs["Properties"].get("KmsKeyId"), "env": fn["Properties"].get("KmsKeyArn")},
        "function": {k: fn["Properties"].get(k) for k in ("Runtime", "Architectures", "MemorySize", "Timeout",
                                                          "ReservedConcurrentExecutions")},
        "env": function_env(r),
    }


# Differences between the two that are expected, each with its reason.
EXPECTED_DIFFERENCES: dict[str, str] = {}


def test_retention_settings_reach_the_function(cases: list[Case]):
    by_name = {c.name: c for c in cases}
    for name in ("sam discovery, default tag", "cdk discovery, default tag", "cdk python, discovery, default tag"):
        env = function_env(by_name[name].resources)
        assert (env["RETENTION"], env["TIERS"]) == ("tiered", "35"), name
        # The restore-reach widget draws the reach the tier promises.
        [body] = [json.loads(d["Properties"]["DashboardBody"])
                  for d in of_type(by_name[name].resources, "AWS::CloudWatch::Dashboard").values()]
        lines = [a for w in body["widgets"] for a in w["properties"].get("annotations", {}).get("horizontal", [])]
        assert {"label": "tier reach (35 days)", "value": 35, "color": "#2ca02c"} in lines, name
    for name in ("sam one id", "cdk one id"):
        resources = by_name[name].resources
        assert function_env(resources)["RETENTION"] == "newest", name
        dashboards = json.dumps([d["Properties"]["DashboardBody"]
                                 for d in of_type(resources, "AWS::CloudWatch::Dashboard").values()])
        assert "tier reach" not in dashboards, name


@pytest.mark.parametrize("sam_name,cdk_name", [
    ("sam discovery, default tag", "cdk discovery, default tag"),
    ("sam one id", "cdk one id"),
    ("sam 25 ids", "cdk 25 ids"),
    ("sam discovery, default tag", "cdk python, discovery, default tag"),
])
def test_sam_and_cdk_deploy_the_same_thing(cases: list[Case], sam_name: str, cdk_name: str):
    by_name = {c.name: c for c in cases}
    sam, cdk = features(by_name[sam_name]), features(by_name[cdk_name])
    for f, c in ((sam, by_name[sam_name]), (cdk, by_name[cdk_name])):
        f["env"]["DIRECTORY_IDS"] = f["env"].get("DIRECTORY_IDS", "").replace(c.managed, "<managed>")
    differences = {k for k in sam if sam[k] != cdk[k] and k not in EXPECTED_DIFFERENCES}
    assert not differences, {k: (sam[k], cdk[k]) for k in differences}


# --- what the dashboard and the alarms read --------------------------------------------------


NAMESPACE = "DsSnapshotKeeper"
SEARCH = re.compile(r"SEARCH\('\{(?P<ns>[^,}]+),(?P<dims>[^}]+)\} MetricName=\"(?P<name>[^\"]+)\"'")


def emitted(lines: list[dict[str, Any]]) -> set[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """(namespace, metric, dimensions with their values) of every EMF metric in the lines,
    read the way CloudWatch reads the embedded metric format."""
    out = set()
    for line in lines:
        for directive in line.get("_aws", {}).get("CloudWatchMetrics", []):
            for dims in directive["Dimensions"]:
                for metric in directive["Metrics"]:
                    out.add((directive["Namespace"], metric["Name"], tuple(sorted((d, line[d]) for d in dims))))
    return out


def dashboard_references(resources: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    """(namespace, metric, dimensions) the dashboard reads; '*' for a SEARCH's any value."""
    refs = []
    for dash in of_type(resources, "AWS::CloudWatch::Dashboard").values():
        body = json.loads(dash["Properties"]["DashboardBody"])
        for widget in body["widgets"]:
            for row in widget["properties"].get("metrics", []):
                if isinstance(row[0], dict):
                    m = SEARCH.search(row[0]["expression"])
                    assert m, row
                    refs.append((m["ns"], m["name"], {d.strip(): "*" for d in m["dims"].split(",")}))
                else:
                    names = [c for c in row if isinstance(c, str)]
                    ns, name, rest = names[0], names[1], names[2:]
                    refs.append((ns, name, dict(zip(rest[::2], rest[1::2]))))
    return refs


def alarm_references(resources: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    refs = []
    for alarm in of_type(resources, "AWS::CloudWatch::Alarm").values():
        p = alarm["Properties"]
        stats = [p] if "MetricName" in p else [m["MetricStat"]["Metric"] for m in p.get("Metrics", []) if "MetricStat" in m]
        for m in stats:
            refs.append((m["Namespace"], m["MetricName"], {d["Name"]: d["Value"] for d in m.get("Dimensions", [])}))
    return refs


def test_every_metric_the_dashboard_and_alarms_read_is_one_the_function_emits(case: Case):
    """Checked against the EMF lines of a real run of the binary on the emulator: a widget or
    an alarm on a metric nobody emits (a typo, a dimension the function does not send) shows
    an empty graph, or an alarm stuck in INSUFFICIENT_DATA, or one that breaches for ever."""
    run = run_keeper(case.emu, function_env(case.resources))
    have = emitted(run.lines)
    dashboards = dashboard_references(case.resources)
    assert len(dashboards) >= 7, "the dashboard exists by default and reads the keeper's metrics"
    ours = [r for r in dashboards + alarm_references(case.resources) if r[0] == NAMESPACE]
    for ns, name, dims in ours:
        matches = [h for h in have if h[0] == ns and h[1] == name
                   and [d for d, _ in h[2]] == sorted(dims)
                   and all(want in ("*", value) for (_, value), want in zip(h[2], (dims[d] for d in sorted(dims))))]
        assert matches, f"{case.name}: {ns}/{name} {dims} is read but not emitted; emitted: {sorted(have)}"
    # The dashboard's log widget reads the function's own log group and the report's fields.
    [dash] = of_type(case.resources, "AWS::CloudWatch::Dashboard").values()
    [logs] = [w for w in json.loads(dash["Properties"]["DashboardBody"])["widgets"] if w["type"] == "log"]
    [group] = [k for k, r in case.resources.items() if r["Type"] == "AWS::Logs::LogGroup"]
    assert f"SOURCE '{case.names[group]}'" in logs["properties"]["query"]
    [report] = [l for l in run.lines if l.get("message") == "run report"]
    assert {"severity", "summary", "directories"} <= set(report["report"]), report["report"].keys()
    assert "failures" in report["report"]["summary"]


def test_the_dashboard_and_the_free_slots_alarm_can_be_turned_off():
    """Through the SAM transform and CloudFormation's conditions, as a deployment sees them."""
    on = render_sam({})
    off = render_sam({"Dashboard": "disabled", "AlarmOnLowFreeSlots": "disabled"})
    assert len(of_type(on, "AWS::CloudWatch::Dashboard")) == 1
    assert of_type(off, "AWS::CloudWatch::Dashboard") == {}
    low = [a for a in of_type(on, "AWS::CloudWatch::Alarm").values()
           if a["Properties"].get("MetricName") == "MinFreeManualSnapshotSlots"]
    assert len(low) == 1 and low[0]["Properties"]["Threshold"] in (1, "1"), low
    assert not [a for a in of_type(off, "AWS::CloudWatch::Alarm").values()
                if a["Properties"].get("MetricName") == "MinFreeManualSnapshotSlots"]


def test_the_restore_opt_in_adds_exactly_restore_on_the_managed_directories():
    """AllowRestore=enabled (SAM) and allowRestore (CDK) add ds:RestoreFromSnapshot, and the
    restore mark's ds:AddTagsToResource (test_restore_mark.py), and nothing else, on the managed
    directories only (IAM evaluator: allowed on the managed one, denied on any other, denied
    everywhere without the opt-in), and set ALLOW_RESTORE for the function."""
    managed, outsider = "d-1111111111", "d-2222222222"
    tag = {"ds-snapshot-keeper": "enabled"}
    rendered = {
        ("sam", "ids", False): render_sam({"DirectoryIds": managed}),
        ("sam", "ids", True): render_sam({"DirectoryIds": managed, "AllowRestore": "enabled"}),
        ("sam", "discovery", False): render_sam({}),
        ("sam", "discovery", True): render_sam({"AllowRestore": "enabled"}),
    }
    cdk = render_cdk({
        "idsOff": {"directoryIds": [managed]}, "idsOn": {"directoryIds": [managed], "allowRestore": True},
        "discoveryOff": {}, "discoveryOn": {"allowRestore": True},
    })
    rendered |= {("cdk", "ids", False): cdk["idsOff"], ("cdk", "ids", True): cdk["idsOn"],
                 ("cdk", "discovery", False): cdk["discoveryOff"], ("cdk", "discovery", True): cdk["discoveryOn"]}

    def granted(resources: dict[str, Any]) -> set[str]:
        out = set()
        for p in role_policies(resources, keeper_role(resources)):
            for s in p["Statement"]:
                out |= set(s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
        return out

    for (kind, scope, allow), resources in rendered.items():
        policies = role_policies(resources, keeper_role(resources))
        context = lambda d: {"aws:RequestedRegion": REGION, "aws:SecureTransport": "true",
                             **({f"aws:ResourceTag/{k}": v for k, v in tag.items()} if d == managed else {})}
        decisions = simulate_role(policies, [("ds:RestoreFromSnapshot", directory_arn(d), context(d))
                                             for d in (managed, outsider)])
        name = f"{kind} {scope} allow={allow}"
        assert (decisions[0] == "Allowed") == allow, (name, decisions)
        assert decisions[1] != "Allowed", (name, decisions)
        assert function_env(resources)["ALLOW_RESTORE"] == ("true" if allow else "false"), name
        if allow:
            assert granted(resources) - granted(rendered[(kind, scope, False)]) == {
                "ds:RestoreFromSnapshot", "ds:AddTagsToResource", "ds:RemoveTagsFromResource"}, name


OPERATOR_POLICY = ROOT / "docs" / "operator-restore-policy.json"


# The restore mark (test_restore_mark.py): the operator's restore sets it and clears it. The
# emulator's call log names no tag keys, so a tag write is evaluated as writing the mark, and
# the test checks, from the directory's tags before and after, that no other key changed.
RESTORE_MARK = "ds-snapshot-keeper:restore"
MARK_WRITES = {"ds:AddTagsToResource", "ds:RemoveTagsFromResource"}


def test_the_operators_restore_policy_allows_exactly_what_restore_and_points_call():
    """The README's least-privilege policy for the person who restores, evaluated by the IAM
    evaluator against the calls the real `restore` and `points` commands made on the emulator:
    every one allowed; the same writes on any other directory denied; nothing else granted but
    setting and clearing the restore mark."""
    with Emulator(region=REGION) as emu:
        managed = emu.new_directory({"ds-snapshot-keeper": "enabled"})
        other = emu.new_directory({})
        topic = new_topic(emu)
        seed_full_quota(emu, managed)  # the safety snapshot must make room: DeleteSnapshot too
        target = emu.client("ds").describe_snapshots(DirectoryId=managed)["Snapshots"][-1]["SnapshotId"]
        env = {"PATH": os.environ.get("PATH", ""), "AWS_ENDPOINT_URL": emu.endpoint, "AWS_REGION": REGION,
               "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "SNS_TOPIC_ARN": topic,
               "DISCOVERY_TAG": "ds-snapshot-keeper=enabled",
               "POLL_INITIAL_SECONDS": "0.05", "POLL_MAX_SECONDS": "0.2"}
        tag_keys = lambda: {t["Key"] for t in emu.client("ds").list_tags_for_resource(ResourceId=managed)["Tags"]}
        keys_before = tag_keys()
        before = len(emu.calls())
        for args in (["points"], ["restore", "--directory", managed, "--snapshot", target, "--yes"]):
            done = subprocess.run([str(KEEPER), *args], env=env, capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, (args, done.stderr[-2000:])
        calls = emu.calls()[before:]
        assert tag_keys() - {RESTORE_MARK} == keys_before - {RESTORE_MARK}, "a tag other than the mark changed"
    made = {f"{c['service']}:{c['operation']}" for c in calls}
    needed = {"ds:DescribeDirectories", "ds:DescribeSnapshots", "ds:ListTagsForResource", "ds:GetSnapshotLimits",
              "ds:CreateSnapshot", "ds:DeleteSnapshot", "ds:RestoreFromSnapshot", "sns:Publish"}
    assert needed <= made <= needed | MARK_WRITES, sorted(made)
    text = OPERATOR_POLICY.read_text().replace("REGION", REGION).replace("ACCOUNT", ACCOUNT)
    policy = json.loads(text.replace("DIRECTORY_ID", managed).replace("arn:aws:sns:eu-west-1:123456789012:TOPIC", topic))
    tags = {managed: {"ds-snapshot-keeper": "enabled"}, other: {}}
    requests = requests_of(calls, tags, topic)
    decisions = simulate_role([policy], requests)
    denied = [(a, r) for (a, r, _), d in zip(requests, decisions) if d != "Allowed"]
    assert denied == [], denied
    writes = {"ds:GetSnapshotLimits", "ds:CreateSnapshot", "ds:DeleteSnapshot", "ds:RestoreFromSnapshot"} | MARK_WRITES
    elsewhere = [r for r in requests_of(calls, tags, topic, retarget=other) if r[0] in writes]
    assert elsewhere and "Allowed" not in simulate_role([policy], elsewhere)
    granted = {a for s in policy["Statement"] for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
    assert granted == needed | MARK_WRITES, sorted(granted ^ (needed | MARK_WRITES))
