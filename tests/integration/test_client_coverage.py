"""The clients nobody manages (issue 18), through the playbooks against the simulator: real PostgreSQL clients with TLS,
one from the managed client host's address (127.0.0.1) and one from an address no inventory host has (127.0.0.2,
through tests/simulator/client_address.py), found in the connection logs the simulator serves through the RDS API.

The audit lists the unmanaged one in its report; rdsca_stop_on_unmanaged_tls_clients stops the rotation at pre-flight,
before anything is changed; a value that is not a boolean is refused before any AWS call."""

from __future__ import annotations

import os
from typing import Any

import pytest

from scripts.demo import CLIENT_HOST, demo_inventory
from tests.integration.test_playbooks import cas, explain, load_report, reports
from tests.simulator.client_address import SourceAddressRelay
from tests.simulator.linked import tools_available

psycopg2 = pytest.importorskip("psycopg2")
_ok, _why = tools_available("postgres")
if not _ok:
    pytestmark = pytest.mark.skip(reason=_why)

REGION = "us-east-1"
TARGET = "rds-ca-rsa2048-g1"
OLD = "rds-ca-2019"
UNMANAGED = "127.0.0.2"
FLEET = {
    "description": "client coverage: a managed client host and a TLS client no inventory host accounts for",
    "timing": {"modify_seconds": 0.2, "reboot_seconds": 0.2},
    "regions": {REGION: {
        "default_ca": TARGET,
        "parameter_groups": [{"name": "pg16-logged", "family": "postgres16",
                              "parameters": {"rds.force_ssl": "0", "log_connections": "1"}}],
        "instances": [
            {"id": "app-staging", "engine": "postgres", "engine_version": "16.3", "ca": OLD, "linked": "postgres",
             "parameter_group": "pg16-logged", "tags": {"Environment": "staging"}},
            {"id": "app-prod", "engine": "postgres", "engine_version": "16.3", "ca": OLD, "linked": "postgres",
             "parameter_group": "pg16-logged", "tags": {"Environment": "production"}},
        ]}},
}
MODIFY_OPERATIONS = ("ModifyDBInstance", "ModifyDBCluster", "ApplyPendingMaintenanceAction", "ModifyCertificates",
                     "RebootDBInstance")


def _tls_client(server: dict[str, Any], app: str, port: int | None = None) -> str:
    """One TLS connection and a query (encrypted, not verifying: the server still presents the expired CA); the
    client address the server saw."""
    conn = psycopg2.connect(host=server["address"], hostaddr="127.0.0.1", port=port or server["port"],
                            user=server["admin_user"], password=server["admin_password"], dbname="postgres",
                            application_name=app, sslmode="require", connect_timeout=5)
    with conn.cursor() as cur:
        cur.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        assert cur.fetchone()[0] is True
        cur.execute("SELECT host(inet_client_addr())")
        address = cur.fetchone()[0]
    conn.close()
    return address


@pytest.fixture(scope="module")
def estate(simulator, tmp_path_factory):
    simulator.load(FLEET)
    tmp = tmp_path_factory.mktemp("coverage")
    linked = {item["id"]: item for item in simulator.control("GET", "/_sim/linked").values()}
    prod = linked["app-prod"]
    # The managed host's application, and a BI tool on a host nobody manages (another address, through the relay).
    assert _tls_client(prod, "orders-api") == "127.0.0.1"
    with SourceAddressRelay("127.0.0.1", prod["port"], source=UNMANAGED) as relay:
        assert _tls_client(prod, "bi-tool", relay.port) == UNMANAGED
    inventory = demo_inventory(str(tmp), None, ["app-staging", "app-prod"])
    variables = {"rdsca_regions": [REGION], "rdsca_target_ca": TARGET, "rdsca_report_dir": str(tmp / "reports"),
                 "rdsca_ca_bundle": simulator.control("GET", "/_sim/bundle")["path"], "rdsca_connect_host": "127.0.0.1",
                 "rdsca_poll_interval": 0.5, "rdsca_client_verify": False,
                 # Evidence without a database login: the connection logs of the last day.
                 "rdsca_ssl_usage_log_window_days": 1}
    return {"simulator": simulator, "tmp": tmp, "inventory": inventory, "vars": variables}


def _run(estate, playbook: str, **extra: Any):
    return estate["simulator"].run_playbook("rdsca.rotation." + playbook, extra_vars=dict(estate["vars"], **extra),
                                            extra_args=["-i", estate["inventory"]])


def _latest(estate, kind: str) -> dict[str, Any]:
    found = reports(str(estate["tmp"] / "reports"), kind)
    assert found, "no %s report" % kind
    return load_report(found[-1])


def _modifications(simulator) -> dict[str, int]:
    return {"%s %s" % (region, op): n for region, ops in simulator.calls()["by_region"].items()
            for op, n in ops.items() if op.split(":", 1)[1] in MODIFY_OPERATIONS}


