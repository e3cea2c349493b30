"""Conformance of the emulator with botocore's Directory Service model and AWS's documentation.

Every answer is validated against the operation's output shape (types, required members,
unknown members, enums, patterns, ranges), and every error code the extensions raise must be
one the model lists for that operation. Covered: the snapshot operations and RestoreFromSnapshot
(snapshots.py), DescribeSnapshots' order and pages (paging.py), directory tags (tags.py), and
the control plane's faults and its documentation (control.py, CONTROL.md). If the emulator
drifts from the real API, this fails.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import pytest
import regex
from botocore.model import OperationModel, Shape
from werkzeug.serving import make_server

from ds_emulator.server import build_app

REGION = "us-east-1"


@pytest.fixture(scope="module")
def endpoint():
    server = make_server("127.0.0.1", 0, build_app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.socket.getsockname()[1]}"
    server.shutdown()


@pytest.fixture()
def clients(endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    control(endpoint, "POST", "reset")
    make = lambda name: boto3.client(name, endpoint_url=endpoint, region_name=REGION)  # noqa: E731
    return make("ds"), make("ec2")


def control(endpoint: str, method: str, route: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{endpoint}/_emulator/{route}", data=data, method=method)
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def vpc_settings(ec2) -> dict[str, Any]:
    subnets = ec2.describe_subnets()["Subnets"]
    vpc = subnets[0]["VpcId"]
    by_az: dict[str, str] = {}
    for subnet in subnets:
        if subnet["VpcId"] == vpc:
            by_az.setdefault(subnet["AvailabilityZone"], subnet["SubnetId"])
    return {"VpcId": vpc, "SubnetIds": list(by_az.values())[:2]}


def managed_ad(ds, ec2) -> str:
    return ds.create_microsoft_ad(
        Name="corp.example.com", Password="Sup3r-Secret!", VpcSettings=vpc_settings(ec2)
    )["DirectoryId"]


def ad_connector(ds, ec2) -> str:
    settings = vpc_settings(ec2)
    return ds.connect_directory(
        Name="onprem.example.com",
        Password="Sup3r-Secret!",
        Size="Small",
        ConnectSettings={
            **settings,
            "CustomerDnsIps": ["10.0.0.10"],
            "CustomerUserName": "admin",
        },
    )["DirectoryId"]


# --- validation against the model -------------------------------------------------------------


def pattern_matches(pattern: str, value: str) -> bool:
    """A Smithy pattern, searched as ECMA-262 does (``$`` only at the very end), with
    ``\\p{..}`` classes, which ``re`` lacks and the third-party ``regex`` has."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return regex.search(pattern, value) is not None



def violations(value: Any, shape: Shape, path: str = "") -> list[str]:
    """Everything in ``value`` that the model's ``shape`` does not allow."""
    problems: list[str] = []
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: expected structure, got {type(value).__name__}"]
        for name in shape.required_members:
            if name not in value:
                problems.append(f"{path}.{name}: required member missing")
        for name, member in value.items():
            if name not in shape.members:
                problems.append(f"{path}.{name}: not in the model")
            else:
                problems += violations(member, shape.members[name], f"{path}.{name}")
    elif kind == "list":
        if not isinstance(value, list):
            return [f"{path}: expected list"]
        for i, item in enumerate(value):
            problems += violations(item, shape.member, f"{path}[{i}]")
    elif kind == "string":
        if not isinstance(value, str):
            return [f"{path}: expected string, got {type(value).__name__}"]
        meta = shape.metadata
        if shape.enum and value not in shape.enum:
            problems.append(f"{path}: {value!r} not in enum {shape.enum}")
        if "pattern" in meta and not pattern_matches(meta["pattern"], value):
            problems.append(f"{path}: {value!r} does not match {meta['pattern']}")
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: longer than {meta['max']}")
        if "min" in meta and len(value) < meta["min"]:
            problems.append(f"{path}: shorter than {meta['min']}")
    elif kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return [f"{path}: expected integer"]
        if "min" in shape.metadata and value < shape.metadata["min"]:
            problems.append(f"{path}: below {shape.metadata['min']}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            problems.append(f"{path}: expected boolean")
    elif kind == "timestamp":
        if not isinstance(value, datetime.datetime):
            problems.append(f"{path}: expected timestamp, got {value!r}")
    return problems


def op_model(ds, name: str) -> OperationModel:
    return ds.meta.service_model.operation_model(name)


def assert_conforms(ds, operation: str, response: dict[str, Any]) -> None:
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    problems = violations(body, op_model(ds, operation).output_shape, operation)
    assert not problems, "\n".join(problems)


def assert_modelled_error(ds, operation: str, call, expected_code: str) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as info:
        call()
    code = info.value.response["Error"]["Code"]
    modelled = [e.name for e in op_model(ds, operation).error_shapes]
    assert code == expected_code, info.value
    assert code in modelled, f"{code} is not an error of {operation} in the model: {modelled}"


# --- the operations ---------------------------------------------------------------------------


def test_create_describe_limits_delete_conform(clients):
    ds, ec2 = clients
    directory = managed_ad(ds, ec2)

    created = ds.create_snapshot(DirectoryId=directory, Name="keeper-2026-11-24T06-00-00Z")
    assert_conforms(ds, "CreateSnapshot", created)
    assert re.fullmatch(r"s-[0-9a-f]{10}", created["SnapshotId"])

    described = ds.describe_snapshots(DirectoryId=directory)
    assert_conforms(ds, "DescribeSnapshots", described)
    [snap] = described["Snapshots"]
    assert snap["SnapshotId"] == created["SnapshotId"]
    assert snap["Type"] == "Manual"
    assert snap["Name"] == "keeper-2026-11-24T06-00-00Z"
    age = datetime.datetime.now(datetime.timezone.utc) - snap["StartTime"]
    assert datetime.timedelta(0) <= age < datetime.timedelta(minutes=1)

    limits = ds.get_snapshot_limits(DirectoryId=directory)
    assert_conforms(ds, "GetSnapshotLimits", limits)
    assert limits["SnapshotLimits"] == {
        "ManualSnapshotsLimit": 5,
        "ManualSnapshotsCurrentCount": 1,
        "ManualSnapshotsLimitReached": False,
    }

    deleted = ds.delete_snapshot(SnapshotId=created["SnapshotId"])
    assert_conforms(ds, "DeleteSnapshot", deleted)
    assert ds.describe_snapshots(DirectoryId=directory)["Snapshots"] == []


def test_new_snapshot_is_creating_then_settles_as_queued(clients, endpoint):
    ds, ec2 = clients
    directory = managed_ad(ds, ec2)
    control(endpoint, "POST", "outcomes", {
        "directory_id": directory,
        "outcomes": [{"status": "Failed", "after_describes": 2}],
    })
    sid = ds.create_snapshot(DirectoryId=directory, Name="x")["SnapshotId"]
    first = ds.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]["Status"]
    second = ds.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]["Status"]
    assert (first, second) == ("Creating", "Failed")


