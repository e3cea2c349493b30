"""The deletion lock (docs/lock.md), evaluated by the IAM evaluator (iam_eval.js, on
@cloud-copilot/iam-simulate, which evaluates service control policies and permissions
boundaries as well as identity policies).

The lock denies ds:DeleteSnapshot, ds:RestoreFromSnapshot and ds:DeleteDirectory on the managed
directories to everyone but the keeper's role (DeleteSnapshot only: pruning is its job) and a
named break-glass role. Three ways to apply it, each evaluated here for the same four
principals: the keeper, the break-glass role, an administrator with AdministratorAccess, and an
operator with docs/operator-restore-policy.json.

* docs/lock-scp.json as a service control policy, beside FullAWSAccess at the root and the
  account: "If a permission is blocked at any level above the account, either implicitly ... or
  explicitly (by being included in a Deny policy statement), a user or role in the affected
  account can't use that permission, even if the account administrator attaches the
  AdministratorAccess IAM policy" (AWS Organizations User Guide, "Service control policies",
  https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html).
* docs/lock-identity-policy.json attached to each principal's identity policies.
* The same statements with an allow-all statement, as a permissions boundary.

aws:PrincipalArn is the role's ARN, not the session's: for an IAM role the request context
holds `arn:aws:iam::<account>:role/<path><name>`, and the key is in the context of every signed
request (IAM User Guide, "AWS global condition context keys", aws:PrincipalArn,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html). The
evaluator takes the context as given, so each request here carries it as AWS would fill it in.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from test_aws_semantics import ACCOUNT, OPERATOR_POLICY, REGION, evaluate, keeper_role, render_sam, role_policies

ROOT = Path(__file__).resolve().parents[2]
LOCK_SCP = ROOT / "docs" / "lock-scp.json"
LOCK_IDENTITY_POLICY = ROOT / "docs" / "lock-identity-policy.json"

MANAGED, UNLOCKED = "d-1111111111", "d-2222222222"
KEEPER_ROLE_NAME = "ds-snapshot-keeper-KeeperRole-Q2W3E4R5T6Y7"
BREAK_GLASS_ROLE_NAME = "ds-restore-break-glass"
WATCHED = ["ds:DeleteSnapshot", "ds:RestoreFromSnapshot", "ds:DeleteDirectory"]

# AWS's managed policies: the SCP FullAWSAccess, attached to every root, OU and account unless
# replaced, and the IAM policy AdministratorAccess.
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def filled(path: Path) -> dict[str, Any]:
    """A lock document with its placeholders replaced, as docs/lock.md tells the reader to."""
    text = path.read_text()
    for placeholder, value in (("KEEPER_ROLE_NAME", KEEPER_ROLE_NAME), ("BREAK_GLASS_ROLE_NAME", BREAK_GLASS_ROLE_NAME),
                               ("DIRECTORY_ID", MANAGED), ("REGION", REGION), ("ACCOUNT", ACCOUNT)):
        text = text.replace(placeholder, value)
    assert not [w for w in ("_NAME", "_ID", "REGION", "ACCOUNT") if w in text], text
    return json.loads(text)


class Principal:
    def __init__(self, name: str, role: str, session: str, policies: list[dict[str, Any]]):
        self.name, self.policies = name, policies
        self.role_arn = f"arn:aws:iam::{ACCOUNT}:role/{role}"
        self.session_arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/{role.rsplit('/', 1)[-1]}/{session}"


@pytest.fixture(scope="module")
def principals() -> dict[str, Principal]:
    # The keeper's own policy as template.yaml deploys it, with the restore opt-in: its policy
    # allows RestoreFromSnapshot, so a denial of it is the lock's.
    keeper = render_sam({"DirectoryIds": MANAGED, "AllowRestore": "enabled"})
    operator = json.loads(OPERATOR_POLICY.read_text().replace("REGION", REGION).replace("ACCOUNT", ACCOUNT)
                          .replace("DIRECTORY_ID", MANAGED))
    return {p.name: p for p in (
        Principal("keeper", KEEPER_ROLE_NAME, "ds-snapshot-keeper-KeeperFunction-A1B2C3D4E5F6",
                  role_policies(keeper, keeper_role(keeper))),
        Principal("break-glass", BREAK_GLASS_ROLE_NAME, "jane.doe@example.com", [ALLOW_ALL]),
        Principal("administrator",
                  "aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_AdministratorAccess_9f8e7d6c5b4a3f2e",
                  "sam.roe@example.com", [ALLOW_ALL]),
        Principal("operator", "aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_DirectoryRestore_0a1b2c3d4e5f6a7b",
                  "jane.doe@example.com", [operator]),
        # Not the keeper: a role whose name only begins like the keeper's.
        Principal("keeper look-alike", f"{KEEPER_ROLE_NAME}-copy", "mallory", [ALLOW_ALL]),
    )}


# What the lock lets each principal do on a managed directory.
EXPECTED = {
    "keeper": {"ds:DeleteSnapshot": "Allowed", "ds:RestoreFromSnapshot": "ExplicitlyDenied",
               "ds:DeleteDirectory": "ExplicitlyDenied"},
    "break-glass": {a: "Allowed" for a in WATCHED},
    "administrator": {a: "ExplicitlyDenied" for a in WATCHED},
    "operator": {a: "ExplicitlyDenied" for a in WATCHED},
    "keeper look-alike": {a: "ExplicitlyDenied" for a in WATCHED},
}


def decisions(principals: dict[str, Principal], directory: str, scps: list[list[dict[str, Any]]] | None = None,
              identity: dict[str, Any] | None = None, boundary: dict[str, Any] | None = None) -> dict[str, dict[str, str]]:
    """Each principal's decision for each watched call on `directory`, with the lock applied as
    SCPs (one list per level, the root first), an identity policy, or a permissions boundary."""
    sims, keys = [], []
    for p in principals.values():
        for action in WATCHED:
            sim = {"identityPolicies": p.policies + ([identity] if identity else []), "principal": p.session_arn,
                   "action": action, "resource": f"arn:aws:ds:{REGION}:{ACCOUNT}:directory/{directory}",
                   "accountId": ACCOUNT,
                   "context": {"aws:PrincipalArn": p.role_arn, "aws:PrincipalAccount": ACCOUNT,
                               "aws:RequestedRegion": REGION, "aws:SecureTransport": "true"}}
            if scps:
                sim["serviceControlPolicies"] = scps
            if boundary:
                sim["permissionBoundaries"] = [boundary]
            sims.append(sim)
            keys.append((p.name, action))
    out: dict[str, dict[str, str]] = {}
    for (name, action), result in zip(keys, evaluate(sims)):
        out.setdefault(name, {})[action] = result
    return out


def test_as_a_service_control_policy(principals):
    """docs/lock-scp.json at the root, FullAWSAccess at the root and at the account: the keeper
    prunes, the break-glass role does all three, nobody else does any, administrators included."""
    scps = [[ALLOW_ALL, filled(LOCK_SCP)], [ALLOW_ALL]]
    assert decisions(principals, MANAGED, scps=scps) == EXPECTED


def test_as_an_identity_policy(principals):
    """docs/lock-identity-policy.json attached to every principal (the exemptions make that
    safe for the keeper and the break-glass role): the same decisions as the SCP."""
    assert decisions(principals, MANAGED, identity=filled(LOCK_IDENTITY_POLICY)) == EXPECTED


def test_as_a_permissions_boundary(principals):
    """The identity policy's statements and an allow-all statement, as docs/lock.md shows it, as
    every principal's permissions boundary: the same decisions again."""
    lock = filled(LOCK_IDENTITY_POLICY)
    boundary = {"Version": "2012-10-17",
                "Statement": [{"Sid": "EverythingTheIdentityPoliciesAllow", **ALLOW_ALL["Statement"][0]}]
                + lock["Statement"]}
    assert decisions(principals, MANAGED, boundary=boundary) == EXPECTED


