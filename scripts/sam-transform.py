#!/usr/bin/env python3
"""Transform a SAM template into the CloudFormation that `sam deploy` submits.

Usage: sam-transform.py template.yaml output.json

Uses aws-sam-translator (installed with cfn-lint), offline: the template's
functions use explicit roles, so no managed policy has to be looked up (a
template that needs one fails here with a clear message instead).
"""
import json
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class OfflinePolicies:
    """A managed-policy loader that refuses to reach IAM."""

    def load(self):
        raise SystemExit("sam-transform: the template needs AWS managed policy ARNs, which cannot be looked up offline")


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    with open(sys.argv[1]) as f:
        template = yaml_parse(f.read())
    # What `sam package` does before the transform: local code is uploaded and
    # CodeUri becomes its S3 location.
    for name, res in template.get("Resources", {}).items():
        props = res.get("Properties") or {}
        if res.get("Type") == "AWS::Serverless::Function" and not str(props.get("CodeUri", "s3://")).startswith("s3://"):
            props["CodeUri"] = "s3://sqsonce-artifacts/%s.zip" % name
    # Parameters take their defaults. The region only names ARNs SAM builds.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_REGION", os.environ["AWS_DEFAULT_REGION"])
    out = transform(template, {}, OfflinePolicies())
    with open(sys.argv[2], "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
