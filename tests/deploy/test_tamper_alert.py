"""The tamper alert as EventBridge and IAM see it: the rule both templates deploy, matched
against CloudTrail records of the three calls it watches, and the permission that lets it
invoke the function.

What delivers these events, in AWS's words (docs/tamper-alert.md says what follows for a user):

* "AWS CloudTrail sends events originating from AWS Directory Service to EventBridge. AWS
  services deliver events to CloudTrail on a best effort basis." and the pattern to match them
  is `source: aws.ds`, `detail-type: AWS API Call via CloudTrail`, `detail.eventSource:
  ds.amazonaws.com` (Amazon EventBridge, "AWS Directory Service events",
  https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-ds.html).
* "To record events with one of the CloudTrail detail-type values, you must enable a
  CloudTrail trail with logging." (Amazon EventBridge User Guide, "AWS service events delivered
  via AWS CloudTrail",
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html).
* "Best effort delivery means that the service attempts to send all events to EventBridge,
  but in some rare cases an event might not be delivered." and "When an AWS service in your
  account emits an event, it goes to your account's default event bus." (Amazon EventBridge
  User Guide, "Events from AWS services",
  https://docs.aws.amazon.com/eventbridge/latest/userguide/event-types.html): the default bus
  of the Region the call was made in, so the stack's own Region.
* The rule's default state receives every event except read-only management events ("Enable
  the rule so that EventBridge matches events against the rule, except for read-only AWS
  management events delivered through CloudTrail", "Receiving read-only management events from
  AWS services",
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail-management.html);
  the three calls are writes.

How the rule is matched here: by moto's EventBridge (moto 5.2.5, pinned in
tests/emulator/requirements.txt, served by the project's emulator): PutRule with the pattern as
CloudFormation resolves it from each template, an SQS queue as its target, PutEvents for every
sample, and the queue says which arrived. moto is a reimplementation: AWS's own matcher is
aws/event-ruler, a Java library this machine's registries do not serve. So
test_the_matching_engine_keeps_eventbridges_documented_rules first holds moto to what AWS
documents for every operator the pattern uses (a field the pattern names must be in the event;
anything-but; exists: false on a leaf; $or); were moto to drift there, that test fails, not a
tamper case silently.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from test_aws_semantics import (
    ACCOUNT, CDK_PYTHON_TEMPLATE, FUNCTION_ARN, REGION, ROLE_ARN, STACKSET_TEMPLATE, _resolve, concrete, evaluate,
    of_type, placeholders, render_cdk, render_sam, render_stackset,
)

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests/support"))
from local_aws import Emulator  # noqa: E402

RULE_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/keeper-tamper-alert"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:keeper-alerts"

# Every sample, and whether the rule must hand it to the function.
SAMPLES = {
    # The keeper pruning its own snapshot: its role is the session issuer.
    "tamper-keeper-deletes-snapshot.json": False,
    # An IAM user's access key: no session issuer at all.
    "tamper-other-deletes-snapshot.json": True,
    # The operator's `ds-snapshot-keeper restore`: the rule cannot tell it from any other
    # restore; the function does, by the directory's restore mark.
    "tamper-cli-restore.json": True,
    # An administrator's restore from the console.
    "tamper-console-restore.json": True,
    # CloudFormation deleting the directory with its stack.
    "tamper-directory-deleted.json": True,
    # A deletion the lock refused (docs/lock.md): CloudTrail records the attempt, with its error.
    "tamper-delete-refused-by-lock.json": True,
}


def sample(name: str) -> dict[str, Any]:
    return json.loads((ROOT / "events" / name).read_text())


def keeper_role_of_the_samples() -> str:
    """The deployed keeper role the samples were recorded with."""
    return sample("tamper-keeper-deletes-snapshot.json")["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"]


# --- the samples: the event contract (docs/tamper-alert.md) ------------------------------------


def test_every_sample_is_a_cloudtrail_record_of_a_watched_call():
    """The samples are what EventBridge delivers for these calls, and keep the contract the
    function is written against: the envelope, the call, who made it, what it named."""
    assert sorted(p.name for p in (ROOT / "events").glob("tamper-*.json")) == sorted(SAMPLES)
    for name in SAMPLES:
        event = sample(name)
        assert {k: event[k] for k in ("version", "detail-type", "source", "account", "region", "resources")} == {
            "version": "0", "detail-type": "AWS API Call via CloudTrail", "source": "aws.ds",
            "account": ACCOUNT, "region": REGION, "resources": []}, name
        d = event["detail"]
        assert (d["eventSource"], d["awsRegion"], d["recipientAccountId"]) == ("ds.amazonaws.com", REGION, ACCOUNT), name
        assert (d["eventType"], d["eventCategory"], d["readOnly"], d["managementEvent"]) == (
            "AwsApiCall", "Management", False, True), name
        assert d["eventTime"] == event["time"], name
        named = {"DeleteSnapshot": "snapshotId", "RestoreFromSnapshot": "snapshotId", "DeleteDirectory": "directoryId"}
        assert list(d["requestParameters"]) == [named[d["eventName"]]], name
        who = d["userIdentity"]
        assert who["type"] in ("AssumedRole", "IAMUser", "Root"), name
        if who["type"] == "AssumedRole":
            issuer = who["sessionContext"]["sessionIssuer"]
            role_name = who["arn"].split("/")[1]
            assert issuer["arn"].endswith(f"/{role_name}") and issuer["userName"] == role_name, name
        else:
            assert "sessionContext" not in who, name
        # A call that failed carries its error and no response; RestoreFromSnapshot answers
        # nothing even when it succeeds; the other two answer with the id they were given.
        if "errorCode" in d:
            assert d["responseElements"] is None and d["errorMessage"], name
        elif d["eventName"] == "RestoreFromSnapshot":
            assert d["responseElements"] is None, name
        else:
            assert d["responseElements"] == d["requestParameters"], name
        for other in SAMPLES:
            if other != name:
                assert sample(other)["detail"]["eventID"] != d["eventID"], (name, other)


# --- the rule in each deployment -------------------------------------------------------------


def deployed(resources: dict[str, Any]) -> dict[str, Any]:
    """The resources with every reference replaced by the value AWS would give it."""
    names = placeholders(resources, TOPIC_ARN)
    for logical in of_type(resources, "AWS::Events::Rule"):
        names[logical], names[f"{logical}.Arn"] = "keeper-tamper-alert", RULE_ARN
    return concrete(resources, names)


@pytest.fixture(scope="module")
def deployments() -> dict[str, dict[str, Any]]:
    """Each way of deploying the keeper, with the tamper alert by default and turned off."""
    out = {"sam": render_sam({}), "sam, turned off": render_sam({"TamperAlert": "disabled"}),
           "sam, directory ids": render_sam({"DirectoryIds": "d-0123456789"})}
    cdk = render_cdk({"on": {}, "off": {"tamperAlert": False}, "ids": {"directoryIds": ["d-0123456789"]}})
    out |= {"cdk": cdk["on"], "cdk, turned off": cdk["off"], "cdk, directory ids": cdk["ids"]}
    if CDK_PYTHON_TEMPLATE.exists() or os.environ.get("REQUIRE_CDK"):
        out["cdk python"] = _resolve(json.loads(CDK_PYTHON_TEMPLATE.read_text()), {})
    if STACKSET_TEMPLATE.exists() or os.environ.get("REQUIRE_CDK"):
        out["stackset"] = render_stackset({})
    return {name: deployed(resources) for name, resources in out.items()}


def the_rule(resources: dict[str, Any]) -> dict[str, Any]:
    [rule] = of_type(resources, "AWS::Events::Rule").values()
    return rule["Properties"]


def test_the_rule_is_deployed_by_default_and_the_opt_out_removes_it(deployments):
    """One rule and one invoke permission by default, in both templates; none with
    TamperAlert=disabled (SAM) or tamperAlert: false (CDK)."""
    for name, resources in deployments.items():
        rules, permissions = of_type(resources, "AWS::Events::Rule"), of_type(resources, "AWS::Lambda::Permission")
        if name.endswith("turned off"):
            assert (rules, permissions) == ({}, {}), name
            continue
        assert len(rules) == 1 and len(permissions) == 1, name
        rule = the_rule(resources)
        assert rule["State"] == "ENABLED", name
        assert [t["Arn"] for t in rule["Targets"]] == [FUNCTION_ARN], name
        assert "EventBusName" not in rule, f"{name}: AWS's events reach the default bus only"


def test_sam_and_cdk_deploy_the_same_pattern(deployments):
    patterns = {name: the_rule(r)["EventPattern"] for name, r in deployments.items() if not name.endswith("turned off")}
    assert len(patterns) >= 4
    reference = patterns["sam"]
    for name, pattern in patterns.items():
        assert pattern == reference, name
    # The one reference in it is the keeper's role, resolved.
    assert json.dumps(reference).count(ROLE_ARN) == 1


def lambda_permission_policy(permission: dict[str, Any]) -> dict[str, Any]:
    """The function's resource policy statement that AWS::Lambda::Permission adds: Lambda turns
    SourceArn into `ArnLike AWS:SourceArn` and SourceAccount into `StringEquals
    AWS:SourceAccount` (AWS Lambda Developer Guide, "Granting Lambda function access to AWS
    services", https://docs.aws.amazon.com/lambda/latest/dg/permissions-function-services.html,
    shows the statement add-permission writes with --source-arn)."""
    conditions: dict[str, Any] = {}
    if "SourceArn" in permission:
        conditions["ArnLike"] = {"AWS:SourceArn": permission["SourceArn"]}
    if "SourceAccount" in permission:
        conditions["StringEquals"] = {"AWS:SourceAccount": permission["SourceAccount"]}
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": permission["Principal"]}, "Action": permission["Action"],
        "Resource": FUNCTION_ARN, **({"Condition": conditions} if conditions else {})}]}


def test_eventbridge_may_invoke_the_function_for_this_rule_only(deployments):
    """IAM evaluator: events.amazonaws.com invoking the function for the tamper rule is allowed;
    for any other rule, or as another service, it is not."""
    for name, resources in deployments.items():
        if name.endswith("turned off"):
            continue
        [permission] = [p["Properties"] for p in of_type(resources, "AWS::Lambda::Permission").values()]
        assert permission["FunctionName"] in (FUNCTION_ARN, "keeper-function"), name
        policy = lambda_permission_policy(permission)

        def invoke(principal: str, source_arn: str) -> dict[str, Any]:
            return {"identityPolicies": [], "resourcePolicy": policy, "principal": principal,
                    "action": "lambda:InvokeFunction", "resource": FUNCTION_ARN, "accountId": ACCOUNT,
                    "context": {"aws:SourceArn": source_arn, "aws:SourceAccount": ACCOUNT}}

        decisions = evaluate([
            invoke("events.amazonaws.com", RULE_ARN),
            invoke("events.amazonaws.com", f"arn:aws:events:{REGION}:{ACCOUNT}:rule/someone-elses-rule"),
            invoke("sns.amazonaws.com", RULE_ARN),
        ])
        assert decisions[0] == "Allowed", (name, decisions)
        assert "Allowed" not in decisions[1:], (name, decisions)


# --- the rule as EventBridge evaluates it -----------------------------------------------------


class Bus:
    """moto's EventBridge in a private emulator: rules with an SQS queue each as target."""

    def __init__(self, emu: Emulator):
        self.events, self.sqs = emu.client("events"), emu.client("sqs")
        self.rules = 0

    def rule(self, pattern: dict[str, Any]) -> str:
        """Put a rule on the default bus; its queue's URL."""
        self.rules += 1
        name = f"rule-{self.rules}"
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.events.put_rule(Name=name, EventPattern=json.dumps(pattern), State="ENABLED")
        self.events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn}])
        return url

    def put(self, event: dict[str, Any]) -> None:
        entry = {"Source": event["source"], "DetailType": event["detail-type"], "Detail": json.dumps(event["detail"]),
                 "Resources": event.get("resources", [])}
        answer = self.events.put_events(Entries=[entry])
        assert answer["FailedEntryCount"] == 0, answer

    def arrived(self, url: str) -> list[dict[str, Any]]:
        out = []
        while True:
            got = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            if not got:
                return out
            for m in got:
                out.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


