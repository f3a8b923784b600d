"""The simulator as the benchmark runs it: ``python -m tests.simulator`` plus a DB subnet group on every instance.

Real RDS always returns ``DBSubnetGroup`` in ``DescribeDBInstances`` (an instance lives in a VPC), moto only
for instances created with one, and the simulator seeds instances without. ``amazon.aws.rds_instance``
reads ``instance["DBSubnetGroup"]["DBSubnetGroupName"]`` before it modifies an instance, so without one
the rotation baseline fails with ``KeyError: 'DBSubnetGroup'``. This wrapper gives every seeded instance
the region's ``default`` DB subnet group (over moto's default VPC subnets), as on AWS, and otherwise runs
the simulator's own command line unchanged (``serve --fleet F --port 0 --info-file F.json``).
"""

from __future__ import annotations

import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from moto.ec2.models import ec2_backends  # noqa: E402
from moto.rds.models import rds_backends  # noqa: E402

from tests.simulator import __main__ as simulator_cli  # noqa: E402
from tests.simulator import server  # noqa: E402

_seed_instance = server.Simulator._seed_instance  # pylint: disable=protected-access


def _seed_instance_in_vpc(self, account, spec):
    db = _seed_instance(self, account, spec)
    backend = rds_backends[account][spec.region]
    if "default" not in backend.subnet_groups:
        ec2 = ec2_backends[account][spec.region]
        subnets = [s for s in ec2.describe_subnets() if getattr(s, "default_for_az", False)] or ec2.describe_subnets()
        backend.create_subnet_group("default", "default", subnets, [])
    db.db_subnet_group_name = "default"
    return db


server.Simulator._seed_instance = _seed_instance_in_vpc  # pylint: disable=protected-access

if __name__ == "__main__":
    sys.exit(simulator_cli.main(sys.argv[1:]))
