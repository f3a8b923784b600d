"""The RDS simulator behaves like RDS for what the collection uses: every behaviour through boto3."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.simulator.fleet import FleetError, parse_fleet

SHARED = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "..", "shared",
                      "data", "rds-ca")
NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})

FLEET = {
    "timing": {"modify_seconds": 0.4, "reboot_seconds": 0.4},
    "engine_versions": [
        {"engine": "postgres", "version": "9.6.24", "rotation_without_restart": False,
         "supported_cas": ["rds-ca-2019", "rds-ca-rsa2048-g1"]},
    ],
    "regions": {
        "us-east-1": {
            "parameter_groups": [{"name": "pg16-ssl-off", "family": "postgres16", "parameters": {"rds.force_ssl": "0"}}],
            "instances": [
                {"id": "pg11", "engine": "postgres", "engine_version": "11.22", "ca": "rds-ca-2019",
                 "tags": {"Environment": "staging"}},
                {"id": "pg13", "engine": "postgres", "engine_version": "13.4", "ca": "rds-ca-2019"},
                {"id": "pg16", "engine": "postgres", "engine_version": "16.3", "ca": "rds-ca-rsa2048-g1",
                 "parameter_group": "pg16-ssl-off", "tags": {"Environment": "production"}},
                {"id": "pg16-replica", "engine": "postgres", "engine_version": "16.3", "replica_of": "pg16"},
                {"id": "pg96", "engine": "postgres", "engine_version": "9.6.24", "ca": "rds-ca-2019", "maintenance": "none"},
                {"id": "my8", "engine": "mysql", "engine_version": "8.0.36", "ca": "rds-ca-2019",
                 "pending_ca": "rds-ca-rsa2048-g1"},
                {"id": "stopped-db", "engine": "postgres", "engine_version": "16.3", "status": "stopped"},
                {"id": "optin", "engine": "mariadb", "engine_version": "10.6.16", "ca": "rds-ca-2019",
                 "maintenance": {"auto_applied_after": "2027-01-10", "forced_apply": "2027-02-01",
                                 "opt_in": "next-maintenance"}},
            ],
            "clusters": [
                {"id": "aurora", "engine": "aurora-postgresql", "engine_version": "15.4",
                 "members": [{"id": "aurora-1", "writer": True, "ca": "rds-ca-2019"},
                             {"id": "aurora-2", "ca": "rds-ca-2019"}, {"id": "aurora-3", "ca": "rds-ca-rsa2048-g1"}]},
                {"id": "ledger", "engine": "postgres", "engine_version": "16.3", "multi_az_cluster": True,
                 "ca": "rds-ca-rsa4096-g1"},
            ],
        },
        "eu-west-1": {
            "default_ca": "rds-ca-ecc384-g1",
            "instances": [{"id": "maria", "engine": "mariadb", "engine_version": "10.11.8"}],
        },
        "ap-southeast-2": {"customer_override": "rds-ca-rsa4096-g1",
                           "instances": [{"id": "many", "engine": "postgres", "engine_version": "16.3", "count": 150}]},
    },
}


@pytest.fixture()
def sim(simulator):
    simulator.load(FLEET)
    yield simulator
    simulator.clear_faults()


def instance(client, db_id):
    return client.describe_db_instances(DBInstanceIdentifier=db_id)["DBInstances"][0]


def watch(client, db_ids, timeout=15.0):
    """Statuses each instance goes through until all are available again (polled together)."""
    seen = {db_id: [] for db_id in db_ids}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for db_id in db_ids:
            status = instance(client, db_id)["DBInstanceStatus"]
            if not seen[db_id] or seen[db_id][-1] != status:
                seen[db_id].append(status)
        if all(len(s) > 1 and s[-1] == "available" for s in seen.values()):
            return seen
        time.sleep(0.02)
    raise AssertionError(f"not all of {db_ids} went through a change back to available; seen: {seen}")


def wait_available(client, db_id, timeout=15.0):
    return watch(client, [db_id], timeout)[db_id]


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


# -- certificates ---------------------------------------------------------------

def test_describe_certificates_match_the_real_aws_output(sim):
    path = os.path.join(SHARED, "describe-certificates.us-west-2.json")
    if not os.path.exists(path):
        pytest.skip(f"real AWS sample {path} is not available on this machine")
    with open(path, encoding="utf-8") as handle:
        real = {c["CertificateIdentifier"]: c for c in json.load(handle)["Certificates"]}
    served = {c["CertificateIdentifier"]: c for c in sim.client(region="us-west-2").describe_certificates()["Certificates"]}
    assert set(served) == set(real)
    for ca_id, cert in real.items():
        assert served[ca_id]["Thumbprint"] == cert["Thumbprint"]
        assert served[ca_id]["ValidFrom"] == dt.datetime.fromisoformat(cert["ValidFrom"])
        assert served[ca_id]["ValidTill"] == dt.datetime.fromisoformat(cert["ValidTill"])
        assert served[ca_id]["CertificateArn"] == cert["CertificateArn"]
        assert served[ca_id]["CertificateType"] == "CA"


def test_default_ca_and_customer_override_per_region(sim):
    east, west, syd = sim.client(region="us-east-1"), sim.client(region="eu-west-1"), sim.client(region="ap-southeast-2")
    assert east.describe_certificates()["DefaultCertificateForNewLaunches"] == "rds-ca-rsa2048-g1"
    assert west.describe_certificates()["DefaultCertificateForNewLaunches"] == "rds-ca-ecc384-g1"
    syd_certs = syd.describe_certificates()
    assert syd_certs["DefaultCertificateForNewLaunches"] == "rds-ca-rsa4096-g1"
    override = [c for c in syd_certs["Certificates"] if c["CustomerOverride"]]
    assert [c["CertificateIdentifier"] for c in override] == ["rds-ca-rsa4096-g1"]
    assert override[0]["CustomerOverrideValidTill"] == override[0]["ValidTill"]

    answer = east.modify_certificates(CertificateIdentifier="rds-ca-ecc384-g1")
    assert answer["Certificate"]["CustomerOverride"] is True
    assert east.describe_certificates()["DefaultCertificateForNewLaunches"] == "rds-ca-ecc384-g1"
    created = east.create_db_instance(DBInstanceIdentifier="fresh", DBInstanceClass="db.t3.micro", Engine="postgres",
                                      EngineVersion="16.3", MasterUsername="admin", MasterUserPassword="x" * 12,
                                      AllocatedStorage=20)["DBInstance"]
    assert created["CACertificateIdentifier"] == "rds-ca-ecc384-g1"
    assert created["CertificateDetails"]["CAIdentifier"] == "rds-ca-ecc384-g1"

    east.modify_certificates(RemoveCustomerOverride=True)
    certs = east.describe_certificates()
    assert certs["DefaultCertificateForNewLaunches"] == "rds-ca-rsa2048-g1"
    assert not any(c["CustomerOverride"] for c in certs["Certificates"])
    # Other regions are untouched.
    assert west.describe_certificates()["DefaultCertificateForNewLaunches"] == "rds-ca-ecc384-g1"


def test_certificate_errors_look_like_rds(sim):
    east = sim.client(region="us-east-1")
    with pytest.raises(ClientError) as excinfo:
        east.describe_certificates(CertificateIdentifier="rds-ca-2015")
    assert error_code(excinfo) == "CertificateNotFound"
    with pytest.raises(ClientError) as excinfo:
        east.modify_certificates(CertificateIdentifier="rds-ca-bogus")
    assert error_code(excinfo) == "CertificateNotFound"
    with pytest.raises(ClientError) as excinfo:
        east.modify_certificates(CertificateIdentifier="rds-ca-2019")
    assert error_code(excinfo) == "InvalidParameterValue"
    assert "expired" in str(excinfo.value)


# -- engine versions -------------------------------------------------------------

def test_engine_versions_carry_restart_behaviour_and_supported_cas(sim):
    east = sim.client()
    versions = {v["EngineVersion"]: v for v in east.describe_db_engine_versions(Engine="postgres")["DBEngineVersions"]}
    assert versions["11.22"]["SupportsCertificateRotationWithoutRestart"] is False
    assert versions["16.3"]["SupportsCertificateRotationWithoutRestart"] is True
    assert versions["9.6.24"]["SupportedCACertificateIdentifiers"] == ["rds-ca-2019", "rds-ca-rsa2048-g1"]
    assert set(versions["16.3"]["SupportedCACertificateIdentifiers"]) == {
        "rds-ca-2019", "rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1"}
    exact = east.describe_db_engine_versions(Engine="postgres", EngineVersion="13.4")["DBEngineVersions"]
    assert [v["EngineVersion"] for v in exact] == ["13.4"]
    assert exact[0]["DBParameterGroupFamily"] == "postgres13"
    default = east.describe_db_engine_versions(Engine="postgres", DefaultOnly=True)["DBEngineVersions"]
    assert [v["EngineVersion"] for v in default] == ["16.3"]


def test_engine_versions_paginate(sim):
    east = sim.client()
    first = east.describe_db_engine_versions(MaxRecords=20)
    assert len(first["DBEngineVersions"]) == 20 and first.get("Marker")
    pages = list(east.get_paginator("describe_db_engine_versions").paginate(PaginationConfig={"PageSize": 20}))
    everything = [v for p in pages for v in p["DBEngineVersions"]]
    assert len(pages) >= 2
    assert len({(v["Engine"], v["EngineVersion"]) for v in everything}) == len(everything) > 20
    with pytest.raises(ClientError) as excinfo:
        east.describe_db_engine_versions(MaxRecords=5)
    assert error_code(excinfo) == "InvalidParameterValue"


def test_real_engine_version_sample_has_the_fields_we_serve(sim):
    path = os.path.join(SHARED, "describe-db-engine-versions.postgres-default-only.json")
    if not os.path.exists(path):
        pytest.skip(f"real AWS sample {path} is not available on this machine")
    with open(path, encoding="utf-8") as handle:
        real = json.load(handle)["DBEngineVersions"][0]
    served = sim.client().describe_db_engine_versions(Engine="postgres", EngineVersion="13.4")["DBEngineVersions"][0]
    for key in ("Engine", "EngineVersion", "MajorEngineVersion", "DBParameterGroupFamily",
                "SupportsCertificateRotationWithoutRestart", "SupportedCACertificateIdentifiers"):
        assert key in served, key
        if key != "SupportedCACertificateIdentifiers":
            assert served[key] == real[key], key
    assert set(served["SupportedCACertificateIdentifiers"]) == set(real["SupportedCACertificateIdentifiers"])


# -- instances -------------------------------------------------------------------

def test_instances_report_ca_and_certificate_details(sim):
    east = sim.client()
    pg11 = instance(east, "pg11")
    assert pg11["CACertificateIdentifier"] == "rds-ca-2019"
    assert pg11["CertificateDetails"] == {"CAIdentifier": "rds-ca-2019",
                                          "ValidTill": dt.datetime(2024, 8, 22, 17, 8, 50, tzinfo=dt.timezone.utc)}
    assert pg11["Endpoint"]["Address"].startswith("pg11.c") and pg11["Endpoint"]["Address"].endswith(
        ".us-east-1.rds.amazonaws.com")
    assert {"Key": "Environment", "Value": "staging"} in pg11["TagList"]
    pg16 = instance(east, "pg16")
    valid_till = pg16["CertificateDetails"]["ValidTill"]
    # A G1 server certificate is short-lived (a year), unlike its CA.
    assert dt.timedelta(days=360) < valid_till - dt.datetime.now(dt.timezone.utc) < dt.timedelta(days=366)
    assert instance(sim.client(region="eu-west-1"), "maria")["CACertificateIdentifier"] == "rds-ca-ecc384-g1"


def test_every_instance_lives_in_the_regions_default_subnet_group(sim):
    east = sim.client()
    for db_id in ("pg11", "pg16-replica"):
        group = instance(east, db_id)["DBSubnetGroup"]
        assert group["DBSubnetGroupName"] == "default"
        assert group["VpcId"].startswith("vpc-") and len(group["Subnets"]) >= 1
    groups = east.describe_db_subnet_groups()["DBSubnetGroups"]
    assert [g["DBSubnetGroupName"] for g in groups] == ["default"]


def test_fields_rds_always_returns_are_present(sim):
    east = sim.client()
    for db in east.describe_db_instances()["DBInstances"]:
        # RDS returns PendingModifiedValues {} when nothing is pending, and always these.
        assert isinstance(db["PendingModifiedValues"], dict), db["DBInstanceIdentifier"]
        assert db["PubliclyAccessible"] is False
        assert db["Endpoint"]["HostedZoneId"].startswith("Z") and len(db["Endpoint"]["HostedZoneId"]) == 14
        assert db["DBSubnetGroup"]["DBSubnetGroupName"] == "default"
    assert instance(east, "pg11")["PendingModifiedValues"] == {}
    assert instance(east, "my8")["PendingModifiedValues"] == {"CACertificateIdentifier": "rds-ca-rsa2048-g1"}
    created = east.create_db_instance(DBInstanceIdentifier="made", DBInstanceClass="db.t3.micro", Engine="postgres",
                                      EngineVersion="16.3", MasterUsername="admin", MasterUserPassword="x" * 12,
                                      AllocatedStorage=20)["DBInstance"]
    assert created["DBSubnetGroup"]["DBSubnetGroupName"] == "default"
    assert created["PendingModifiedValues"] == {} and created["PubliclyAccessible"] is False
    west = sim.client(region="eu-west-1")
    assert instance(west, "maria")["Endpoint"]["HostedZoneId"] != instance(east, "pg11")["Endpoint"]["HostedZoneId"]


@pytest.mark.parametrize("operation", ["describe_db_instances", "describe_db_clusters", "describe_certificates",
                                       "describe_pending_maintenance_actions", "describe_events",
                                       "describe_db_subnet_groups"])
@pytest.mark.parametrize("max_records", [5, 19, 101])
def test_max_records_outside_20_to_100_is_invalid(sim, operation, max_records):
    east = sim.client(config=NO_RETRY)
    with pytest.raises(ClientError) as excinfo:
        getattr(east, operation)(MaxRecords=max_records)
    assert error_code(excinfo) == "InvalidParameterValue"
    assert getattr(east, operation)(MaxRecords=20)["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_describe_db_instances_paginates_100_per_page(sim):
    syd = sim.client(region="ap-southeast-2")
    first = syd.describe_db_instances()
    assert len(first["DBInstances"]) == 100 and first["Marker"]
    second = syd.describe_db_instances(Marker=first["Marker"])
    assert len(second["DBInstances"]) == 50 and "Marker" not in second
    assert {d["CACertificateIdentifier"] for d in first["DBInstances"] + second["DBInstances"]} == {"rds-ca-rsa4096-g1"}


def test_pending_ca_until_maintenance_window(sim):
    east = sim.client()
    answer = east.modify_db_instance(DBInstanceIdentifier="pg11", CACertificateIdentifier="rds-ca-rsa2048-g1",
                                     ApplyImmediately=False)["DBInstance"]
    assert answer["CACertificateIdentifier"] == "rds-ca-2019"
    assert answer["PendingModifiedValues"] == {"CACertificateIdentifier": "rds-ca-rsa2048-g1"}
    time.sleep(0.5)
    still = instance(east, "pg11")
    assert still["DBInstanceStatus"] == "available" and still["CACertificateIdentifier"] == "rds-ca-2019"
    assert still["PendingModifiedValues"] == {"CACertificateIdentifier": "rds-ca-rsa2048-g1"}
    applied = sim.control("POST", "/_sim/maintenance", {"region": "us-east-1", "identifiers": ["pg11"]})
    assert applied["applied"] == ["pg11"]
    assert wait_available(east, "pg11") == ["modifying", "rebooting", "available"]
    done = instance(east, "pg11")
    assert done["CACertificateIdentifier"] == "rds-ca-rsa2048-g1" and not done.get("PendingModifiedValues")


def test_reboot_applies_a_pending_ca(sim):
    east = sim.client()
    assert instance(east, "my8")["PendingModifiedValues"] == {"CACertificateIdentifier": "rds-ca-rsa2048-g1"}
    east.reboot_db_instance(DBInstanceIdentifier="my8")
    assert "rebooting" in wait_available(east, "my8")
    assert instance(east, "my8")["CACertificateIdentifier"] == "rds-ca-rsa2048-g1"


def _restart_events(client, db_id):
    events = client.describe_events(SourceType="db-instance", SourceIdentifier=db_id)["Events"]
    return [e["Message"] for e in events if e["Message"] in ("DB instance restarted", "CA certificate rotated")]


def test_rotation_restarts_only_when_the_engine_needs_it(sim):
    east = sim.client()
    east.modify_db_instance(DBInstanceIdentifier="pg11", CACertificateIdentifier="rds-ca-rsa2048-g1",
                            ApplyImmediately=True)
    east.modify_db_instance(DBInstanceIdentifier="pg13", CACertificateIdentifier="rds-ca-rsa2048-g1",
                            ApplyImmediately=True)
    seen = watch(east, ["pg11", "pg13"])
    assert seen["pg11"] == ["modifying", "rebooting", "available"]
    assert seen["pg13"] == ["modifying", "available"]
    assert _restart_events(east, "pg11") == ["CA certificate rotated", "DB instance restarted"]
    assert _restart_events(east, "pg13") == ["CA certificate rotated"]
    assert instance(east, "pg13")["CACertificateIdentifier"] == "rds-ca-rsa2048-g1"


def test_certificate_rotation_restart_false_skips_the_restart(sim):
    east = sim.client()
    east.modify_db_instance(DBInstanceIdentifier="pg11", CACertificateIdentifier="rds-ca-rsa2048-g1",
                            ApplyImmediately=True, CertificateRotationRestart=False)
    assert wait_available(east, "pg11") == ["modifying", "available"]
    assert _restart_events(east, "pg11") == ["CA certificate rotated"]


def test_modify_errors_match_rds(sim):
    east = sim.client()
    with pytest.raises(ClientError) as excinfo:
        east.modify_db_instance(DBInstanceIdentifier="pg16", CACertificateIdentifier="rds-ca-nope", ApplyImmediately=True)
    assert error_code(excinfo) == "CertificateNotFound"
    with pytest.raises(ClientError) as excinfo:
        east.modify_db_instance(DBInstanceIdentifier="pg96", CACertificateIdentifier="rds-ca-ecc384-g1",
                                ApplyImmediately=True)
    assert error_code(excinfo) == "InvalidParameterCombination"
    assert "rds-ca-ecc384-g1" in str(excinfo.value) and "9.6.24" in str(excinfo.value)
    with pytest.raises(ClientError) as excinfo:
        east.modify_db_instance(DBInstanceIdentifier="pg16", CertificateRotationRestart=False, ApplyImmediately=True)
    assert error_code(excinfo) == "InvalidParameterCombination"
    with pytest.raises(ClientError) as excinfo:
        east.modify_db_instance(DBInstanceIdentifier="stopped-db", CACertificateIdentifier="rds-ca-rsa4096-g1",
                                ApplyImmediately=True)
    assert error_code(excinfo) == "InvalidDBInstanceState"
    with pytest.raises(ClientError) as excinfo:
        east.modify_db_instance(DBInstanceIdentifier="ghost", CACertificateIdentifier="rds-ca-rsa4096-g1")
    assert error_code(excinfo) == "DBInstanceNotFound"
    # A failed request changed nothing.
    assert instance(east, "pg96")["CACertificateIdentifier"] == "rds-ca-2019"
    assert instance(east, "stopped-db")["DBInstanceStatus"] == "stopped"


def test_instance_that_is_modifying_refuses_another_change(sim):
    east = sim.client()
    east.modify_db_instance(DBInstanceIdentifier="pg11", CACertificateIdentifier="rds-ca-rsa2048-g1",
                            ApplyImmediately=True)
    with pytest.raises(ClientError) as excinfo:
        east.modify_db_instance(DBInstanceIdentifier="pg11", CACertificateIdentifier="rds-ca-rsa4096-g1",
                                ApplyImmediately=True)
    assert error_code(excinfo) == "InvalidDBInstanceState"
    wait_available(east, "pg11")


# -- pending maintenance actions -----------------------------------------------------

def _actions(client, **kwargs):
    return {a["ResourceIdentifier"].split(":")[-1]: a["PendingMaintenanceActionDetails"][0]
            for a in client.describe_pending_maintenance_actions(**kwargs)["PendingMaintenanceActions"]}


def test_pending_maintenance_actions_for_expiring_cas(sim):
    east = sim.client()
    actions = _actions(east)
    assert {"pg11", "pg13", "my8", "aurora-1", "aurora-2", "optin"} <= set(actions)
    assert "pg96" not in actions  # the fleet suppressed it
    assert "pg16" not in actions and "aurora-3" not in actions  # G1 CAs are far from expiry
    pg11 = actions["pg11"]
    assert pg11["Action"] == "ca-certificate-rotation" and pg11["Description"] == "Certificate rotation"
    assert pg11["AutoAppliedAfterDate"] < pg11["ForcedApplyDate"]
    assert "OptInStatus" not in pg11
    optin = actions["optin"]
    assert optin["OptInStatus"] == "next-maintenance"
    assert optin["AutoAppliedAfterDate"] == dt.datetime(2027, 1, 10, tzinfo=dt.timezone.utc)
    assert optin["ForcedApplyDate"] == dt.datetime(2027, 2, 1, tzinfo=dt.timezone.utc)
    assert optin["CurrentApplyDate"] > dt.datetime.now(dt.timezone.utc)
    assert set(_actions(east, Filters=[{"Name": "db-cluster-id", "Values": ["aurora"]}])) == {"aurora-1", "aurora-2"}


def test_apply_pending_maintenance_action_immediate_next_and_undo(sim):
    east = sim.client()
    arn = instance(east, "pg13")["DBInstanceArn"]
    answer = east.apply_pending_maintenance_action(ResourceIdentifier=arn, ApplyAction="ca-certificate-rotation",
                                                   OptInType="next-maintenance")
    detail = answer["ResourcePendingMaintenanceActions"]["PendingMaintenanceActionDetails"][0]
    assert detail["OptInStatus"] == "next-maintenance" and detail["CurrentApplyDate"]
    answer = east.apply_pending_maintenance_action(ResourceIdentifier=arn, ApplyAction="ca-certificate-rotation",
                                                   OptInType="undo-opt-in")
    assert "OptInStatus" not in answer["ResourcePendingMaintenanceActions"]["PendingMaintenanceActionDetails"][0]

    east.apply_pending_maintenance_action(ResourceIdentifier=arn, ApplyAction="ca-certificate-rotation",
                                          OptInType="immediate")
    assert wait_available(east, "pg13") == ["modifying", "available"]
    assert instance(east, "pg13")["CACertificateIdentifier"] == "rds-ca-rsa2048-g1"
    assert "pg13" not in _actions(east)

    # Opted in for the next window: the window applies it.
    assert instance(east, "optin")["CACertificateIdentifier"] == "rds-ca-2019"
    sim.control("POST", "/_sim/maintenance", {"region": "us-east-1", "identifiers": ["optin"]})
    assert "rebooting" in wait_available(east, "optin")  # mariadb 10.6 cannot rotate without a restart
    assert instance(east, "optin")["CACertificateIdentifier"] == "rds-ca-rsa2048-g1"

    with pytest.raises(ClientError) as excinfo:
        east.apply_pending_maintenance_action(ResourceIdentifier=arn, ApplyAction="ca-certificate-rotation",
                                              OptInType="immediate")
    assert error_code(excinfo) == "InvalidParameterValue"
    with pytest.raises(ClientError) as excinfo:
        east.apply_pending_maintenance_action(ResourceIdentifier=arn.replace("pg13", "ghost"),
                                              ApplyAction="ca-certificate-rotation", OptInType="immediate")
    assert error_code(excinfo) == "ResourceNotFoundFault"


# -- clusters and replicas ------------------------------------------------------------

def test_aurora_members_carry_their_own_ca(sim):
    east = sim.client()
    cluster = east.describe_db_clusters(DBClusterIdentifier="aurora")["DBClusters"][0]
    roles = {m["DBInstanceIdentifier"]: m["IsClusterWriter"] for m in cluster["DBClusterMembers"]}
    assert roles == {"aurora-1": True, "aurora-2": False, "aurora-3": False}
    assert "CertificateDetails" not in cluster
    cas = {d["DBInstanceIdentifier"]: d["CACertificateIdentifier"]
           for d in east.describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": ["aurora"]}])["DBInstances"]}
    assert cas == {"aurora-1": "rds-ca-2019", "aurora-2": "rds-ca-2019", "aurora-3": "rds-ca-rsa2048-g1"}
    east.modify_db_instance(DBInstanceIdentifier="aurora-2", CACertificateIdentifier="rds-ca-rsa2048-g1",
                            ApplyImmediately=True)
    wait_available(east, "aurora-2")
    assert instance(east, "aurora-2")["CACertificateIdentifier"] == "rds-ca-rsa2048-g1"
    assert instance(east, "aurora-1")["CACertificateIdentifier"] == "rds-ca-2019"
    with pytest.raises(ClientError) as excinfo:
        east.modify_db_cluster(DBClusterIdentifier="aurora", CACertificateIdentifier="rds-ca-rsa2048-g1",
                               ApplyImmediately=True)
    assert error_code(excinfo) == "InvalidParameterCombination"


def test_multi_az_db_cluster_has_a_cluster_level_ca(sim):
    east = sim.client()
    cluster = east.describe_db_clusters(DBClusterIdentifier="ledger")["DBClusters"][0]
    assert cluster["CertificateDetails"]["CAIdentifier"] == "rds-ca-rsa4096-g1"
    members = east.describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": ["ledger"]}])["DBInstances"]
    assert len(members) == 3 and {m["CACertificateIdentifier"] for m in members} == {"rds-ca-rsa4096-g1"}
    with pytest.raises(ClientError) as excinfo:
        east.modify_db_instance(DBInstanceIdentifier=members[0]["DBInstanceIdentifier"],
                                CACertificateIdentifier="rds-ca-rsa2048-g1", ApplyImmediately=True)
    assert error_code(excinfo) == "InvalidParameterCombination"

    pending = east.modify_db_cluster(DBClusterIdentifier="ledger", CACertificateIdentifier="rds-ca-ecc384-g1",
                                     ApplyImmediately=False)["DBCluster"]
    assert pending["PendingModifiedValues"]["CertificateDetails"]["CAIdentifier"] == "rds-ca-ecc384-g1"
    assert pending["CertificateDetails"]["CAIdentifier"] == "rds-ca-rsa4096-g1"
    east.modify_db_cluster(DBClusterIdentifier="ledger", CACertificateIdentifier="rds-ca-ecc384-g1",
                           ApplyImmediately=True)
    seen = watch(east, [m["DBInstanceIdentifier"] for m in members])
    assert all(statuses[0] == "modifying" for statuses in seen.values()), seen
    cluster = east.describe_db_clusters(DBClusterIdentifier="ledger")["DBClusters"][0]
    assert cluster["CertificateDetails"]["CAIdentifier"] == "rds-ca-ecc384-g1"
    assert "PendingModifiedValues" not in cluster or not cluster["PendingModifiedValues"].get("CertificateDetails")
    members = east.describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": ["ledger"]}])["DBInstances"]
    assert {m["CACertificateIdentifier"] for m in members} == {"rds-ca-ecc384-g1"}


def test_read_replica_links_both_ways(sim):
    east = sim.client()
    assert instance(east, "pg16-replica")["ReadReplicaSourceDBInstanceIdentifier"] == "pg16"
    assert instance(east, "pg16")["ReadReplicaDBInstanceIdentifiers"] == ["pg16-replica"]


# -- parameters -------------------------------------------------------------------------

def _param(client, group, name, cluster=False):
    if cluster:
        params = client.describe_db_cluster_parameters(DBClusterParameterGroupName=group)["Parameters"]
    else:
        params = client.describe_db_parameters(DBParameterGroupName=group)["Parameters"]
    return {p["ParameterName"]: p.get("ParameterValue") for p in params}.get(name)


def test_default_parameter_groups_carry_the_tls_enforcement_default(sim):
    east = sim.client()
    assert _param(east, "default.postgres11", "rds.force_ssl") == "0"
    assert _param(east, "default.postgres14", "rds.force_ssl") == "0"
    assert _param(east, "default.postgres15", "rds.force_ssl") == "1"
    assert _param(east, "default.postgres16", "rds.force_ssl") == "1"
    assert _param(east, "default.mysql8.0", "require_secure_transport") == "0"
    assert _param(east, "default.mariadb10.11", "require_secure_transport") == "0"
    assert _param(east, "default.aurora-postgresql15", "rds.force_ssl", cluster=True) == "1"
    assert _param(east, "pg16-ssl-off", "rds.force_ssl") == "0"
    assert instance(east, "pg16")["DBParameterGroups"][0]["DBParameterGroupName"] == "pg16-ssl-off"


def test_custom_parameter_groups_list_every_parameter_of_their_family(sim):
    east = sim.client()
    east.create_db_parameter_group(DBParameterGroupName="pg16-plain", DBParameterGroupFamily="postgres16",
                                   Description="no TLS setting of its own")
    plain = {p["ParameterName"]: p for p in east.describe_db_parameters(DBParameterGroupName="pg16-plain")["Parameters"]}
    # Not set in the group: RDS still lists it, with the engine default.
    assert plain["rds.force_ssl"]["ParameterValue"] == "1" and plain["rds.force_ssl"]["Source"] == "engine-default"
    custom = {p["ParameterName"]: p for p in east.describe_db_parameters(DBParameterGroupName="pg16-ssl-off")["Parameters"]}
    assert custom["rds.force_ssl"]["ParameterValue"] == "0" and custom["rds.force_ssl"]["Source"] == "user"
    assert custom["rds.force_ssl"]["DataType"] == "boolean" and custom["rds.force_ssl"]["IsModifiable"] is True
    user = east.describe_db_parameters(DBParameterGroupName="pg16-plain", Source="user")["Parameters"]
    assert user == []


# -- faults -------------------------------------------------------------------------------

def test_throttling_and_server_errors_are_injected_per_operation_and_region(sim):
    east = sim.client(config=NO_RETRY)
    west = sim.client(region="eu-west-1", config=NO_RETRY)
    sim.faults([{"operation": "DescribeDBInstances", "region": "us-east-1", "error": "Throttling", "count": 2},
                {"operation": "DescribeCertificates", "error": "InternalFailure", "rate": 1.0}])
    for _attempt in range(2):
        with pytest.raises(ClientError) as excinfo:
            east.describe_db_instances()
        assert error_code(excinfo) == "Throttling"
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert east.describe_db_instances()["DBInstances"]  # count exhausted
    assert west.describe_db_instances()["DBInstances"]  # other region untouched
    with pytest.raises(ClientError) as excinfo:
        west.describe_certificates()
    assert error_code(excinfo) == "InternalFailure"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    calls = sim.calls()
    assert calls["errors"]["rds:us-east-1:DescribeDBInstances"] == 2


def test_throttling_rate_is_a_share_of_calls(sim):
    east = sim.client(config=NO_RETRY)
    sim.faults([{"operation": "DescribeDBEngineVersions", "error": "RequestLimitExceeded", "rate": 0.5}], seed=7)
    outcomes = []
    for _attempt in range(40):
        try:
            east.describe_db_engine_versions(Engine="mysql")
            outcomes.append("ok")
        except ClientError as exc:
            assert error_code_of(exc) == "RequestLimitExceeded"
            outcomes.append("throttled")
    assert 8 <= outcomes.count("throttled") <= 32, outcomes


def error_code_of(exc: ClientError) -> str:
    return exc.response["Error"]["Code"]


def test_latency_is_added_to_matching_calls(sim):
    east = sim.client()
    sim.faults([{"operation": "DescribeCertificates", "latency_ms": 300}])
    started = time.monotonic()
    east.describe_certificates()
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    east.describe_db_engine_versions(Engine="mysql")
    slow_unrelated = time.monotonic() - started >= 0.3
    assert not slow_unrelated


def test_botocore_retries_ride_through_a_throttling_burst(sim):
    east = sim.client(config=Config(retries={"total_max_attempts": 5, "mode": "standard"}))
    sim.faults([{"operation": "DescribeDBInstances", "error": "Throttling", "count": 3}])
    assert len(east.describe_db_instances()["DBInstances"]) > 5
    assert sim.calls()["errors"]["rds:us-east-1:DescribeDBInstances"] == 3


def test_calls_are_counted_per_region_and_operation(sim):
    sim.reset_calls()
    sim.client().describe_db_instances()
    sim.client(region="eu-west-1").describe_certificates()
    sim.client(region="eu-west-1").describe_certificates()
    calls = sim.calls()
    assert calls["total"] == 3
    assert calls["by_region"] == {"us-east-1": {"rds:DescribeDBInstances": 1},
                                  "eu-west-1": {"rds:DescribeCertificates": 2}}


def test_describe_regions_is_served_for_regions_all(sim):
    regions = {r["RegionName"] for r in sim.client("ec2").describe_regions()["Regions"]}
    assert {"us-east-1", "eu-west-1", "ap-southeast-2"} <= regions


# -- fleet files and the command line -------------------------------------------------------

@pytest.mark.parametrize("bad, message", [
    ({}, "'regions' is required"),
    ({"regions": {"us-east-1": {"instances": [{"id": "a", "engine": "postgres"}]}}}, "'engine_version' is required"),
    ({"regions": {"us-east-1": {"instances": [{"id": "a", "engine": "postgres", "engine_version": "16.3",
                                               "ca": "rds-ca-2015"}]}}}, "unknown CA 'rds-ca-2015'"),
    ({"regions": {"us-east-1": {"instances": [{"id": "a", "engine": "postgres", "engine_version": "16.3",
                                               "colour": "red"}]}}}, "unknown key(s) ['colour']"),
    ({"regions": {"us-east-1": {"instances": [{"id": "a", "engine": "postgres", "engine_version": "16.3",
                                               "replica_of": "b"}]}}}, "replica of unknown 'b'"),
    ({"regions": {"us-east-1": {"clusters": [{"id": "c", "engine": "aurora-postgresql",
                                              "engine_version": "15.4"}]}}}, "needs at least one member"),
    ({"regions": {"us-east-1": {"instances": [{"id": "a", "engine": "oracle-ee", "engine_version": "19",
                                               "linked": "postgres"}]}}}, "cannot be linked"),
])
def test_bad_fleet_files_are_rejected_with_the_path(bad, message):
    with pytest.raises(FleetError) as excinfo:
        parse_fleet(bad)
    assert message in str(excinfo.value)


def test_unknown_engine_version_is_rejected_when_loaded(simulator):
    with pytest.raises(FleetError) as excinfo:
        simulator.load({"regions": {"us-east-1": {"instances": [
            {"id": "a", "engine": "postgres", "engine_version": "10.1"}]}}})
    assert "postgres 10.1" in str(excinfo.value)


def test_command_line_serves_a_fleet_and_stops_cleanly(tmp_path):
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    fleet = tmp_path / "fleet.yml"
    fleet.write_text("regions:\n  us-west-2:\n    instances:\n"
                     "      - {id: cli-db, engine: postgres, engine_version: '16.3', ca: rds-ca-2019}\n")
    info_file = tmp_path / "info.json"
    state_dir = tmp_path / "not" / "there" / "yet"  # --state-dir that does not exist yet is created
    proc = subprocess.Popen([sys.executable, "-m", "tests.simulator", "serve", "--fleet", str(fleet), "--port", "0",
                             "--info-file", str(info_file), "--state-dir", str(state_dir)], cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline = time.monotonic() + 60
        while not info_file.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert info_file.exists(), proc.stderr.read() if proc.poll() is not None else "no info file"
        info = json.loads(info_file.read_text())
        import boto3

        client = boto3.client("rds", region_name="us-west-2", endpoint_url=info["endpoint_url"],
                              aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="example")
        dbs = client.describe_db_instances()["DBInstances"]
        assert [(d["DBInstanceIdentifier"], d["CACertificateIdentifier"]) for d in dbs] == [("cli-db", "rds-ca-2019")]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "RDS simulator listening on http://127.0.0.1:" in out and "RDS simulator stopping" in out
    assert state_dir.is_dir()  # a given state dir is kept