@pytest.fixture(scope="module")
def bus() -> Iterator[Bus]:
    with Emulator(region=REGION) as emu:
        yield Bus(emu)


def matched(bus: Bus, pattern: dict[str, Any], events: list[dict[str, Any]]) -> list[bool]:
    """Which of the events the rule lets through, one rule per call (each event is told apart by
    a marker in its detail)."""
    url = bus.rule(pattern)
    for i, event in enumerate(events):
        event = copy.deepcopy(event)
        event["detail"]["_probe"] = i
        bus.put(event)
    through = {e["detail"]["_probe"] for e in bus.arrived(url)}
    return [i in through for i in range(len(events))]


def near_misses() -> dict[str, dict[str, Any]]:
    """Calls the rule must let pass by: each one change away from a sample it lets through."""
    other = sample("tamper-other-deletes-snapshot.json")
    console = sample("tamper-console-restore.json")
    keeper = sample("tamper-keeper-deletes-snapshot.json")
    out = {}
    ebs = copy.deepcopy(other)  # EC2's DeleteSnapshot: an EBS snapshot, not a directory's
    ebs["source"], ebs["detail"]["eventSource"] = "aws.ec2", "ec2.amazonaws.com"
    out["an EBS snapshot deleted (aws.ec2 DeleteSnapshot)"] = ebs
    create = copy.deepcopy(other)
    create["detail"]["eventName"] = "CreateSnapshot"
    out["another principal's CreateSnapshot"] = create
    describe = copy.deepcopy(console)
    describe["detail"]["eventName"], describe["detail"]["readOnly"] = "DescribeSnapshots", True
    out["a console DescribeSnapshots"] = describe
    keeper_restores = copy.deepcopy(keeper)  # the function's own restore action (AllowRestore)
    keeper_restores["detail"]["eventName"] = "RestoreFromSnapshot"
    out["the keeper's own restore action"] = keeper_restores
    return out