def test_quota_counts_manual_only_and_is_reached_at_five(clients, endpoint):
    ds, ec2 = clients
    directory = managed_ad(ds, ec2)
    control(endpoint, "POST", "snapshots", {"directory_id": directory, "type": "Auto", "age_days": 1})
    for i in range(5):
        ds.create_snapshot(DirectoryId=directory, Name=f"n{i}")
        limits = ds.get_snapshot_limits(DirectoryId=directory)["SnapshotLimits"]
        assert limits["ManualSnapshotsCurrentCount"] == i + 1
        assert limits["ManualSnapshotsLimitReached"] is (i == 4)
    assert_modelled_error(
        ds, "CreateSnapshot",
        lambda: ds.create_snapshot(DirectoryId=directory, Name="sixth"),
        "SnapshotLimitExceededException",
    )
    assert len(ds.describe_snapshots(DirectoryId=directory)["Snapshots"]) == 6


def test_pagination_one_per_page_visits_every_snapshot_once(clients, endpoint):
    ds, ec2 = clients
    directory = managed_ad(ds, ec2)
    seeded = {
        control(endpoint, "POST", "snapshots", {"directory_id": directory, "age_days": d})["snapshot_id"]
        for d in (1, 2, 3, 4)
    }
    seen, token, pages = [], None, 0
    while True:
        kwargs = {"DirectoryId": directory, "Limit": 1}
        if token:
            kwargs["NextToken"] = token
        page = ds.describe_snapshots(**kwargs)
        assert_conforms(ds, "DescribeSnapshots", page)
        pages += 1
        seen += [s["SnapshotId"] for s in page["Snapshots"]]
        token = page.get("NextToken")
        if not token:
            break
    assert pages == 4
    assert sorted(seen) == sorted(seeded)
    assert_modelled_error(
        ds, "DescribeSnapshots",
        lambda: ds.describe_snapshots(DirectoryId=directory, NextToken="garbage"),
        "InvalidNextTokenException",
    )


def walk(ds, **query) -> list[dict[str, Any]]:
    """Every page of a DescribeSnapshots query, each checked against the model."""
    pages, token = [], None
    for _ in range(100):
        page = ds.describe_snapshots(**query, **({"NextToken": token} if token else {}))
        assert_conforms(ds, "DescribeSnapshots", page)
        pages.append(page)
        token = page.get("NextToken")
        if not token:
            return pages
    raise AssertionError("NextToken never ended")


def ids_of(pages: list[dict[str, Any]]) -> list[str]:
    return [s["SnapshotId"] for page in pages for s in page["Snapshots"]]


# Seeded in this order (the store's insertion order), with StartTimes in yet another order.
SEED_AGES = (3, 7, 1, 9, 5, 2, 8, 4, 6)


def seed_set(endpoint, directory) -> list[str]:
    return [
        control(endpoint, "POST", "snapshots", {"directory_id": directory, "age_days": age})["snapshot_id"]
        for age in SEED_AGES
    ]


def test_describe_snapshots_order_is_no_order_a_caller_could_rely_on(clients, endpoint):
    """AWS documents no order: the emulator's is neither creation, StartTime nor id order
    (nor any of them reversed), the same from one call to the next, and set by the order seed."""
    ds, ec2 = clients
    directory = managed_ad(ds, ec2)
    seeded = seed_set(endpoint, directory)
    by_start = [sid for _, sid in sorted(zip(SEED_AGES, seeded), reverse=True)]
    reliable = {
        "creation": seeded, "StartTime": by_start, "id": sorted(seeded),
    }
    listed = ids_of(walk(ds, DirectoryId=directory))
    seed = control(endpoint, "GET", "health")["order_seed"]
    assert sorted(listed) == sorted(seeded)
    for name, order in reliable.items():
        assert listed != order, f"{name} order (order seed {seed})"
        assert listed != order[::-1], f"reverse {name} order (order seed {seed})"
    assert ids_of(walk(ds, DirectoryId=directory)) == listed, "stable between calls"
    # The seed decides it: another seed, another order; the first seed again, the first order.
    try:
        control(endpoint, "POST", "order", {"seed": seed + 1})
        assert ids_of(walk(ds, DirectoryId=directory)) != listed
        control(endpoint, "POST", "order", {"seed": seed})
        assert ids_of(walk(ds, DirectoryId=directory)) == listed
    finally:
        control(endpoint, "POST", "order", {"seed": seed})


def test_limited_pages_can_be_short_and_still_carry_a_token(clients, endpoint):
    """botocore's model: a page "contains less than the number of items specified in the Limit
    member ... if the limitations of the operation have been exceeded". A walk through every
    NextToken still yields every snapshot exactly once."""
    ds, ec2 = clients
    directory = managed_ad(ds, ec2)
    seeded = seed_set(endpoint, directory)
    pages = walk(ds, DirectoryId=directory, Limit=3)
    sizes = [len(p["Snapshots"]) for p in pages]
    assert all(1 <= n <= 3 for n in sizes), sizes
    assert any(n < 3 and "NextToken" in p for n, p in zip(sizes, pages)), sizes
    listed = ids_of(pages)
    assert len(listed) == len(set(listed)), f"a snapshot listed twice: {listed}"
    assert sorted(listed) == sorted(seeded)
    # A set that fits in one page comes in one page.
    [whole] = walk(ds, DirectoryId=directory, Limit=len(seeded))
    assert sorted(ids_of([whole])) == sorted(seeded)
    # By ids: the same guarantees.
    chosen = seeded[:5]
    by_ids = walk(ds, SnapshotIds=chosen, Limit=2)
    assert sorted(ids_of(by_ids)) == sorted(chosen)
    assert len(by_ids[0]["Snapshots"]) == 1 and "NextToken" in by_ids[0], "the first page is short"


