# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Unit tests for plugins/module_utils/inventory.py: classification, facts, filters, summary, gathering."""

from __future__ import annotations

import datetime
import json
import os
import threading

import botocore.exceptions
import pytest

from ansible_collections.rdsca.rotation.plugins.module_utils import inventory
from ansible_collections.rdsca.rotation.plugins.module_utils.inventory import (
    DEFAULT_TARGET_CA,
    REASONS,
    UNKNOWN,
    build_region,
    classify,
    cluster_members,
    database_facts,
    days_until,
    engine_capabilities,
    engine_supported,
    engine_versions_needed,
    environment_of,
    filter_options,
    gather_regions,
    maintenance_by_resource,
    parse_time,
    region_certificates,
    region_context,
    restart_facts,
    summarize,
    validate_options,
)

NOW = datetime.datetime(2026, 11, 28, 12, 0, 0, tzinfo=datetime.timezone.utc)
TARGET = "rds-ca-rsa2048-g1"


def _shared_data_dir():
    """/work/shared/data/rds-ca, i.e. <repo>/../shared/data/rds-ca, found from the repo or a copy under it."""
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = []
    if os.environ.get("RDSCA_SHARED_DATA"):
        candidates.append(os.environ["RDSCA_SHARED_DATA"])
    directory = here
    while True:
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        candidates.append(os.path.join(parent, "shared", "data", "rds-ca"))
        directory = parent
    for candidate in candidates:
        if os.path.isdir(candidate):
            return candidate
    return None


def shared_json(name):
    directory = _shared_data_dir()
    path = os.path.join(directory, name) if directory else None
    if path is None or not os.path.exists(path):
        pytest.skip("real AWS sample %s not available: expected in <repo>/../shared/data/rds-ca/ "
                    "(or $RDSCA_SHARED_DATA); it is public AWS output, not copied into the repo" % name)
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def options(**overrides):
    params = {"target_ca": TARGET, "environment_tag": "Environment"}
    params.update(overrides)
    return filter_options(params)


# -- classification ------------------------------------------------------------------------

class TestClassify:
    def test_every_reason_is_documented(self):
        assert set(REASONS) == {"unsupported_engine", "already_on_target", "pending_change_to_target",
                                "ca_expired", "ca_expires_soon", "not_on_target_ca"}

    def test_unsupported_engine_wins(self):
        assert classify("rds-ca-2019", TARGET, ca_expired=True, supported=False) == (False, "unsupported_engine")

    def test_already_on_target(self):
        assert classify(TARGET, TARGET, ca_days_left=12000, ca_expired=False) == (False, "already_on_target")

    def test_already_on_target_even_with_a_pending_change_elsewhere(self):
        assert classify(TARGET, TARGET, pending_ca="rds-ca-ecc384-g1") == (False, "already_on_target")

    def test_pending_change_to_target(self):
        assert classify("rds-ca-2019", TARGET, pending_ca=TARGET, ca_expired=True) == (False, "pending_change_to_target")

    def test_pending_change_to_another_ca_still_needs_rotation(self):
        assert classify("rds-ca-2019", TARGET, pending_ca="rds-ca-ecc384-g1", ca_expired=True) == (True, "ca_expired")

    def test_expired(self):
        assert classify("rds-ca-2019", TARGET, ca_days_left=-800, ca_expired=True) == (True, "ca_expired")

    def test_expires_soon_only_with_a_threshold(self):
        assert classify("rds-ca-x", TARGET, ca_days_left=20, ca_expired=False,
                        expiring_within_days=30) == (True, "ca_expires_soon")
        assert classify("rds-ca-x", TARGET, ca_days_left=20, ca_expired=False) == (True, "not_on_target_ca")

    def test_expires_soon_boundary_is_inclusive(self):
        assert classify("rds-ca-x", TARGET, ca_days_left=30, ca_expired=False, expiring_within_days=30)[1] == "ca_expires_soon"
        assert classify("rds-ca-x", TARGET, ca_days_left=31, ca_expired=False, expiring_within_days=30)[1] == "not_on_target_ca"

    def test_valid_but_not_target(self):
        assert classify("rds-ca-rsa4096-g1", TARGET, ca_days_left=34000, ca_expired=False,
                        expiring_within_days=90) == (True, "not_on_target_ca")

    def test_unknown_validity_is_not_expired(self):
        assert classify("rds-ca-mystery", TARGET) == (True, "not_on_target_ca")

    @pytest.mark.parametrize("capability, expected", [
        ({"rotation_without_restart": True, "supported_cas": ["a"]}, (True, False, ["a"])),
        ({"rotation_without_restart": False, "supported_cas": ["a"]}, (False, True, ["a"])),
        ({"rotation_without_restart": UNKNOWN, "supported_cas": None}, (UNKNOWN, UNKNOWN, None)),
        (None, (UNKNOWN, UNKNOWN, None)),
    ])
    def test_restart_facts(self, capability, expected):
        assert restart_facts(capability) == expected

    @pytest.mark.parametrize("engine, supported", [
        ("postgres", True), ("aurora-postgresql", True), ("sqlserver-se", True), ("oracle-ee", True),
        ("db2-se", True), ("docdb", True), ("neptune", True), ("custom-oracle-ee", False),
    ])
    def test_engine_supported(self, engine, supported):
        assert engine_supported(engine) is supported


