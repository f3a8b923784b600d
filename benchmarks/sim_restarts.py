"""Restarts as the simulator saw them: DB_INSTANCE_RESTARTED events per database (the moonshot's check).

Run by benchmarks/run.py as its own process (it imports boto3, which the harness keeps out of its own
memory): ``sim_restarts.py ENDPOINT_URL ROLE_NAME ACCOUNT[,ACCOUNT...] REGION[,REGION...]``. For each account
it assumes ``arn:aws:iam::<account>:role/<ROLE_NAME>`` (the simulator serves each account's estate to its
own credentials), pages through ``DescribeEvents`` (``SourceType`` ``db-instance``) in every region, and
prints one JSON object: ``{"<account>/<region>/<identifier>": <restarts>}`` for every database that restarted.
The simulator records the event when a reboot ends (tests/simulator/rds_ext.py, message
"DB instance restarted", as RDS's event RDS-EVENT-0006 "DB instance restarted").
"""

from __future__ import annotations

import json
import sys

import boto3


def main(argv: list[str]) -> int:
    endpoint, role_name, accounts, regions = argv[0], argv[1], argv[2].split(","), argv[3].split(",")
    sts = boto3.client("sts", endpoint_url=endpoint, region_name=regions[0])  # the simulator's keys, from the environment
    restarts: dict[str, int] = {}
    for account in accounts:
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{role_name}",
                                RoleSessionName="rdsca-bench-restarts")["Credentials"]
        for region in regions:
            rds = boto3.client("rds", endpoint_url=endpoint, region_name=region,
                               aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                               aws_session_token=creds["SessionToken"])
            for page in rds.get_paginator("describe_events").paginate(SourceType="db-instance", Duration=20160,
                                                                      PaginationConfig={"PageSize": 100}):
                for event in page.get("Events", []):
                    if event.get("Message") == "DB instance restarted":
                        label = f"{account}/{region}/{event['SourceIdentifier']}"
                        restarts[label] = restarts.get(label, 0) + 1
    print(json.dumps(restarts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