def test_a_snapshot_deleted_between_pages_moves_no_other_one(clients, endpoint):
    ds, ec2 = clients
    directory = managed_ad(ds, ec2)
    seeded = seed_set(endpoint, directory)
    first = ds.describe_snapshots(DirectoryId=directory, Limit=3)
    seen = [s["SnapshotId"] for s in first["Snapshots"]]
    gone = next(sid for sid in seeded if sid not in seen)
    ds.delete_snapshot(SnapshotId=gone)
    token, after = first["NextToken"], []
    while token:
        page = ds.describe_snapshots(DirectoryId=directory, Limit=3, NextToken=token)
        after += [s["SnapshotId"] for s in page["Snapshots"]]
        token = page.get("NextToken")
    assert sorted(seen + after) == sorted(set(seeded) - {gone})


def test_a_next_token_of_another_query_or_none_at_all_is_refused(clients, endpoint):
    ds, ec2 = clients
    directory, other = managed_ad(ds, ec2), managed_ad(ds, ec2)
    seed_set(endpoint, directory)
    token = ds.describe_snapshots(DirectoryId=directory, Limit=2)["NextToken"]
    for query in (
        {"DirectoryId": directory, "NextToken": "garbage"},
        {"DirectoryId": directory, "NextToken": token[:-4] + "AAA="},
        {"DirectoryId": other, "NextToken": token},
        {"NextToken": token},
    ):
        assert_modelled_error(
            ds, "DescribeSnapshots", lambda: ds.describe_snapshots(**query), "InvalidNextTokenException"
        )


def test_errors_are_those_of_the_model(clients):
    ds, ec2 = clients
    directory = managed_ad(ds, ec2)
    connector = ad_connector(ds, ec2)
    missing = "d-0000000000"
    cases = [
        ("CreateSnapshot", lambda: ds.create_snapshot(DirectoryId=missing), "EntityDoesNotExistException"),
        ("DescribeSnapshots", lambda: ds.describe_snapshots(DirectoryId=missing), "EntityDoesNotExistException"),
        ("GetSnapshotLimits", lambda: ds.get_snapshot_limits(DirectoryId=missing), "EntityDoesNotExistException"),
        ("DeleteSnapshot", lambda: ds.delete_snapshot(SnapshotId="s-0000000000"), "EntityDoesNotExistException"),
        ("DescribeSnapshots", lambda: ds.describe_snapshots(SnapshotIds=["s-0000000000"]), "EntityDoesNotExistException"),
        ("CreateSnapshot", lambda: ds.create_snapshot(DirectoryId=connector), "ClientException"),
        ("CreateSnapshot", lambda: ds.create_snapshot(DirectoryId=directory, Name="-leading-dash"), "InvalidParameterException"),
        ("CreateSnapshot", lambda: ds.create_snapshot(DirectoryId=directory, Name="x" * 129), "InvalidParameterException"),
        ("CreateSnapshot", lambda: ds.create_snapshot(DirectoryId=directory, Name="bad\x07bell"), "InvalidParameterException"),
    ]
    for operation, call, code in cases:
        assert_modelled_error(ds, operation, call, code)


KEEPER_OPERATIONS = (
    "DescribeDirectories", "DescribeSnapshots", "GetSnapshotLimits", "ListTagsForResource",
    "CreateSnapshot", "DeleteSnapshot",
)


def test_the_model_has_no_throttling_error_so_the_default_throttle_is_a_client_exception(clients, endpoint):
    """botocore's Directory Service model (ds/2015-04-16/service-2.json): none of the
    operations the keeper calls lists a throttling error; each lists ClientException. So the
    emulator's default throttle is ClientException "Rate exceeded", a modeled error of every
    one of them, and ThrottlingException is available as a second shape."""
    ds, ec2 = clients
    for operation in KEEPER_OPERATIONS:
        errors = [e.name for e in op_model(ds, operation).error_shapes]
        assert "ClientException" in errors, (operation, errors)
        assert not [e for e in errors if "hrottl" in e], (operation, errors)
    directory = managed_ad(ds, ec2)
    no_retry = boto3.client(
        "ds", endpoint_url=endpoint, region_name=REGION,
        config=botocore.config.Config(retries={"total_max_attempts": 1}),
    )
    control(endpoint, "POST", "faults", {"operation": "GetSnapshotLimits", "kind": "throttle", "count": 1})
    with pytest.raises(botocore.exceptions.ClientError) as info:
        no_retry.get_snapshot_limits(DirectoryId=directory)
    error = info.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("ClientException", "Rate exceeded")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    control(endpoint, "POST", "faults", {
        "operation": "GetSnapshotLimits", "kind": "throttle", "shape": "ThrottlingException", "count": 1,
    })
    with pytest.raises(botocore.exceptions.ClientError) as info:
        no_retry.get_snapshot_limits(DirectoryId=directory)
    assert info.value.response["Error"]["Code"] == "ThrottlingException"
    with pytest.raises(urllib.error.HTTPError):
        control(endpoint, "POST", "faults", {"operation": "*", "kind": "throttle", "shape": "SlowDown"})


def test_non_active_directory_cannot_be_snapshotted(clients, endpoint):
    ds, ec2 = clients
    directory = managed_ad(ds, ec2)
    control(endpoint, "POST", "directory", {"directory_id": directory, "stage": "Impaired"})
    assert_modelled_error(
        ds, "CreateSnapshot", lambda: ds.create_snapshot(DirectoryId=directory), "ClientException"
    )


def test_seed_and_age_move_start_times(clients, endpoint):
    ds, ec2 = clients
    directory = managed_ad(ds, ec2)
    sid = control(endpoint, "POST", "snapshots", {
        "directory_id": directory, "name": "old", "status": "Completed", "age_days": 170,
    })["snapshot_id"]
    [before] = ds.describe_directories(DirectoryIds=[directory])["DirectoryDescriptions"]
    control(endpoint, "POST", "age", {"days": 11})
    [snap] = ds.describe_snapshots(SnapshotIds=[sid])["Snapshots"]
    age = datetime.datetime.now(datetime.timezone.utc) - snap["StartTime"]
    assert datetime.timedelta(days=181) - datetime.timedelta(minutes=1) < age < datetime.timedelta(days=181, minutes=1)
    # The directory ages with its snapshots (LaunchTime, what "created N days ago" reads).
    [after] = ds.describe_directories(DirectoryIds=[directory])["DirectoryDescriptions"]
    assert before["LaunchTime"] - after["LaunchTime"] == datetime.timedelta(days=11)