class TestTime:
    def test_parse_time_forms(self):
        expected = datetime.datetime(2024, 8, 22, 17, 8, 50, tzinfo=datetime.timezone.utc)
        assert parse_time("2024-08-22T17:08:50+00:00") == expected
        assert parse_time("2024-08-22T17:08:50Z") == expected
        assert parse_time("2024-08-22 17:08:50+00:00") == expected
        assert parse_time("2024-08-22T19:08:50+02:00") == expected
        assert parse_time(expected.replace(tzinfo=None)) == expected
        assert parse_time(None) is None

    def test_days_until_floors_and_goes_negative(self):
        assert days_until(NOW + datetime.timedelta(days=1, hours=23), NOW) == 1
        assert days_until(NOW - datetime.timedelta(hours=1), NOW) == -1
        assert days_until(None, NOW) is None


# -- real AWS output (shared data) -----------------------------------------------------------

class TestRealAWSOutput:
    def test_describe_certificates_us_west_2(self):
        response = shared_json("describe-certificates.us-west-2.json")
        facts = region_certificates(response, NOW, TARGET)
        by_id = dict((c["identifier"], c) for c in facts["certificates"])
        assert set(by_id) == {"rds-ca-2019", "rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1"}
        assert facts["default_ca_for_new_launches"] == "rds-ca-rsa2048-g1"
        assert facts["customer_override"] == "rds-ca-rsa2048-g1"
        assert facts["customer_override_valid_till"] == "2061-05-24T22:59:00+00:00"
        assert facts["target_ca_available"] is True
        old = by_id["rds-ca-2019"]
        assert old["expired"] is True
        assert old["valid_till"] == "2024-08-22T17:08:50+00:00"
        assert old["valid_from"] == "2019-08-22T17:08:50+00:00"
        assert old["days_left"] == days_until("2024-08-22T17:08:50+00:00", NOW) < 0
        assert old["thumbprint"] == "d40ddb29e3750dffa671c3140bbf5f478d1c8096"
        assert old["arn"] == "arn:aws:rds:us-west-2::cert:rds-ca-2019"
        assert old["type"] == "CA"
        assert old["customer_override"] is False
        g1 = by_id["rds-ca-ecc384-g1"]
        assert g1["expired"] is False and g1["valid_till"] == "2121-05-24T23:06:59+00:00"
        # Oldest expiry first: the one that matters leads.
        assert facts["certificates"][0]["identifier"] == "rds-ca-2019"
        assert region_certificates(response, NOW, "rds-ca-nonexistent")["target_ca_available"] is False

    def test_a_target_ca_that_cannot_be_used_is_named(self):
        """Issue 13 item 6: an expired or unknown target CA is a problem of the region, a current one is not."""
        response = shared_json("describe-certificates.us-west-2.json")
        assert region_certificates(response, NOW, TARGET)["target_ca_problem"] is None
        expired = region_certificates(response, NOW, "rds-ca-2019")
        assert (expired["target_ca_expired"], expired["target_ca_valid_till"]) == (True, "2024-08-22T17:08:50+00:00")
        assert expired["target_ca_problem"] == ("rds-ca-2019 expired on 2024-08-22T17:08:50+00:00: "
                                                "a database cannot be rotated to it")
        unknown = region_certificates(response, NOW, "rds-ca-rsa2048-g9")["target_ca_problem"]
        assert unknown.startswith("rds-ca-rsa2048-g9 is not a CA of this region (DescribeCertificates lists: rds-ca-2019, ")

    def test_describe_db_engine_versions_postgres_default_only(self):
        response = shared_json("describe-db-engine-versions.postgres-default-only.json")
        caps = engine_capabilities(response["DBEngineVersions"])
        assert caps == {("postgres", "13.4"): {
            "rotation_without_restart": True,
            "supported_cas": ["rds-ca-2019", "rds-ca-rsa2048-g1", "rds-ca-ecc384-g1", "rds-ca-rsa4096-g1"],
            "status": "available",
        }}

    def test_real_samples_classify_a_database(self):
        certs = shared_json("describe-certificates.us-west-2.json")
        versions = shared_json("describe-db-engine-versions.postgres-default-only.json")
        raw = {
            "instances": [_instance("orders", engine="postgres", version="13.4", ca="rds-ca-2019", region="us-west-2"),
                          _instance("ledger", engine="postgres", version="13.9", ca="rds-ca-2019", region="us-west-2")],
            "clusters": [], "maintenance": [], "certificates": certs,
            "engine_versions": versions["DBEngineVersions"],
        }
        databases, facts = build_region("us-west-2", raw, options(), NOW)
        orders, ledger = sorted(databases, key=lambda d: d["identifier"], reverse=True)
        assert orders["identifier"] == "orders"
        assert orders["rotation_without_restart"] is True and orders["would_restart"] is False
        assert orders["supported_cas"] == ["rds-ca-2019", "rds-ca-rsa2048-g1", "rds-ca-ecc384-g1", "rds-ca-rsa4096-g1"]
        assert orders["target_ca_supported"] is True
        assert orders["ca_valid_till"] == "2024-08-22T17:08:50+00:00" and orders["ca_expired"] is True
        assert (orders["needs_rotation"], orders["reason"]) == (True, "ca_expired")
        # 13.9 is not in the default-only answer: restart behaviour unknown, never guessed.
        assert ledger["rotation_without_restart"] == UNKNOWN and ledger["would_restart"] == UNKNOWN
        assert ledger["supported_cas"] is None and ledger["target_ca_supported"] == UNKNOWN
        assert facts["customer_override"] == "rds-ca-rsa2048-g1"
        assert facts["counts"]["by_restart"] == {"restart": 0, "no_restart": 1, "unknown": 1}


