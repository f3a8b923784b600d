"""client_coverage (issue 18): TLS clients nobody manages, managed hosts never seen, shared addresses.

The evidence comes from the collection's real parsers: connection log lines parsed by pg_connection_log,
sessions merged by ssl_usage.UsageWindow - the shapes rds_ssl_usage returns.
"""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.rdsca.rotation.plugins.filter.client_coverage import FilterModule
from ansible_collections.rdsca.rotation.plugins.module_utils import pg_connection_log as pcl
from ansible_collections.rdsca.rotation.plugins.module_utils import ssl_usage

client_coverage = FilterModule().filters()["client_coverage"]

LOG = """\
2026-12-01 10:00:01 UTC:10.0.1.5(51234):app@orders:[4242]:LOG:  connection received: host=10.0.1.5 port=51234
2026-12-01 10:00:02 UTC:10.0.1.5(51234):app@orders:[4242]:LOG:  connection authorized: user=app database=orders \
application_name=api SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)
2026-12-01 10:00:05 UTC:10.0.2.9(40000):batch@orders:[4243]:LOG:  connection authorized: user=batch \
database=orders application_name=psql
2026-12-01 10:10:00 UTC:10.0.7.7(40001):report@orders:[4244]:LOG:  connection authorized: user=report \
database=orders application_name=bi SSL enabled (protocol=TLSv1.2, cipher=ECDHE-RSA-AES256-GCM-SHA384, bits=256)
2026-12-01 10:20:00 UTC:10.0.5.17(40002):etl@orders:[4245]:LOG:  connection authorized: user=etl \
database=orders application_name=etl SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)
"""


def log_clients(text):
    log = pcl.ConnectionLog(pcl.RDS_DEFAULT_PREFIX, exclude_users=["rdsadmin"])
    log.feed(text)
    log.end_file()
    return log.clients()


def session_clients(rows):
    window = ssl_usage.UsageWindow()
    window.add([ssl_usage.session(key=i, user=user, database="inventory", application_name=app,
                                  client_address=address, client_port=50000 + i, transport=transport)
                for i, (user, app, address, transport) in enumerate(rows)])
    return window.clients()


def usage():
    return {"databases": [
        {"identifier": "orders-prod", "region": "eu-west-1",
         "log_evidence": {"complete": True, "clients": log_clients(LOG)}},
        {"identifier": "inventory-prod", "region": "us-east-1", "usage": {"available": True}, "clients": session_clients([
            ("app", "api", "10.0.1.5", "ssl"),
            ("ops", "psql", "fd00::42", "ssl"),
            ("ops", "psql", "10.0.9.9", "tcp"),
            ("postgres", "psql", None, "local")]),
         "log_evidence": {"complete": False, "reason": "log_connections is off"}},
    ]}


HOSTVARS = {
    "api-1": {"ansible_host": "10.0.1.5"},
    "batch-1": {"ansible_host": "batch-1.internal", "ansible_facts": {"all_ipv4_addresses": ["10.0.2.9"]}},
    "etl-1": {"ansible_host": "etl-1.internal", "rdsca_client_addresses": ["10.0.5.17"]},
    "etl-2": {"ansible_host": "etl-2.internal", "rdsca_client_addresses": "10.0.5.17"},
    "idle-1": {"ansible_host": "10.0.4.4"},
    "noaddr-1": {"ansible_host": "noaddr-1.internal"},
}


def test_unmanaged_tls_clients_are_named_with_where_they_were_seen():
    out = client_coverage(usage(), sorted(HOSTVARS), HOSTVARS)
    tls = {c["address"]: c for c in out["unmanaged_tls_clients"]}
    assert sorted(tls) == ["10.0.7.7", "fd00::42"]
    assert tls["10.0.7.7"]["databases"] == ["eu-west-1/orders-prod"]
    assert tls["10.0.7.7"]["users"] == ["report"] and tls["10.0.7.7"]["applications"] == ["bi"]
    assert tls["10.0.7.7"]["sources"] == ["logs"]
    assert tls["10.0.7.7"]["first_seen"] == "2026-12-01T10:10:00Z"
    assert tls["fd00::42"]["sources"] == ["sessions"]
    assert [c["address"] for c in out["unmanaged_plaintext_clients"]] == ["10.0.9.9"]


def test_managed_hosts_seen_and_never_seen():
    out = client_coverage(usage(), sorted(HOSTVARS), HOSTVARS)
    managed = {m["host"]: m for m in out["managed_clients"]}
    assert sorted(managed) == ["api-1", "batch-1"]
    assert managed["api-1"]["tls"] and not managed["api-1"]["plaintext"]
    assert managed["api-1"]["databases"] == ["eu-west-1/orders-prod", "us-east-1/inventory-prod"]
    assert managed["batch-1"]["plaintext"] and not managed["batch-1"]["tls"]
    assert out["never_seen_hosts"] == ["idle-1"]
    # a host name that is not an IP, without facts: not "never seen" but "no address known"
    assert out["hosts_without_addresses"] == ["noaddr-1"]