def test_the_lock_is_what_denies(principals):
    """The checks can fail: without the lock the administrator does all three, and the lock
    leaves a directory it does not name alone."""
    without = decisions(principals, MANAGED, scps=[[ALLOW_ALL], [ALLOW_ALL]])
    assert without["administrator"] == {a: "Allowed" for a in WATCHED}
    assert without["keeper"]["ds:RestoreFromSnapshot"] == "Allowed"
    elsewhere = decisions(principals, UNLOCKED, scps=[[ALLOW_ALL, filled(LOCK_SCP)], [ALLOW_ALL]])
    assert elsewhere["administrator"] == {a: "Allowed" for a in WATCHED}


def test_the_two_documents_say_the_same_and_fit_an_scp():
    """One lock, two ways to attach it: the statements are the same, and the SCP fits the
    5,120-character limit of a service control policy (AWS Organizations User Guide, "Quotas
    and service limits for AWS Organizations", maximum size of a policy document)."""
    assert json.loads(LOCK_SCP.read_text()) == json.loads(LOCK_IDENTITY_POLICY.read_text())
    assert len(json.dumps(json.loads(LOCK_SCP.read_text()), separators=(",", ":"))) <= 5120
    statements = json.loads(LOCK_SCP.read_text())["Statement"]
    assert {s["Effect"] for s in statements} == {"Deny"}
    assert sorted(a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])) \
        == sorted(WATCHED)