# -- facts from raw responses ----------------------------------------------------------------

def _instance(ident, engine="postgres", version="16.3", ca="rds-ca-2019", region="us-east-1", tags=None,
              cluster=None, pending=None, valid_till=None, **extra):
    db = {
        "DBInstanceIdentifier": ident,
        "DBInstanceArn": "arn:aws:rds:%s:123456789012:db:%s" % (region, ident),
        "DBInstanceClass": "db.t3.micro",
        "Engine": engine,
        "EngineVersion": version,
        "DBInstanceStatus": "available",
        "MultiAZ": False,
        "Endpoint": {"Address": "%s.abc.%s.rds.amazonaws.com" % (ident, region), "Port": 5432},
        "CACertificateIdentifier": ca,
        "TagList": [{"Key": k, "Value": v} for k, v in (tags or {}).items()],
        "ReadReplicaDBInstanceIdentifiers": [],
    }
    if ca:
        db["CertificateDetails"] = {"CAIdentifier": ca, "ValidTill": valid_till or CA_TILL.get(ca)}
    if cluster:
        db["DBClusterIdentifier"] = cluster
    if pending:
        db["PendingModifiedValues"] = {"CACertificateIdentifier": pending}
    db.update(extra)
    return db


CA_TILL = {
    "rds-ca-2019": "2024-08-22T17:08:50+00:00",
    "rds-ca-rsa2048-g1": "2061-05-24T22:59:00+00:00",
    "rds-ca-rsa4096-g1": "2121-05-24T23:03:20+00:00",
    "rds-ca-ecc384-g1": "2121-05-24T23:06:59+00:00",
    "rds-ca-soon": "2026-12-20T00:00:00+00:00",
}


def _certificates(region="us-east-1", override=None, default="rds-ca-rsa2048-g1"):
    certs = []
    for ident, till in CA_TILL.items():
        cert = {"CertificateIdentifier": ident, "CertificateType": "CA", "Thumbprint": "t-" + ident,
                "ValidFrom": "2021-05-24T21:59:00+00:00", "ValidTill": till,
                "CertificateArn": "arn:aws:rds:%s::cert:%s" % (region, ident), "CustomerOverride": ident == override}
        if ident == override:
            cert["CustomerOverrideValidTill"] = till
        certs.append(cert)
    return {"Certificates": certs, "DefaultCertificateForNewLaunches": default}


def _versions():
    def item(engine, version, restart_free, cas=("rds-ca-2019", "rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1")):
        return {"Engine": engine, "EngineVersion": version, "SupportsCertificateRotationWithoutRestart": restart_free,
                "SupportedCACertificateIdentifiers": list(cas), "Status": "available"}
    return [item("postgres", "11.22", False), item("postgres", "16.3", True), item("aurora-postgresql", "15.4", True),
            item("mysql", "8.0.36", True), item("mariadb", "10.6.16", False, cas=("rds-ca-2019", "rds-ca-ecc384-g1")),
            {"Engine": "mysql", "EngineVersion": "5.7.44", "Status": "deprecated"}]