def test_one_address_for_two_hosts_is_shared_not_a_host():
    out = client_coverage(usage(), sorted(HOSTVARS), HOSTVARS)
    shared = {s["address"]: s for s in out["shared_addresses"]}
    assert shared["10.0.5.17"]["hosts"] == ["etl-1", "etl-2"]
    assert "2 managed hosts" in shared["10.0.5.17"]["shared_as"]
    assert "etl-1" not in out["never_seen_hosts"]


def test_shared_addresses_by_network_are_not_reported_as_unmanaged_hosts():
    out = client_coverage(usage(), sorted(HOSTVARS), HOSTVARS,
                          shared_addresses={"10.0.7.0/24": "NAT gateway nat-0abc", "fd00::/8": "load balancer"})
    assert out["unmanaged_tls_clients"] == []
    labels = {s["address"]: s["shared_as"] for s in out["shared_addresses"]}
    assert labels["10.0.7.7"] == "NAT gateway nat-0abc" and labels["fd00::42"] == "load balancer"
    assert out["summary"]["unmanaged_tls"] == 0 and out["summary"]["shared"] == 3


def test_incomplete_evidence_is_said():
    out = client_coverage(usage(), sorted(HOSTVARS), HOSTVARS)
    assert out["evidence"] == {"databases": 2, "complete": 1, "incomplete": ["us-east-1/inventory-prod"],
                               "sessions": 1, "without_evidence": []}
    assert out["summary"]["evidence_complete"] is False


@pytest.mark.parametrize("args, message", [
    (("not a result", [], {}), "expected an rds_ssl_usage result"),
    (({"databases": []}, "api-1", {}), "hosts must be a list"),
    (({"databases": []}, ["ghost"], {}), "ghost is not in hostvars"),
])
def test_bad_input_is_refused_clearly(args, message):
    with pytest.raises(AnsibleFilterError, match=message):
        client_coverage(*args)


def test_a_bad_shared_network_is_refused():
    with pytest.raises(AnsibleFilterError, match="not an IP address or network"):
        client_coverage(usage(), [], {}, shared_addresses={"nat-gw": "NAT"})


def test_a_database_with_neither_sessions_nor_complete_logs_has_no_evidence():
    databases = usage()["databases"] + [{"identifier": "dark-prod", "region": "us-east-1",
                                         "usage": {"available": False, "reason": "no login"},
                                         "log_evidence": {"complete": False}}]
    out = client_coverage(databases, [], {})
    assert out["evidence"]["without_evidence"] == ["us-east-1/dark-prod"]
    assert out["evidence"]["sessions"] == 1 and out["evidence"]["complete"] == 1


def test_an_audit_log_client_whose_tls_is_unknown_is_never_called_plaintext():
    """MariaDB's audit log says who connected, not whether with TLS: such a client is listed with the TLS clients
    (its trust store may need the new CA), marked unknown, and never among the plaintext ones."""
    from ansible_collections.rdsca.rotation.plugins.module_utils import mysql_audit_log
    from ansible_collections.rdsca.rotation.plugins.plugin_utils import coverage_report

    log = mysql_audit_log.AuditLog(exclude_users=["rdsadmin"])
    log.feed("20261201 20:59:28,ip-10-0-0-1,app,10.0.8.8,5,0,CONNECT,shop,,0\n"
             "20261201 21:00:02,ip-10-0-0-1,app,10.0.1.5,6,0,CONNECT,shop,,0\n")
    log.end_file()
    evidence = mysql_audit_log.attribute_tls({"complete": True, "clients": log.clients()})
    assert [c["tls"] for c in evidence["clients"]] == [None, None]
    databases = {"databases": [{"identifier": "shop-prod", "region": "us-east-1", "log_evidence": evidence}]}
    out = client_coverage(databases, sorted(HOSTVARS), HOSTVARS)
    assert [(c["address"], c["tls"]) for c in out["unmanaged_tls_clients"]] == [("10.0.8.8", None)]
    assert out["unmanaged_plaintext_clients"] == []
    assert out["managed_clients"][0]["host"] == "api-1" and out["managed_clients"][0]["tls"] is True
    findings = coverage_report.preflight_findings(out, stop_on_unmanaged=True)
    assert findings["stop"] and "TLS not proven either way" in findings["problems"][0]


def test_databases_are_named_by_their_rds_ssl_usage_label():
    """rds_ssl_usage gives every item its account (from the ARN without the accounts option) and its label:
    region/identifier in a single-account run, account/region/identifier across accounts (issue 17). The coverage
    names a database as every other part of the run does, by that label."""
    data = usage()
    single = dict(data["databases"][0], account="123456789012", label="eu-west-1/orders-prod")
    named = dict(data["databases"][0], identifier="orders-b", account="222222222222", label="222222222222/eu-west-1/orders-b")
    out = client_coverage({"databases": [single, named]}, sorted(HOSTVARS), HOSTVARS)
    tls = {c["address"]: c for c in out["unmanaged_tls_clients"]}
    assert sorted(tls["10.0.7.7"]["databases"]) == ["222222222222/eu-west-1/orders-b", "eu-west-1/orders-prod"]
