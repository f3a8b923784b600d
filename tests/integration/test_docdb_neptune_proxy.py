"""DocumentDB, Neptune and RDS Proxy through the collection's modules, against the simulator (issue 17).

rds_ca_facts inventories DocumentDB and Neptune members with their engine versions' restart behaviour and lists
the proxies in front of each database; rds_ca_rotate rotates a DocumentDB and a Neptune instance with
ModifyDBInstance and verifies their direct-TLS (27017) and HTTPS (8182) endpoints with the probe; a Neptune
endpoint that presents its ACM certificate (as the Neptune User Guide documents) is accepted as unchanged.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any

import pytest
import yaml

from conftest import REPO

with open(os.path.join(REPO, "plugins", "modules", "rds_ca_facts.py"), encoding="utf-8") as _handle:
    RETURN = yaml.safe_load(re.search(r'RETURN = r"""(.*?)"""', _handle.read(), re.S).group(1))

OLD = "rds-ca-2019"
TARGET = "rds-ca-rsa2048-g1"
REGION = "us-east-1"
POLL = 0.2

FLEET = {
    "timing": {"modify_seconds": 0.3, "reboot_seconds": 0.3},
    "regions": {REGION: {
        "instances": [{"id": "orders", "engine": "postgres", "engine_version": "16.3", "ca": OLD}],
        "clusters": [
            {"id": "docs", "engine": "docdb", "engine_version": "5.0.0", "members": [
                {"id": "docs-1", "writer": True, "ca": OLD, "linked": "tls"}, {"id": "docs-2", "ca": OLD}]},
            {"id": "graph", "engine": "neptune", "engine_version": "1.3.2.1", "members": [
                {"id": "graph-1", "writer": True, "ca": OLD, "linked": "tls"}]},
            {"id": "graph-acm", "engine": "neptune", "engine_version": "1.3.2.1", "endpoint_certificate": "acm",
             "members": [{"id": "graph-acm-1", "writer": True, "ca": OLD, "linked": "tls"}]},
            {"id": "inventory", "engine": "aurora-postgresql", "engine_version": "15.4", "members": [
                {"id": "inventory-1", "writer": True, "ca": OLD}, {"id": "inventory-2", "ca": OLD}]},
        ],
        "proxies": [{"name": "orders-proxy", "targets": ["orders"]},
                    {"name": "inventory-proxy", "targets": ["inventory"]}],
    }},
}


@pytest.fixture(scope="module")
def sim(simulator):
    simulator.load(FLEET)
    simulator.bundle = simulator.control("GET", "/_sim/bundle")["path"]
    return simulator


def run(sim, module: str, **args: Any) -> dict[str, Any]:
    plays = [{"hosts": "localhost", "gather_facts": False,
              "module_defaults": {"group/rdsca.rotation.rds_ca": {"endpoint_url": "{{ sim_endpoint_url }}",
                                                                  "region": REGION}},
              "tasks": [{"name": "r", "register": "r", "ignore_errors": True, "rdsca.rotation." + module: args}],
              "save": ["r"]}]
    result = sim.run_playbook(plays)
    assert "Traceback" not in result.stdout + result.stderr, result.stdout[-4000:]
    return result.task("r")


def test_facts_inventory_docdb_and_neptune_with_restart_behaviour_and_proxies(sim):
    sim.reset_calls()
    facts = run(sim, "rds_ca_facts", regions=[REGION], set_facts=False, proxies=True)
    assert not facts.get("failed"), facts.get("msg")
    dbs = dict((d["identifier"], d) for d in facts["databases"])
    # With proxies=true every documented field is there, proxied_by included.
    assert all(set(db) == set(RETURN["databases"]["contains"]) for db in dbs.values())
    # Every key RETURN documents as returned always or with proxies=true; the keys of options this call does not set
    # (set_facts, accounts/organization, output_file) are absent.
    unset = {"ansible_facts", "accounts", "output_file", "output_file_bytes"}
    assert set(RETURN) - unset <= set(facts)
    assert not unset & set(facts)
    for ident, kind in (("docs-1", "docdb"), ("docs-2", "docdb"), ("graph-1", "neptune"), ("graph-acm-1", "neptune")):
        db = dbs[ident]
        assert (db["engine_supported"], db["cluster_type"], db["needs_rotation"], db["reason"]) == (
            True, kind, True, "ca_expired"), db
        # Their engine catalogs: SupportsCertificateRotationWithoutRestart false - a new certificate needs a reboot.
        assert (db["rotation_without_restart"], db["would_restart"], db["target_ca_supported"]) == (False, True, True)
    assert dbs["docs-2"]["endpoint_port"] == 27017 and dbs["docs-2"]["endpoint_address"].endswith(".docdb.amazonaws.com")
    assert (dbs["docs-1"]["endpoint_certificate"], dbs["graph-1"]["endpoint_certificate"]) == ("rds_ca", "acm")
    # Proxies, and which databases sit behind them (an instance, and every member of a tracked cluster).
    proxies = dict((p["name"], p) for p in facts["proxies"])
    assert sorted(proxies) == ["inventory-proxy", "orders-proxy"] and facts["proxy_errors"] == []
    orders = proxies["orders-proxy"]
    assert (orders["instances"], orders["clusters"], orders["endpoint_certificate"], orders["client_trust"]) == (
        ["orders"], [], "acm", "Amazon Trust Services")
    assert orders["endpoint"].startswith("orders-proxy.proxy-") and orders["require_tls"] is True
    assert proxies["inventory-proxy"]["clusters"] == ["inventory"]
    assert dbs["orders"]["proxied_by"] == ["orders-proxy"]
    assert dbs["inventory-1"]["proxied_by"] == dbs["inventory-2"]["proxied_by"] == ["inventory-proxy"]
    assert dbs["docs-1"]["proxied_by"] == [] and dbs["graph-1"]["proxied_by"] == []
    # One DescribeDBProxies, one DescribeDBProxyTargets per proxy.
    calls = facts["api_calls"][REGION]
    assert (calls["DescribeDBProxies"], calls["DescribeDBProxyTargets"]) == (1, 2)


def test_facts_without_proxies_make_no_proxy_call(sim):
    facts = run(sim, "rds_ca_facts", regions=[REGION], set_facts=False)
    assert "proxies" not in facts and "proxied_by" not in facts["databases"][0]
    assert not set(facts["api_calls"][REGION]) & {"DescribeDBProxies", "DescribeDBProxyTargets"}


def test_audit_playbook_says_what_clients_through_a_proxy_and_of_neptune_trust(sim, tmp_path):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
                         "      ansible_python_interpreter: %s\n  children:\n    rds_clients:\n      hosts: {}\n"
                         % sys.executable)
    report_dir = tmp_path / "reports"
    result = sim.run_playbook("rdsca.rotation.audit", extra_args=["-i", str(inventory)], extra_vars={
        "rdsca_regions": [REGION], "rdsca_target_ca": TARGET, "rdsca_report_dir": str(report_dir),
        "rdsca_verify": "none", "rdsca_ssl_usage": False, "rdsca_client_verify": False, "rdsca_proxies": True})
    assert result.rc == 0, result.stdout[-6000:] + result.stderr[-2000:]
    (path,) = [p for p in report_dir.iterdir() if p.name.startswith("audit-") and p.suffix == ".json"]
    report = json.loads(path.read_text())
    rows = dict((row["label"], row) for row in report["databases"])
    orders = rows[REGION + "/orders"]["client_trust"]
    expected = (TARGET, "Amazon Trust Services", ["orders-proxy"])
    assert (orders["direct"], orders["through_proxies"], orders["proxies"]) == expected
    assert rows[REGION + "/inventory-2"]["client_trust"]["proxies"] == ["inventory-proxy"]
    assert rows[REGION + "/graph-1"]["client_trust"]["changes_with_rotation"] is False
    assert rows[REGION + "/docs-1"]["client_trust"] == dict(rows[REGION + "/docs-1"]["client_trust"], direct=TARGET,
                                                            through_proxies=None, changes_with_rotation=True)
    markdown = path.with_suffix(".md").read_text()
    assert "**Client trust:** RDS Proxy (inventory-proxy, orders-proxy)" in markdown
    assert "client trust: RDS Proxy (inventory-proxy, orders-proxy)" in result.stdout


def test_rotate_docdb_and_neptune_instances_and_verify_their_endpoints(sim):
    result = run(sim, "rds_ca_rotate", databases=["docs-1", "graph-1"], allow_restart=True, verify_endpoint=True,
                 ca_cert=sim.bundle, connect_host="127.0.0.1", verify_grace_period=30, poll_interval=POLL)
    assert not result.get("failed"), result.get("msg")
    dbs = dict((d["identifier"], d) for d in result["databases"])
    for ident in ("docs-1", "graph-1"):
        item = dbs[ident]
        assert (item["status"], item["previous_ca"], item["current_ca"]) == ("rotated", OLD, TARGET), item
        assert item["verification"]["verified"] is True
        (probe,) = item["verification"]["probes"]
        assert (probe["ca_id"], probe["verified"], probe["hostname_matches"]) == (TARGET, True, True)
        assert probe["connect_host"] == "127.0.0.1"
    assert dbs["docs-1"]["verification"]["probes"][0]["server_name"].endswith(".docdb.amazonaws.com")
    linked = sim.control("GET", "/_sim/linked")
    assert linked[REGION + "/docs-1"]["presented_ca"] == linked[REGION + "/graph-1"]["presented_ca"] == TARGET
    # The other member of the DocumentDB cluster keeps its own CA: the CA is per instance.
    other = sim.client().describe_db_instances(DBInstanceIdentifier="docs-2")["DBInstances"][0]
    assert other["CACertificateIdentifier"] == OLD


def test_neptune_acm_endpoint_is_verified_as_unchanged_not_rolled_back(sim):
    result = run(sim, "rds_ca_rotate", databases=["graph-acm-1"], allow_restart=True, verify_endpoint=True,
                 ca_cert=sim.bundle, connect_host="127.0.0.1", verify_grace_period=5, poll_interval=POLL,
                 rollback_on_failure=True)
    assert not result.get("failed"), result.get("msg")
    (item,) = result["databases"]
    assert (item["status"], item["current_ca"]) == ("rotated", TARGET), item
    verification = item["verification"]
    assert verification["verified"] is True and "Amazon Trust Services" in verification["message"]
    (probe,) = verification["probes"]
    assert (probe["endpoint_certificate"], probe["issuer"], probe["ca_id"]) == ("acm", "Amazon RSA 2048 M02", None)
    assert sim.control("GET", "/_sim/linked")[REGION + "/graph-acm-1"]["presented_ca"] == "acm"


def test_the_playbooks_verify_docdb_and_neptune_endpoints_from_rds_ssl_usage(sim):
    """After the rotations above: the playbooks' verification (rds_ssl_usage probes read by the verify_targets and
    endpoint_probes filters) covers DocumentDB's and Neptune's direct-TLS endpoints, and takes Neptune's ACM
    certificate as unchanged, as rds_ca_rotate does - not as a failure that would roll it back."""
    labels = [REGION + "/" + ident for ident in ("docs-1", "graph-1", "graph-acm-1")]
    plays = [{"hosts": "localhost", "gather_facts": False,
              "module_defaults": {"group/rdsca.rotation.rds_ca": {"endpoint_url": "{{ sim_endpoint_url }}",
                                                                  "region": REGION}},
              "vars": {"labels": labels, "target": TARGET},
              "tasks": [
                  {"name": "facts", "register": "facts", "rdsca.rotation.rds_ca_facts": {"regions": [REGION]}},
                  {"name": "usage", "register": "usage", "rdsca.rotation.rds_ssl_usage": {
                      "databases": "{{ facts.databases | selectattr('label', 'in', labels) | list }}",
                      "ca_cert": sim.bundle, "connect_host": "127.0.0.1", "timeout": 5}},
                  {"name": "verify", "register": "verify", "ansible.builtin.set_fact": {
                      "targets": "{{ facts.databases | rdsca.rotation.verify_targets(labels, target) }}",
                      "probes": "{{ usage.databases | rdsca.rotation.endpoint_probes(labels, target) }}"}}],
              "save": ["verify"]}]
    result = sim.run_playbook(plays)
    assert result.rc == 0, result.stdout[-4000:]
    found = result.task("verify")["ansible_facts"]
    assert sorted((t["label"], t["protocol"]) for t in found["targets"]) == [(label, "tls") for label in sorted(labels)]
    probes = dict((p["label"], p) for p in found["probes"])
    assert (probes[labels[0]]["verified"], probes[labels[0]]["presented_ca"]) == (True, TARGET)
    assert (probes[labels[1]]["verified"], probes[labels[1]]["presented_ca"]) == (True, TARGET)
    assert probes[labels[2]]["verified"] is True and "Amazon Trust Services" in probes[labels[2]]["note"]