def _fleet_raw():
    """One region: standalone, replica, Aurora cluster, Multi-AZ DB cluster, pending change, maintenance, RDS Custom."""
    instances = [
        _instance("pg11", version="11.22", tags={"Environment": "staging"}),
        _instance("pg16", version="16.3", ca="rds-ca-rsa2048-g1", tags={"environment": "production"}),
        _instance("pg16-replica", version="16.3", ReadReplicaSourceDBInstanceIdentifier="pg16"),
        _instance("mysql", engine="mysql", version="8.0.36", pending=TARGET, tags={"Environment": "staging"}),
        _instance("mysql57", engine="mysql", version="5.7.44", ca="rds-ca-rsa4096-g1"),
        _instance("maria", engine="mariadb", version="10.6.16", ca="rds-ca-soon", tags={"Env": "x"}),
        _instance("aurora-1", engine="aurora-postgresql", version="15.4", cluster="aurora"),
        _instance("aurora-2", engine="aurora-postgresql", version="15.4", cluster="aurora",
                  tags={"Environment": "staging"}),
        _instance("maz-1", version="16.3", ca=None, cluster="maz"),
        _instance("maz-2", version="16.3", ca=None, cluster="maz"),
        _instance("docs", engine="custom-oracle-ee", version="19.c.ee.002"),
    ]
    instances[1]["ReadReplicaDBInstanceIdentifiers"] = ["pg16-replica"]
    clusters = [
        {"DBClusterIdentifier": "aurora", "Engine": "aurora-postgresql",
         "DBClusterArn": "arn:aws:rds:us-east-1:123456789012:cluster:aurora",
         "TagList": [{"Key": "Environment", "Value": "production"}],
         "DBClusterMembers": [{"DBInstanceIdentifier": "aurora-1", "IsClusterWriter": True},
                              {"DBInstanceIdentifier": "aurora-2", "IsClusterWriter": False}]},
        {"DBClusterIdentifier": "maz", "Engine": "postgres", "DBClusterInstanceClass": "db.r6g.large",
         "DBClusterArn": "arn:aws:rds:us-east-1:123456789012:cluster:maz",
         "CertificateDetails": {"CAIdentifier": "rds-ca-2019", "ValidTill": CA_TILL["rds-ca-2019"]},
         "PendingModifiedValues": {"CertificateDetails": {"CAIdentifier": "rds-ca-ecc384-g1"}},
         "TagList": [{"Key": "Environment", "Value": "production"}],
         "DBClusterMembers": [{"DBInstanceIdentifier": "maz-1", "IsClusterWriter": True},
                              {"DBInstanceIdentifier": "maz-2", "IsClusterWriter": False}]},
    ]
    maintenance = [
        {"ResourceIdentifier": "arn:aws:rds:us-east-1:123456789012:db:pg11",
         "PendingMaintenanceActionDetails": [
             {"Action": "system-update", "Description": "not ours"},
             {"Action": "ca-certificate-rotation", "AutoAppliedAfterDate": datetime.datetime(2026, 12, 1),
              "ForcedApplyDate": "2027-01-15T00:00:00Z", "OptInStatus": "next-maintenance",
              "CurrentApplyDate": "2026-11-29T05:00:00+00:00", "Description": "Certificate rotation"}]},
        {"ResourceIdentifier": "arn:aws:rds:us-east-1:123456789012:db:mysql57",
         "PendingMaintenanceActionDetails": [{"Action": "system-update"}]},
    ]
    return {"instances": instances, "clusters": clusters, "maintenance": maintenance,
            "certificates": _certificates(), "engine_versions": _versions()}


def _by_id(databases):
    return dict((d["identifier"], d) for d in databases)


