"""Conformance: every RDS/EC2 operation the collection uses, validated against botocore's own output shapes.

Each response is checked twice: the raw XML the simulator sent (every element a member of the output shape,
scalars parseable as their type, lists wrapped as the shape says) and the parsed result (no member botocore
does not know, every value of its shape's type, the members RDS always returns present). botocore silently
drops XML elements it does not know, so only the raw check sees them. Then an AWS CLI smoke of the CA
operations, through the real `aws` command when it is installed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from botocore.exceptions import ClientError

from conftest import REPO
from tests.simulator.server import SIM_ACCESS_KEY, SIM_SECRET_KEY

SHARED = os.path.join(REPO, "..", "shared", "data", "rds-ca")

FLEET = {
    "timing": {"modify_seconds": 0.2, "reboot_seconds": 0.2},
    "regions": {
        "us-east-1": {
            "parameter_groups": [{"name": "pg16-custom", "family": "postgres16", "parameters": {"rds.force_ssl": "1"}}],
            "instances": [
                {"id": "pg", "engine": "postgres", "engine_version": "16.3", "ca": "rds-ca-2019",
                 "parameter_group": "pg16-custom", "tags": {"Environment": "prod"}},
                {"id": "pg-pending", "engine": "postgres", "engine_version": "14.10", "ca": "rds-ca-2019",
                 "pending_ca": "rds-ca-rsa2048-g1"},
                {"id": "pg-replica", "engine": "postgres", "engine_version": "16.3", "replica_of": "pg"},
                {"id": "maria", "engine": "mariadb", "engine_version": "10.11.8", "ca": "rds-ca-rsa4096-g1"},
            ],
            "clusters": [
                {"id": "aurora", "engine": "aurora-postgresql", "engine_version": "15.4",
                 "members": [{"id": "aurora-1", "writer": True, "ca": "rds-ca-2019"}, {"id": "aurora-2"}]},
                {"id": "maz", "engine": "postgres", "engine_version": "16.3", "multi_az_cluster": True,
                 "ca": "rds-ca-rsa2048-g1"},
            ],
        },
        "eu-west-1": {"instances": [{"id": "web", "engine": "mysql", "engine_version": "8.0.36"}]},
    },
}

# Members RDS returns in every item of these shapes (RDS API Reference; what the collection relies on).
ALWAYS = {
    "DBInstance": ["DBInstanceIdentifier", "DBInstanceClass", "Engine", "EngineVersion", "DBInstanceStatus",
                   "Endpoint", "CACertificateIdentifier", "CertificateDetails", "PendingModifiedValues",
                   "PubliclyAccessible", "DBSubnetGroup", "DBInstanceArn", "MultiAZ", "DBParameterGroups",
                   "PreferredMaintenanceWindow", "TagList", "StorageEncrypted"],
    "Endpoint": ["Address", "Port", "HostedZoneId"],
    "CertificateDetails": ["CAIdentifier", "ValidTill"],
    "Certificate": ["CertificateIdentifier", "CertificateType", "Thumbprint", "ValidFrom", "ValidTill",
                    "CertificateArn", "CustomerOverride"],
    "DBEngineVersion": ["Engine", "EngineVersion", "DBParameterGroupFamily", "DBEngineDescription",
                        "SupportsCertificateRotationWithoutRestart", "SupportedCACertificateIdentifiers"],
    "DBCluster": ["DBClusterIdentifier", "Status", "Engine", "EngineVersion", "DBClusterMembers", "DBClusterArn",
                  "Endpoint", "Port"],
    "DBClusterMember": ["DBInstanceIdentifier", "IsClusterWriter"],
    "PendingMaintenanceAction": ["Action", "AutoAppliedAfterDate", "ForcedApplyDate", "Description"],
    "Parameter": ["ParameterName", "ApplyType", "DataType", "IsModifiable"],
    "DescribeCertificates": ["Certificates", "DefaultCertificateForNewLaunches"],
}


@pytest.fixture(scope="module")
def sim(simulator):
    simulator.load(FLEET)
    return simulator


class Recorder:
    """Keeps the raw body of every response a client receives (botocore's before-parse event)."""

    def __init__(self, client) -> None:
        self.bodies: list[bytes] = []
        client.meta.events.register("before-parse.*.*", self._keep)

    def _keep(self, response_dict=None, **_kwargs) -> None:
        self.bodies.append(response_dict["body"])


def _problems_parsed(value: Any, shape, path: str, out: list[str]) -> None:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            out.append(f"{path}: expected a structure, got {type(value).__name__}")
            return
        for key, item in value.items():
            if key == "ResponseMetadata" and path == "":
                continue
            if key not in shape.members:
                out.append(f"{path}.{key}: not a member of {shape.name}")
                continue
            _problems_parsed(item, shape.members[key], f"{path}.{key}", out)
        # A pending change's CertificateDetails names only the CA to come (RDS API Reference:
        # ClusterPendingModifiedValues); the always-returned members are those of current state.
        for key in ALWAYS.get(shape.name, []) if "PendingModifiedValues" not in path else []:
            if key not in value:
                out.append(f"{path}: {shape.name} lacks {key}, which RDS always returns")
    elif kind == "list":
        if not isinstance(value, list):
            out.append(f"{path}: expected a list, got {type(value).__name__}")
            return
        for i, item in enumerate(value):
            _problems_parsed(item, shape.member, f"{path}[{i}]", out)
    elif kind == "map":
        if not isinstance(value, dict):
            out.append(f"{path}: expected a map")
    else:
        expected = {"string": str, "integer": int, "long": int, "boolean": bool, "timestamp": dt.datetime,
                    "double": float, "float": float, "blob": bytes}[kind]
        if kind in ("integer", "long") and isinstance(value, bool):
            out.append(f"{path}: boolean where {kind} expected")
        elif not isinstance(value, expected):
            out.append(f"{path}: {type(value).__name__} where {kind} expected ({value!r})")
        elif kind == "string" and shape.enum and value not in shape.enum:
            out.append(f"{path}: {value!r} is not one of {shape.enum}")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _problems_xml(element: ET.Element, shape, path: str, out: list[str]) -> None:
    kind = shape.type_name
    if kind == "structure":
        by_name = {m.serialization.get("name", name): (name, m) for name, m in shape.members.items()}
        for child in element:
            tag = _local(child.tag)
            if tag not in by_name:
                out.append(f"{path}/{tag}: not a member of {shape.name}")
                continue
            name, member = by_name[tag]
            _problems_xml(child, member, f"{path}/{name}", out)
    elif kind == "list":
        item_name = shape.member.serialization.get("name", "member")
        for i, child in enumerate(element):
            if _local(child.tag) != item_name:
                out.append(f"{path}[{i}]: list item <{_local(child.tag)}>, botocore expects <{item_name}>")
                continue
            _problems_xml(child, shape.member, f"{path}[{i}]", out)
    elif kind in ("integer", "long", "boolean", "timestamp", "double", "float"):
        text = (element.text or "").strip()
        try:
            if kind in ("integer", "long"):
                int(text)
            elif kind == "boolean":
                if text not in ("true", "false"):
                    raise ValueError(text)
            elif kind == "timestamp":
                dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            else:
                float(text)
        except ValueError:
            out.append(f"{path}: {text!r} is not a {kind}")
    elif kind == "string" and len(element):
        out.append(f"{path}: a string with child elements")


def _conform(client, recorder: Recorder, operation: str, **params) -> dict:
    """Call operation and return the problems of its raw and parsed response (none: it conforms)."""
    recorder.bodies.clear()
    parsed = getattr(client, operation)(**params)
    model = client.meta.service_model.operation_model(client.meta.method_to_api_mapping[operation])
    problems: list[str] = []
    _problems_parsed(parsed, model.output_shape, "", problems)
    if model.output_shape.name in ALWAYS or model.name in ALWAYS:
        for key in ALWAYS.get(model.name, []):
            if key not in parsed:
                problems.append(f"{model.name} lacks {key}")
    (body,) = recorder.bodies
    root = ET.fromstring(body)
    assert _local(root.tag) == f"{model.name}Response", root.tag
    if client.meta.service_model.protocol == "query":
        result = [c for c in root if _local(c.tag) == f"{model.name}Result"]
        assert len(result) == 1, f"{model.name}: no {model.name}Result element"
        _problems_xml(result[0], model.output_shape, model.name, problems)
    else:  # ec2 protocol: members directly under the response
        members = [c for c in root if _local(c.tag) not in ("requestId", "RequestId")]
        fake = ET.Element("r")
        fake.extend(members)
        _problems_xml(fake, model.output_shape, model.name, problems)
    return {"parsed": parsed, "problems": problems}


@pytest.fixture()
def east(sim):
    client = sim.client()
    return client, Recorder(client)


CALLS = [
    ("describe_certificates", {}),
    ("describe_certificates", {"CertificateIdentifier": "rds-ca-rsa2048-g1"}),
    ("describe_db_instances", {}),
    ("describe_db_instances", {"DBInstanceIdentifier": "pg-pending"}),
    ("describe_db_instances", {"Filters": [{"Name": "db-cluster-id", "Values": ["maz"]}], "MaxRecords": 100}),
    ("describe_db_clusters", {}),
    ("describe_db_engine_versions", {"Engine": "postgres", "EngineVersion": "16.3"}),
    ("describe_db_engine_versions", {"MaxRecords": 20}),
    ("describe_pending_maintenance_actions", {}),
    ("describe_db_parameters", {"DBParameterGroupName": "default.postgres16"}),
    ("describe_db_parameters", {"DBParameterGroupName": "pg16-custom"}),
    ("describe_db_cluster_parameters", {"DBClusterParameterGroupName": "default.aurora-postgresql15"}),
    ("describe_db_parameters", {"DBParameterGroupName": "pg16-custom", "Source": "user"}),
    ("describe_db_log_files", {"DBInstanceIdentifier": "pg"}),
]


@pytest.mark.parametrize("operation, params", CALLS, ids=[f"{op}-{i}" for i, (op, _p) in enumerate(CALLS)])
def test_describe_operations_conform_to_botocore_shapes(east, operation, params):
    client, recorder = east
    result = _conform(client, recorder, operation, **params)
    assert result["problems"] == [], result["problems"]


def test_modifications_conform_to_botocore_shapes(sim):
    client = sim.client()
    recorder = Recorder(client)
    steps = [
        ("modify_certificates", {"CertificateIdentifier": "rds-ca-ecc384-g1"}),
        ("modify_certificates", {"RemoveCustomerOverride": True}),
        ("modify_db_instance", {"DBInstanceIdentifier": "maria", "CACertificateIdentifier": "rds-ca-rsa2048-g1",
                                "ApplyImmediately": False}),
        ("modify_db_instance", {"DBInstanceIdentifier": "pg", "CACertificateIdentifier": "rds-ca-rsa2048-g1",
                                "ApplyImmediately": True}),
        ("modify_db_cluster", {"DBClusterIdentifier": "maz", "CACertificateIdentifier": "rds-ca-ecc384-g1",
                               "ApplyImmediately": False}),
        ("reboot_db_instance", {"DBInstanceIdentifier": "maria"}),
    ]
    for operation, params in steps:
        result = _conform(client, recorder, operation, **params)
        assert result["problems"] == [], (operation, result["problems"])
    arn = client.describe_db_instances(DBInstanceIdentifier="aurora-1")["DBInstances"][0]["DBInstanceArn"]
    for opt_in in ("next-maintenance", "undo-opt-in"):
        result = _conform(client, recorder, "apply_pending_maintenance_action", ResourceIdentifier=arn,
                          ApplyAction="ca-certificate-rotation", OptInType=opt_in)
        assert result["problems"] == [], (opt_in, result["problems"])


def test_ec2_describe_regions_conforms(sim):
    client = sim.client("ec2")
    result = _conform(client, Recorder(client), "describe_regions")
    assert result["problems"] == [], result["problems"]


def test_the_checker_finds_what_it_should(sim):
    """The validators are not vacuous: a member botocore does not know, a wrong type and a missing always-returned
    member are all reported."""
    client = sim.client()
    model = client.meta.service_model.operation_model("DescribeDBInstances")
    problems: list[str] = []
    _problems_parsed({"DBInstances": [{"DBInstanceIdentifier": "x", "Colour": "red", "MultiAZ": "yes"}]},
                     model.output_shape, "", problems)
    assert any("Colour: not a member" in p for p in problems)
    assert any("MultiAZ: str where boolean expected" in p for p in problems)
    assert any("lacks PendingModifiedValues" in p for p in problems)
    xml_problems: list[str] = []
    element = ET.fromstring("<r><DBInstances><DBInstance><Colour>red</Colour><MultiAZ>yes</MultiAZ>"
                            "</DBInstance><Item/></DBInstances></r>")
    _problems_xml(element, model.output_shape, "DescribeDBInstances", xml_problems)
    assert any("Colour: not a member" in p for p in xml_problems)
    assert any("'yes' is not a boolean" in p for p in xml_problems)
    assert any("list item <Item>" in p for p in xml_problems)


def test_errors_are_rds_error_responses(sim):
    client = sim.client()
    for call, code in ((lambda: client.describe_db_instances(MaxRecords=5), "InvalidParameterValue"),
                       (lambda: client.describe_certificates(CertificateIdentifier="rds-ca-2015"), "CertificateNotFound"),
                       (lambda: client.describe_db_instances(DBInstanceIdentifier="ghost"), "DBInstanceNotFound")):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert excinfo.value.response["Error"]["Code"] == code
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 404)


