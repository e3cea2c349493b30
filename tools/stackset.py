"""Build the StackSet template from template.yaml: `make stackset` writes
target/stackset/template-stackset.json.

A service-managed StackSet cannot use a template that references a macro, and the SAM
transform is one; Lambda takes its code only from a bucket in the function's own Region. So
the StackSet template is template.yaml with two changes and nothing else:

* the function's code comes from `s3://<CodeBucketPrefix>-<Region>/<CodeKey>`: one bucket per
  Region holding the same zip under the same key (two new parameters);
* the SAM transform is applied here, offline, by aws-sam-translator (what `sam deploy`
  runs), so the result is plain CloudFormation.

tests/deploy/test_aws_semantics.py resolves it for two Regions, evaluates its IAM for the
keeper's calls, and holds it to template.yaml's own rendering except for the code location.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from prebuilt_template import prebuilt
from samtranslator.translator.transform import transform

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "target" / "stackset" / "template-stackset.json"

CODE_PARAMETERS = {
    "CodeBucketPrefix": {
        "Type": "String",
        "Description": (
            "The function's code is read from the bucket <CodeBucketPrefix>-<Region> in each "
            "Region (Lambda reads code only from its own Region), for example keeper-artifacts "
            "for keeper-artifacts-eu-west-1."
        ),
        "AllowedPattern": "^[a-z0-9][a-z0-9.-]{1,40}[a-z0-9]$",
        "ConstraintDescription": "3-42 characters of a bucket name: lowercase letters, digits, dots and hyphens",
    },
    "CodeKey": {
        "Type": "String",
        "Default": "ds-snapshot-keeper/bootstrap.zip",
        "Description": (
            "The key of cargo lambda's zip (cargo lambda build --release --arm64 --output-format zip) "
            "in every Region's bucket. Upload each release under a new key and update the StackSet "
            "with it: CloudFormation replaces the code only when the key changes."
        ),
        "AllowedPattern": "^[A-Za-z0-9!_.*'()/-]{1,1024}\\.zip$",
        "ConstraintDescription": "an S3 key ending in .zip",
    },
}


class _NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


def build() -> dict[str, Any]:
    template = prebuilt({
        "Bucket": {"Fn::Sub": "${CodeBucketPrefix}-${AWS::Region}"},
        "Key": {"Ref": "CodeKey"},
    })
    template["Parameters"] = {**CODE_PARAMETERS, **template["Parameters"]}
    groups = template.get("Metadata", {}).get("AWS::CloudFormation::Interface", {}).get("ParameterGroups")
    if groups:
        groups.insert(0, {"Label": {"default": "Code (one bucket per Region)"},
                          "Parameters": list(CODE_PARAMETERS)})
    # The Serverless Application Repository entry belongs to template.yaml, not to a StackSet.
    template.get("Metadata", {}).pop("AWS::ServerlessRepo::Application", None)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    out = transform(template, {}, _NoManagedPolicies())
    out["Description"] = template.get("Description", "") + " (StackSet edition: built by tools/stackset.py)"
    return out


if __name__ == "__main__":
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(build(), indent=1, sort_keys=False) + "\n")
    print(OUT.relative_to(ROOT), file=sys.stderr)
