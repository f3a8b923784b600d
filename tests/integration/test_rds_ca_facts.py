"""rdsca.rotation.rds_ca_facts against the simulator, through real ansible-playbook runs.

Fleet: tests/fleets/facts.yml (three regions; see its header). Every run passes the
simulator's URL through `module_defaults: group/rdsca.rotation.rds_ca` while the
AWS_ENDPOINT_URL environment variable points at a dead port, so a passing run also
proves that the action group and the amazon.aws endpoint_url option work.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re

import pytest
import yaml

from conftest import REPO
from tests.simulator.catalog import ca_certificate

FLEET = os.path.join(REPO, "tests", "fleets", "facts.yml")
MODULE = os.path.join(REPO, "plugins", "modules", "rds_ca_facts.py")
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]
DEAD_ENDPOINT = "http://127.0.0.1:9"


def ca_till(region: str, ca: str) -> str:
    """ValidTill of a CA in a region, as DescribeCertificates serves it: each region's root has its own dates
    (the simulator's catalog, generated from AWS's bundles)."""
    return ca_certificate(region, ca).valid_till.isoformat()


ALL_CAS = ["rds-ca-2019", "rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1"]

# identifier: (region, engine, version, class, status, cluster_id, cluster_type, cluster_role, cluster_writer,
#              port, current_ca, pending_ca, maintenance, rotation_without_restart, supported_cas,
#              environment, needs_rotation, reason)
# maintenance: None, "auto" (raised by RDS for the expired CA, not opted in) or "opted-in".
EXPECTED = {
    "billing-mysql-staging": ("us-east-1", "mysql", "8.0.36", "db.t3.micro", "available", None, None, None, None,
                              3306, "rds-ca-2019", "rds-ca-rsa2048-g1", "auto", True, ALL_CAS,
                              "staging", False, "pending_change_to_target"),
    "billing-pg16-production": ("us-east-1", "postgres", "16.3", "db.t3.micro", "available", None, None, None, None,
                                5432, "rds-ca-rsa2048-g1", None, None, True, ALL_CAS,
                                "production", False, "already_on_target"),
    "inventory-aurora-1": ("us-east-1", "aurora-postgresql", "15.4", "db.r6g.large", "available", "inventory-aurora",
                           "aurora", "writer", True, 5432, "rds-ca-2019", None, "auto", True, ALL_CAS,
                           "production", True, "ca_expired"),
    "inventory-aurora-2": ("us-east-1", "aurora-postgresql", "15.4", "db.r6g.large", "available", "inventory-aurora",
                           "aurora", "reader", False, 5432, "rds-ca-2019", None, "auto", True, ALL_CAS,
                           "production", True, "ca_expired"),
    "inventory-aurora-3": ("us-east-1", "aurora-postgresql", "15.4", "db.r6g.large", "available", "inventory-aurora",
                           "aurora", "reader", False, 5432, "rds-ca-rsa2048-g1", None, None, True, ALL_CAS,
                           "production", False, "already_on_target"),
    "orders-pg11-staging": ("us-east-1", "postgres", "11.22", "db.t3.micro", "available", None, None, None, None,
                            5432, "rds-ca-2019", None, "auto", False, ALL_CAS, "staging", True, "ca_expired"),
    "orders-pg13-production": ("us-east-1", "postgres", "13.15", "db.m5.large", "available", None, None, None, None,
                               5432, "rds-ca-2019", None, "auto", True, ALL_CAS, "production", True, "ca_expired"),
    "orders-pg13-replica": ("us-east-1", "postgres", "13.15", "db.t3.micro", "available", None, None, None, None,
                            5432, "rds-ca-2019", None, "auto", True, ALL_CAS, "production", True, "ca_expired"),
    "ledger-maz-instance-1": ("eu-west-1", "postgres", "16.3", "db.r6g.large", "available", "ledger-maz",
                              "multi_az_db_cluster", "multi_az_db_cluster", True, 5432, "rds-ca-2019", None, "auto",
                              True, ALL_CAS, "production", True, "ca_expired"),
    "ledger-maz-instance-2": ("eu-west-1", "postgres", "16.3", "db.r6g.large", "available", "ledger-maz",
                              "multi_az_db_cluster", "multi_az_db_cluster", False, 5432, "rds-ca-2019", None, "auto",
                              True, ALL_CAS, "production", True, "ca_expired"),
    "ledger-maz-instance-3": ("eu-west-1", "postgres", "16.3", "db.r6g.large", "available", "ledger-maz",
                              "multi_az_db_cluster", "multi_az_db_cluster", False, 5432, "rds-ca-2019", None, "auto",
                              True, ALL_CAS, "production", True, "ca_expired"),
    "web-mariadb-staging": ("eu-west-1", "mariadb", "10.6.16", "db.t3.micro", "available", None, None, None, None,
                            3306, "rds-ca-2019", None, "opted-in", False, ["rds-ca-2019", "rds-ca-rsa2048-g1"],
                            "staging", True, "ca_expired"),
    "web-mysql-untagged": ("eu-west-1", "mysql", "5.7.44", "db.t3.micro", "stopped", None, None, None, None,
                           3306, "rds-ca-rsa4096-g1", None, None, False, ALL_CAS, None, True, "not_on_target_ca"),
    "reports-pg11-production": ("ap-southeast-2", "postgres", "11.22", "db.t3.micro", "available", None, None, None,
                                None, 5432, "rds-ca-2019", None, "auto", False, ALL_CAS,
                                "production", True, "ca_expired"),
    "reports-sqlserver-staging": ("ap-southeast-2", "sqlserver-se", "15.00.4355.3.v1", "db.t3.micro", "available",
                                  None, None, None, None, 1433, "rds-ca-2019", None, None, False, ALL_CAS,
                                  "staging", True, "ca_expired"),
}

# Calls per region for the whole fleet: 4 region-wide describes + one DescribeDBEngineVersions per engine
# (us-east-1: postgres, mysql, aurora-postgresql; eu-west-1: postgres, mysql, mariadb;
#  ap-southeast-2: postgres, sqlserver-se).
BASE_CALLS = {"DescribeDBInstances": 1, "DescribeDBClusters": 1, "DescribePendingMaintenanceActions": 1,
              "DescribeCertificates": 1}
EXPECTED_CALLS = {
    "us-east-1": dict(BASE_CALLS, DescribeDBEngineVersions=3),
    "eu-west-1": dict(BASE_CALLS, DescribeDBEngineVersions=3),
    "ap-southeast-2": dict(BASE_CALLS, DescribeDBEngineVersions=2),
}


def sim_calls(calls: dict) -> dict:
    """The simulator's {region: {"rds:Op": n}} as {region: {"Op": n}}, like the module's api_calls."""
    return {region: {op.split(":", 1)[1]: n for op, n in ops.items()} for region, ops in calls["by_region"].items()}


def play(tasks: list, save: list, defaults: dict | None = None, **extra) -> dict:
    """A play on localhost whose rds_ca group defaults point at the simulator (the environment does not)."""
    module_defaults = {"endpoint_url": "{{ sim_endpoint_url }}", "region": "us-east-1"}
    module_defaults.update(defaults or {})
    result = {"name": "rds_ca_facts", "hosts": "localhost", "gather_facts": False,
              "environment": {"AWS_ENDPOINT_URL": DEAD_ENDPOINT},
              "module_defaults": {"group/rdsca.rotation.rds_ca": module_defaults},
              "tasks": tasks}
    if save:  # only the last play of a playbook may have one (see conftest.run_playbook)
        result["save"] = save
    result.update(extra)
    return result


def documented_return() -> dict:
    with open(MODULE, encoding="utf-8") as handle:
        source = handle.read()
    return yaml.safe_load(re.search(r'RETURN = r"""(.*?)"""', source, re.S).group(1))


@pytest.fixture
def fleet(simulator):
    simulator.load(FLEET)
    yield simulator
    simulator.clear_faults()


def check_ok(result, name):
    task = result.task(name)
    assert not task.get("failed"), (task.get("msg"), result.stdout[-3000:])
    assert task["changed"] is False
    return task


def test_inventory_every_field_calls_check_mode_and_facts(fleet):
    before = dt.datetime.now(dt.timezone.utc)
    plays = [
        play([{"name": "Inventory", "rdsca.rotation.rds_ca_facts": {"regions": REGIONS, "set_facts": True},
               "register": "inventory"}],
             save=[]),
        play([{"name": "Inventory in check mode", "rdsca.rotation.rds_ca_facts": {"regions": REGIONS},
               "check_mode": True, "register": "checked"},
              {"name": "Use the facts of the first play",
               "ansible.builtin.set_fact": {
                   "staging_to_rotate": "{{ ansible_facts.rds_ca.databases | selectattr('environment', 'equalto', 'staging')"
                                        " | selectattr('needs_rotation') | map(attribute='identifier') | list }}",
                   "fact_summary": "{{ ansible_facts.rds_ca.summary }}"}}],
             save=["inventory", "checked", "staging_to_rotate", "fact_summary"]),
    ]
    result = fleet.run_playbook(plays)
    after = dt.datetime.now(dt.timezone.utc)
    assert result.rc == 0, result.stdout[-4000:] + result.stderr[-2000:]
    inventory = check_ok(result, "inventory")
    checked = check_ok(result, "checked")

    # -- API calls: exactly the fixed set per region, as counted by the module and by the simulator.
    assert inventory["api_calls"] == EXPECTED_CALLS
    assert checked["api_calls"] == EXPECTED_CALLS
    calls = fleet.calls()
    assert sim_calls(calls) == {r: {op: 2 * n for op, n in ops.items()} for r, ops in EXPECTED_CALLS.items()}
    assert calls["errors"] == {}

    # -- per database: every documented field, and nothing undocumented.
    documented = documented_return()
    db_fields = set(documented["databases"]["contains"]) - {"proxied_by"}  # only with proxies=true
    databases = inventory["databases"]
    assert [(d["region"], d["identifier"]) for d in databases] == sorted(
        (spec[0], ident) for ident, spec in EXPECTED.items())
    api = {}
    for region in REGIONS:
        for item in fleet.client("rds", region).describe_db_instances()["DBInstances"]:
            api[item["DBInstanceIdentifier"]] = item
    for fact in databases:
        ident = fact["identifier"]
        assert set(fact) == db_fields, ident
        (region, engine, version, klass, status, cluster_id, cluster_type, cluster_role, cluster_writer, port, ca,
         pending, maintenance, restart_free, supported, environment, needs, reason) = EXPECTED[ident]
        raw = api[ident]
        assert fact["arn"] == raw["DBInstanceArn"] == f"arn:aws:rds:{region}:123456789012:db:{ident}"
        # Without the accounts option: the account from the ARN, region labels (issue 17).
        assert (fact["account"], fact["account_alias"], fact["label"]) == ("123456789012", None, f"{region}/{ident}")
        assert (fact["region"], fact["engine"], fact["engine_version"], fact["instance_class"], fact["status"]) == (
            region, engine, version, klass, status), ident
        assert fact["engine_supported"] is True
        assert fact["multi_az"] is raw["MultiAZ"]
        assert (fact["cluster_id"], fact["cluster_type"], fact["cluster_role"], fact["cluster_writer"]) == (
            cluster_id, cluster_type, cluster_role, cluster_writer), ident
        assert fact["endpoint_address"] == raw["Endpoint"]["Address"] and fact["endpoint_address"].startswith(ident)
        assert fact["endpoint_port"] == port
        assert (fact["current_ca"], fact["pending_ca"]) == (ca, pending), ident
        assert fact["ca_valid_till"] == ca_till(region, ca)
        assert fact["ca_expired"] is (ca == "rds-ca-2019")
        ca_valid_till = dt.datetime.fromisoformat(ca_till(region, ca))
        assert int((ca_valid_till - after).total_seconds() // 86400) <= fact["ca_days_left"] <= int(
            (ca_valid_till - before).total_seconds() // 86400)
        server_till = dt.datetime.fromisoformat(fact["certificate_valid_till"])
        if ca == "rds-ca-2019":
            # The server certificate cannot outlive its CA.
            assert fact["certificate_valid_till"] == ca_till(region, "rds-ca-2019")
            assert fact["days_left"] == fact["ca_days_left"] < -800
        else:
            # A G1 server certificate is issued for a year.
            assert dt.timedelta(days=364) < server_till - before < dt.timedelta(days=366)
            assert fact["days_left"] in (364, 365)
        assert fact["rotation_without_restart"] is restart_free, ident
        assert fact["would_restart"] is (not restart_free), ident
        assert fact["supported_cas"] == supported, ident
        assert fact["target_ca_supported"] is True
        assert fact["tags"] == {t["Key"]: t["Value"] for t in raw["TagList"]}
        assert fact["environment"] == environment, ident
        assert (fact["needs_rotation"], fact["reason"]) == (needs, reason), ident
        action = fact["pending_maintenance"]
        if maintenance is None:
            assert action is None, ident
        else:
            assert action["action"] == "ca-certificate-rotation"
            assert action["description"] == "Certificate rotation"
            assert dt.datetime.fromisoformat(action["forced_apply"]) > dt.datetime.fromisoformat(
                action["auto_applied_after"]) > before - dt.timedelta(days=1)
            if maintenance == "opted-in":
                assert action["opt_in_status"] == "next-maintenance"
                assert action["auto_applied_after"] == "2030-12-01T00:00:00+00:00"
                assert action["forced_apply"] == "2031-01-15T00:00:00+00:00"
                assert dt.datetime.fromisoformat(action["current_apply_date"]) > before
            else:
                assert action["opt_in_status"] is None and action["current_apply_date"] is None

    by_id = {d["identifier"]: d for d in databases}
    assert by_id["orders-pg13-production"]["read_replicas"] == ["orders-pg13-replica"]
    assert by_id["orders-pg13-production"]["multi_az"] is True
    assert by_id["orders-pg13-replica"]["read_replica_source"] == "orders-pg13-production"
    assert all(d["read_replica_source"] is None for i, d in by_id.items() if i != "orders-pg13-replica")
    assert all(d["read_replicas"] == [] for i, d in by_id.items() if i != "orders-pg13-production")
    assert by_id["web-mysql-untagged"]["tags"] == {}
    assert by_id["inventory-aurora-1"]["tags"] == {"Environment": "production", "Team": "inventory"}

    # -- per region: certificates, defaults, override, counts.
    assert sorted(inventory["regions"]) == sorted(REGIONS)
    region_fields = set(documented["regions"]["contains"])
    for region, facts in inventory["regions"].items():
        assert set(facts) == region_fields
        assert facts["region"] == region
        assert [c["identifier"] for c in facts["certificates"]] == ALL_CAS
        for cert in facts["certificates"]:
            assert cert["valid_till"] == ca_till(region, cert["identifier"])
            assert cert["expired"] is (cert["identifier"] == "rds-ca-2019")
            assert cert["arn"] == f"arn:aws:rds:{region}::cert:{cert['identifier']}"
            assert cert["type"] == "CA" and len(cert["thumbprint"]) == 40
            assert cert["customer_override"] is (region == "eu-west-1" and cert["identifier"] == "rds-ca-rsa4096-g1")
        assert facts["target_ca_available"] is True
    assert inventory["regions"]["us-east-1"]["default_ca_for_new_launches"] == "rds-ca-rsa2048-g1"
    assert inventory["regions"]["us-east-1"]["customer_override"] is None
    assert inventory["regions"]["eu-west-1"]["default_ca_for_new_launches"] == "rds-ca-rsa4096-g1"
    assert inventory["regions"]["eu-west-1"]["customer_override"] == "rds-ca-rsa4096-g1"
    assert inventory["regions"]["eu-west-1"]["customer_override_valid_till"] == ca_till("eu-west-1", "rds-ca-rsa4096-g1")
    assert {r: f["counts"] for r, f in inventory["regions"].items()} == {
        "us-east-1": {"databases": 8, "scanned": 8, "needs_rotation": 5,
                      "by_ca": {"rds-ca-2019": 6, "rds-ca-rsa2048-g1": 2},
                      "by_restart": {"restart": 1, "no_restart": 7, "unknown": 0}},
        "eu-west-1": {"databases": 5, "scanned": 5, "needs_rotation": 5,
                      "by_ca": {"rds-ca-2019": 4, "rds-ca-rsa4096-g1": 1},
                      "by_restart": {"restart": 2, "no_restart": 3, "unknown": 0}},
        "ap-southeast-2": {"databases": 2, "scanned": 2, "needs_rotation": 2, "by_ca": {"rds-ca-2019": 2},
                           "by_restart": {"restart": 2, "no_restart": 0, "unknown": 0}},
    }

    # -- estate summary.
    assert inventory["summary"] == {
        "regions_queried": 3,
        "regions_failed": 0,
        "databases": 15,
        "needs_rotation": 12,
        "by_ca": {"rds-ca-2019": 12, "rds-ca-rsa2048-g1": 2, "rds-ca-rsa4096-g1": 1},
        "by_environment": {"production": 10, "staging": 4, "untagged": 1},
        "by_engine": {"postgres": 8, "aurora-postgresql": 3, "mysql": 2, "mariadb": 1, "sqlserver-se": 1},
        "by_region": {"us-east-1": 8, "eu-west-1": 5, "ap-southeast-2": 2},
        "by_account": {"123456789012": 15},
        "by_reason": {"ca_expired": 11, "not_on_target_ca": 1, "already_on_target": 2,
                      "pending_change_to_target": 1},
        "by_restart": {"restart": 5, "no_restart": 10, "unknown": 0},
        "needs_rotation_by_restart": {"restart": 5, "no_restart": 7, "unknown": 0},
        "expired": 12,
        "expiring": {"within_30_days": 12, "within_90_days": 12, "within_180_days": 12, "within_365_days": 12},
    }
    # accounts_queried/accounts_failed: only with the accounts option (test_accounts_estate.py).
    assert set(inventory["summary"]) == set(documented["summary"]["contains"]) - {"accounts_queried", "accounts_failed"}

    # -- top level, failed regions, facts, check mode, later plays.
    assert inventory["failed_regions"] == []
    assert inventory["target_ca"] == "rds-ca-rsa2048-g1"
    assert inventory["regions_queried"] == sorted(REGIONS)
    assert before - dt.timedelta(seconds=5) < dt.datetime.fromisoformat(inventory["generated_at"]) < after
    assert set(documented) - {"ansible_facts", "accounts", "proxies", "proxy_errors", "output_file",
                              "output_file_bytes"} <= set(inventory)  # proxies: proxies=true
    assert inventory["failed_accounts"] == [] and "accounts" not in inventory
    assert not set(inventory) & {"proxies", "proxy_errors"}
    facts = inventory["ansible_facts"]["rds_ca"]
    assert set(facts) == {"databases", "regions", "summary", "failed_regions", "regions_queried", "target_ca",
                          "generated_at", "target_ca_problems", "failed_accounts", "detail"}
    assert "ansible_facts" not in checked  # set_facts defaults to false (issue 20): the records once
    assert facts["databases"] == databases
    for key in ("databases", "regions", "summary", "failed_regions", "regions_queried"):
        strip = (lambda v: v) if key != "databases" else (lambda v: [dict(d, days_left=None) for d in v])
        assert strip(checked[key]) == strip(inventory[key]), key
    assert sorted(result.results["staging_to_rotate"]) == ["orders-pg11-staging", "reports-sqlserver-staging",
                                                           "web-mariadb-staging"]
    assert result.results["fact_summary"] == inventory["summary"]


def test_filters_target_ca_and_environment_tag(fleet):
    tasks = [
        {"name": "Aurora only", "rdsca.rotation.rds_ca_facts": {"engines": ["aurora-*"]}, "register": "aurora"},
        {"name": "SQL Server and MariaDB", "rdsca.rotation.rds_ca_facts": {"engines": ["sqlserver-*", "mariadb"]},
         "register": "by_engine"},
        {"name": "By cluster and glob", "rdsca.rotation.rds_ca_facts": {"identifiers": ["inventory-aurora", "LEDGER-*"]},
         "register": "by_identifier"},
        {"name": "By tags", "rdsca.rotation.rds_ca_facts": {
            "tags": {"Environment": "production", "Team": ["orders", "ledger"]}}, "register": "by_tags"},
        {"name": "Expiring within a year", "rdsca.rotation.rds_ca_facts": {"expiring_within_days": 365},
         "register": "expiring"},
        {"name": "Another target and environment tag", "rdsca.rotation.rds_ca_facts": {
            "target_ca": "rds-ca-rsa4096-g1", "environment_tag": "Team"}, "register": "rsa4096"},
        {"name": "A target no region has", "rdsca.rotation.rds_ca_facts": {
            "target_ca": "rds-ca-rsa2048-g9", "regions": ["eu-west-1"]}, "register": "unknown_target"},
    ]
    result = fleet.run_playbook([play(tasks, save=["aurora", "by_engine", "by_identifier", "by_tags", "expiring",
                                                   "rsa4096", "unknown_target"], defaults={"regions": REGIONS})])
    assert result.rc == 0, result.stdout[-4000:]

    def ids(name):
        return sorted(d["identifier"] for d in check_ok(result, name)["databases"])

    assert ids("aurora") == ["inventory-aurora-1", "inventory-aurora-2", "inventory-aurora-3"]
    # The engine filter also narrows the engine-version lookups (the other calls never depend on filters).
    aurora = result.task("aurora")
    assert aurora["api_calls"] == {"us-east-1": dict(BASE_CALLS, DescribeDBEngineVersions=1),
                                   "eu-west-1": BASE_CALLS, "ap-southeast-2": BASE_CALLS}
    assert aurora["regions"]["eu-west-1"]["counts"]["databases"] == 0
    assert aurora["regions"]["eu-west-1"]["counts"]["scanned"] == 5
    assert ids("by_engine") == ["reports-sqlserver-staging", "web-mariadb-staging"]
    assert ids("by_identifier") == ["inventory-aurora-1", "inventory-aurora-2", "inventory-aurora-3",
                                    "ledger-maz-instance-1", "ledger-maz-instance-2", "ledger-maz-instance-3"]
    assert ids("by_tags") == ["ledger-maz-instance-1", "ledger-maz-instance-2", "ledger-maz-instance-3",
                              "orders-pg13-production", "orders-pg13-replica"]
    assert ids("expiring") == sorted(i for i, spec in EXPECTED.items() if spec[10] == "rds-ca-2019")
    assert result.task("expiring")["summary"]["by_reason"] == {"ca_expired": 11, "pending_change_to_target": 1}

    rsa4096 = {d["identifier"]: d for d in check_ok(result, "rsa4096")["databases"]}
    assert result.task("rsa4096")["target_ca"] == "rds-ca-rsa4096-g1"
    assert (rsa4096["web-mysql-untagged"]["needs_rotation"], rsa4096["web-mysql-untagged"]["reason"]) == (
        False, "already_on_target")
    assert rsa4096["billing-pg16-production"]["reason"] == "not_on_target_ca"
    # A pending change to another CA than the target does not count.
    assert (rsa4096["billing-mysql-staging"]["needs_rotation"], rsa4096["billing-mysql-staging"]["reason"]) == (
        True, "ca_expired")
    assert rsa4096["web-mariadb-staging"]["target_ca_supported"] is False
    assert rsa4096["orders-pg11-staging"]["target_ca_supported"] is True
    assert rsa4096["orders-pg11-staging"]["environment"] == "orders"
    assert rsa4096["web-mysql-untagged"]["environment"] is None
    assert result.task("rsa4096")["summary"]["by_environment"] == {
        "orders": 3, "billing": 2, "inventory": 3, "web": 1, "untagged": 1, "ledger": 3, "reports": 2}

    unknown_target = check_ok(result, "unknown_target")
    assert unknown_target["regions"]["eu-west-1"]["target_ca_available"] is False
    assert any("rds-ca-rsa2048-g9" in w and "eu-west-1" in w for w in unknown_target.get("warnings", []))
    assert unknown_target["summary"]["needs_rotation"] == 5


def test_a_target_ca_that_cannot_be_used_is_flagged(fleet):
    """Issue 13 item 6: target_ca=rds-ca-2019 (expired) said nothing; an unsupported engine version neither."""
    tasks = [
        {"name": "Expired target", "rdsca.rotation.rds_ca_facts": {"target_ca": "rds-ca-2019"}, "register": "expired"},
        {"name": "Valid target", "rdsca.rotation.rds_ca_facts": {}, "register": "valid"},
        {"name": "Target an engine version lacks", "rdsca.rotation.rds_ca_facts": {
            "target_ca": "rds-ca-rsa4096-g1", "regions": ["eu-west-1"]}, "register": "rsa4096"},
    ]
    result = fleet.run_playbook([play(tasks, save=["expired", "valid", "rsa4096"], defaults={"regions": REGIONS})])
    assert result.rc == 0, result.stdout[-4000:]
    expired = check_ok(result, "expired")
    for region in REGIONS:
        facts = expired["regions"][region]
        assert (facts["target_ca_available"], facts["target_ca_expired"]) == (True, True), facts
        assert facts["target_ca_problem"].startswith("rds-ca-2019 expired on 2024-08-22")
    assert len(expired["target_ca_problems"]) == len(REGIONS)
    assert all("rds-ca-2019 expired on 2024-08-22" in p for p in expired["target_ca_problems"])
    assert any("target_ca rds-ca-2019 cannot be rotated to" in w and "expired" in w for w in expired["warnings"])
    valid = check_ok(result, "valid")
    assert valid["target_ca_problems"] == [] and not valid.get("warnings")
    assert all(f["target_ca_problem"] is None and f["target_ca_expired"] is False for f in valid["regions"].values())
    rsa4096 = check_ok(result, "rsa4096")
    assert any("does not support rds-ca-rsa4096-g1" in p and "web-mariadb-staging" in p
               for p in rsa4096["target_ca_problems"]), rsa4096["target_ca_problems"]


def test_failed_region_reported_or_strict(fleet):
    fleet.faults([{"operation": "DescribeDBInstances", "region": "ap-southeast-2", "error": "AccessDenied"}])
    tasks = [
        {"name": "Tolerant", "rdsca.rotation.rds_ca_facts": {"regions": REGIONS}, "register": "tolerant"},
        {"name": "Strict", "rdsca.rotation.rds_ca_facts": {"regions": REGIONS, "strict": True},
         "register": "strict", "ignore_errors": True},
    ]
    result = fleet.run_playbook([play(tasks, save=["tolerant", "strict"])])
    assert result.rc == 0, result.stdout[-4000:]
    failure = {"region": "ap-southeast-2", "operation": "DescribeDBInstances", "error_code": "AccessDenied",
               "message": "User is not authorized to perform this action (injected fault)."}

    tolerant = check_ok(result, "tolerant")
    assert tolerant["failed_regions"] == [failure]
    assert sorted(tolerant["regions"]) == ["eu-west-1", "us-east-1"]
    assert tolerant["regions_queried"] == sorted(REGIONS)
    assert len(tolerant["databases"]) == 13
    assert {d["region"] for d in tolerant["databases"]} == {"us-east-1", "eu-west-1"}
    assert tolerant["summary"]["regions_failed"] == 1 and tolerant["summary"]["databases"] == 13
    assert any("ap-southeast-2" in w and "AccessDenied" in w for w in tolerant["warnings"])
    # Access denied is not retried; a failed region looks up no engine versions.
    assert tolerant["api_calls"]["ap-southeast-2"]["DescribeDBInstances"] == 1
    assert "DescribeDBEngineVersions" not in tolerant["api_calls"]["ap-southeast-2"]
    assert tolerant["api_calls"]["us-east-1"] == EXPECTED_CALLS["us-east-1"]

    strict = result.task("strict")
    assert strict["failed"] is True
    assert "ap-southeast-2 (AccessDenied" in strict["msg"]
    assert strict["failed_regions"] == [failure]
    assert len(strict["databases"]) == 13


def test_throttling_is_retried_with_backoff(fleet):
    # Two throttled calls in eu-west-1; botocore's own retries are off (aws_config), so the
    # amazon.aws jittered backoff is what retries them.
    fleet.faults([{"operation": "DescribeDBInstances", "region": "eu-west-1", "error": "Throttling", "count": 2}])
    tasks = [{"name": "Throttled", "rdsca.rotation.rds_ca_facts": {"regions": REGIONS}, "register": "throttled"}]
    result = fleet.run_playbook([play(tasks, save=["throttled"],
                                      defaults={"aws_config": {"retries": {"max_attempts": 0}}})])
    assert result.rc == 0, result.stdout[-4000:]
    throttled = check_ok(result, "throttled")
    assert throttled["failed_regions"] == []
    assert throttled["summary"]["databases"] == 15
    expected = {r: dict(c) for r, c in EXPECTED_CALLS.items()}
    expected["eu-west-1"]["DescribeDBInstances"] = 3
    assert throttled["api_calls"] == expected
    calls = fleet.calls()
    assert sim_calls(calls) == expected
    assert calls["errors"] == {"rds:eu-west-1:DescribeDBInstances": 2}


def test_bad_input_fails_before_any_call(fleet):
    cases = {
        "typo_region": ({"regions": ["us-east-1", "eu-wset-1"]}, ["eu-wset-1", "did you mean eu-west-1"]),
        "not_a_region": ({"regions": ["Mars"]}, ["'Mars' is not an AWS region name"]),
        "all_and_more": ({"regions": ["all", "us-east-1"]}, ["'all' cannot be combined"]),
        "unknown_filter": ({"engine": "postgres"}, ["Unsupported parameters", "engine"]),
        "negative_days": ({"expiring_within_days": -5}, ["expiring_within_days must be 0 or more, got -5"]),
        "bad_engine": ({"engines": ["postgress"]}, ["'postgress' matches no RDS engine"]),
        "bad_concurrency": ({"concurrency": 0}, ["concurrency must be 1 or more"]),
    }
    tasks = [{"name": name, "rdsca.rotation.rds_ca_facts": args, "register": name, "ignore_errors": True}
             for name, (args, _expected) in cases.items()]
    result = fleet.run_playbook([play(tasks, save=list(cases))])
    assert result.rc == 0, result.stdout[-4000:]
    for name, (_args, expected) in cases.items():
        task = result.task(name)
        assert task["failed"] is True, name
        for text in expected:
            assert text in task["msg"], (name, task["msg"])
    assert fleet.calls()["total"] == 0


def test_all_regions(fleet):
    ec2 = fleet.client("ec2", "us-east-1")
    enabled = sorted(r["RegionName"] for r in ec2.describe_regions()["Regions"]
                     if r.get("OptInStatus") != "not-opted-in" and not r["RegionName"].startswith(("cn-", "us-gov-")))
    fleet.reset_calls()
    tasks = [{"name": "Everywhere", "rdsca.rotation.rds_ca_facts": {"regions": "all"}, "register": "everywhere"}]
    result = fleet.run_playbook([play(tasks, save=["everywhere"], defaults={"region": "eu-west-1"})])
    assert result.rc == 0, result.stdout[-4000:]
    everywhere = check_ok(result, "everywhere")
    assert everywhere["regions_queried"] == enabled
    assert set(REGIONS) <= set(enabled) and len(enabled) > 10
    assert everywhere["summary"]["databases"] == 15 and everywhere["failed_regions"] == []
    expected = {region: dict(EXPECTED_CALLS.get(region, BASE_CALLS)) for region in enabled}
    # One DescribeRegions, sent to the connection region.
    expected["eu-west-1"]["DescribeRegions"] = 1
    assert everywhere["api_calls"] == expected
    assert sim_calls(fleet.calls()) == expected


def test_pagination_and_default_region(fleet):
    fleet.load({"regions": {"us-west-2": {"instances": [
        {"id": "bulk-pg", "engine": "postgres", "engine_version": "16.3", "ca": "rds-ca-2019", "count": 230,
         "tags": {"Environment": "load"}},
        {"id": "bulk-mysql", "engine": "mysql", "engine_version": "8.0.36", "count": 3},
    ]}}})
    fleet.reset_calls()
    tasks = [{"name": "Big region", "rdsca.rotation.rds_ca_facts": {}, "register": "big"}]
    result = fleet.run_playbook([play(tasks, save=["big"], defaults={"region": "us-west-2"})])
    assert result.rc == 0, result.stdout[-4000:]
    big = check_ok(result, "big")
    assert big["regions_queried"] == ["us-west-2"]
    assert big["summary"]["databases"] == 233
    assert big["summary"]["by_ca"] == {"rds-ca-2019": 230, "rds-ca-rsa2048-g1": 3}
    assert big["summary"]["needs_rotation_by_restart"] == {"restart": 0, "no_restart": 230, "unknown": 0}
    # 233 instances: 3 pages of 100, and 3 of the 230 rotation actions RDS raised for rds-ca-2019;
    # still one engine-version lookup per engine.
    assert big["api_calls"] == {"us-west-2": dict(BASE_CALLS, DescribeDBInstances=3, DescribePendingMaintenanceActions=3,
                                                  DescribeDBEngineVersions=2)}
    assert sim_calls(fleet.calls()) == big["api_calls"]


def test_compact_and_summary_mode_give_the_same_answer_through_the_filter(fleet, tmp_path):
    """Issue 20: detail=compact and detail=summary (records in a JSON Lines file on the controller) mean the same
    inventory as detail=full once rdsca.rotation.inventory_result has read them back; a bad output_file fails
    before any AWS call."""
    path = str(tmp_path / "reports" / "inventory.jsonl")
    tasks = [
        {"name": "Full", "rdsca.rotation.rds_ca_facts": {}, "register": "full"},
        {"name": "Compact", "rdsca.rotation.rds_ca_facts": {"detail": "compact"}, "register": "compact"},
        {"name": "Summary", "rdsca.rotation.rds_ca_facts": {"detail": "summary", "output_file": path},
         "register": "summary"},
        {"name": "Read back", "ansible.builtin.set_fact": {
            "from_compact": "{{ (compact | rdsca.rotation.inventory_result).databases }}",
            "from_file": "{{ (summary | rdsca.rotation.inventory_result).databases }}",
            "staging_from_file": "{{ (summary | rdsca.rotation.inventory_result).databases"
                                 " | selectattr('environment', 'equalto', 'staging') | map(attribute='identifier') | list }}"}},
        {"name": "Relative output_file", "rdsca.rotation.rds_ca_facts": {"detail": "summary", "output_file": "x.jsonl"},
         "register": "relative", "ignore_errors": True},
    ]
    fleet.reset_calls()
    result = fleet.run_playbook([play(tasks, save=["full", "compact", "summary", "from_compact", "from_file",
                                                   "staging_from_file", "relative"], defaults={"regions": REGIONS})])
    assert result.rc == 0, result.stdout[-4000:]
    full, compact, summary = check_ok(result, "full"), check_ok(result, "compact"), check_ok(result, "summary")

    def days(dbs):  # runs seconds apart
        return [dict(d, days_left=None, ca_days_left=None) for d in dbs]
    assert full["databases"] and days(result.results["from_compact"]) == days(full["databases"])
    assert days(result.results["from_file"]) == days(full["databases"])
    assert summary["databases"] == [] and summary["output_file"] == path and summary["summary"] == full["summary"]
    assert len(json.dumps(compact["databases"])) < len(json.dumps(full["databases"]))
    assert sorted(result.results["staging_from_file"]) == sorted(
        d["identifier"] for d in full["databases"] if d["environment"] == "staging")
    relative = result.task("relative")
    assert relative["failed"] and "output_file must be an absolute path" in relative["msg"]
    # Three inventories' calls, none for the refused one.
    assert fleet.calls()["total"] == 3 * sum(n for ops in full["api_calls"].values() for n in ops.values())