class TestDatabaseFacts:
    def test_every_field_of_a_standalone_instance(self):
        databases, _facts = build_region("us-east-1", _fleet_raw(), options(), NOW)
        pg11 = _by_id(databases)["pg11"]
        assert pg11 == {
            "identifier": "pg11",
            "arn": "arn:aws:rds:us-east-1:123456789012:db:pg11",
            "region": "us-east-1",
            "engine": "postgres",
            "engine_version": "11.22",
            "engine_supported": True,
            "endpoint_certificate": "rds_ca",
            "instance_class": "db.t3.micro",
            "status": "available",
            "multi_az": False,
            "cluster_id": None,
            "cluster_type": None,
            "cluster_role": None,
            "cluster_writer": None,
            "read_replica_source": None,
            "read_replicas": [],
            "endpoint_address": "pg11.abc.us-east-1.rds.amazonaws.com",
            "endpoint_port": 5432,
            "current_ca": "rds-ca-2019",
            "ca_valid_till": "2024-08-22T17:08:50+00:00",
            "ca_days_left": days_until("2024-08-22T17:08:50+00:00", NOW),
            "ca_expired": True,
            "certificate_valid_till": "2024-08-22T17:08:50+00:00",
            "days_left": days_until("2024-08-22T17:08:50+00:00", NOW),
            "pending_ca": None,
            "pending_maintenance": {
                "action": "ca-certificate-rotation",
                "description": "Certificate rotation",
                "auto_applied_after": "2026-12-01T00:00:00+00:00",
                "forced_apply": "2027-01-15T00:00:00+00:00",
                "current_apply_date": "2026-11-29T05:00:00+00:00",
                "opt_in_status": "next-maintenance",
            },
            "rotation_without_restart": False,
            "would_restart": True,
            "supported_cas": ["rds-ca-2019", "rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1"],
            "target_ca_supported": True,
            "tags": {"Environment": "staging"},
            "environment": "staging",
            "needs_rotation": True,
            "reason": "ca_expired",
        }

    def test_replicas_environment_and_reasons(self):
        dbs = _by_id(build_region("us-east-1", _fleet_raw(), options(), NOW)[0])
        assert dbs["pg16"]["read_replicas"] == ["pg16-replica"]
        assert dbs["pg16-replica"]["read_replica_source"] == "pg16"
        # Case-insensitive fallback on the environment tag key; none at all gives None.
        assert dbs["pg16"]["environment"] == "production"
        assert dbs["pg16-replica"]["environment"] is None
        assert dbs["maria"]["environment"] is None
        assert (dbs["pg16"]["needs_rotation"], dbs["pg16"]["reason"]) == (False, "already_on_target")
        assert (dbs["mysql"]["needs_rotation"], dbs["mysql"]["reason"]) == (False, "pending_change_to_target")
        assert dbs["mysql"]["pending_ca"] == TARGET
        assert (dbs["mysql57"]["needs_rotation"], dbs["mysql57"]["reason"]) == (True, "not_on_target_ca")
        assert (dbs["maria"]["needs_rotation"], dbs["maria"]["reason"]) == (True, "not_on_target_ca")
        # Only ca-certificate-rotation actions count.
        assert dbs["mysql57"]["pending_maintenance"] is None

    def test_deprecated_version_without_capabilities_is_unknown(self):
        mysql57 = _by_id(build_region("us-east-1", _fleet_raw(), options(), NOW)[0])["mysql57"]
        assert mysql57["rotation_without_restart"] == UNKNOWN
        assert mysql57["would_restart"] == UNKNOWN
        assert mysql57["supported_cas"] is None

    def test_target_ca_support_per_version(self):
        maria = _by_id(build_region("us-east-1", _fleet_raw(), options(), NOW)[0])["maria"]
        assert maria["target_ca_supported"] is False

    def test_aurora_roles_and_cluster_tags(self):
        dbs = _by_id(build_region("us-east-1", _fleet_raw(), options(), NOW)[0])
        writer, reader = dbs["aurora-1"], dbs["aurora-2"]
        assert (writer["cluster_id"], writer["cluster_type"], writer["cluster_role"], writer["cluster_writer"]) == (
            "aurora", "aurora", "writer", True)
        assert (reader["cluster_role"], reader["cluster_writer"]) == ("reader", False)
        # Environment: own tag first, else the cluster's.
        assert writer["environment"] == "production"
        assert reader["environment"] == "staging"
        assert writer["tags"] == {}

    def test_multi_az_db_cluster_members(self):
        dbs = _by_id(build_region("us-east-1", _fleet_raw(), options(), NOW)[0])
        member = dbs["maz-1"]
        assert member["cluster_role"] == "multi_az_db_cluster"
        assert member["cluster_type"] == "multi_az_db_cluster"
        assert member["cluster_writer"] is True and dbs["maz-2"]["cluster_writer"] is False
        # CA and its pending change come from the cluster when the instance does not carry them.
        assert member["current_ca"] == "rds-ca-2019"
        assert member["pending_ca"] == "rds-ca-ecc384-g1"
        assert member["certificate_valid_till"] == "2024-08-22T17:08:50+00:00"
        assert (member["needs_rotation"], member["reason"]) == (True, "ca_expired")

    def test_unsupported_engine_is_reported_not_rotated(self):
        docs = _by_id(build_region("us-east-1", _fleet_raw(), options(), NOW)[0])["docs"]
        assert docs["engine_supported"] is False
        assert (docs["needs_rotation"], docs["reason"]) == (False, "unsupported_engine")
        assert docs["would_restart"] == UNKNOWN and docs["target_ca_supported"] == UNKNOWN

    def test_ca_missing_from_describe_certificates_falls_back_to_server_certificate(self):
        raw = {"instances": [_instance("x", ca="rds-ca-future", valid_till="2027-01-01T00:00:00+00:00")],
               "certificates": _certificates(), "engine_versions": _versions()}
        fact = build_region("us-east-1", raw, options(expiring_within_days=60), NOW)[0][0]
        assert fact["ca_valid_till"] is None
        assert fact["ca_days_left"] == fact["days_left"] == 33  # 33.5 days, floored
        assert (fact["needs_rotation"], fact["reason"]) == (True, "ca_expires_soon")

    def test_region_facts(self):
        raw = _fleet_raw()
        raw["certificates"] = _certificates(override="rds-ca-rsa4096-g1", default="rds-ca-rsa4096-g1")
        databases, facts = build_region("us-east-1", raw, options(), NOW)
        assert facts["region"] == "us-east-1"
        assert facts["default_ca_for_new_launches"] == "rds-ca-rsa4096-g1"
        assert facts["customer_override"] == "rds-ca-rsa4096-g1"
        assert facts["customer_override_valid_till"] == "2121-05-24T23:03:20+00:00"
        assert facts["target_ca_available"] is True
        assert [c["identifier"] for c in facts["certificates"]][0] == "rds-ca-2019"
        assert facts["counts"] == {
            "databases": 11, "scanned": 11, "needs_rotation": 8,
            "by_ca": {"rds-ca-2019": 8, "rds-ca-rsa2048-g1": 1, "rds-ca-rsa4096-g1": 1, "rds-ca-soon": 1},
            "by_restart": {"restart": 2, "no_restart": 7, "unknown": 2},
        }
        filtered, facts = build_region("us-east-1", raw, options(engines=["mysql"]), NOW)
        assert (facts["counts"]["databases"], facts["counts"]["scanned"]) == (len(filtered), 11) == (2, 11)
        assert [d["identifier"] for d in databases] == sorted(d["identifier"] for d in databases)


