"""The released SAM template: deployable with no build step. `sam package` from the release
folder uploads the zip beside it (and the LICENSE and README the Serverless Application
Repository metadata names) to S3, here the emulator's, and what it writes is a template
`sam deploy` takes: the SAM transform, run offline by `sam validate`, accepts it.

`sam publish` needs the Serverless Application Repository, which the emulator does not have:
docs/install.md gives the command, not run here.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

from conftest import ROOT
from local_aws import Emulator

SAM = ROOT / "tests/sam/.venv/bin/sam"


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms (`!Ref`...) kept as plain values."""


CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def test_the_template_names_the_zip_beside_it_and_builds_nothing(dist: Path, version: str) -> None:
    template = yaml.load((dist / "template.yaml").read_text(), Loader=CfnLoader)
    function = template["Resources"]["KeeperFunction"]
    assert function["Properties"]["CodeUri"] == f"ds-snapshot-keeper-{version}-lambda-arm64.zip"
    assert "BuildMethod" not in function.get("Metadata", {})
    sar = template["Metadata"]["AWS::ServerlessRepo::Application"]
    assert sar["SemanticVersion"] == version
    for local in (sar["LicenseUrl"], sar["ReadmeUrl"]):
        assert (dist / local).is_file(), local
    source = yaml.load((ROOT / "template.yaml").read_text(), Loader=CfnLoader)
    assert set(template["Resources"]) == set(source["Resources"])
    assert template["Parameters"].keys() == source["Parameters"].keys()


def test_sam_package_uploads_the_zip_and_the_result_is_deployable(dist: Path, version: str, tmp_path: Path) -> None:
    packaged = tmp_path / "packaged.yaml"
    with Emulator() as emu:
        s3 = emu.client("s3")
        s3.create_bucket(Bucket="keeper-artifacts")
        env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "SAM_CLI_TELEMETRY": "0",
               "AWS_ENDPOINT_URL": emu.endpoint, "AWS_DEFAULT_REGION": emu.region,
               "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        done = subprocess.run([str(SAM), "package", "--template-file", str(dist / "template.yaml"),
                               "--s3-bucket", "keeper-artifacts", "--s3-prefix", f"ds-snapshot-keeper/{version}",
                               "--output-template-file", str(packaged)], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]
        template = yaml.load(packaged.read_text(), Loader=CfnLoader)
        uploaded = {}
        for where in (template["Resources"]["KeeperFunction"]["Properties"]["CodeUri"],
                      template["Metadata"]["AWS::ServerlessRepo::Application"]["LicenseUrl"],
                      template["Metadata"]["AWS::ServerlessRepo::Application"]["ReadmeUrl"]):
            assert where.startswith("s3://keeper-artifacts/"), where
            key = where.removeprefix("s3://keeper-artifacts/")
            uploaded[where] = s3.get_object(Bucket="keeper-artifacts", Key=key)["Body"].read()
    code, license_, readme = uploaded.values()
    assert code == (dist / f"ds-snapshot-keeper-{version}-lambda-arm64.zip").read_bytes()
    assert license_ == (dist / "LICENSE").read_bytes()
    assert readme == (dist / "README.md").read_bytes()

    validated = subprocess.run([str(SAM), "validate", "--template", str(packaged)], capture_output=True, text=True,
                               env={**env, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "is a valid SAM Template" in validated.stdout + validated.stderr
