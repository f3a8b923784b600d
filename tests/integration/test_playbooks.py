"""The collection's playbooks (audit, rotate, rollback) end to end: real ansible-playbook runs against the
simulator, real TLS PostgreSQL/MariaDB servers, and a local client host managed by the ca_trust role
(files under the test's directory only: never this machine's trust store).

The demo estate first (tests/fleets/demo.yml, what `make demo` runs): the audit changes nothing,
--check changes nothing and says what would happen, the full rotation ends with every database on the
target CA but the one that needed a restart (scheduled), staging gated before production, clients
verified, reports written; a rollback of it is refused (rds-ca-2019 expired). Then a small estate
that starts on a valid CA: staging that does not verify stops the run before production, and a
rollback from the report restores the previous CA.
"""

from __future__ import annotations

import collections
import json
import os
import re
import subprocess
import sys
from typing import Any

import pytest

from tests.integration.conftest import COLLECTIONS_PATH, REPO, _ensure_collection_link
from scripts.demo import CLIENT_HOST, demo_extra_vars, demo_inventory
from tests.simulator.linked import tools_available

DEMO_FLEET = os.path.join(REPO, "tests", "fleets", "demo.yml")
TARGET = "rds-ca-rsa2048-g1"
OLD = "rds-ca-2019"
RSA4096 = "rds-ca-rsa4096-g1"
RESTART_DB = "us-east-1/billing-legacy-prod"

GATE_FLEET = {
    "description": "staging gate and rollback: databases on a CA that is still valid",
    "timing": {"modify_seconds": 0.3, "reboot_seconds": 0.3},
    "regions": {"us-east-1": {
        "default_ca": TARGET,
        "instances": [
            {"id": "shop-staging", "engine": "postgres", "engine_version": "16.3", "ca": RSA4096,
             "tags": {"Environment": "staging"}, "linked": "postgres"},
            {"id": "shop-prod", "engine": "postgres", "engine_version": "16.3", "ca": RSA4096,
             "tags": {"Environment": "production"}, "linked": "postgres"},
            {"id": "shop-prod-mysql", "engine": "mysql", "engine_version": "8.0.36", "ca": RSA4096,
             "tags": {"Environment": "production"}},
            {"id": "shop-dev", "engine": "mysql", "engine_version": "8.0.36", "ca": RSA4096,
             "tags": {"Environment": "development"}},
        ],
    }},
}


# -- helpers -------------------------------------------------------------------------------------------

def explain(result) -> str:
    return "rc=%s\n%s\n%s" % (result.rc, result.stdout[-8000:], result.stderr[-3000:])


def cas(simulator) -> dict[str, tuple[str, str | None]]:
    """region/identifier -> (CA, pending CA) of every instance, straight from the API."""
    out = {}
    for region in simulator.sim.fleet.regions:
        for db in simulator.client(region=region).describe_db_instances()["DBInstances"]:
            out["%s/%s" % (region, db["DBInstanceIdentifier"])] = (
                db["CACertificateIdentifier"], db.get("PendingModifiedValues", {}).get("CACertificateIdentifier"))
    return out


def _default(simulator, region: str) -> str:
    response = simulator.client(region=region).describe_certificates()
    return response.get("DefaultCertificateForNewLaunches") or next(
        c["CertificateIdentifier"] for c in response["Certificates"] if c.get("CustomerOverride"))


def reports(report_dir: str, kind: str) -> list[str]:
    return sorted(os.path.join(report_dir, name) for name in os.listdir(report_dir)
                  if name.startswith(kind + "-") and name.endswith(".json")) if os.path.isdir(report_dir) else []