def test_faults_and_call_log(clients, endpoint):
    ds, ec2 = clients
    directory = managed_ad(ds, ec2)
    control(endpoint, "POST", "faults", {"operation": "GetSnapshotLimits", "kind": "service", "count": 1})
    no_retry = boto3.client(
        "ds", endpoint_url=endpoint, region_name=REGION,
        config=botocore.config.Config(retries={"total_max_attempts": 1}),
    )
    with pytest.raises(botocore.exceptions.ClientError) as info:
        no_retry.get_snapshot_limits(DirectoryId=directory)
    assert info.value.response["Error"]["Code"] == "ServiceException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    # count=1: the next call goes through
    assert_conforms(ds, "GetSnapshotLimits", no_retry.get_snapshot_limits(DirectoryId=directory))
    calls = [c for c in control(endpoint, "GET", "calls") if c["operation"] == "GetSnapshotLimits"]
    assert [(c["status"], c["fault"], c["directory_id"]) for c in calls] == [
        (500, "service", directory), (200, None, directory),
    ]


def test_deleting_a_directory_removes_its_snapshots(clients):
    ds, ec2 = clients
    directory = managed_ad(ds, ec2)
    sid = ds.create_snapshot(DirectoryId=directory)["SnapshotId"]
    ds.describe_snapshots(DirectoryId=directory)  # settles it to Completed
    ds.delete_directory(DirectoryId=directory)
    assert_modelled_error(
        ds, "DeleteSnapshot", lambda: ds.delete_snapshot(SnapshotId=sid), "EntityDoesNotExistException"
    )


def test_the_validator_itself_catches_drift(clients):
    """The shape checker must be able to fail, or the tests above prove nothing."""
    ds, _ = clients
    shape = op_model(ds, "DescribeSnapshots").output_shape
    bad = {"Snapshots": [{"SnapshotId": "snap-1", "Type": "Weekly", "Status": "Done",
                          "StartTime": "yesterday", "Extra": 1}]}
    problems = "\n".join(violations(bad, shape, "DescribeSnapshots"))
    for needle in ("does not match", "'Weekly' not in enum", "'Done' not in enum",
                   "expected timestamp", "Extra: not in the model"):
        assert needle in problems, problems


def test_rate_limited_throttling_lets_the_rate_through(clients, endpoint):
    ds, ec2 = clients
    directory = managed_ad(ds, ec2)
    rate = 2
    control(endpoint, "POST", "faults", {"operation": "*", "service": "ds", "kind": "throttle",
                                         "rate_per_second": rate})
    no_retry = boto3.client("ds", endpoint_url=endpoint, region_name=REGION,
                            config=botocore.config.Config(retries={"total_max_attempts": 1}))
    outcomes = []
    start = time.monotonic()
    while len(outcomes) < 40 and outcomes.count("ok") == len(outcomes):  # until one is throttled
        try:
            no_retry.get_snapshot_limits(DirectoryId=directory)
            outcomes.append("ok")
        except botocore.exceptions.ClientError as e:
            outcomes.append(e.response["Error"]["Code"])
    for _ in range(6):  # and a few more, into the throttled burst
        try:
            no_retry.get_snapshot_limits(DirectoryId=directory)
            outcomes.append("ok")
        except botocore.exceptions.ClientError as e:
            outcomes.append(e.response["Error"]["Code"])
    elapsed = time.monotonic() - start
    # The bucket starts full: the first `rate` calls pass, then `rate` more per second the burst
    # lasted (measured here, so a loaded machine's slower burst is allowed for, not guessed).
    assert rate <= outcomes.count("ok") <= rate + rate * elapsed + 1, (outcomes, elapsed)
    assert set(outcomes) == {"ok", "ClientException"}, "the default throttle shape"


def test_lost_answer_carries_the_call_out_and_drops_the_reply(clients, endpoint):
    ds, ec2 = clients
    directory = managed_ad(ds, ec2)
    control(endpoint, "POST", "faults", {"operation": "CreateSnapshot", "kind": "lost_answer", "count": 1})
    quiet = boto3.client(
        "ds",
        endpoint_url=endpoint,
        region_name=REGION,
        config=botocore.config.Config(retries={"total_max_attempts": 1}),
    )
    with pytest.raises(
        (botocore.exceptions.ConnectionClosedError, botocore.exceptions.EndpointConnectionError)
    ):
        quiet.create_snapshot(DirectoryId=directory, Name="lost-1")
    snapshots = ds.describe_snapshots(DirectoryId=directory)["Snapshots"]
    assert [s["Name"] for s in snapshots] == ["lost-1"], "AWS did the work; the caller never heard"
    calls = control(endpoint, "GET", "calls")
    assert [c["fault"] for c in calls if c["operation"] == "CreateSnapshot"] == ["lost_answer"]


def test_sns_publish_to_a_topic_in_another_region_is_refused_as_sns_does(clients, endpoint):
    central = boto3.client("sns", endpoint_url=endpoint, region_name="eu-central-1")
    topic = central.create_topic(Name="alerts")["TopicArn"]
    here = boto3.client("sns", endpoint_url=endpoint, region_name=REGION)
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        here.publish(TopicArn=topic, Message="hello")
    error = caught.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("InvalidParameter", "Invalid parameter: TopicArn")
    # The code is one the Publish model lists (InvalidParameterException's wire code).
    publish = here.meta.service_model.operation_model("Publish")
    codes = {e.metadata.get("error", {}).get("code", e.name) for e in publish.error_shapes}
    assert "InvalidParameter" in codes
    # In its own Region the same call goes through.
    assert central.publish(TopicArn=topic, Message="hello")["MessageId"]


