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

import json
import os
import re
import subprocess
import sys
from typing import Any

import pytest

from tests.integration.conftest import REPO
from tests.simulator.demo import CLIENT_HOST, demo_extra_vars, demo_inventory
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