def load_report(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def rows(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict((row["label"], row) for row in report["databases"])


class Estate:
    """A loaded fleet, its bundle, a client inventory and the extra vars of every run."""

    def __init__(self, simulator, tmp, client_databases: list[str], client_ca_file: str | None = None) -> None:
        self.simulator = simulator
        self.tmp = tmp
        self.report_dir = str(tmp / "reports")
        self.bundle = simulator.control("GET", "/_sim/bundle")["path"]
        self.linked = simulator.control("GET", "/_sim/linked")
        self.inventory = demo_inventory(str(tmp), client_ca_file, client_databases)
        password = next(iter(self.linked.values()))["admin_password"]
        self.vars = demo_extra_vars(simulator.sim.fleet.regions, self.report_dir, self.bundle, password)
        self.vars["rdsca_ssl_usage_sample_seconds"] = 1

    @property
    def client_bundle(self) -> str:
        return os.path.join(str(self.tmp), CLIENT_HOST, "etc", "rds", "rds-ca-bundle.pem")

    def run(self, playbook: str, check: bool = False, **extra: Any):
        """ansible-playbook rdsca.rotation.<playbook>: the collection playbook, as users run it."""
        variables = dict(self.vars, **extra)
        name = "rdsca.rotation." + playbook[:-len(".yml")]
        return self.simulator.run_playbook(name, extra_vars=variables, check=check, extra_args=["-i", self.inventory])

    def latest(self, kind: str) -> dict[str, Any]:
        found = reports(self.report_dir, kind)
        assert found, "no %s report in %s" % (kind, self.report_dir)
        return load_report(found[-1])


@pytest.fixture(scope="module")
def demo(simulator, tmp_path_factory):
    for engine in ("postgres", "mariadb"):
        ok, why = tools_available(engine)
        if not ok:
            pytest.skip("linked %s servers unavailable: %s" % (engine, why))
    simulator.load(DEMO_FLEET)
    return Estate(simulator, tmp_path_factory.mktemp("demo"),
                  ["orders-staging", "orders-prod", "catalog-staging", "payments-staging"])


# -- the demo estate -----------------------------------------------------------------------------------

def test_audit_reads_everything_and_changes_nothing(demo):
    before = cas(demo.simulator)
    r = demo.run("audit.yml")
    assert r.rc == 0, explain(r)
    assert cas(demo.simulator) == before
    assert not os.path.exists(demo.client_bundle)
    report = demo.latest("audit")
    assert report["kind"] == "audit" and report["outcome"] == "completed"
    dbs = rows(report)
    assert len(dbs) == 14
    assert dbs["us-east-1/orders-staging"]["status"] == "needs_rotation"
    assert dbs["us-east-1/reports-prod"]["status"] == "ok"
    assert dbs[RESTART_DB]["restart"]["would_restart"] is True
    # SSL evidence: the endpoint of a linked server presents the expired CA, and does not verify.
    assert dbs["us-east-1/orders-staging"]["ssl"]["presented_ca"] == OLD
    assert dbs["us-east-1/orders-staging"]["ssl"]["probe_verified"] is False
    (client,) = report["clients"]
    assert client["host"] == CLIENT_HOST and client["status"] == "missing"
    assert any(TARGET.replace("rds-ca-", "") in name for name in client["lacked"])
    # An audit changes nothing, and its report says so (issue 19): no "are rotated" in any of its files.
    assert any("would be rotated without endpoint verification" in w for w in report["warnings"]), report["warnings"]
    base = reports(demo.report_dir, "audit")[-1][:-len(".json")]
    for ext in (".json", ".md", ".html"):
        with open(base + ext, encoding="utf-8") as handle:
            text = handle.read()
        assert "are rotated without endpoint verification" not in text, ext
        assert "us-east-1/orders-staging" in text, ext
    # The summary a change board reads first: counts by region, engine, environment, CA and restart behaviour.
    summary = report["summary"]
    assert sum(summary["by_region"].values()) == sum(summary["by_engine"].values()) == len(dbs) == 14
    assert summary["by_region"] == dict(collections.Counter(row["region"] for row in dbs.values()))
    assert summary["by_account"] and summary["by_ca"].get(OLD) and summary["by_restart"]
    assert RESTART_DB in [item["label"] for item in summary["restarts"]]
    with open(base + ".html", encoding="utf-8") as handle:
        html = handle.read()
    assert '<section id="summary">' in html and html.index('id="summary"') < html.index('id="databases"')
    assert "<svg" in html and _unbalanced_tags(html) == []


def test_audit_in_summary_only_mode_gives_the_same_report(demo):
    """Issue 20: with rdsca_inventory_summary_only, discovery's rds_ca_facts returns its summary and writes the records
    to inventory-before.jsonl; the audit reads them back and reports the same databases with the same verdicts."""
    r = demo.run("audit.yml")
    assert r.rc == 0, explain(r)
    full = rows(demo.latest("audit"))
    r = demo.run("audit.yml", rdsca_inventory_summary_only=True)
    assert r.rc == 0, explain(r)
    summary = rows(demo.latest("audit"))
    assert os.path.getsize(os.path.join(demo.report_dir, "inventory-before.jsonl")) > 0

    def verdict(table):
        return dict((label, (row["status"], row.get("restart"), row.get("ca"))) for label, row in table.items())
    assert len(summary) == 14 and verdict(summary) == verdict(full)


def test_check_mode_plans_everything_and_changes_nothing(demo):
    before = cas(demo.simulator)
    defaults_before = {region: _default(demo.simulator, region) for region in demo.simulator.sim.fleet.regions}
    r = demo.run("rotate.yml", check=True)
    assert r.rc == 0, explain(r)
    assert cas(demo.simulator) == before
    assert {region: _default(demo.simulator, region) for region in demo.simulator.sim.fleet.regions} == defaults_before
    assert not os.path.exists(demo.client_bundle), "check mode must not install the client bundle"
    report = demo.latest("rotate")
    assert report["mode"] == "check" and report["outcome"] == "planned"
    dbs = rows(report)
    assert all(row["planned"] for row in dbs.values())
    assert dbs["us-east-1/orders-staging"]["status"] == "rotated"
    assert dbs["us-east-1/orders-staging"]["after"] == {"ca": TARGET, "pending_ca": None, "predicted": True}
    assert dbs[RESTART_DB]["status"] == "scheduled"
    assert dbs[RESTART_DB]["restart"]["text"].startswith("avoided")
    assert report["gate"]["passed"] is True
    assert [s["name"] for s in report["steps"]][-3:] == ["production rotation", "production verification",
                                                         "default CA for new launches"]
    assert {s["status"] for s in report["steps"] if "rotation" in s["name"]} == {"planned"}
    assert report["summary"]["clients_lacking_before"] == [CLIENT_HOST]
    assert "(check mode: nothing was changed)" in r.stdout
    with open(reports(demo.report_dir, "rotate")[-1][:-5] + ".md", encoding="utf-8") as handle:
        assert "would be rotated" in handle.read()


def test_rotate_end_to_end(demo):
    servers = dict((v["id"], v) for v in demo.linked.values())
    conn = _tls_session(servers["orders-staging"], "orders-api-staging")
    try:
        r = demo.run("rotate.yml")
    finally:
        conn.close()
    assert r.rc == 0, explain(r)
    after = cas(demo.simulator)
    # Every database ends on the target CA, except the one that needed a restart: scheduled.
    assert after.pop(RESTART_DB) == (OLD, TARGET)
    assert set(after.values()) == {(TARGET, None)}, after
    assert _default(demo.simulator, "eu-west-1") == TARGET
    demo.simulator.control("POST", "/_sim/linked/wait", {})
    assert {v["presented_ca"] for v in demo.simulator.control("GET", "/_sim/linked").values()} == {TARGET}

    report = demo.latest("rotate")
    assert report["mode"] == "apply" and report["outcome"] == "completed", report["failures"]
    dbs = rows(report)
    assert dbs[RESTART_DB]["status"] == "scheduled"
    assert dbs[RESTART_DB]["restart"]["text"] == "avoided: scheduled for the maintenance window"
    assert report["summary"]["restarts_avoided"] == [RESTART_DB] and report["summary"]["restarted"] == []
    assert dbs["us-east-1/reports-prod"]["status"] == "unchanged"
    for label, row in dbs.items():
        if label not in (RESTART_DB, "us-east-1/reports-prod"):
            assert row["status"] == "rotated", row
            assert (row["before"]["ca"], row["after"]["ca"]) == (OLD, TARGET)
            assert row["timing"]["seconds"] is not None
    # Verified: endpoints the controller reaches, and the client, with the bundle the role installed.
    for name in ("orders-staging", "catalog-staging", "payments-staging", "orders-prod"):
        row = next(row for row in dbs.values() if row["identifier"] == name)
        assert row["verification"]["endpoint"] == "verified", row
        assert row["verification"]["clients_ok"] == [CLIENT_HOST], row
    assert dbs["us-east-1/catalog-prod"]["verification"]["endpoint"] == "not_verifiable"
    # SSL evidence: the TLS session held open during the run.
    ssl_use = dbs["us-east-1/orders-staging"]["ssl"]
    assert ssl_use["in_use"] == "yes" and any("orders-api-staging" in c for c in ssl_use["clients"]), ssl_use
    # The gate ran before production, and passed.
    assert report["gate"]["passed"] is True and all(c["ok"] for c in report["gate"]["checks"])
    steps = [s["name"] for s in report["steps"]]
    assert steps.index("staging gate") < steps.index("production rotation")
    (client,) = report["clients"]
    assert client["status"] == "fixed" and client["missing"] == [] and len(client["verified"]) == 4
    assert os.path.isfile(demo.client_bundle)
    assert report["regions"][0]["region"] == "eu-west-1" and report["regions"][0]["changed"] is True
    # The report files exist and hold a row per database.
    base = reports(demo.report_dir, "rotate")[-1][:-len(".json")]
    with open(base + ".md", encoding="utf-8") as handle:
        markdown = handle.read()
    with open(base + ".html", encoding="utf-8") as handle:
        html = handle.read()
    for label in dbs:
        assert "| %s" % label in markdown
        assert "<code>%s</code>" % label in html
    assert "Staging gate: passed" in markdown
    assert "<style>" in html and not re.search(r"""(src|href)=["']?(https?:)?//""", html), "HTML must be self-contained"
    assert "<svg" in html and "Rotation timeline" in html and '<details class="grp"' in html
    assert _unbalanced_tags(html) == []
    assert "report: %s.html" % base in r.stdout


def test_rotate_again_changes_nothing(demo):
    before = cas(demo.simulator)
    r = demo.run("rotate.yml")
    assert r.rc == 0, explain(r)
    assert cas(demo.simulator) == before
    report = demo.latest("rotate")
    statuses = set(row["status"] for row in report["databases"])
    assert statuses == {"unchanged"}, statuses


def test_rollback_refuses_an_expired_previous_ca(demo):
    rotated = [p for p in reports(demo.report_dir, "rotate")
               if load_report(p)["mode"] == "apply" and load_report(p)["summary"]["by_status"].get("rotated")]
    before = cas(demo.simulator)
    r = demo.run("rollback.yml", rdsca_rollback_report=rotated[-1])
    assert r.rc != 0, explain(r)
    assert cas(demo.simulator) == before
    report = demo.latest("rollback")
    assert report["outcome"] == "completed_with_failures"
    assert {row["status"] for row in report["databases"]} == {"not_possible"}
    assert all("rds-ca-2019 expired" in row["reason"] for row in report["databases"])


# -- staging gate and rollback on an estate on a valid CA --------------------------------------------

@pytest.fixture(scope="module")
def gated(simulator, tmp_path_factory, demo):  # demo first: one fleet at a time
    simulator.load(GATE_FLEET)
    tmp = tmp_path_factory.mktemp("gated")
    # The client verifies with a CA file of its own that holds only the CA the databases are on now.
    pinned = simulator.sim.linker.pki.write_bundle(tmp / "pinned-ca.pem", regions=["us-east-1"], ca_identifiers=[RSA4096])
    return Estate(simulator, tmp, ["shop-staging", "shop-prod"], client_ca_file=str(pinned))


def test_preflight_stops_when_a_client_lacks_the_target_ca_and_is_not_updated(gated):
    before = cas(gated.simulator)
    # This client's trust is managed elsewhere: the run cannot fix it, so it must not start.
    r = gated.run("rotate.yml", rdsca_client_manage_trust=False)
    assert r.rc != 0, explain(r)
    assert cas(gated.simulator) == before
    assert not os.path.exists(gated.client_bundle)
    report = gated.latest("rotate")
    assert report["outcome"] == "stopped" and report["stop"]["step"] == "pre-flight"
    assert CLIENT_HOST in report["stop"]["reason"] and "rdsca_allow_clients_lacking_ca" in report["stop"]["reason"]
    assert {row["status"] for row in report["databases"] if row["phase"] != "other"} == {"not_started"}
    assert report["summary"]["clients_lacking_before"] == [CLIENT_HOST]
    assert [s["name"] for s in report["steps"]] == ["discovery", "pre-flight (client trust audit)"]


def test_staging_that_does_not_verify_stops_before_production(gated):
    before = cas(gated.simulator)
    r = gated.run("rotate.yml")
    assert r.rc != 0, explain(r)
    assert "STAGING GATE FAILED" in r.stdout
    after = cas(gated.simulator)
    assert after["us-east-1/shop-staging"] == (TARGET, None)
    for label in ("us-east-1/shop-prod", "us-east-1/shop-prod-mysql", "us-east-1/shop-dev"):
        assert after[label] == before[label] == (RSA4096, None), label
    report = gated.latest("rotate")
    assert report["outcome"] == "stopped" and report["stop"]["step"] == "staging gate"
    dbs = rows(report)
    assert dbs["us-east-1/shop-staging"]["status"] == "rotated"
    assert dbs["us-east-1/shop-staging"]["verification"]["endpoint"] == "verified"
    assert dbs["us-east-1/shop-staging"]["verification"]["clients_failed"]
    assert dbs["us-east-1/shop-prod"]["status"] == "not_started"
    assert dbs["us-east-1/shop-dev"]["status"] == "out_of_scope"
    failed = [c for c in report["gate"]["checks"] if not c["ok"]]
    assert [c["check"] for c in failed] == ["clients verified the staging databases"]
    assert "shop-staging" in failed[0]["detail"]
    assert "production rotation" not in [s["name"] for s in report["steps"]]
    assert any(f["what"] == "client verification" for f in report["failures"])


def test_production_halts_after_a_failed_batch(gated):
    """Production in batches of one: the first batch fails (ModifyDBInstance denied), the second never starts."""
    before = cas(gated.simulator)
    assert before["us-east-1/shop-staging"] == (TARGET, None)  # staging rotated by the previous test
    gated.simulator.faults([{"operation": "ModifyDBInstance", "error": "AccessDenied", "count": 1}])
    try:
        r = gated.run("rotate.yml", rdsca_phase="production", rdsca_max_concurrent=1, rdsca_client_verify=False)
    finally:
        gated.simulator.clear_faults()
    assert r.rc != 0, explain(r)
    assert "HALTED after batch 1 of 2" in r.stdout
    assert cas(gated.simulator) == before
    report = gated.latest("rotate")
    assert report["outcome"] == "completed_with_failures" and report["gate"]["passed"] is True
    dbs = rows(report)
    assert dbs["us-east-1/shop-staging"]["status"] == "verified_only"
    assert (dbs["us-east-1/shop-prod"]["status"], dbs["us-east-1/shop-prod"]["batch"]) == ("failed", 1)
    assert "AccessDenied" in (dbs["us-east-1/shop-prod"]["reason"] or "") + (dbs["us-east-1/shop-prod"]["error"] or "")
    assert dbs["us-east-1/shop-prod-mysql"]["status"] == "not_started"
    assert "halted after batch 1" in dbs["us-east-1/shop-prod-mysql"]["reason"]
    assert any("halted after batch 1" in f["reason"] for f in report["failures"])


def _linked_server(simulator, identifier: str):
    return next(linked.server for (_account, _region, db_id), linked in simulator.sim.linker.databases.items()
                if db_id == identifier)


def test_production_halts_after_an_unverified_batch(gated):
    """A database rotated whose endpoint does not come back (its server stops when it should present the new
    certificate) is unverified - not rolled back without evidence - and production halts after its batch.
    Batches of one (rdsca_batch_size), named in the task names and reported as each finishes."""
    before = cas(gated.simulator)
    assert before["us-east-1/shop-staging"] == (TARGET, None)  # staging rotated by an earlier test
    server = _linked_server(gated.simulator, "shop-prod")
    original = server.rotate

    def rotate_then_die(cert_pem, key_pem, chain_pem=None):
        server.install_tls(cert_pem, key_pem, chain_pem)
        server.stop()

    server.rotate = rotate_then_die
    try:
        r = gated.run("rotate.yml", rdsca_phase="production", rdsca_batch_size=1, rdsca_client_verify=False,
                      rdsca_verify_grace_period=2, rdsca_verify_timeout=2)
    finally:
        server.rotate = original
        server.restart()
    assert r.rc != 0, explain(r)
    after = cas(gated.simulator)
    assert after["us-east-1/shop-prod"] == (TARGET, None)  # rotated, not rolled back
    assert after["us-east-1/shop-prod-mysql"] == before["us-east-1/shop-prod-mysql"]
    report = gated.latest("rotate")
    assert report["outcome"] == "completed_with_failures" and report["gate"]["passed"] is True
    dbs = rows(report)
    assert (dbs["us-east-1/shop-prod"]["status"], dbs["us-east-1/shop-prod"]["batch"]) == ("unverified", 1)
    assert dbs["us-east-1/shop-prod-mysql"]["status"] == "not_started"
    assert "halted after batch 1" in dbs["us-east-1/shop-prod-mysql"]["reason"]
    # Progress: the batch is named in the task names, and its outcome is printed before the next batch's tasks.
    out = r.stdout
    assert "TASK [Rotate with endpoint verification and rollback - production batch 1 of 2: shop-prod]" in out, explain(r)
    finished = out.index("batch 1 of 2 finished: unverified 1 (us-east-1/shop-prod unverified); HALTED")
    assert finished < out.index("production batch 2 of 2: shop-prod-mysql]"), explain(r)
    assert "HALTED after batch 1 of 2" in out


def test_rollback_restores_the_previous_ca(gated):
    stopped = next(p for p in reversed(reports(gated.report_dir, "rotate"))
                   if (load_report(p).get("stop") or {}).get("step") == "staging gate")
    r = gated.run("rollback.yml", rdsca_rollback_report=stopped)
    assert r.rc == 0, explain(r)
    assert cas(gated.simulator)["us-east-1/shop-staging"] == (RSA4096, None)
    gated.simulator.control("POST", "/_sim/linked/wait", {})
    presented = dict((v["id"], v["presented_ca"]) for v in gated.simulator.control("GET", "/_sim/linked").values())
    assert presented["shop-staging"] == RSA4096
    report = gated.latest("rollback")
    assert report["outcome"] == "completed"
    (row,) = report["databases"]
    assert (row["label"], row["status"], row["before"]["ca"], row["after"]["ca"]) == \
        ("us-east-1/shop-staging", "restored", TARGET, RSA4096)
    assert row["verification"]["endpoint"] == "verified"
    # Nothing left to roll back: a second run changes nothing.
    r = gated.run("rollback.yml", rdsca_rollback_report=stopped)
    assert r.rc == 0, explain(r)
    assert rows(gated.latest("rollback"))["us-east-1/shop-staging"]["status"] == "unchanged"


# -- lint ------------------------------------------------------------------------------------------------

def test_playbooks_and_roles_pass_ansible_lint_production_profile():
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".build", "collections"))
    lint = os.path.join(os.path.dirname(sys.executable), "ansible-lint")
    proc = subprocess.run([lint, "--profile", "production", "--nocolor", "playbooks", "roles"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]


def _unbalanced_tags(html: str) -> list[str]:
    """Tags closed out of order or never closed (the report is generated: a template slip shows here)."""
    from html.parser import HTMLParser  # pylint: disable=import-outside-toplevel

    stack: list[str] = []
    problems: list[str] = []

    class Checker(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag not in ("meta", "br", "link", "img", "hr", "input"):
                stack.append(tag)

        def handle_endtag(self, tag):
            if stack and stack[-1] == tag:
                stack.pop()
            else:
                problems.append("</%s> at %s, open: %s" % (tag, self.getpos(), stack[-3:]))

    Checker().feed(html)
    return problems + ["<%s> never closed" % tag for tag in stack]


def _tls_session(server: dict[str, Any], app: str):
    """An application's TLS session (encrypted, not verifying: the server still presents the expired CA)."""
    import psycopg2  # pylint: disable=import-outside-toplevel

    return psycopg2.connect(host=server["address"], hostaddr=server["host"], port=server["port"],
                            user=server["admin_user"], password=server["admin_password"], dbname="postgres",
                            application_name=app, sslmode="require", connect_timeout=5)


# -- rotation safety (issue 13): a small estate without linked servers or clients ---------------------

LIGHT_FLEET = {
    "description": "rotation safety: a source with a cross-region replica, an override in eu-west-1",
    "timing": {"modify_seconds": 0.2, "reboot_seconds": 0.2},
    "regions": {
        "us-east-1": {"default_ca": TARGET, "instances": [
            {"id": "app-staging", "engine": "postgres", "engine_version": "16.3", "ca": OLD,
             "tags": {"Environment": "staging"}},
            {"id": "app-prod", "engine": "postgres", "engine_version": "16.3", "ca": OLD,
             "tags": {"Environment": "production"}},
            {"id": "billing-prod", "engine": "postgres", "engine_version": "16.3", "ca": OLD,
             "tags": {"Environment": "production"}},
        ]},
        # A deliberate override: new launches in eu-west-1 get rds-ca-rsa4096-g1, a current CA.
        "eu-west-1": {"default_ca": TARGET, "customer_override": RSA4096, "instances": [
            {"id": "web-prod", "engine": "mariadb", "engine_version": "10.11.8", "ca": OLD,
             "tags": {"Environment": "production"}},
        ]},
    },
}
MODIFY_OPERATIONS = ("ModifyDBInstance", "ModifyDBCluster", "ApplyPendingMaintenanceAction", "ModifyCertificates",
                     "RebootDBInstance")


class Light:
    """LIGHT_FLEET loaded, app-prod's cross-region replica created, and runs of the collection's playbooks."""

    def __init__(self, simulator, tmp) -> None:
        self.simulator = simulator.load(LIGHT_FLEET)
        source = simulator.client().describe_db_instances(DBInstanceIdentifier="app-prod")["DBInstances"][0]
        simulator.client(region="eu-west-1").create_db_instance_read_replica(
            DBInstanceIdentifier="app-prod-eu", SourceDBInstanceIdentifier=source["DBInstanceArn"],
            DBInstanceClass="db.t3.micro", Tags=[{"Key": "Environment", "Value": "production"}])
        simulator.reset_calls()
        self.report_dir = str(tmp / "reports")
        self.inventory = str(tmp / "inventory.yml")
        with open(self.inventory, "w", encoding="utf-8") as handle:
            handle.write("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
                         "      ansible_python_interpreter: %s\n  children:\n    rds_clients:\n      hosts: {}\n"
                         % sys.executable)
        self.vars = {"rdsca_regions": ["us-east-1", "eu-west-1"], "rdsca_target_ca": TARGET,
                     "rdsca_report_dir": self.report_dir, "rdsca_verify": "none", "rdsca_ssl_usage": False,
                     "rdsca_poll_interval": 0.5, "rdsca_client_verify": False}

    def run(self, playbook: str, check: bool = False, cwd: str | None = None, **extra: Any):
        return self.simulator.run_playbook("rdsca.rotation." + playbook, extra_vars=dict(self.vars, **extra),
                                           check=check, extra_args=["-i", self.inventory], cwd=cwd)

    def modifications(self) -> dict[str, int]:
        found = {}
        for region, ops in self.simulator.calls()["by_region"].items():
            for op, count in ops.items():
                if op.split(":", 1)[1] in MODIFY_OPERATIONS:
                    found["%s %s" % (region, op)] = count
        return found

    def latest(self) -> dict[str, Any]:
        found = reports(self.report_dir, "rotate")
        assert found, "no rotate report in %s" % self.report_dir
        return load_report(found[-1])


@pytest.fixture
def light(simulator, tmp_path):
    return Light(simulator, tmp_path)


@pytest.mark.parametrize("numbers", [
    {"rdsca_max_concurrent": 0, "rdsca_wait_timeout": 0},
    {"rdsca_max_concurrent": "0", "rdsca_wait_timeout": "0"},
], ids=["integers", "strings"])
def test_zero_from_json_is_refused_like_zero_as_a_string(light, numbers):
    """Issue 13 item 9: integers 0 from JSON/AWX were silently replaced by the defaults (5, 3600)."""
    r = light.run("rotate.yml", **numbers)
    assert r.rc != 0, explain(r)
    assert "rdsca_max_concurrent must be 1 or more, got" in r.stdout, explain(r)
    assert "rdsca_wait_timeout must be more than 0, got" in r.stdout
    assert light.modifications() == {}


def test_a_batch_size_of_zero_is_refused_not_replaced_by_max_concurrent(light):
    r = light.run("rotate.yml", rdsca_batch_size=0, rdsca_max_concurrent=3)
    assert r.rc != 0, explain(r)
    assert "rdsca_batch_size must be 1 or more, got" in r.stdout, explain(r)
    assert "rdsca_max_concurrent must" not in r.stdout
    assert light.modifications() == {}


def test_nan_infinite_and_inconsistent_numbers_are_refused_before_any_change(light):
    r = light.run("rotate.yml", rdsca_poll_interval="nan", rdsca_verify_timeout="inf", rdsca_max_concurrent=10 ** 9,
                  rdsca_ssl_usage_sample_seconds=-1)
    assert r.rc != 0, explain(r)
    for text in ("rdsca_poll_interval must be a finite number, got nan", "rdsca_verify_timeout must be a finite number",
                 "rdsca_max_concurrent must be at most 500", "rdsca_ssl_usage_sample_seconds must be 0 or more"):
        assert text in r.stdout, (text, explain(r))
    r = light.run("rotate.yml", rdsca_poll_interval=600, rdsca_wait_timeout=60)
    assert r.rc != 0 and "rdsca_poll_interval (600) must not be longer than rdsca_wait_timeout (60)" in r.stdout, explain(r)
    assert light.modifications() == {}


def test_survey_number_ranges_are_within_what_the_playbooks_accept():
    """Every integer a survey allows (min, max, default) is accepted by the playbooks' number rules."""
    _ensure_collection_link()
    if COLLECTIONS_PATH not in sys.path:
        sys.path.insert(0, COLLECTIONS_PATH)
    from ansible_collections.rdsca.rotation.plugins.module_utils import numbers  # pylint: disable=import-outside-toplevel

    # The rule each playbook variable is checked with: tasks/settings.yml's number_settings(rules=...).
    rules = {"rdsca_ssl_usage_sample_seconds": "sample_seconds", "rdsca_ssl_usage_sample_interval": "sample_interval",
             "rdsca_batch_size": "max_concurrent", "rdsca_ssl_usage_chunk_size": "max_concurrent",
             "rdsca_ssl_usage_log_window_days": "log_window_days"}
    checked = 0
    for path in sorted(os.listdir(os.path.join(REPO, "extensions", "awx", "surveys"))):
        with open(os.path.join(REPO, "extensions", "awx", "surveys", path), encoding="utf-8") as handle:
            spec = json.load(handle)["spec"]
        for question in spec:
            if question["type"] not in ("integer", "float"):
                continue
            rule = rules.get(question["variable"], question["variable"][len("rdsca_"):])
            for key in ("min", "max", "default"):
                assert numbers.check_number(rule, question[key]) == [], (path, question["variable"], key)
                checked += 1
    assert checked >= 6


def test_an_expired_target_ca_stops_at_pre_flight(light):
    """Issue 13 item 6: rds-ca-2019 passed pre-flight ("problems: none") and was refused at staging."""
    r = light.run("rotate.yml", rdsca_target_ca=OLD)
    assert r.rc != 0, explain(r)
    assert light.modifications() == {}
    report = light.latest()
    assert report["outcome"] == "stopped" and report["stop"]["step"] == "pre-flight", report["stop"]
    assert "rds-ca-2019 expired on 2024-08-22" in report["stop"]["reason"]
    assert "staging rotation" not in [s["name"] for s in report["steps"]]


def test_a_report_directory_that_is_a_file_stops_before_any_change(light, tmp_path):
    """Issue 13 item 5: a report directory that was a file was found after the databases were rotated."""
    not_a_dir = tmp_path / "reports-file"
    not_a_dir.write_text("not a directory\n")
    r = light.run("rotate.yml", rdsca_report_dir=str(not_a_dir), rdsca_require_verified_staging=False)
    assert r.rc != 0, explain(r)
    assert "rdsca_report_dir %s is not a directory" % not_a_dir in r.stdout, explain(r)
    assert light.modifications() == {}
    assert not_a_dir.read_text() == "not a directory\n"


def test_an_unexpected_failure_after_a_change_still_writes_the_report(light):
    """Issue 13 item 5: a report is written even when the run fails after databases were changed.

    An internal variable of the staging verification (the endpoints to verify) is overridden with garbage from the
    command line, so the controller play breaks after the staging rotation (an unexpected failure, not a database's)."""
    r = light.run("rotate.yml", rdsca_verify_targets=5, rdsca_require_verified_staging=False)
    assert r.rc != 0, explain(r)
    assert light.modifications(), "staging was rotated before the failure"
    report = light.latest()
    assert report["outcome"] == "stopped" and report["stop"]["step"] == "staging", report["stop"]
    assert "unexpected failure in task" in report["stop"]["reason"], report["stop"]
    assert any(row["status"] == "rotated" for row in report["databases"]), report["databases"]
    assert "production rotation" not in [s["name"] for s in report["steps"]]


def test_a_cross_region_replica_is_in_its_sources_batch(light):
    """Issue 13 item 2: with rdsca_max_concurrent=1 the source was in batch 1, its cross-region replica in batch 2."""
    r = light.run("rotate.yml", check=True, rdsca_max_concurrent=1, rdsca_require_verified_staging=False)
    assert r.rc == 0, explain(r)
    dbs = rows(light.latest())
    assert dbs["us-east-1/app-prod"]["batch"] == dbs["eu-west-1/app-prod-eu"]["batch"], (
        dbs["us-east-1/app-prod"]["batch"], dbs["eu-west-1/app-prod-eu"]["batch"])
    assert len({dbs[label]["batch"] for label in ("us-east-1/app-prod", "us-east-1/billing-prod", "eu-west-1/web-prod")}) == 3


def test_the_account_default_keeps_a_deliberate_override(light):
    """Issue 13 item 7: the account-default step replaced eu-west-1's override to rds-ca-rsa4096-g1 silently."""
    r = light.run("rotate.yml", rdsca_require_verified_staging=False)
    assert r.rc == 0, explain(r)
    assert _default(light.simulator, "eu-west-1") == RSA4096
    report = light.latest()
    region = next(item for item in report["regions"] if item["region"] == "eu-west-1")
    assert region["changed"] is False and region["default_after"] == RSA4096 and region["override_kept"] == RSA4096
    with open(reports(light.report_dir, "rotate")[-1][:-5] + ".md", encoding="utf-8") as handle:
        assert "deliberate override kept: drift from %s" % TARGET in handle.read()
    assert any("eu-west-1" in w and RSA4096 in w and "rdsca_replace_account_override" in w for w in report["warnings"]), \
        report["warnings"]
    assert "ModifyCertificates" not in json.dumps(light.modifications())
    # Asked for explicitly, the override is replaced.
    r = light.run("rotate.yml", rdsca_require_verified_staging=False, rdsca_replace_account_override=True)
    assert r.rc == 0, explain(r)
    assert _default(light.simulator, "eu-west-1") == TARGET


def test_check_mode_predicts_the_staging_gate(light):
    """Issue 13 item 10: with staging and production run separately, --check said the gate passes where the real run stops."""
    def gate(report):
        return report["gate"]["passed"], sorted(c["check"].replace(" (planned)", "") for c in report["gate"]["checks"]
                                                if not c["ok"])

    # Production before staging was rotated: the real run stops at the gate; the dry run must say so.
    checked = light.run("rotate.yml", check=True, rdsca_phase="production")
    check_report = light.latest()
    real = light.run("rotate.yml", rdsca_phase="production")
    real_report = light.latest()
    assert real.rc != 0 and real_report["stop"]["step"] == "staging gate", explain(real)
    assert checked.rc != 0 and check_report["stop"]["step"] == "staging gate", explain(checked)
    assert gate(check_report) == gate(real_report), (check_report["gate"], real_report["gate"])
    assert "staging databases on the target CA" in gate(real_report)[1]
    # Staging that nobody can verify (no reachable endpoint, no client): both stop at the gate.
    checked = light.run("rotate.yml", check=True, rdsca_phase="all")
    check_report = light.latest()
    real = light.run("rotate.yml", rdsca_phase="all")
    real_report = light.latest()
    assert real.rc != 0 and real_report["stop"]["step"] == "staging gate", explain(real)
    assert gate(check_report) == gate(real_report), (check_report["gate"], real_report["gate"])
    assert check_report["stop"]["step"] == "staging gate"


# -- the installed collection is read-only (issue 19): paths resolve against the working directory ------

def _collection_files() -> set[str]:
    """Every file under the collection as ansible-playbook reaches it (.build/collections), outputs excluded."""
    root = os.path.realpath(os.path.join(COLLECTIONS_PATH, "ansible_collections", "rdsca", "rotation"))
    skip = {".git", ".venv", ".build", "tests", "benchmarks", ".hypothesis", ".pytest_cache", "__pycache__"}
    found = set()
    for top, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in skip]
        found.update(os.path.join(top, name) for name in files)
    return found


def test_inventory_writes_its_report_in_the_working_directory(light, tmp_path):
    """`rdsca.rotation.inventory` wrote to {{ playbook_dir }}/../reports: inside the installed collection."""
    work = tmp_path / "operator"
    work.mkdir()
    before = _collection_files()
    variables = dict(light.vars)
    del variables["rdsca_report_dir"]
    r = light.simulator.run_playbook("rdsca.rotation.inventory", extra_vars=variables,
                                     extra_args=["-i", light.inventory], cwd=str(work))
    assert r.rc == 0, explain(r)
    assert sorted(os.listdir(work / "rdsca-reports")) == ["inventory.json", "inventory.md"]
    inventory = load_report(str(work / "rdsca-reports" / "inventory.json"))
    assert {db["identifier"] for db in inventory["databases"]} >= {"app-staging", "app-prod", "web-prod"}
    assert _collection_files() == before
    assert "report: %s/rdsca-reports/inventory.md" % os.path.realpath(work) in r.stdout
    # A relative rdsca_report_dir is relative to the working directory too.
    r = light.simulator.run_playbook("rdsca.rotation.inventory", extra_vars=dict(variables, rdsca_report_dir="out/inv"),
                                     extra_args=["-i", light.inventory], cwd=str(work))
    assert r.rc == 0, explain(r)
    assert sorted(os.listdir(work / "out" / "inv")) == ["inventory.json", "inventory.md"]
    assert _collection_files() == before
    # Summary only (issue 20): the records go to inventory.jsonl, the report for people still lists them all.
    with open(work / "rdsca-reports" / "inventory.md", encoding="utf-8") as handle:
        full_md = handle.read()
    r = light.simulator.run_playbook("rdsca.rotation.inventory", extra_vars=dict(variables, rdsca_inventory_summary_only=True),
                                     extra_args=["-i", light.inventory], cwd=str(work))
    assert r.rc == 0, explain(r)
    assert sorted(os.listdir(work / "rdsca-reports")) == ["inventory.json", "inventory.jsonl", "inventory.md"]
    summary = load_report(str(work / "rdsca-reports" / "inventory.json"))
    assert summary["databases"] == [] and summary["detail"] == "summary"
    assert summary["output_file"] == os.path.realpath(work / "rdsca-reports" / "inventory.jsonl")
    with open(work / "rdsca-reports" / "inventory.md", encoding="utf-8") as handle:
        summary_md = handle.read()

    def table(text):
        return [line for line in text.splitlines() if line.startswith("| ")]
    assert table(summary_md) == table(full_md) and len(table(full_md)) > 5


def test_rollback_reads_a_relative_report_path_from_the_working_directory(light, tmp_path):
    """The documented `-e rdsca_rollback_report=rdsca-reports/rotate-<id>.json` failed: the file lookup
    searched the playbook's directory, not the operator's."""
    work = tmp_path / "operator"
    work.mkdir()
    from tests.simulator.pki import LocalPKI  # pylint: disable=import-outside-toplevel

    # A bundle given by a relative path is read from the working directory too (an offline controller).
    LocalPKI(str(tmp_path / "pki")).write_bundle(work / "bundles" / "rds.pem", regions=["us-east-1", "eu-west-1"],
                                                 ca_identifiers=[TARGET])
    variables = {"rdsca_report_dir": "rdsca-reports", "rdsca_require_verified_staging": False,
                 "rdsca_ca_bundle": "bundles/rds.pem"}
    r = light.run("rotate.yml", cwd=str(work), rdsca_phase="staging", **variables)
    assert r.rc == 0, explain(r)
    (rotated,) = reports(str(work / "rdsca-reports"), "rotate")
    assert rows(load_report(rotated))["us-east-1/app-staging"]["status"] == "rotated"
    r = light.run("rollback.yml", cwd=str(work), rdsca_rollback_report="rdsca-reports/" + os.path.basename(rotated),
                  **variables)
    # The report was read: its database is refused for the right reason (its previous CA, rds-ca-2019, expired).
    assert r.rc != 0, explain(r)
    report = load_report(reports(str(work / "rdsca-reports"), "rollback")[-1])
    assert report["outcome"] == "completed_with_failures", report.get("stop")
    (row,) = report["databases"]
    assert row["label"] == "us-east-1/app-staging" and row["status"] == "not_possible", row
    assert "rds-ca-2019 expired" in row["reason"]


def test_rollback_databases_are_parsed_like_rds_ca_rotate_databases(light):
    """rdsca_rollback_databases takes what rds_ca_rotate's databases option takes (labels, ARNs, mappings), parsed
    by the same code; an entry that is not a database stops the rollback before anything is read or changed."""
    r = light.run("rollback.yml", rdsca_rollback_databases=["us-east-1/app-staging", "us-east-1/Not An Id!"],
                  rdsca_rollback_to_ca=RSA4096)
    assert r.rc != 0, explain(r)
    assert "rdsca_rollback_databases: 'not an id!' is not an RDS identifier" in r.stdout, explain(r)
    assert light.modifications() == {}
    r = light.run("rollback.yml", rdsca_rollback_to_ca=RSA4096, rdsca_rollback_databases=[
        "us-east-1/app-staging", "arn:aws:rds:us-east-1:123456789012:db:billing-prod",
        {"identifier": "web-prod", "region": "eu-west-1", "to_ca": TARGET}])
    assert r.rc == 0, explain(r)
    after = cas(light.simulator)
    assert [after[label][0] for label in ("us-east-1/app-staging", "us-east-1/billing-prod", "eu-west-1/web-prod")] == \
        [RSA4096, RSA4096, TARGET], after
    assert after["us-east-1/app-prod"][0] == OLD
    report = load_report(reports(light.report_dir, "rollback")[-1])
    assert {row["label"]: row["status"] for row in report["databases"]} == {
        "us-east-1/app-staging": "restored", "us-east-1/billing-prod": "restored", "eu-west-1/web-prod": "restored"}


def test_ssl_usage_prints_a_line_per_chunk_and_merges_the_chunks(light):
    """Issue 19: rds_ssl_usage over every endpoint was one silent task; now a task per chunk, named by it, and the
    report has every database's evidence, as one call gives it."""
    r = light.run("audit.yml", rdsca_ssl_usage=True, rdsca_ssl_usage_chunk_size=2)
    assert r.rc == 0, explain(r)
    headers = re.findall(r"^TASK \[Look at how each database uses TLS - (chunk \d of \d): [^\]]*\]", r.stdout, re.M)
    assert headers == ["chunk 1 of 3", "chunk 2 of 3", "chunk 3 of 3"], explain(r)
    # each chunk's line comes when it finishes, before the next chunk starts
    for number in (1, 2):
        start = r.stdout.index("uses TLS - chunk %d of 3" % number)
        between = r.stdout[start:r.stdout.index("uses TLS - chunk %d of 3" % (number + 1))]
        assert re.search(r"^ok: \[localhost\]", between, re.M), between
    report = load_report(reports(light.report_dir, "audit")[-1])
    assert len(report["databases"]) == 5, [row["label"] for row in report["databases"]]
    assert all(row.get("ssl") for row in report["databases"]), report["databases"]


def test_ssl_usage_inspects_only_the_databases_the_controller_reaches(light):
    """Issue 19: every endpoint was probed, those the controller cannot reach too (the demo's databases without a
    server: 'could not be fully inspected'); rdsca_ssl_usage_databases names those it inspects, the others are
    listed without TLS evidence ('not checked')."""
    r = light.run("audit.yml", rdsca_ssl_usage=True, rdsca_ssl_usage_databases="app-*, eu-west-1/web-prod")
    assert r.rc == 0, explain(r)
    assert "billing-prod (us-east-1)" not in r.stdout, explain(r)
    report = load_report(reports(light.report_dir, "audit")[-1])
    checked = {row["label"] for row in report["databases"] if row["ssl"]["in_use"] != "not checked"}
    assert checked == {"us-east-1/app-staging", "us-east-1/app-prod", "eu-west-1/app-prod-eu", "eu-west-1/web-prod"}, checked
    assert len(report["databases"]) == 5