# -- AWS CLI ---------------------------------------------------------------------------------------------------

def _aws(sim, *args: str, region: str = "us-east-1") -> subprocess.CompletedProcess:
    aws = shutil.which("aws")
    if aws is None:
        pytest.skip("the AWS CLI (aws) is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": SIM_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SIM_SECRET_KEY,
                "AWS_DEFAULT_REGION": region, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    return subprocess.run([aws, "--endpoint-url", sim.url, "--output", "json", *args], capture_output=True, text=True,
                          env=env, timeout=120, check=False)


def test_aws_cli_smoke_of_the_ca_operations(sim):
    proc = _aws(sim, "rds", "describe-certificates", region="us-west-2")
    assert proc.returncode == 0, proc.stderr
    served = json.loads(proc.stdout)
    assert served["DefaultCertificateForNewLaunches"] == "rds-ca-rsa2048-g1"
    real_path = os.path.join(SHARED, "describe-certificates.us-west-2.json")
    if os.path.exists(real_path):  # same keys and values as AWS's own output in that region
        with open(real_path, encoding="utf-8") as handle:
            real = {c["CertificateIdentifier"]: c for c in json.load(handle)["Certificates"]}
        for cert in served["Certificates"]:
            expected = real[cert["CertificateIdentifier"]]
            assert set(cert) - {"CustomerOverrideValidTill"} == set(expected) - {"CustomerOverrideValidTill"}
            for key in ("Thumbprint", "CertificateArn", "CertificateType"):
                assert cert[key] == expected[key]
            for key in ("ValidFrom", "ValidTill"):
                assert dt.datetime.fromisoformat(cert[key]) == dt.datetime.fromisoformat(expected[key])
    east = json.loads(_aws(sim, "rds", "describe-certificates", "--certificate-identifier", "rds-ca-rsa2048-g1").stdout)
    assert east["Certificates"][0]["Thumbprint"].startswith("2fa77ef8")
    west = json.loads(_aws(sim, "rds", "describe-certificates", "--certificate-identifier", "rds-ca-rsa2048-g1",
                           region="eu-west-1").stdout)
    assert west["Certificates"][0]["Thumbprint"].startswith("6063e7c0")

    changed = _aws(sim, "rds", "modify-certificates", "--certificate-identifier", "rds-ca-ecc384-g1")
    assert changed.returncode == 0, changed.stderr
    assert json.loads(changed.stdout)["Certificate"]["CustomerOverride"] is True
    listed = json.loads(_aws(sim, "rds", "describe-certificates").stdout)
    assert listed["DefaultCertificateForNewLaunches"] == "rds-ca-ecc384-g1"
    removed = _aws(sim, "rds", "modify-certificates", "--remove-customer-override")
    assert removed.returncode == 0, removed.stderr

    missing = _aws(sim, "rds", "describe-certificates", "--certificate-identifier", "rds-ca-2015")
    assert missing.returncode != 0 and "CertificateNotFound" in missing.stderr
    too_few = _aws(sim, "rds", "describe-db-instances", "--max-records", "5")
    assert too_few.returncode != 0 and "InvalidParameterValue" in too_few.stderr
    instances = json.loads(_aws(sim, "rds", "describe-db-instances", "--db-instance-identifier", "pg-pending").stdout)
    (db,) = instances["DBInstances"]
    assert db["PendingModifiedValues"] == {"CACertificateIdentifier": "rds-ca-rsa2048-g1"}
    assert db["CertificateDetails"]["CAIdentifier"] == "rds-ca-2019"