def test_the_audit_lists_the_tls_client_nobody_manages(estate):
    sim = estate["simulator"]
    before = cas(sim)
    r = _run(estate, "audit")
    assert r.rc == 0, explain(r)
    assert cas(sim) == before
    assert "TLS clients nobody manages: %s (user admin, application bi-tool, on %s/app-prod, from logs)" \
        % (UNMANAGED, REGION) in r.stdout, explain(r)
    report = _latest(estate, "audit")
    coverage = report["client_coverage"]
    (client,) = coverage["unmanaged_tls_clients"]
    assert client["address"] == UNMANAGED and client["tls"] is True
    assert client["applications"] == ["bi-tool"] and client["users"] == ["admin"]
    assert client["databases"] == ["%s/app-prod" % REGION] and client["sources"] == ["logs"]
    assert client["first_seen"] and client["last_seen"]
    (managed,) = coverage["managed_clients"]
    assert managed["host"] == CLIENT_HOST and managed["tls"] is True and managed["addresses"] == ["127.0.0.1"]
    assert coverage["never_seen_hosts"] == [] and coverage["shared_addresses"] == []
    assert coverage["evidence"]["complete"] == 2 and coverage["evidence"]["without_evidence"] == []
    assert report["summary"]["unmanaged_tls_clients"] == 1
    assert any(UNMANAGED in w and "no managed host accounts for" in w for w in report["warnings"]), report["warnings"]
    base = reports(str(estate["tmp"] / "reports"), "audit")[-1][:-len(".json")]
    with open(base + ".md", encoding="utf-8") as handle:
        markdown = handle.read()
    assert markdown.index("## Clients nobody manages") < markdown.index("## Databases")
    assert "| %s | unmanaged TLS client | TLS | admin | %s/app-prod | bi-tool |" % (UNMANAGED, REGION) in markdown
    with open(base + ".html", encoding="utf-8") as handle:
        assert '<section id="unmanaged"><h2>Clients nobody manages (1)</h2>' in handle.read()


def test_the_stop_option_halts_the_rotation_before_anything_changes(estate):
    sim = estate["simulator"]
    before = cas(sim)
    sim.reset_calls()
    r = _run(estate, "rotate", rdsca_stop_on_unmanaged_tls_clients=True)
    assert r.rc != 0, explain(r)
    # the pre-flight shows the clients nobody manages before it stops
    assert "TLS clients nobody manages: %s" % UNMANAGED in r.stdout and "managed hosts never seen: none" in r.stdout
    report = _latest(estate, "rotate")
    assert report["outcome"] == "stopped" and report["stop"]["step"] == "pre-flight", report["stop"]
    assert UNMANAGED in report["stop"]["reason"] and "rdsca_stop_on_unmanaged_tls_clients=false" in report["stop"]["reason"]
    assert cas(sim) == before and _modifications(sim) == {}
    assert not [s for s in report["steps"] if s["name"] in ("staging rotation", "production rotation")]
    assert report["client_coverage"]["stop_on_unmanaged"] is True
    # the trust update did not run either: the client's bundle file was never written
    assert not os.path.exists(os.path.join(str(estate["tmp"]), CLIENT_HOST, "etc", "rds", "rds-ca-bundle.pem"))


def test_a_stop_option_that_is_not_a_boolean_is_refused_before_any_call(estate):
    sim = estate["simulator"]
    sim.reset_calls()
    r = _run(estate, "rotate", rdsca_stop_on_unmanaged_tls_clients="maybe")
    assert r.rc != 0 and "rdsca_stop_on_unmanaged_tls_clients must be true or false" in r.stdout, explain(r)
    assert sim.calls()["total"] == 0


def test_a_shared_address_from_survey_text_is_shared_not_unmanaged_and_rows_show_their_log_window(estate):
    """rdsca_shared_addresses as an AWX survey sends it (address=what text): the BI tool's address is reported as the
    NAT gateway it is, not as a TLS client nobody manages; each database row shows its log window and completeness."""
    r = _run(estate, "audit", rdsca_shared_addresses="%s=NAT gateway nat-0abc\n10.9.0.0/16=load balancer" % UNMANAGED)
    assert r.rc == 0, explain(r)
    report = _latest(estate, "audit")
    coverage = report["client_coverage"]
    assert coverage["unmanaged_tls_clients"] == []
    (shared,) = coverage["shared_addresses"]
    assert shared["address"] == UNMANAGED and shared["shared_as"] == "NAT gateway nat-0abc" and shared["tls"] is True
    rows = {row["label"]: row for row in report["databases"]}
    logs = rows["%s/app-prod" % REGION]["ssl"]["logs"]
    assert logs["complete"] is True and logs["window_days"] == 1 and logs["tls_clients"] >= 2, logs
    assert rows["%s/app-prod" % REGION]["ssl"]["in_use"] == "yes"
    base = reports(str(estate["tmp"] / "reports"), "audit")[-1][:-len(".json")]
    with open(base + ".md", encoding="utf-8") as handle:
        markdown = handle.read()
    assert "| %s | shared: NAT gateway nat-0abc | TLS |" % UNMANAGED in markdown
    row = next(line for line in markdown.splitlines() if line.startswith("| %s/app-prod |" % REGION))
    assert "logs, 1 day(s) (" in row and "): complete, " in row, row
