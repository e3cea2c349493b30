"""The Python baseline for `make bench`: a Lambda function on boto3 that makes the calls the
keeper's `report` makes over one directory (DescribeDirectories, DescribeSnapshots,
GetSnapshotLimits) and answers with what it saw. It speaks the Runtime API directly, as a
custom runtime would, so exec to first response compares like with like: interpreter start,
boto3 import and client creation (at init, as Python functions do), then the calls.
"""

import json
import os
import urllib.request

import boto3

API = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime"
DS = boto3.client("ds")
DIRECTORY = os.environ["DIRECTORY_IDS"]

while True:
    with urllib.request.urlopen(f"{API}/invocation/next") as r:
        request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
        json.loads(r.read())
    directory = DS.describe_directories(DirectoryIds=[DIRECTORY])["DirectoryDescriptions"][0]
    snapshots = DS.describe_snapshots(DirectoryId=DIRECTORY)["Snapshots"]
    limits = DS.get_snapshot_limits(DirectoryId=DIRECTORY)["SnapshotLimits"]
    body = json.dumps({"directory": directory["DirectoryId"], "snapshots": len(snapshots),
                       "manual": limits["ManualSnapshotsCurrentCount"]}).encode()
    urllib.request.urlopen(urllib.request.Request(f"{API}/invocation/{request_id}/response", data=body))
