"""A Python CDK app using the published construct (the wheel jsii-pacmak builds from cdk/).

`make cdk-python` builds the wheel, installs it in a throwaway venv with this directory's
requirements, and synthesises this app; the deployment tests then put its template through
the same checks as the TypeScript construct's (tests/deploy/test_aws_semantics.py).

KEEPER_CODE_DIR is a build of your own (cargo lambda's output; a stub is enough to synthesise);
without it the function is the arm64 zip the released package carries. KEEPER_ACCOUNT and
KEEPER_REGION are the environment, CDK_OUTDIR where the template goes.
"""

import os

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from ds_snapshot_keeper_cdk import DiscoveryTag, DsSnapshotKeeper, KeeperConstants, LogLevel, NotifyLevel, Retention

app = cdk.App(outdir=os.environ.get("CDK_OUTDIR", "cdk.out.python"))
stack = cdk.Stack(
    app,
    "DsSnapshotKeeperPython",
    env=cdk.Environment(account=os.environ["KEEPER_ACCOUNT"], region=os.environ["KEEPER_REGION"]),
)
code_dir = os.environ.get("KEEPER_CODE_DIR")
keeper = DsSnapshotKeeper(
    stack,
    "Keeper",
    code=lambda_.Code.from_asset(code_dir) if code_dir else None,
    discovery_tag=DiscoveryTag(key=KeeperConstants.DEFAULT_DISCOVERY_TAG_KEY, value="enabled"),
    notify_level=NotifyLevel.ALL,
    log_level=LogLevel.INFO,
    # Restore points spread over time: the newest, and the first of this and of the previous
    # 35-day period (a point 35 to 70 days old).
    retention=Retention.TIERED,
    tiers=[35],
)
cdk.CfnOutput(stack, "DashboardName", value=keeper.dashboard.ref if keeper.dashboard else "none")
app.synth()