def test_sns_fifo_topics_need_a_message_group_as_sns_says(clients, endpoint):
    sns = boto3.client("sns", endpoint_url=endpoint, region_name=REGION)
    topic = sns.create_topic(Name="alerts.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        sns.publish(TopicArn=topic, Message="hello", MessageDeduplicationId="d1")
    assert "MessageGroupId" in caught.value.response["Error"]["Message"]
    assert sns.publish(
        TopicArn=topic, Message="hello", MessageGroupId="g", MessageDeduplicationId="d1"
    )["MessageId"]


# --- directory tags -----------------------------------------------------------------------------

RESTORE_MARK = "ds-snapshot-keeper:restore"
MARK_VALUE = (
    "target=s-0123456789 safety=s-0123456789 set=2026-12-06T03:00:00Z until=2026-12-06T09:00:00Z "
    "by=arn:aws:sts::123456789012:assumed-role/x/y"
)


def tags_of(ds, directory: str) -> dict[str, str]:
    answer = ds.list_tags_for_resource(ResourceId=directory)
    assert_conforms(ds, "ListTagsForResource", answer)
    assert "NextToken" not in answer, "50 tags at most: one page"
    return {t["Key"]: t["Value"] for t in answer["Tags"]}


def test_the_restore_mark_is_set_overwritten_and_cleared(clients):
    ds, ec2 = clients
    directory = managed_ad(ds, ec2)
    assert_conforms(ds, "AddTagsToResource", ds.add_tags_to_resource(
        ResourceId=directory, Tags=[{"Key": RESTORE_MARK, "Value": MARK_VALUE}, {"Key": "team", "Value": "id"}],
    ))
    assert tags_of(ds, directory) == {RESTORE_MARK: MARK_VALUE, "team": "id"}
    # "Adds or overwrites": the same key again replaces the value, and adds no second tag.
    later = MARK_VALUE.replace("03:00:00Z", "04:00:00Z")
    ds.add_tags_to_resource(ResourceId=directory, Tags=[{"Key": RESTORE_MARK, "Value": later}])
    assert tags_of(ds, directory) == {RESTORE_MARK: later, "team": "id"}
    assert_conforms(ds, "RemoveTagsFromResource", ds.remove_tags_from_resource(
        ResourceId=directory, TagKeys=[RESTORE_MARK, "never-set"],
    ))
    assert tags_of(ds, directory) == {"team": "id"}


def model_allows(shape: Shape, text: str) -> bool:
    """The oracle: the model's own length bounds and pattern (through ``regex``)."""
    meta = shape.metadata
    return meta.get("min", 0) <= len(text) <= meta["max"] and pattern_matches(meta["pattern"], text)


# (text, allowed as a key, allowed as a value), each checked against the model's own bounds and
# pattern as well as against the emulator.
TAG_TEXTS = [
    ("", False, True),
    ("k" * 128, True, True),
    ("k" * 129, False, True),
    ("v" * 256, False, True),
    ("v" * 257, False, False),
    ("Zürich 東京 ٣ Ⅻ ½ a\u00a0b c\u2003d e\u2028f", True, True),  # L, N (Nd Nl No), Z (Zs Zl)
    ("_.:/=+-@ 09", True, True),
    ("tab\there", False, False),  # Cc is not \p{Z}, whatever \s says
    ("new\nline", False, False),
    ("trailing newline\n", False, False),
    ("e\u0301", False, False),  # a combining mark (Mn) is no letter
    ("a#b", False, False),
    ("a*b", False, False),
    ("smile\U0001F600", False, False),  # So
]


def test_tag_keys_and_values_follow_the_model(clients, endpoint):
    ds, ec2 = clients
    directory = managed_ad(ds, ec2)
    # boto3 would refuse the empty key itself; the Rust SDK sends it. The emulator must refuse it.
    ds = boto3.client("ds", endpoint_url=endpoint, region_name=REGION,
                      config=botocore.config.Config(parameter_validation=False))
    key_shape = op_model(ds, "AddTagsToResource").input_shape.members["Tags"].member.members["Key"]
    value_shape = op_model(ds, "AddTagsToResource").input_shape.members["Tags"].member.members["Value"]
    for text, as_key, as_value in TAG_TEXTS:
        assert model_allows(key_shape, text) == as_key, ("the table disagrees with the model", text)
        assert model_allows(value_shape, text) == as_value, ("the table disagrees with the model", text)
    for text, as_key, as_value in TAG_TEXTS:
        for tag, ok in (({"Key": text, "Value": "v"}, as_key), ({"Key": "k", "Value": text}, as_value)):
            call = lambda: ds.add_tags_to_resource(ResourceId=directory, Tags=[tag])  # noqa: E731
            if ok:
                call()
                assert tags_of(ds, directory)[tag["Key"]] == tag["Value"]
            else:
                assert_modelled_error(ds, "AddTagsToResource", call, "InvalidParameterException")
        ds.remove_tags_from_resource(ResourceId=directory, TagKeys=list(tags_of(ds, directory)))
        call = lambda: ds.remove_tags_from_resource(ResourceId=directory, TagKeys=[text])  # noqa: E731
        if as_key:
            call()
        else:
            assert_modelled_error(ds, "RemoveTagsFromResource", call, "InvalidParameterException")
    # The Tag documentation: a key "cannot be prefixed with aws:".
    assert_modelled_error(
        ds, "AddTagsToResource",
        lambda: ds.add_tags_to_resource(ResourceId=directory, Tags=[{"Key": "aws:x", "Value": "v"}]),
        "InvalidParameterException",
    )
    # One bad tag and the request changes nothing.
    assert_modelled_error(
        ds, "AddTagsToResource",
        lambda: ds.add_tags_to_resource(
            ResourceId=directory, Tags=[{"Key": "fine", "Value": "v"}, {"Key": "bad#", "Value": "v"}]
        ),
        "InvalidParameterException",
    )
    assert tags_of(ds, directory) == {}


def test_the_emulators_character_class_is_the_models():
    """Every assigned code point: the emulator's category check (unicodedata) against the
    model's class as the ``regex`` module reads it."""
    from ds_emulator import tags
    import unicodedata

    model_class = regex.compile(r"[\p{L}\p{Z}\p{N}_.:/=+\-@]")
    differ = [
        f"U+{cp:04X}" for cp in range(0x110000)
        if not 0xD800 <= cp <= 0xDFFF and unicodedata.category(chr(cp)) != "Cn"
        and tags.allowed(chr(cp)) != bool(model_class.fullmatch(chr(cp)))
    ]
    assert not differ, differ[:20]


def test_a_directory_holds_at_most_50_tags(clients):
    """AddTagsToResource: "Each directory can have a maximum of 50 tags": counted on the
    directory, not per request; a key already there counts once."""
    ds, ec2 = clients
    directory = managed_ad(ds, ec2)
    too_many = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
    assert_modelled_error(
        ds, "AddTagsToResource", lambda: ds.add_tags_to_resource(ResourceId=directory, Tags=too_many),
        "TagLimitExceededException",
    )
    assert tags_of(ds, directory) == {}
    ds.add_tags_to_resource(ResourceId=directory, Tags=too_many[:30])
    ds.add_tags_to_resource(ResourceId=directory, Tags=too_many[30:50])
    ds.add_tags_to_resource(ResourceId=directory, Tags=[{"Key": "k0", "Value": "overwritten"}])
    assert len(tags_of(ds, directory)) == 50
    assert_modelled_error(
        ds, "AddTagsToResource",
        lambda: ds.add_tags_to_resource(ResourceId=directory, Tags=[{"Key": RESTORE_MARK, "Value": MARK_VALUE}]),
        "TagLimitExceededException",
    )
    after = tags_of(ds, directory)
    assert len(after) == 50 and RESTORE_MARK not in after and after["k0"] == "overwritten"
    ds.remove_tags_from_resource(ResourceId=directory, TagKeys=["k49"])
    ds.add_tags_to_resource(ResourceId=directory, Tags=[{"Key": RESTORE_MARK, "Value": MARK_VALUE}])
    assert tags_of(ds, directory)[RESTORE_MARK] == MARK_VALUE


def test_tags_of_no_directory_are_refused_as_the_model_says(clients):
    ds, ec2 = clients
    managed_ad(ds, ec2)
    tag = [{"Key": RESTORE_MARK, "Value": MARK_VALUE}]
    for resource, code in (("d-0000000000", "EntityDoesNotExistException"), ("nope", "InvalidParameterException")):
        assert_modelled_error(
            ds, "AddTagsToResource", lambda: ds.add_tags_to_resource(ResourceId=resource, Tags=tag), code
        )
        assert_modelled_error(
            ds, "RemoveTagsFromResource",
            lambda: ds.remove_tags_from_resource(ResourceId=resource, TagKeys=[RESTORE_MARK]), code,
        )
        assert_modelled_error(
            ds, "ListTagsForResource", lambda: ds.list_tags_for_resource(ResourceId=resource), code
        )


# --- faults for the restore's tests -----------------------------------------------------------


def impatient(endpoint, read_timeout: float | None = None):
    """A ds client that tries once, and gives up on an answer after ``read_timeout``."""
    extra = {"read_timeout": read_timeout} if read_timeout else {}
    return boto3.client("ds", endpoint_url=endpoint, region_name=REGION, config=botocore.config.Config(
        retries={"total_max_attempts": 1}, **extra,
    ))


def arm(endpoint, **fault) -> None:
    control(endpoint, "POST", "faults", fault)


def completed_snapshot(ds, directory: str) -> str:
    sid = ds.create_snapshot(DirectoryId=directory, Name="before-change")["SnapshotId"]
    ds.describe_snapshots(SnapshotIds=[sid])  # settles it Completed
    return sid


def stage_of(ds, directory: str) -> str:
    return ds.describe_directories(DirectoryIds=[directory])["DirectoryDescriptions"][0]["Stage"]


def eventually(check, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def test_latency_delays_a_call_that_still_takes_effect(clients, endpoint):
    ds, ec2 = clients
    directory = managed_ad(ds, ec2)
    sid = completed_snapshot(ds, directory)
    arm(endpoint, operation="DeleteSnapshot", kind="latency", latency_ms=600, count=1)
    started = time.monotonic()
    ds.delete_snapshot(SnapshotId=sid)
    assert time.monotonic() - started >= 0.6
    assert ds.describe_snapshots(DirectoryId=directory)["Snapshots"] == []
    # A caller that gives up first: the call still happens, once the delay is over.
    arm(endpoint, operation="CreateSnapshot", kind="latency", latency_ms=800, count=1)
    with pytest.raises(botocore.exceptions.ReadTimeoutError):
        impatient(endpoint, read_timeout=0.2).create_snapshot(DirectoryId=directory, Name="late")
    assert ds.describe_snapshots(DirectoryId=directory)["Snapshots"] == [], "not yet: it waits first"
    names = lambda: [s["Name"] for s in ds.describe_snapshots(DirectoryId=directory)["Snapshots"]]  # noqa: E731
    assert eventually(lambda: names() == ["late"])


def test_slow_answer_takes_effect_at_once_and_answers_late(clients, endpoint):
    ds, ec2 = clients
    directory = managed_ad(ds, ec2)
    sid = completed_snapshot(ds, directory)
    arm(endpoint, operation="RestoreFromSnapshot", kind="slow_answer", latency_ms=1500, count=1)
    started = time.monotonic()
    with pytest.raises(botocore.exceptions.ReadTimeoutError):
        impatient(endpoint, read_timeout=0.3).restore_from_snapshot(SnapshotId=sid)
    assert stage_of(ds, directory) == "Restoring"
    assert time.monotonic() - started < 1.5, "the restore started before its answer was due"
    calls = [c for c in control(endpoint, "GET", "calls") if c["operation"] == "RestoreFromSnapshot"]
    assert [(c["status"], c["fault"]) for c in calls] == [(200, "slow_answer")]
    # A patient caller gets the answer, late.
    control(endpoint, "POST", "restore-outcome", {"directory_id": directory, "after_describes": 1})
    stage_of(ds, directory)
    arm(endpoint, operation="RestoreFromSnapshot", kind="slow_answer", latency_ms=500, count=1)
    started = time.monotonic()
    assert_conforms(ds, "RestoreFromSnapshot", ds.restore_from_snapshot(SnapshotId=sid))
    assert time.monotonic() - started >= 0.5


def test_lost_answer_can_be_a_5xx_after_the_call_took_effect(clients, endpoint):
    ds, ec2 = clients
    directory = managed_ad(ds, ec2)
    arm(endpoint, operation="CreateSnapshot", kind="lost_answer", http_status=500, count=1)
    with pytest.raises(botocore.exceptions.ClientError) as info:
        impatient(endpoint).create_snapshot(DirectoryId=directory, Name="done-anyway")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert info.value.response["Error"]["Code"] == "ServiceException"
    assert "ServiceException" in [e.name for e in op_model(ds, "CreateSnapshot").error_shapes]
    assert [s["Name"] for s in ds.describe_snapshots(DirectoryId=directory)["Snapshots"]] == ["done-anyway"]
    # The same for a restore, with the line dropped instead.
    sid = ds.describe_snapshots(DirectoryId=directory)["Snapshots"][0]["SnapshotId"]
    arm(endpoint, operation="RestoreFromSnapshot", kind="lost_answer", count=1)
    with pytest.raises((botocore.exceptions.ConnectionClosedError, botocore.exceptions.EndpointConnectionError)):
        impatient(endpoint).restore_from_snapshot(SnapshotId=sid)
    assert stage_of(ds, directory) == "Restoring"


def test_a_refused_call_changes_nothing(clients, endpoint):
    ds, ec2 = clients
    directory = managed_ad(ds, ec2)
    sid = completed_snapshot(ds, directory)
    control(endpoint, "POST", "faults", {
        "operation": "RestoreFromSnapshot", "kind": "error", "error_code": "ClientException", "count": 1,
    })
    assert_modelled_error(
        ds, "RestoreFromSnapshot", lambda: impatient(endpoint).restore_from_snapshot(SnapshotId=sid), "ClientException"
    )
    calls = [c for c in control(endpoint, "GET", "calls") if c["operation"] == "RestoreFromSnapshot"]
    assert [(c["status"], c["fault"]) for c in calls] == [(400, "error")]
    assert stage_of(ds, directory) == "Active"


def test_describe_directories_is_throttled_n_times_then_answers(clients, endpoint):
    ds, ec2 = clients
    managed_ad(ds, ec2)
    arm(endpoint, operation="DescribeDirectories", kind="throttle", count=3)
    once = impatient(endpoint)
    outcomes = []
    for _ in range(4):
        try:
            once.describe_directories()
            outcomes.append("ok")
        except botocore.exceptions.ClientError as e:
            error = e.response["Error"]
            outcomes.append((e.response["ResponseMetadata"]["HTTPStatusCode"], error["Code"], error["Message"]))
    assert outcomes == [(400, "ClientException", "Rate exceeded")] * 3 + ["ok"]
    [armed] = control(endpoint, "GET", "faults")
    assert (armed["operation"], armed["hits"], armed["count"]) == ("DescribeDirectories", 3, 3)
    assert control(endpoint, "DELETE", "faults") == {"disarmed": 1}
    assert control(endpoint, "GET", "faults") == []


def test_access_denied_is_what_iam_answers_for_the_service(clients, endpoint):
    """Directory Service speaks the JSON protocol: an IAM refusal is HTTP 400, __type
    AccessDeniedException (a shape of its model, with no status of its own: 400). SNS's model
    gives its own: AuthorizationError, 403."""
    ds, ec2 = clients
    directory = managed_ad(ds, ec2)
    sid = completed_snapshot(ds, directory)
    shape = ds.meta.service_model.shape_for("AccessDeniedException")
    status = shape.metadata.get("error", {}).get("httpStatusCode", 400)
    arm(endpoint, operation="RestoreFromSnapshot", kind="access_denied", count=1)
    with pytest.raises(botocore.exceptions.ClientError) as info:
        impatient(endpoint).restore_from_snapshot(SnapshotId=sid)
    error = info.value.response["Error"]
    answered = (info.value.response["ResponseMetadata"]["HTTPStatusCode"], error["Code"])
    assert answered == (status, "AccessDeniedException") == (400, "AccessDeniedException")
    assert (
        f"is not authorized to perform: ds:RestoreFromSnapshot on resource: "
        f"arn:aws:ds:{REGION}:123456789012:directory/{directory}"
    ) in error["Message"]
    assert stage_of(ds, directory) == "Active"
    sns = boto3.client("sns", endpoint_url=endpoint, region_name=REGION)
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    arm(endpoint, operation="Publish", kind="access_denied", count=1)
    with pytest.raises(botocore.exceptions.ClientError) as info:
        sns.publish(TopicArn=topic, Message="hello")
    denied = sns.meta.service_model.shape_for("AuthorizationErrorException").metadata["error"]
    assert (info.value.response["ResponseMetadata"]["HTTPStatusCode"], info.value.response["Error"]["Code"]) == (
        denied["httpStatusCode"], denied["code"],
    )


def test_faults_are_refused_when_they_say_too_little(endpoint):
    for body in (
        {"operation": "CreateSnapshot", "kind": "latency"},
        {"operation": "CreateSnapshot", "kind": "slow_answer", "latency_ms": 0},
        {"operation": "CreateSnapshot", "kind": "error"},
        {"operation": "CreateSnapshot", "kind": "explode"},
        {"operation": "CreateSnapshot", "kind": "service", "colour": "red"},
    ):
        with pytest.raises(urllib.error.HTTPError) as info:
            control(endpoint, "POST", "faults", body)
        assert info.value.code == 400, body


def test_every_control_route_and_fault_is_documented():
    """control.py's docstring and CONTROL.md, against the routes and faults the code has."""
    from ds_emulator import control

    reference = (Path(__file__).parent / "CONTROL.md").read_text()
    routes = {f"{method} /_emulator/{route}" for method, route in control.ROUTES}
    assert set(re.findall(r"`((?:GET|POST|DELETE) /_emulator/[a-z-]+)", reference)) == routes
    assert set(re.findall(r"``((?:GET|POST|DELETE) /_emulator/[a-z-]+)", control.__doc__)) == routes
    for kind in control.FAULT_KINDS:
        assert f"| `{kind}` |" in reference, kind
        assert f"``{kind}``" in control.Fault.__doc__, kind
    for field in control.FAULT_FIELDS:
        assert f"`{field}`" in reference, field


# --- RestoreFromSnapshot ------------------------------------------------------------------------


def test_restore_goes_restoring_then_active_and_conforms(clients, endpoint):
    """botocore: RestoreFromSnapshot {SnapshotId} -> {} (an empty structure); progress shows only
    as DescribeDirectories' Stage, Active -> Restoring -> Active, with StageLastUpdatedDateTime."""
    ds, ec2 = clients
    directory = managed_ad(ds, ec2)
    sid = ds.create_snapshot(DirectoryId=directory, Name="before-change")["SnapshotId"]
    ds.describe_snapshots(SnapshotIds=[sid])  # settles it Completed
    before = ds.describe_directories(DirectoryIds=[directory])["DirectoryDescriptions"][0]
    answer = ds.restore_from_snapshot(SnapshotId=sid)
    assert_conforms(ds, "RestoreFromSnapshot", answer)
    assert {k: v for k, v in answer.items() if k != "ResponseMetadata"} == {}
    stages = []
    # moto's own description breaks the model elsewhere (Alias, DesiredNumberOfDomainControllers):
    # the fields the restore moves are checked against the model's DirectoryDescription.
    shape = op_model(ds, "DescribeDirectories").output_shape.members["DirectoryDescriptions"].member
    for _ in range(2):
        d = ds.describe_directories(DirectoryIds=[directory])["DirectoryDescriptions"][0]
        for key in ("Stage", "StageReason", "StageLastUpdatedDateTime"):
            if key in d:
                assert not violations(d[key], shape.members[key], key), (key, d[key])
        stages.append(d)
    assert [s["Stage"] for s in stages] == ["Restoring", "Active"]
    assert stages[0]["StageLastUpdatedDateTime"] >= before["StageLastUpdatedDateTime"]
    assert stages[1]["StageLastUpdatedDateTime"] >= stages[0]["StageLastUpdatedDateTime"]


def test_a_failed_restore_says_why(clients, endpoint):
    ds, ec2 = clients
    directory = managed_ad(ds, ec2)
    sid = ds.create_snapshot(DirectoryId=directory, Name="before-change")["SnapshotId"]
    ds.describe_snapshots(SnapshotIds=[sid])
    control(endpoint, "POST", "restore-outcome", {
        "directory_id": directory, "stage": "RestoreFailed", "reason": "Snapshot restore failed", "after_describes": 1,
    })
    ds.restore_from_snapshot(SnapshotId=sid)
    d = ds.describe_directories(DirectoryIds=[directory])["DirectoryDescriptions"][0]
    assert (d["Stage"], d["StageReason"]) == ("RestoreFailed", "Snapshot restore failed")
    # A RestoreFailed directory may be restored again (AWS: "retry the restore operation").
    ds.restore_from_snapshot(SnapshotId=sid)
    assert ds.describe_directories(DirectoryIds=[directory])["DirectoryDescriptions"][0]["Stage"] == "Restoring"


def test_restore_errors_are_those_of_the_model(clients, endpoint):
    ds, ec2 = clients
    directory = managed_ad(ds, ec2)
    creating = ds.create_snapshot(DirectoryId=directory, Name="still-creating")["SnapshotId"]
    control(endpoint, "POST", "outcomes", {"directory_id": directory, "outcomes": [{"status": "Completed", "after_describes": 99}]})
    old = control(endpoint, "POST", "snapshots", {
        "directory_id": directory, "name": "old", "type": "Manual", "status": "Completed", "age_days": 181,
    })["snapshot_id"]
    cases = [
        (lambda: ds.restore_from_snapshot(SnapshotId="s-0000000000"), "EntityDoesNotExistException"),
        (lambda: ds.restore_from_snapshot(SnapshotId="not-an-id"), "InvalidParameterException"),
        # Undocumented in AWS's guide; the conservative shape: refused, nothing starts.
        (lambda: ds.restore_from_snapshot(SnapshotId=old), "ClientException"),
    ]
    for call, code in cases:
        assert_modelled_error(ds, "RestoreFromSnapshot", call, code)
    del creating
    # A directory type that has no snapshots to restore (AD Connector): ClientException.
    connector = ad_connector(ds, ec2)
    control(endpoint, "POST", "directory", {"directory_id": connector, "stage": "Active"})
    # The API refuses to snapshot an AD Connector: the snapshot is seeded into the store.
    seeded = control(endpoint, "POST", "snapshots", {
        "directory_id": connector, "name": "seeded", "type": "Manual", "status": "Completed", "age_days": 1,
    })["snapshot_id"]
    assert_modelled_error(ds, "RestoreFromSnapshot", lambda: ds.restore_from_snapshot(SnapshotId=seeded), "ClientException")
    control(endpoint, "POST", "directory", {"directory_id": directory, "stage": "Impaired"})
    sid = control(endpoint, "POST", "snapshots", {
        "directory_id": directory, "name": "fine", "type": "Manual", "status": "Completed", "age_days": 1,
    })["snapshot_id"]
    assert_modelled_error(ds, "RestoreFromSnapshot", lambda: ds.restore_from_snapshot(SnapshotId=sid), "ClientException")


def test_forked_emulators_each_have_state_and_ids_of_their_own(monkeypatch):
    """`python -m ds_emulator --forks` (what the Python suites start their emulators from): each
    `start` is a server of its own, with its own directories and its own random ids (a fork
    shares its parent's random state unless it reseeds), and all of them stop when the asker
    closes their stdin. Each logs its order seed on stderr; DS_EMULATOR_ORDER_SEED fixes it."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("DS_EMULATOR_ORDER_SEED", "4242")
    forks = subprocess.Popen(
        [sys.executable, "-m", "ds_emulator", "--forks", "--quiet"], cwd=Path(__file__).parent,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        started = []
        for _ in range(2):
            forks.stdin.write("start\n")
            forks.stdin.flush()
            line = forks.stdout.readline().split()
            assert line[0] == "READY", line
            started.append((line[1], int(line[2])))
        forks.stdin.write("stop\n")
        forks.stdin.flush()
        assert forks.stdout.readline().startswith("FAILED unknown request 'stop'")

        made = {}
        for endpoint, _ in started:
            ds = boto3.client("ds", endpoint_url=endpoint, region_name=REGION)
            ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name=REGION)
            made[endpoint] = [managed_ad(ds, ec2)]
        ids = [d for endpoint in made for d in made[endpoint]]
        assert len(set(ids)) == 2, f"forks handed out the same ids: {made}"
        for endpoint, mine in made.items():
            ds = boto3.client("ds", endpoint_url=endpoint, region_name=REGION)
            seen = sorted(d["DirectoryId"] for d in ds.describe_directories()["DirectoryDescriptions"])
            assert seen == sorted(mine), (endpoint, seen, made)
            assert control(endpoint, "GET", "health")["order_seed"] == 4242
    finally:
        forks.stdin.close()
        forks.wait(timeout=30)
    deadline = time.monotonic() + 10
    alive = lambda pid: os.path.exists(f"/proc/{pid}") and "Z" not in open(f"/proc/{pid}/stat").read().split()[2]  # noqa: E731
    while any(alive(pid) for _, pid in started) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for _, pid in started), "the forked emulators outlived the forks server"
    logged = forks.stderr.read()
    assert logged.count("order seed 4242 ") == 2, logged