class TestFilters:
    def ids(self, **overrides):
        return sorted(_by_id(build_region("us-east-1", _fleet_raw(), options(**overrides), NOW)[0]))

    def test_engines_glob(self):
        assert self.ids(engines=["aurora-*"]) == ["aurora-1", "aurora-2"]
        assert self.ids(engines=["mysql", "mariadb"]) == ["maria", "mysql", "mysql57"]

    def test_identifiers_match_instance_cluster_or_arn(self):
        assert self.ids(identifiers=["maz"]) == ["maz-1", "maz-2"]
        assert self.ids(identifiers=["PG16*"]) == ["pg16", "pg16-replica"]
        assert self.ids(identifiers=["arn:aws:rds:us-east-1:123456789012:db:maria"]) == ["maria"]

    def test_tags_own_or_cluster(self):
        assert self.ids(tags={"Environment": "production"}) == ["aurora-1", "maz-1", "maz-2"]
        assert self.ids(tags={"Environment": ["staging", "prod*"]}) == [
            "aurora-1", "aurora-2", "maz-1", "maz-2", "mysql", "pg11"]

    def test_expiring_within_days(self):
        # rds-ca-soon expires 2026-12-20: 21 days after NOW; the expired rds-ca-2019 ones are included.
        expiring = self.ids(expiring_within_days=30)
        assert "maria" in expiring and "pg16" not in expiring and "mysql57" not in expiring
        assert set(expiring) == {"aurora-1", "aurora-2", "docs", "maria", "maz-1", "maz-2", "mysql", "pg11",
                                 "pg16-replica"}
        assert self.ids(expiring_within_days=0) == sorted(set(expiring) - {"maria"})
        maria = _by_id(build_region("us-east-1", _fleet_raw(), options(expiring_within_days=30), NOW)[0])["maria"]
        assert maria["reason"] == "ca_expires_soon"

    def test_filters_combine(self):
        assert self.ids(engines=["postgres"], tags={"Environment": "production"}) == ["maz-1", "maz-2"]

    def test_engine_versions_needed_follows_the_filters(self):
        raw = _fleet_raw()
        assert engine_versions_needed(raw["instances"]) == {
            "postgres": ["11.22", "16.3"], "mysql": ["5.7.44", "8.0.36"], "mariadb": ["10.6.16"],
            "aurora-postgresql": ["15.4"]}
        opts = options(engines=["postgres", "docdb"])
        assert engine_versions_needed(raw["instances"], opts, raw["clusters"]) == {"postgres": ["11.22", "16.3"]}
        opts = options(tags={"Environment": "production"})
        assert engine_versions_needed(raw["instances"], opts, raw["clusters"]) == {
            "postgres": ["16.3"], "aurora-postgresql": ["15.4"]}


class TestValidateOptions:
    def test_valid(self):
        assert validate_options({"engines": ["postgres", "aurora-*", "sqlserver-*", "oracle-*", "docdb"],
                                 "expiring_within_days": 0, "tags": {"Environment": "production", "Tier": 1},
                                 "target_ca": DEFAULT_TARGET_CA, "environment_tag": "Environment",
                                 "identifiers": ["db-*"]}) == []

    def test_problems(self):
        problems = validate_options({"engines": ["postgress"], "expiring_within_days": -1,
                                     "tags": {"Environment": {"a": 1}}, "target_ca": "RDS CA 2019",
                                     "environment_tag": " ", "identifiers": [""]})
        assert len(problems) == 6
        assert any("postgress" in p and "matches no RDS engine" in p for p in problems)
        assert any("expiring_within_days must be 0 or more, got -1" == p for p in problems)