@pytest.mark.parametrize("deployment", ["sam", "sam, directory ids", "cdk", "cdk, directory ids", "cdk python", "stackset"])
def test_the_rule_as_eventbridge_matches_it(deployments, bus, deployment: str):
    """The deployed pattern, the keeper's role being the samples' one: every sample but the
    keeper's own deletion reaches the function, and none of the near misses does."""
    if deployment not in deployments:
        pytest.skip(f"{deployment} is not built (make cdk-python stackset)")
    text = json.dumps(the_rule(deployments[deployment])["EventPattern"])
    assert text.count(ROLE_ARN) == 1
    pattern = json.loads(text.replace(ROLE_ARN, keeper_role_of_the_samples()))

    names = sorted(SAMPLES)
    got = matched(bus, pattern, [sample(n) for n in names] + list(near_misses().values()))
    assert dict(zip(names, got)) == SAMPLES, deployment
    misses = dict(zip(near_misses(), got[len(names):]))
    assert not any(misses.values()), (deployment, misses)


def test_the_matching_engine_keeps_eventbridges_documented_rules(bus):
    """moto's matcher against what AWS documents for each operator the tamper pattern uses:

    * "For an event pattern to match an event, the event must contain all the field names
      listed in the event pattern." (Amazon EventBridge User Guide, "Event pattern syntax",
      https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern.html): an
      anything-but never matches an event without the field.
    * Anything-but "matches anything except what's provided in the rule"; exists: false
      matches an event without the field, and "only works on the leaf nodes"; "$or" matches
      when any of its branches does (aws/event-ruler's README, the matcher behind EventBridge,
      https://github.com/aws/event-ruler).
    """
    cases = [
        # (pattern detail, event detail, matches)
        ({"state": [{"anything-but": "initializing"}]}, {"state": "running"}, True),
        ({"state": [{"anything-but": "initializing"}]}, {"state": "initializing"}, False),
        ({"state": [{"anything-but": "initializing"}]}, {"other": "x"}, False),
        ({"a": {"b": [{"anything-but": "x"}]}}, {"a": {"c": "y"}}, False),
        ({"c-count": [{"exists": False}]}, {"state": "running"}, True),
        ({"c-count": [{"exists": False}]}, {"c-count": 5}, False),
        # The leaf is what counts: absent, whatever its parents (an IAM user has no
        # userIdentity.sessionContext at all).
        ({"a": {"b": {"c": [{"exists": False}]}}}, {"x": 1}, True),
        ({"a": {"b": {"c": [{"exists": False}]}}}, {"a": {"b": {"c": "y"}}}, False),
        ({"$or": [{"m": ["1"]}, {"n": ["2"]}]}, {"n": "2"}, True),
        ({"$or": [{"m": ["1"]}, {"n": ["2"]}]}, {"m": "2", "n": "1"}, False),
        ({"k": ["v"]}, {"k": "v", "extra": {"ignored": True}}, True),
    ]
    for pattern, detail, expected in cases:
        event = {"source": "aws.ds", "detail-type": "AWS API Call via CloudTrail", "detail": detail}
        got = matched(bus, {"source": ["aws.ds"], "detail": pattern}, [event])
        assert got == [expected], (pattern, detail)
