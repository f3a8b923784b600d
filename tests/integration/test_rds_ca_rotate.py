"""rdsca.rotation.rds_ca_rotate against the simulator, through real ansible-playbook runs.

Fleets: tests/fleets/rotate.yml (every shape of database, reloaded by each test),
rotate_concurrency.yml (twenty databases) and rotate_linked.yml (databases backed by
real PostgreSQL and MariaDB servers with TLS, loaded once for the TLS tests).

The proof that the module does what it says is test_rotation_seen_by_real_clients: after
the rotation, a client that trusts only the old CA fails verify-full on every rotated
database while a client trusting the new bundle keeps working.
"""

from __future__ import annotations

import os
import socket
import ssl
import threading
import time
from typing import Any

import pytest

from conftest import REPO
from tests.simulator.linked import tools_available

FLEET = os.path.join(REPO, "tests", "fleets", "rotate.yml")
CONCURRENCY_FLEET = os.path.join(REPO, "tests", "fleets", "rotate_concurrency.yml")
LINKED_FLEET = os.path.join(REPO, "tests", "fleets", "rotate_linked.yml")
REGION = "us-east-1"
OLD = "rds-ca-2019"
TARGET = "rds-ca-rsa2048-g1"
RSA4096 = "rds-ca-rsa4096-g1"
POLL = 0.2
MODIFY_OPERATIONS = ("ModifyDBInstance", "ModifyDBCluster", "ApplyPendingMaintenanceAction", "ModifyCertificates")


def plays(*tasks: dict[str, Any]) -> list[dict[str, Any]]:
    """One play on localhost whose tasks each register a variable (saved for the test) and never stop the play."""
    saved = []
    body = []
    for index, task in enumerate(tasks):
        task = dict(task)
        name = task.pop("register", "r%d" % index)
        saved.append(name)
        body.append({"name": name, "register": name, "ignore_errors": True, **task})
    return [{
        "hosts": "localhost",
        "gather_facts": False,
        "module_defaults": {"group/rdsca.rotation.rds_ca": {"endpoint_url": "{{ sim_endpoint_url }}", "region": REGION}},
        "tasks": body,
        "save": saved,
    }]


def rotate(**args: Any) -> dict[str, Any]:
    args.setdefault("poll_interval", POLL)
    return {"rdsca.rotation.rds_ca_rotate": args}


def run(simulator, *tasks, check=False, diff=False):
    result = simulator.run_playbook(plays(*tasks), check=check, diff=diff)
    assert "Traceback" not in result.stdout + result.stderr, result.stdout[-4000:]
    assert result.results, result.stdout[-4000:] + result.stderr[-2000:]
    return result