class TestSummary:
    def test_totals(self):
        databases, _facts = build_region("us-east-1", _fleet_raw(), options(), NOW)
        summary = summarize(databases, ["us-east-1", "eu-west-1"], [{"region": "eu-west-1"}])
        assert summary["regions_queried"] == 2 and summary["regions_failed"] == 1
        assert summary["databases"] == 11
        assert summary["needs_rotation"] == 8
        assert summary["by_ca"] == {"rds-ca-2019": 8, "rds-ca-rsa2048-g1": 1, "rds-ca-rsa4096-g1": 1, "rds-ca-soon": 1}
        assert summary["by_environment"] == {"staging": 3, "production": 4, "untagged": 4}
        assert summary["by_reason"] == {"ca_expired": 6, "already_on_target": 1, "pending_change_to_target": 1,
                                        "not_on_target_ca": 2, "unsupported_engine": 1}
        assert summary["by_restart"] == {"restart": 2, "no_restart": 7, "unknown": 2}
        assert summary["needs_rotation_by_restart"] == {"restart": 2, "no_restart": 5, "unknown": 1}
        assert summary["by_engine"]["postgres"] == 5
        assert summary["by_region"] == {"us-east-1": 11}
        assert summary["expired"] == 8
        assert summary["expiring"] == {"within_30_days": 9, "within_90_days": 9, "within_180_days": 9,
                                       "within_365_days": 9}

    def test_empty(self):
        summary = summarize([])
        assert summary["databases"] == 0 and summary["by_ca"] == {}


class TestLookups:
    def test_environment_of(self):
        assert environment_of({"Environment": "prod"}, "Environment") == "prod"
        assert environment_of({"ENVIRONMENT": "prod"}, "Environment") == "prod"
        assert environment_of({}, "Environment", {"Environment": "stage"}) == "stage"
        assert environment_of({}, "Environment") is None

    def test_cluster_members_for_other_cluster_types(self):
        members = cluster_members([{"DBClusterIdentifier": "n", "Engine": "neptune",
                                    "DBClusterMembers": [{"DBInstanceIdentifier": "n1", "IsClusterWriter": True}]}])
        assert members["n1"]["cluster_type"] == "neptune" and members["n1"]["cluster_role"] == "writer"

    def test_maintenance_on_a_cluster_arn_applies_to_its_members(self):
        raw = _fleet_raw()
        raw["maintenance"] = [{"ResourceIdentifier": "arn:aws:rds:us-east-1:123456789012:cluster:maz",
                               "PendingMaintenanceActionDetails": [{"Action": "ca-certificate-rotation"}]}]
        dbs = _by_id(build_region("us-east-1", raw, options(), NOW)[0])
        assert dbs["maz-2"]["pending_maintenance"]["action"] == "ca-certificate-rotation"
        assert dbs["pg11"]["pending_maintenance"] is None

    def test_maintenance_index_ignores_other_actions(self):
        assert maintenance_by_resource([{"ResourceIdentifier": "a", "PendingMaintenanceActionDetails": [
            {"Action": "os-upgrade"}]}]) == {}

    def test_database_facts_tolerates_sparse_items(self):
        context = region_context({}, options(), NOW)
        fact = database_facts({"DBInstanceIdentifier": "creating", "Engine": "postgres"}, "us-east-1", context)
        assert fact["endpoint_address"] is None and fact["current_ca"] is None
        assert fact["ca_expired"] is None and fact["days_left"] is None
        assert (fact["needs_rotation"], fact["reason"]) == (True, "not_on_target_ca")


# -- gathering -------------------------------------------------------------------------------

class FakeError(botocore.exceptions.ClientError):
    """A service's error answer, as botocore raises it (the AWS adapter catches ClientError)."""

    def __init__(self, code, message):
        super().__init__({"Error": {"Code": code, "Message": message}}, "Fake")


class FakeClient:
    """Records calls; serves pages of 2 items per Marker."""

    def __init__(self, region, data, fail=None):
        self.region = region
        self.data = data
        self.fail = fail or {}
        self.calls = []
        self.lock = threading.Lock()

    def __getattr__(self, method):
        def call(**params):
            with self.lock:
                self.calls.append((method, params))
            if method in self.fail:
                raise FakeError(*self.fail[method])
            return self.data[method](params)
        return call


def paged(key, items, extra=None):
    def serve(params):
        start = int(params.get("Marker") or 0)
        page = {key: items[start:start + 2]}
        if start + 2 < len(items):
            page["Marker"] = str(start + 2)
        page.update(extra or {})
        return page
    return serve


class FakeClients:
    def __init__(self, clients):
        self.clients = clients

    def get(self, service, region):
        assert service == "rds"
        return self.clients[region]


def _fake(region, fail=None):
    raw = _fleet_raw()
    data = {
        "describe_db_instances": paged("DBInstances", raw["instances"]),
        "describe_db_clusters": paged("DBClusters", raw["clusters"]),
        "describe_pending_maintenance_actions": paged("PendingMaintenanceActions", raw["maintenance"]),
        "describe_certificates": paged("Certificates", raw["certificates"]["Certificates"],
                                       {"DefaultCertificateForNewLaunches": "rds-ca-rsa2048-g1"}),
        "describe_db_engine_versions": lambda params: {"DBEngineVersions": [
            v for v in raw["engine_versions"] if v["Engine"] == params["Engine"]
            and v["EngineVersion"] in params["Filters"][0]["Values"]]},
    }
    return FakeClient(region, data, fail)


def gather(clients, regions, opts=None, concurrency=4):
    return gather_regions(FakeClients(clients), regions, opts or options(), concurrency=concurrency)


class TestGather:
    def test_calls_per_region_and_result(self):
        clients = dict((r, _fake(r)) for r in ("us-east-1", "eu-west-1"))
        states = gather(clients, ["us-east-1", "eu-west-1"])
        for region, client in clients.items():
            assert states[region]["error"] is None
            methods = [m for m, _p in client.calls]
            # 11 instances -> 6 pages, 2 clusters -> 1, 2 actions -> 1, 5 certificates -> 3.
            assert methods.count("describe_db_instances") == 6
            assert methods.count("describe_db_clusters") == 1
            assert methods.count("describe_pending_maintenance_actions") == 1
            assert methods.count("describe_certificates") == 3
            # Pages of 100, the most RDS returns (the fake serves 2 per page to exercise the walk).
            assert all(p["MaxRecords"] == 100 for _m, p in client.calls)
            # One lookup per distinct supported engine (RDS Custom is skipped), exact versions, deprecated ones included.
            lookups = [p for m, p in client.calls if m == "describe_db_engine_versions"]
            assert sorted(p["Engine"] for p in lookups) == ["aurora-postgresql", "mariadb", "mysql", "postgres"]
            assert all(p["IncludeAll"] is True for p in lookups)
            assert [p["Filters"] for p in lookups if p["Engine"] == "mysql"] == [
                [{"Name": "engine-version", "Values": ["5.7.44", "8.0.36"]}]]
            raw = states[region]["raw"]
            assert len(raw["instances"]) == 11 and len(raw["certificates"]["Certificates"]) == 5
            assert raw["certificates"]["DefaultCertificateForNewLaunches"] == "rds-ca-rsa2048-g1"
            databases, _facts = build_region(region, raw, options(), NOW)
            assert _by_id(databases)["pg11"]["would_restart"] is True

    def test_engine_filter_limits_lookups(self):
        clients = {"us-east-1": _fake("us-east-1")}
        gather(clients, ["us-east-1"], options(engines=["aurora-*"]))
        lookups = [p["Engine"] for m, p in clients["us-east-1"].calls if m == "describe_db_engine_versions"]
        assert lookups == ["aurora-postgresql"]

    def test_a_failing_region_does_not_stop_the_others(self):
        clients = {"us-east-1": _fake("us-east-1"),
                   "eu-west-1": _fake("eu-west-1", fail={"describe_db_instances": ("AccessDenied", "no")})}
        states = gather(clients, ["us-east-1", "eu-west-1"], concurrency=1)
        assert states["us-east-1"]["error"] is None
        assert states["eu-west-1"]["error"] == {"region": "eu-west-1", "operation": "DescribeDBInstances",
                                                "error_code": "AccessDenied", "message": "no"}
        assert not any(m == "describe_db_engine_versions" for m, _p in clients["eu-west-1"].calls)

    def test_engine_version_failure_fails_the_region(self):
        clients = {"us-east-1": _fake("us-east-1", fail={"describe_db_engine_versions": ("Throttling", "slow")})}
        states = gather(clients, ["us-east-1"])
        assert states["us-east-1"]["error"]["operation"] == "DescribeDBEngineVersions"

    def test_no_regions(self):
        assert gather({}, []) == {}

    def test_unexpected_errors_propagate(self):
        client = _fake("us-east-1")
        client.data["describe_db_clusters"] = lambda params: 1 / 0
        with pytest.raises(ZeroDivisionError):
            gather({"us-east-1": client}, ["us-east-1"])


def test_module_has_no_boto3_import_at_top_level():
    with open(inventory.__file__, encoding="utf-8") as handle:
        top_level = [line for line in handle if line.startswith(("import ", "from "))]
    assert not [line for line in top_level if "boto" in line or "amazon.aws" in line]