def by_label(registered: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict((d["identifier"], d) for d in registered["databases"])


def instance(simulator, ident: str, region: str = REGION) -> dict[str, Any]:
    return simulator.client(region=region).describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"][0]


def restarted(simulator) -> set[str]:
    """The instances that restarted (RDS events) - polls may be too slow to see a short `rebooting`."""
    events = simulator.client().describe_events(SourceType="db-instance", Duration=60)["Events"]
    return set(e["SourceIdentifier"] for e in events if e.get("Message") == "DB instance restarted")


def changes_sent(simulator) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ops in simulator.calls()["by_region"].values():
        for op, n in ops.items():
            name = op.split(":", 1)[1]
            if name in MODIFY_OPERATIONS:
                counts[name] = counts.get(name, 0) + n
    return counts


@pytest.fixture
def fleet(simulator):
    simulator.load(FLEET)
    return simulator


# -- check mode, diff, idempotence -------------------------------------------------------------------

def test_check_mode_changes_nothing_and_reports_the_plan(fleet):
    result = run(fleet, rotate(databases=["app-hot", "app-restart", "app-done", "app-stopped", "ledger-maz"],
                               on_restart_required="schedule"), check=True, diff=True)
    r = result.task("r0")
    assert not r.get("failed"), r.get("msg")
    assert r["changed"] is True
    dbs = by_label(r)
    assert [(dbs[i]["action"], dbs[i]["status"], dbs[i]["would_restart"]) for i in
            ("app-hot", "app-restart", "app-done", "app-stopped", "ledger-maz")] == [
        ("rotate", "rotated", False), ("schedule", "scheduled", True), ("none", "unchanged", False),
        ("skip", "skipped", False), ("rotate", "rotated", False)]
    assert dbs["ledger-maz"]["kind"] == "cluster"
    assert changes_sent(fleet) == {}
    assert instance(fleet, "app-hot")["CACertificateIdentifier"] == OLD
    assert "PendingModifiedValues" not in instance(fleet, "app-restart") or not instance(
        fleet, "app-restart")["PendingModifiedValues"].get("CACertificateIdentifier")
    assert r["diff"]["before"]["us-east-1/app-hot"] == {"ca": OLD, "pending_ca": None}
    assert r["diff"]["after"]["us-east-1/app-hot"] == {"ca": TARGET, "pending_ca": None}
    assert r["diff"]["after"]["us-east-1/app-restart"] == {"ca": OLD, "pending_ca": TARGET}
    assert "us-east-1/app-done" not in r["diff"]["before"]
    # --diff prints it
    assert '"ca": "rds-ca-rsa2048-g1"' in result.stdout and "us-east-1/app-hot" in result.stdout


def test_rotation_is_idempotent(fleet):
    databases = ["app-hot", "app-done", "inventory-aurora", "ledger-maz", "eu-west-1/web-eu"]
    result = run(fleet, rotate(databases=databases), rotate(databases=databases))
    first, second = result.task("r0"), result.task("r1")
    assert not first.get("failed") and first["changed"] is True
    assert first["summary"] == {"rotated": 6, "scheduled": 0, "unchanged": 1, "skipped": 0, "blocked": 0,
                                "unverified": 0, "rolled_back": 0, "failed": 0, "total": 7}
    assert not second.get("failed") and second["changed"] is False
    assert second["summary"]["unchanged"] == 7
    assert all(d["reason"] == "already on %s" % TARGET for d in second["databases"])
    assert second["waiting"]["polls"] == 0
    assert "ModifyDBInstance" not in second["api_calls"][REGION]
    assert instance(fleet, "web-eu", "eu-west-1")["CACertificateIdentifier"] == TARGET


# -- restart policy, pending vs immediate, maintenance opt-in -------------------------------------------

def test_restart_policy_skip_schedule_or_restart(fleet):
    result = run(
        fleet,
        rotate(databases=["app-hot", "app-restart"]),
        rotate(databases=["app-restart"], on_restart_required="schedule"),
        rotate(databases=["app-restart"], on_restart_required="schedule"),
        rotate(databases=["app-restart"], allow_restart=True),
    )
    default, scheduled, again, with_restart = (result.task("r%d" % i) for i in range(4))
    dbs = by_label(default)
    assert dbs["app-hot"]["status"] == "rotated" and dbs["app-hot"]["would_restart"] is False
    assert dbs["app-hot"]["statuses_seen"][-1] == "available"
    assert dbs["app-restart"]["status"] == "skipped" and dbs["app-restart"]["would_restart"] is True
    assert "postgres 14.10 cannot rotate its certificate without a restart and allow_restart is false" in (
        dbs["app-restart"]["reason"])
    (item,) = scheduled["databases"]
    assert (item["status"], item["pending_ca"], item["current_ca"]) == ("scheduled", TARGET, OLD)
    assert again["changed"] is False and again["databases"][0]["status"] == "unchanged"
    (item,) = with_restart["databases"]
    assert item["status"] == "rotated" and item["statuses_seen"][-1] == "available"
    assert restarted(fleet) == {"app-restart"}  # and app-hot was not
    assert (item["previous_ca"], item["current_ca"], item["pending_ca"]) == (OLD, TARGET, None)


def test_maintenance_window_shows_pending_then_applies(fleet):
    result = run(fleet, rotate(databases=["app-hot", "app-restart", "app-pending"], apply="maintenance_window"),
                 rotate(databases=["app-hot", "app-restart", "app-pending"], apply="maintenance_window"))
    first, second = result.task("r0"), result.task("r1")
    dbs = by_label(first)
    statuses = [dbs[i]["status"] for i in ("app-hot", "app-restart", "app-pending")]
    assert statuses == ["scheduled", "scheduled", "unchanged"]
    assert dbs["app-restart"]["would_restart"] is True
    for ident in ("app-hot", "app-restart"):
        raw = instance(fleet, ident)
        assert raw["DBInstanceStatus"] == "available" and raw["CACertificateIdentifier"] == OLD
        assert raw["PendingModifiedValues"]["CACertificateIdentifier"] == TARGET
    assert second["changed"] is False and second["summary"]["unchanged"] == 3
    # The maintenance window applies them (app-restart with a restart).
    fleet.control("POST", "/_sim/maintenance", {"region": REGION, "identifiers": ["app-hot", "app-restart"]})
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        raws = [instance(fleet, i) for i in ("app-hot", "app-restart")]
        if all(x["DBInstanceStatus"] == "available" and x["CACertificateIdentifier"] == TARGET for x in raws):
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the maintenance window did not apply the pending changes: %s" % raws)
    after = run(fleet, rotate(databases=["app-hot", "app-restart"])).task("r0")
    assert after["changed"] is False and after["summary"]["unchanged"] == 2


def test_pending_maintenance_action_opt_in(fleet):
    rds = fleet.client()
    result = run(
        fleet,
        rotate(databases=["app-hot", "app-restart", "app-done"], apply="pending_action",
               opt_in_type="next-maintenance"),
        rotate(databases=["app-hot", "app-restart"], apply="pending_action"),
        rotate(databases=["app-hot", "app-restart"], apply="pending_action", opt_in_type="immediate"),
    )
    opted, again, immediate = result.task("r0"), result.task("r1"), result.task("r2")
    dbs = by_label(opted)
    statuses = [dbs[i]["status"] for i in ("app-hot", "app-restart", "app-done")]
    assert statuses == ["scheduled", "scheduled", "unchanged"]
    # (app-hot was then rotated by the third task; app-restart stays opted in)
    actions = rds.describe_pending_maintenance_actions(
        Filters=[{"Name": "db-instance-id", "Values": ["app-hot", "app-restart"]}])["PendingMaintenanceActions"]
    assert [(a["ResourceIdentifier"].rsplit(":", 1)[1], a["PendingMaintenanceActionDetails"][0]["OptInStatus"])
            for a in actions] == [("app-restart", "next-maintenance")]
    assert again["changed"] is False and again["summary"]["unchanged"] == 2
    dbs = by_label(immediate)
    assert dbs["app-hot"]["status"] == "rotated" and dbs["app-hot"]["current_ca"] == TARGET
    assert dbs["app-restart"]["status"] == "skipped" and "allow_restart is false" in dbs["app-restart"]["reason"]
    assert instance(fleet, "app-hot")["CACertificateIdentifier"] == TARGET


# -- fail before any change ---------------------------------------------------------------------------

def test_invalid_input_is_rejected_before_any_change(fleet):
    result = run(
        fleet,
        rotate(databases=["app-hot"], target_ca="rds-ca-bogus"),
        rotate(databases=["app-hot", "app-legacy"], target_ca=RSA4096),
        rotate(databases=["app-hot", "no-such-db", {"identifier": "inventory-aurora", "type": "instance"}]),
        rotate(databases=["app-hot", "app-restart"], certificate_rotation_restart=False),
        rotate(databases=["app-restart"], certificate_rotation_restart=False,
               ssl_usage={"databases": [{"identifier": "app-restart", "ssl_in_use": "yes"}]}),
        rotate(databases=["app-hot"], target_ca=OLD),
        rotate(databases=["app-hot"], concurrency=0, wait_timeout=-1, rollback_on_failure=True),
    )
    bogus, unsupported, missing, no_evidence, ssl_used, expired, bad_options = (
        result.task("r%d" % i) for i in range(7))
    for registered in (bogus, unsupported, missing, no_evidence, ssl_used, expired, bad_options):
        assert registered["failed"] is True
        assert "nothing was changed" in registered["msg"].lower()
    assert "target_ca rds-ca-bogus is not a CA of us-east-1" in bogus["msg"]
    assert "us-east-1/app-legacy: postgres 11.99 does not support rds-ca-rsa4096-g1" in unsupported["msg"]
    assert "app-hot" not in unsupported["msg"]
    assert "us-east-1/no-such-db: no DB instance or DB cluster" in missing["msg"]
    assert "inventory-aurora is a DB cluster identifier, but the entry says type: instance" in missing["msg"]
    assert "only if you are not using SSL/TLS" in no_evidence["msg"]
    assert "shows SSL/TLS in use" in ssl_used["msg"]
    assert "rds-ca-2019 expired" in expired["msg"]
    assert "concurrency must be 1 or more" in bad_options["msg"]
    assert "wait_timeout must be more than 0" in bad_options["msg"]
    assert "rollback_on_failure needs verify_endpoint" in bad_options["msg"]
    assert changes_sent(fleet) == {}
    assert instance(fleet, "app-hot")["CACertificateIdentifier"] == OLD


# -- order, clusters, statuses ------------------------------------------------------------------------

def test_aurora_readers_before_writer_and_replica_before_source(fleet):
    r = run(fleet, rotate(databases=["inventory-aurora", "orders-primary", "orders-replica"],
                          concurrency=5)).task("r0")
    assert not r.get("failed"), r.get("msg")
    dbs = by_label(r)
    order = [d["identifier"] for d in r["databases"]]
    assert order == ["inventory-aurora-2", "inventory-aurora-3", "inventory-aurora-1", "orders-primary", "orders-replica"]
    assert dbs["inventory-aurora-1"]["cluster_role"] == "writer"
    readers_done = max(dbs["inventory-aurora-2"]["finished_at"], dbs["inventory-aurora-3"]["finished_at"])
    assert dbs["inventory-aurora-1"]["started_at"] >= readers_done
    assert dbs["orders-primary"]["started_at"] >= dbs["orders-replica"]["finished_at"]
    # the readers and the replica went together
    assert dbs["inventory-aurora-3"]["started_at"] < dbs["inventory-aurora-2"]["finished_at"]
    assert all(d["status"] == "rotated" for d in r["databases"])
    events = fleet.client().describe_events(SourceType="db-instance", Duration=60)["Events"]
    rotated = [e["SourceIdentifier"] for e in events if "CA certificate rotated" in e.get("Message", "")]
    assert rotated.index("inventory-aurora-1") > max(rotated.index("inventory-aurora-2"),
                                                     rotated.index("inventory-aurora-3"))


def test_multi_az_db_cluster_rotated_with_modify_db_cluster(fleet):
    r = run(fleet, rotate(databases=["ledger-maz-instance-2"])).task("r0")
    assert not r.get("failed"), r.get("msg")
    (item,) = r["databases"]
    assert (item["kind"], item["identifier"], item["status"]) == ("cluster", "ledger-maz", "rotated")
    assert item["members"] == ["ledger-maz-instance-1", "ledger-maz-instance-2", "ledger-maz-instance-3"]
    assert "member of the Multi-AZ DB cluster ledger-maz" in r["notes"][0]
    assert changes_sent(fleet) == {"ModifyDBCluster": 1}
    cluster = fleet.client().describe_db_clusters(DBClusterIdentifier="ledger-maz")["DBClusters"][0]
    assert cluster["CertificateDetails"]["CAIdentifier"] == TARGET
    assert all(instance(fleet, m)["CACertificateIdentifier"] == TARGET for m in item["members"])


def test_statuses_other_than_available_never_traceback(fleet):
    # app-backup finishes its backup while the module waits for it (once the module has started changing
    # app-hot, so after it read app-backup's status); app-upgrading never finishes.
    stop = threading.Event()
    flipper = threading.Thread(target=_available_once_rotating, args=(fleet, "app-backup", stop), daemon=True)
    flipper.start()
    try:
        result = run(fleet, rotate(databases=["app-stopped", "app-full", "app-backup", "app-upgrading", "app-hot"],
                                   wait_timeout=4))
    finally:
        stop.set()
        flipper.join(timeout=10)
    r = result.task("r0")
    assert r["failed"] is True
    dbs = by_label(r)
    assert dbs["app-stopped"]["status"] == "skipped" and "stopped" in dbs["app-stopped"]["reason"]
    assert dbs["app-full"]["status"] == "failed" and "storage-full" in dbs["app-full"]["reason"]
    assert dbs["app-backup"]["status"] == "rotated"
    seen = dbs["app-backup"]["statuses_seen"]
    assert seen[0] == "backing-up" and seen[-1] == "available", seen
    assert dbs["app-upgrading"]["status"] == "failed"
    assert "timed out after 4s waiting to become available (app-upgrading upgrading" in (
        dbs["app-upgrading"]["reason"])
    assert dbs["app-hot"]["status"] == "rotated"
    assert sorted(f["label"] for f in r["failures"]) == ["us-east-1/app-full", "us-east-1/app-upgrading"]
    assert "us-east-1/app-full failed" in r["msg"] and "us-east-1/app-upgrading failed" in r["msg"]
    nowait = run(fleet, rotate(databases=["app-upgrading"], wait=False)).task("r0")
    assert nowait["databases"][0]["status"] == "skipped" and "wait is false" in nowait["databases"][0]["reason"]


def _available_once_rotating(simulator, ident: str, stop: threading.Event) -> None:
    """Make `ident` available (behind the API's back: the simulator runs in this process) 0.5 s after the
    first ModifyDBInstance, i.e. while the module is already waiting for it."""
    from moto.rds.models import rds_backends  # pylint: disable=import-outside-toplevel

    while not stop.wait(0.1):
        if simulator.calls()["by_region"].get(REGION, {}).get("rds:ModifyDBInstance"):
            if not stop.wait(0.5):
                rds_backends[simulator.sim.fleet.account_id][REGION].databases[ident].status = "available"
            return


def test_no_restart_rotation_with_ssl_evidence(fleet):
    r = run(fleet, rotate(databases=["app-restart"], certificate_rotation_restart=False,
                          # the shape rds_ssl_usage registers
                          ssl_usage={"databases": [{"identifier": "app-restart", "region": REGION,
                                                    "ssl_in_use": "no", "safe_without_restart": True,
                                                    "ssl_in_use_reason": "no SSL/TLS session in 30s"}]})).task("r0")
    assert not r.get("failed"), r.get("msg")
    (item,) = r["databases"]
    assert item["status"] == "rotated" and item["would_restart"] is False
    assert restarted(fleet) == set()
    assert any("after its next restart" in n for n in item["notes"])


def test_account_default_for_new_launches(fleet):
    rds = fleet.client()
    assert rds.describe_certificates()["DefaultCertificateForNewLaunches"] == OLD
    result = run(fleet, rotate(databases=["app-done"]), rotate(databases=["app-done"], account_default=True),
                 rotate(databases=["app-done"], account_default=True))
    report, setting, again = (result.task("r%d" % i)["regions"][REGION] for i in range(3))
    assert (report["drift"], report["changed"], report["default_ca_for_new_launches"]) == (True, False, OLD)
    assert (setting["drift"], setting["changed"], setting["previous_default_ca"]) == (False, True, OLD)
    assert (again["drift"], again["changed"]) == (False, False)
    assert result.task("r2")["changed"] is False
    assert rds.describe_certificates()["DefaultCertificateForNewLaunches"] == TARGET


# -- concurrency and API use -------------------------------------------------------------------------

def test_twenty_databases_at_most_five_at_a_time(simulator):
    simulator.load(CONCURRENCY_FLEET)
    databases = ["fleet-hot-%d" % n for n in range(1, 13)] + ["fleet-restart-%d" % n for n in range(1, 9)]
    result = run(simulator, rotate(databases=databases, concurrency=5, allow_restart=True),
                 rotate(databases=databases, concurrency=5, allow_restart=True))
    r, again = result.task("r0"), result.task("r1")
    assert not r.get("failed"), r.get("msg")
    assert r["summary"]["rotated"] == 20
    # Never more than five in a transition at once (the simulator's count), five in flight (the module's).
    stats = simulator.control("GET", "/_sim/stats")
    assert 1 <= stats["max_in_transition"] <= 5, stats
    assert r["waiting"]["max_in_flight"] == 5
    # Waiting costs one DescribeDBInstances per poll for the region, whatever the number in flight.
    calls = r["api_calls"][REGION]
    assert calls["DescribeDBInstances"] == 1 + r["waiting"]["polls"]
    assert r["waiting"]["describe_calls"] == {REGION: r["waiting"]["polls"]}
    assert calls["ModifyDBInstance"] == 20 and calls["DescribeDBEngineVersions"] == 1
    assert r["waiting"]["polls"] < 40
    assert restarted(simulator) == set(databases[12:])
    # The second run changes nothing and waits for nothing.
    assert again["changed"] is False and again["summary"]["unchanged"] == 20
    assert again["waiting"]["polls"] == 0


def test_throttling_while_waiting_still_converges(fleet):
    fleet.faults([{"operation": "DescribeDBInstances", "error": "Throttling", "rate": 0.5, "count": 6},
                  {"operation": "ModifyDBInstance", "error": "RequestLimitExceeded", "rate": 0.3, "count": 2}],
                 seed=7)
    databases = ["app-hot", "orders-primary", "orders-replica", "inventory-aurora"]
    r = run(fleet, rotate(databases=databases, concurrency=2)).task("r0")
    fleet.clear_faults()
    assert not r.get("failed"), r.get("msg")
    assert r["summary"]["rotated"] == 6
    errors = fleet.calls()["errors"]
    assert errors.get("rds:us-east-1:DescribeDBInstances", 0) > 0
    # retried requests are counted by the module too
    assert r["api_calls"][REGION]["DescribeDBInstances"] > 1 + r["waiting"]["polls"] - len(r["waiting"]["poll_errors"])


# -- real TLS servers: what clients see ------------------------------------------------------------------

@pytest.fixture(scope="module")
def linked(simulator, tmp_path_factory):
    for engine in ("postgres", "mariadb"):
        ok, why = tools_available(engine)
        if not ok:
            pytest.skip("linked %s servers unavailable: %s" % (engine, why))
    simulator.load(LINKED_FLEET)
    pki = simulator.sim.linker.pki
    tmp = tmp_path_factory.mktemp("bundles")
    bundles = {
        # what clients trusting only the old CA have
        "old": str(pki.write_bundle(tmp / "old-only.pem", regions=[REGION], ca_identifiers=[OLD])),
        # the new bundle (every CA of the region, like AWS's regional bundle)
        "new": str(pki.write_bundle(tmp / "new-bundle.pem", regions=[REGION])),
        "rsa4096": str(pki.write_bundle(tmp / "rsa4096-only.pem", regions=[REGION], ca_identifiers=[RSA4096])),
    }
    return simulator, bundles


def _servers(simulator) -> dict[str, dict[str, Any]]:
    return dict((v["id"], v) for v in simulator.control("GET", "/_sim/linked").values())


def _connect(server: dict[str, Any], cafile: str) -> None:
    """A real client login with verify-full (chain and host name), then SELECT 1."""
    if server["engine"] == "postgres":
        import psycopg2  # pylint: disable=import-outside-toplevel

        conn = psycopg2.connect(host=server["address"], hostaddr=server["host"], port=server["port"],
                                user=server["admin_user"], password=server["admin_password"], dbname="postgres",
                                sslmode="verify-full", sslrootcert=cafile, connect_timeout=10)
    else:
        import pymysql  # pylint: disable=import-outside-toplevel

        context = ssl.create_default_context(cafile=cafile)
        conn = pymysql.connect(host=server["address"], port=server["port"], user=server["admin_user"],
                               password=server["admin_password"], ssl=context, defer_connect=True, connect_timeout=10)
        conn.connect(socket.create_connection((server["host"], server["port"]), timeout=10))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            assert cur.fetchone()[0] == 1
    finally:
        conn.close()


def _fails(server: dict[str, Any], cafile: str) -> str:
    try:
        _connect(server, cafile)
    except Exception as exc:  # pylint: disable=broad-except
        return str(exc)
    raise AssertionError("%s accepted a client that trusts only %s" % (server["id"], cafile))


def test_rotation_seen_by_real_clients(linked):
    simulator, bundles = linked
    names = ["pg-hot", "pg-restart", "maria-hot", "maria-restart"]
    servers = _servers(simulator)
    previous = dict((name, servers[name]["presented_ca"]) for name in names)
    assert previous == {"pg-hot": RSA4096, "pg-restart": RSA4096, "maria-hot": OLD, "maria-restart": RSA4096}
    old_trust = {RSA4096: bundles["rsa4096"], OLD: bundles["old"]}
    for name in names:
        if previous[name] == OLD:  # expired: nobody can verify it any more, the reason to rotate
            assert "certificate verify failed" in _fails(servers[name], bundles["old"]).lower()
        else:  # before: a client trusting only the old CA works
            _connect(servers[name], old_trust[previous[name]])
    r = run(simulator, rotate(databases=names, allow_restart=True, verify_endpoint=True,
                              ca_cert=bundles["new"], connect_host="127.0.0.1", verify_grace_period=60)
            ).task("r0")
    assert not r.get("failed"), r.get("msg")
    dbs = by_label(r)
    for name in names:
        item = dbs[name]
        assert item["status"] == "rotated", item
        assert (item["previous_ca"], item["current_ca"]) == (previous[name], TARGET)
        assert item["verification"]["verified"] is True
        (probe,) = item["verification"]["probes"]
        assert (probe["ca_id"], probe["verified"], probe["hostname_matches"]) == (TARGET, True, True)
        assert probe["server_name"] == servers[name]["address"] and probe["connect_host"] == "127.0.0.1"
    assert restarted(simulator) == {"pg-restart", "maria-restart"}
    simulator.control("POST", "/_sim/linked/wait", {})
    servers = _servers(simulator)
    for name in names:
        assert servers[name]["presented_ca"] == TARGET
        # after: the client that trusts only the old CA fails verify-full, the new bundle works
        assert "certificate verify failed" in _fails(servers[name], old_trust[previous[name]]).lower()
        _connect(servers[name], bundles["new"])


def _impostor_bundle(bundles: dict[str, str], path: str) -> str:
    """The rsa4096-only bundle plus a root that has the target CA's subject but another key (a stale or
    foreign bundle): it names the target CA, yet the chain the server presents cannot verify against it."""
    import datetime  # pylint: disable=import-outside-toplevel

    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import hashes, serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import rsa  # pylint: disable=import-outside-toplevel

    with open(bundles["new"], "rb") as handle:
        real = [c for c in x509.load_pem_x509_certificates(handle.read()) if "RSA2048 G1" in c.subject.rfc4514_string()]
    subject = real[0].subject
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    with open(bundles["rsa4096"], "rb") as handle:
        data = handle.read()
    with open(path, "wb") as handle:
        handle.write(data + cert.public_bytes(serialization.Encoding.PEM))
    return path


def test_rollback_after_a_failed_verification(linked, tmp_path):
    simulator, bundles = linked
    server = _servers(simulator)["pg-rollback"]
    _connect(server, bundles["rsa4096"])
    # A bundle without the target CA's root could never verify the new certificate: refused before any change.
    refused = run(simulator, rotate(databases=["pg-rollback"], verify_endpoint=True, ca_cert=bundles["rsa4096"],
                                    connect_host="127.0.0.1", rollback_on_failure=True)).task("r0")
    assert refused["failed"] is True and "lacks the target CA certificate(s)" in refused["msg"], refused["msg"]
    assert instance(simulator, "pg-rollback")["CACertificateIdentifier"] == RSA4096
    # Clients of this database trust its current CA and an impostor of the target: verifying the new chain fails.
    impostor = _impostor_bundle(bundles, str(tmp_path / "impostor.pem"))
    # Keys, not names: without allow_unpinned_rds_cas (the tests' environment sets it for the simulator's PKI)
    # a root with an RDS name and a key AWS never published is refused before any change.
    pinned_only = run(simulator, rotate(databases=["pg-rollback"], verify_endpoint=True, ca_cert=impostor,
                                        connect_host="127.0.0.1", allow_unpinned_rds_cas=False)).task("r0")
    assert pinned_only["failed"] is True, pinned_only
    assert pinned_only["msg"].startswith("Invalid options, nothing was changed: ca_cert %s" % impostor)
    assert "is not one of AWS's pinned RDS CA certificates" in pinned_only["msg"], pinned_only["msg"]
    assert instance(simulator, "pg-rollback")["CACertificateIdentifier"] == RSA4096
    r = run(simulator, rotate(databases=["pg-rollback"], verify_endpoint=True, ca_cert=impostor,
                              connect_host="127.0.0.1", rollback_on_failure=True)).task("r0")
    assert r["failed"] is True
    (item,) = r["databases"]
    assert item["status"] == "rolled_back"
    assert (item["previous_ca"], item["current_ca"]) == (RSA4096, RSA4096)
    assert item["rollback"] == {"attempted": True, "to_ca": RSA4096, "completed": True}
    assert item["verification"]["verified"] is False
    assert item["verification"]["probes"][0]["ca_id"] == TARGET
    assert r["failures"] == [{"label": "us-east-1/pg-rollback", "status": "rolled_back", "reason": item["reason"]}]
    assert "rolled back to rds-ca-rsa4096-g1" in r["msg"]
    assert instance(simulator, "pg-rollback")["CACertificateIdentifier"] == RSA4096
    simulator.control("POST", "/_sim/linked/wait", {})
    server = _servers(simulator)["pg-rollback"]
    assert server["presented_ca"] == RSA4096
    _connect(server, bundles["rsa4096"])  # its clients work again


# -- issue 13 item 1: a member that is not confirmed on the target blocks what comes after it -------------

BLOCKING_FLEET = {
    "description": "an Aurora reader in incompatible-parameters, a replica out of storage",
    "timing": {"modify_seconds": 0.3, "reboot_seconds": 0.3},
    "regions": {REGION: {
        "default_ca": TARGET,
        "instances": [
            {"id": "shop-primary", "engine": "postgres", "engine_version": "16.3", "ca": OLD},
            {"id": "shop-replica", "engine": "postgres", "engine_version": "16.3", "ca": OLD,
             "replica_of": "shop-primary", "status": "storage-full"},
        ],
        "clusters": [{"id": "stock", "engine": "aurora-postgresql", "engine_version": "15.4", "members": [
            {"id": "stock-1", "writer": True, "ca": OLD},
            {"id": "stock-2", "ca": OLD, "status": "incompatible-parameters"},
            {"id": "stock-3", "ca": OLD}]}],
    }},
}


def test_a_member_that_cannot_be_rotated_blocks_its_writer_or_source(simulator):
    from moto.rds.models import rds_backends  # pylint: disable=import-outside-toplevel

    simulator.load(BLOCKING_FLEET)
    databases = ["stock", "shop-primary", "shop-replica"]
    result = run(simulator, rotate(databases=databases))
    r = result.task("r0")
    dbs = by_label(r)
    assert dbs["stock-2"]["status"] == "failed" and "incompatible-parameters" in dbs["stock-2"]["reason"]
    assert dbs["stock-3"]["status"] == "rotated"
    assert dbs["shop-replica"]["status"] == "failed" and "storage-full" in dbs["shop-replica"]["reason"]
    for ident, member in (("stock-1", "stock-2"), ("shop-primary", "shop-replica")):
        assert dbs[ident]["status"] == "blocked" and dbs[ident]["changed"] is False, dbs[ident]
        assert dbs[ident]["blocked_by"] == ["%s/%s" % (REGION, member)]
        assert "blocked by %s/%s (failed: " % (REGION, member) in dbs[ident]["reason"]
        assert instance(simulator, ident)["CACertificateIdentifier"] == OLD  # never touched
    assert r["failed"] is True and r["summary"]["blocked"] == 2
    assert "us-east-1/stock-1 blocked" in r["msg"] and "us-east-1/shop-primary blocked" in r["msg"]
    assert changes_sent(simulator) == {"ModifyDBInstance": 1}  # stock-3 only
    # check mode predicts the same
    preview = by_label(run(simulator, rotate(databases=databases), check=True).task("r0"))
    assert preview["stock-1"]["status"] == preview["shop-primary"]["status"] == "blocked"
    # the members fixed, the same task again proceeds: members first, then the writer and the source
    backend = rds_backends[simulator.sim.fleet.account_id][REGION]
    for ident in ("stock-2", "shop-replica"):
        backend.databases[ident].status = "available"
    again = run(simulator, rotate(databases=databases)).task("r0")
    assert not again.get("failed"), again.get("msg")
    dbs = by_label(again)
    assert [dbs[i]["status"] for i in ("stock-1", "stock-2", "stock-3", "shop-primary", "shop-replica")] == [
        "rotated", "rotated", "unchanged", "rotated", "rotated"]
    assert dbs["stock-1"]["started_at"] >= dbs["stock-2"]["finished_at"]
    assert dbs["shop-primary"]["started_at"] >= dbs["shop-replica"]["finished_at"]


# -- issue 13 item 5: verify_ca_bundle is checked before the first change ----------------------------------

SHARED_DATA = os.path.join(os.path.dirname(REPO), "shared", "data", "rds-ca")


def test_a_mistyped_verify_ca_bundle_fails_before_any_change(fleet, tmp_path):
    garbage = tmp_path / "notes.txt"
    garbage.write_text("db_password=hunter2-do-not-print\n")
    empty = tmp_path / "empty.pem"
    empty.write_text("")
    cases = {
        "missing": (str(tmp_path / "global-bundle.pme"), "does not exist"),
        "directory": (str(tmp_path), "is not a file"),
        "not_a_bundle": (str(garbage), "no '-----BEGIN CERTIFICATE-----' line"),
        "empty": (str(empty), "is empty"),
    }
    regional = os.path.join(SHARED_DATA, "us-east-1-bundle.pem")
    if os.path.exists(regional):
        # a real AWS bundle, but of another region than the databases': it cannot verify them
        cases["other_region"] = (regional, "lacks the target CA certificate(s) for the regions in use: "
                                           "Amazon RDS eu-west-1 Root CA RSA2048 G1")
    tasks = [dict(rotate(databases=["app-hot", "eu-west-1/web-eu"], verify_endpoint=True, ca_cert=path),
                  register=name) for name, (path, _words) in cases.items()]
    result = run(fleet, *tasks)
    for name, (path, words) in cases.items():
        r = result.task(name)
        assert r["failed"] is True, name
        assert r["msg"].startswith("Invalid options, nothing was changed: ca_cert %s" % path), (name, r["msg"])
        assert words in r["msg"], (name, r["msg"])
    assert "hunter2" not in result.stdout + result.stderr + str(result.results)
    assert changes_sent(fleet) == {}
    assert fleet.calls()["total"] == 0  # refused before any AWS call at all
    assert instance(fleet, "app-hot")["CACertificateIdentifier"] == OLD
