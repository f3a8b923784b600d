"""rds_ssl_usage against real PostgreSQL 15 and MariaDB 10.11 servers with TLS (the simulator's linked databases).

What is proven here, with real servers and real ansible-playbook runs:

* SSL and plaintext sessions, and short-lived SSL clients that come and go during the
  sampling window, are all reported, merged into distinct clients, with TLS details;
  the module's own session is not.
* The probe reads the certificate each server presents (no credentials), maps its issuer
  to the CA identifier (rds-ca-rsa2048-g1, rds-ca-ecc384-g1, and rds-ca-2019 through its
  intermediate), verifies it against the bundle with hostname checking, and explains
  failures: a bundle without the CA, a wrong hostname, an expired chain.
* Enforcement from the parameter group: PostgreSQL 11 (0), 16 (1), an explicit override,
  MariaDB with require_secure_transport=1, SQL Server's default,
  with the number of API calls.
* Per-database errors (wrong password, unreachable port, TLS failures, IAM token refused)
  that never show a secret, ``strict``, check mode, and a port-forward tunnel.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import ssl
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.conftest import COLLECTIONS_PATH, _ensure_collection_link
from tests.simulator.linked import tools_available

_ensure_collection_link()
if COLLECTIONS_PATH not in sys.path:
    sys.path.insert(0, COLLECTIONS_PATH)

from ansible_collections.rdsca.rotation.plugins.module_utils import ssl_usage, tls_probe  # noqa: E402

psycopg2 = pytest.importorskip("psycopg2")
pymysql = pytest.importorskip("pymysql")

for _engine in ("postgres", "mariadb"):
    _ok, _why = tools_available(_engine)
    if not _ok:
        pytestmark = pytest.mark.skip(reason=_why)

REGION = "us-east-1"
REAL_GLOBAL_BUNDLE = "/work/shared/data/rds-ca/global-bundle.pem"
WRONG_PASSWORD = "Wr0ng-Pa55-Zebra-17"

FLEET = {
    "description": "rds_ssl_usage: linked PostgreSQL/MariaDB with TLS, and parameter-group cases",
    "regions": {
        REGION: {
            "default_ca": "rds-ca-rsa2048-g1",
            "parameter_groups": [
                {"name": "pg16-no-ssl", "family": "postgres16", "parameters": {"rds.force_ssl": "0"}},
                {"name": "mariadb-tls-required", "family": "mariadb10.11", "parameters": {"require_secure_transport": "1"}},
            ],
            "instances": [
                {"id": "orders-pg", "engine": "postgres", "engine_version": "11.22", "linked": "postgres",
                 "ca": "rds-ca-rsa2048-g1"},
                {"id": "billing-maria", "engine": "mariadb", "engine_version": "10.11.8", "linked": "mariadb",
                 "ca": "rds-ca-ecc384-g1"},
                {"id": "legacy-pg", "engine": "postgres", "engine_version": "13.15", "linked": "postgres",
                 "ca": "rds-ca-2019"},
                # TLS enforced (rds.force_ssl=1 from PostgreSQL 15; require_secure_transport=1) and still on
                # the expired rds-ca-2019: the databases an audit needs most (issue 13 item 8)
                {"id": "legacy-strict-pg", "engine": "postgres", "engine_version": "16.3", "linked": "postgres",
                 "ca": "rds-ca-2019"},
                {"id": "legacy-strict-maria", "engine": "mariadb", "engine_version": "10.11.8", "linked": "mariadb",
                 "ca": "rds-ca-2019", "parameter_group": "mariadb-tls-required"},
                {"id": "pg11", "engine": "postgres", "engine_version": "11.22"},
                {"id": "pg16", "engine": "postgres", "engine_version": "16.3"},
                {"id": "pg16-override", "engine": "postgres", "engine_version": "16.3", "parameter_group": "pg16-no-ssl"},
                {"id": "maria-strict", "engine": "mariadb", "engine_version": "10.11.8",
                 "parameter_group": "mariadb-tls-required"},
                {"id": "mssql", "engine": "sqlserver-se", "engine_version": "15.00.4355.3.v1"},
            ],
        },
    },
}


class Fleet:
    """The loaded fleet: simulator handle, linked servers (address, port, password), bundle path."""

    def __init__(self, simulator: Any) -> None:
        self.simulator = simulator
        self.linked = {item["id"]: item for item in simulator.control("GET", "/_sim/linked").values()}
        self.bundle = simulator.control("GET", "/_sim/bundle")["path"]
        self.password = next(iter(self.linked.values()))["admin_password"]

    def run(self, tasks: list[dict[str, Any]], save: list[str], check: bool = False, defaults: dict | None = None,
            extra_vars: dict[str, Any] | None = None):
        play = {
            "name": "rds_ssl_usage",
            "hosts": "localhost",
            "gather_facts": False,
            "module_defaults": {"group/rdsca.rotation.rds_ca": {"endpoint_url": "{{ sim_endpoint_url }}",
                                                                "region": REGION, **(defaults or {})}},
            "tasks": tasks,
            "save": save,
        }
        return self.simulator.run_playbook([play], check=check, extra_vars=extra_vars)


@pytest.fixture(scope="module")
def fleet(simulator) -> Fleet:
    simulator.load(FLEET)
    return Fleet(simulator)


# -- client sessions the tests open ------------------------------------------------------------

def pg_session(fleet: Fleet, db: str, app: str, tls: bool = True):
    info = fleet.linked[db]
    kwargs: dict[str, Any] = dict(host=info["address"], hostaddr="127.0.0.1", port=info["port"], user="admin",
                                  password=fleet.password, dbname="postgres", application_name=app, connect_timeout=5)
    if tls:
        kwargs.update(sslmode="verify-full", sslrootcert=fleet.bundle)
    else:
        kwargs.update(sslmode="disable")
    conn = psycopg2.connect(**kwargs)
    conn.autocommit = True
    return conn


def maria_session(fleet: Fleet, db: str, app: str, tls: bool = True):
    info = fleet.linked[db]
    kwargs: dict[str, Any] = dict(host="127.0.0.1", port=info["port"], user="admin", password=fleet.password,
                                  program_name=app, connect_timeout=5, autocommit=True)
    if tls:
        kwargs["ssl"] = ssl_usage.server_name_context(info["address"], fleet.bundle)
    else:
        kwargs["ssl_disabled"] = True
    return pymysql.connect(**kwargs)


class Activity:
    """Background clients: short-lived SSL connections opened and closed in a loop until stopped."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.opened: dict[str, int] = {}
        self.errors: list[BaseException] = []

    def short_lived(self, name: str, connect, hold: float = 0.6, gap: float = 0.2) -> None:
        def loop() -> None:
            while not self.stop.is_set():
                try:
                    conn = connect()
                    self.opened[name] = self.opened.get(name, 0) + 1
                    self.stop.wait(hold)
                    conn.close()
                except Exception as exc:  # noqa: BLE001 - reported by the test
                    self.errors.append(exc)
                    return
                self.stop.wait(gap)
        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        self.threads.append(thread)

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(10)


class Relay:
    """A TCP port forward (the stand-in for an SSH tunnel or kubectl port-forward)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _addr = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.listener.close()


@contextlib.contextmanager
def closing_all(conns: list) -> Iterator[list]:
    try:
        yield conns
    finally:
        for conn in conns:
            with contextlib.suppress(Exception):
                conn.close()


def by_id(result) -> dict[str, dict[str, Any]]:
    return {db["identifier"]: db for db in result["databases"]}


def clients_by_app(db: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["application_name"]: c for c in db["clients"]}


def usage_task(register: str, databases: list[dict[str, Any]], fleet: Fleet, **options: Any) -> dict[str, Any]:
    args = {"databases": databases, "connect_host": "127.0.0.1", "ca_cert": fleet.bundle, **options}
    return {"name": register, "rdsca.rotation.rds_ssl_usage": args, "register": register}


# -- the probe (module_utils, no credentials) --------------------------------------------------

def test_probe_reads_presented_ca_and_verifies(fleet):
    # Like RDS, the servers present leaf + subordinate CA: the leaf's issuer is the subordinate.
    for db, expected_ca, issuer in (("orders-pg", "rds-ca-rsa2048-g1", "Amazon RDS us-east-1 Subordinate CA RSA2048 G1.A.1"),
                                    ("billing-maria", "rds-ca-ecc384-g1", "Amazon RDS us-east-1 Subordinate CA ECC384 G1.A.1")):
        info = fleet.linked[db]
        assert info["presented_ca"] == expected_ca
        result = tls_probe.probe_endpoint(info["address"], info["port"], info["engine"], connect_host="127.0.0.1",
                                          ca_bundle=fleet.bundle, timeout=5)
        assert result["error"] is None, result
        assert result["verified"] is True and result["read_by"] == "verified_handshake"
        assert result["presented_ca"] == expected_ca and result["presented_ca_region"] == REGION
        assert result["certificate"]["issuer_cn"] == issuer
        assert result["certificate"]["dns_names"] == [info["address"]]
        # The verified chain ends at the region's root (the bundle holds roots only).
        assert result["trust_anchor"] == issuer.replace("Subordinate CA", "Root CA").replace(" G1.A.1", " G1")
        assert [c["subject_cn"] for c in result["chain"] or [{"subject_cn": issuer}]] == [issuer]
        assert result["hostname_matches"] is True
        assert result["tls_version"] in ("TLSv1.2", "TLSv1.3")
        if db == "billing-maria":
            assert "MariaDB" in result["server_version"]


def test_probe_expired_2019_chain_maps_through_the_intermediate(fleet):
    info = fleet.linked["legacy-pg"]
    result = tls_probe.probe_endpoint(info["address"], info["port"], "postgres", connect_host="127.0.0.1",
                                      ca_bundle=fleet.bundle, timeout=5)
    assert result["verified"] is False and result["verify_code"] == 10
    assert result["read_by"] == "diagnostic_handshake"
    assert result["certificate"]["issuer_cn"] == "Amazon RDS us-east-1 2019 CA"
    assert result["certificate"]["expired"] is True
    assert result["presented_ca"] == "rds-ca-2019"
    assert "certificate has expired" in result["verify_error"]
    if result["chain"] is not None:  # Python exposes the chain (3.13+, or privately since 3.10)
        assert [c["subject_cn"] for c in result["chain"]] == ["Amazon RDS us-east-1 2019 CA"]
        assert result["chain"][0]["issuer_cn"] == "Amazon RDS Root 2019 CA"


def test_probe_bundle_lacking_the_ca_fails_clearly(fleet, tmp_path):
    info = fleet.linked["orders-pg"]
    partial = fleet.simulator.sim.linker.pki.write_bundle(tmp_path / "ecc-only.pem", ca_identifiers=["rds-ca-ecc384-g1"])
    result = tls_probe.probe_endpoint(info["address"], info["port"], "postgres", connect_host="127.0.0.1",
                                      ca_bundle=str(partial), timeout=5)
    assert result["verified"] is False and result["verify_code"] == 20
    assert result["presented_ca"] == "rds-ca-rsa2048-g1"  # still reported, from the diagnostic handshake
    assert result["verify_error"] == (
        "TLS verification of %s failed: unable to get local issuer certificate; the trust store %s has no CA that "
        "issued this certificate (issuer 'Amazon RDS us-east-1 Root CA RSA2048 G1', rds-ca-rsa2048-g1)"
        % (info["address"], partial))
    if os.path.exists(REAL_GLOBAL_BUNDLE):  # AWS's real bundle: same CA names, other keys
        real = tls_probe.probe_endpoint(info["address"], info["port"], "postgres", connect_host="127.0.0.1",
                                        ca_bundle=REAL_GLOBAL_BUNDLE, timeout=5)
        assert real["verified"] is False
        assert "holds a CA named 'Amazon RDS us-east-1 Root CA RSA2048 G1'" in real["verify_error"]


def test_probe_wrong_hostname_fails_hostname_verification(fleet):
    info = fleet.linked["billing-maria"]
    wrong = info["address"].replace("billing-maria", "billing-replica")
    result = tls_probe.probe_endpoint(wrong, info["port"], "mariadb", connect_host="127.0.0.1", ca_bundle=fleet.bundle,
                                      timeout=5)
    assert result["verified"] is False and result["verify_code"] == 62
    assert result["hostname_matches"] is False
    assert result["presented_ca"] == "rds-ca-ecc384-g1"
    assert "Hostname mismatch, certificate is not valid for '%s'" % wrong in result["verify_error"]
    assert "the certificate is for %s, not %s" % (info["address"], wrong) in result["verify_error"]


def test_processlist_fallback_and_counters_on_real_mariadb(fleet):
    with closing_all([maria_session(fleet, "billing-maria", "fallback-plain", tls=False)]):
        conn = ssl_usage.connect("mysql", fleet.linked["billing-maria"]["address"], fleet.linked["billing-maria"]["port"],
                                 "127.0.0.1", "admin", fleet.password, ca_bundle=fleet.bundle)
        try:
            cursor = conn.cursor()
            sessions = ssl_usage.mysql_sessions(cursor, [], performance_schema=False)
            assert {s["transport"] for s in sessions if s["user"] == "admin"} == {"unknown"}
            detailed = ssl_usage.mysql_sessions(cursor, [], performance_schema=True)
            plain = [s for s in detailed if s["application_name"] == "fallback-plain"]
            assert len(plain) == 1 and plain[0]["transport"] == "tcp" and plain[0]["client_address"] == "127.0.0.1"
            assert not [s for s in detailed if s["application_name"] == ssl_usage.APPLICATION_NAME]
            before = ssl_usage.mysql_counters(cursor)["Ssl_finished_accepts"]
            maria_session(fleet, "billing-maria", "counted").close()
            assert ssl_usage.mysql_counters(cursor)["Ssl_finished_accepts"] == before + 1
        finally:
            conn.close()


# -- the module, real ansible-playbook runs ----------------------------------------------------

def test_sampling_window_reports_ssl_plaintext_and_short_lived_clients(fleet):
    activity = Activity()
    persistent = [
        pg_session(fleet, "orders-pg", "billing-api"), pg_session(fleet, "orders-pg", "nightly-report", tls=False),
        maria_session(fleet, "billing-maria", "billing-api"),
        maria_session(fleet, "billing-maria", "nightly-report", tls=False),
    ]
    with closing_all(persistent):
        activity.short_lived("pg", lambda: pg_session(fleet, "orders-pg", "cron-short"))
        activity.short_lived("maria", lambda: maria_session(fleet, "billing-maria", "cron-short"))
        try:
            tasks = [usage_task("watched", [{"identifier": "orders-pg"}, {"identifier": "billing-maria"}], fleet,
                                login_user="admin", login_password=fleet.password, sample_seconds=4,
                                sample_interval=0.25)]
            result = fleet.run(tasks, save=["watched"])
        finally:
            activity.finish()
    assert not activity.errors, activity.errors
    assert result.rc == 0, result.stdout[-3000:]
    watched = result.task("watched")
    assert watched["changed"] is False
    assert watched["summary"]["ssl_in_use"] == {"yes": 2, "no": 0, "unknown": 0}
    for ident, engine in (("orders-pg", "postgres"), ("billing-maria", "mariadb")):
        db = by_id(watched)[ident]
        assert db["error"] is None, db["error"]
        assert db["engine"] == engine
        assert db["ssl_in_use"] == "yes"
        assert db["window"]["seconds"] >= 4.0 and db["window"]["samples"] >= 10
        assert db["window"]["requested_seconds"] == 4.0 and db["window"]["interval"] == 0.25
        apps = clients_by_app(db)
        assert ssl_usage.APPLICATION_NAME not in apps  # the module's own session is excluded
        assert apps["billing-api"]["uses_ssl"] and not apps["billing-api"]["uses_plaintext"]
        assert apps["billing-api"]["sessions"] == 1 and apps["billing-api"]["tls_versions"] == ["TLSv1.3"]
        assert apps["nightly-report"]["uses_plaintext"] and not apps["nightly-report"]["uses_ssl"]
        # Short-lived clients: several distinct sessions, each seen in a few samples, merged into one client.
        short = apps["cron-short"]
        assert short["uses_ssl"] and short["sessions"] >= 2, short
        assert {c["application_name"] for c in db["ssl_clients"]} == {"billing-api", "cron-short"}
        assert all(c["user"] == "admin" and c["client_address"] == "127.0.0.1" for c in db["clients"])
        sessions = db["sessions"]
        long_lived = [s for s in sessions if s["application_name"] == "billing-api"]
        assert len(long_lived) == 1 and long_lived[0]["samples"] == db["window"]["samples"]
        assert long_lived[0]["ssl"] is True and long_lived[0]["cipher"]
        assert [s["ssl"] for s in sessions if s["application_name"] == "nightly-report"] == [False]
        assert len([s for s in sessions if s["application_name"] == "cron-short"]) == short["sessions"]
        assert db["safe_without_restart"] is False
        assert db["safe_without_restart_reason"].startswith("SSL/TLS is in use")
        assert "SSL/TLS session(s) from 2 distinct client(s)" in db["ssl_in_use_reason"]
        assert db["probe"]["verified"] is True
        assert db["probe"]["presented_ca"] == fleet.linked[ident]["presented_ca"]
        assert db["ssl_enforced"] is False
    pg = by_id(watched)["orders-pg"]
    assert pg["enforcement"]["api_value"] == "0" and pg["enforcement"]["parameter_group"] == "default.postgres11"
    # The linked server mirrors its parameter group's rds.force_ssl, readable with SHOW as on RDS.
    assert pg["enforcement"]["live_value"] == "0" and pg["enforcement"]["enforced_by"] == "live"
    maria = by_id(watched)["billing-maria"]
    assert maria["enforcement"]["live_value"] == "0" and maria["enforcement"]["enforced_by"] == "live"
    assert maria["usage"]["performance_schema"] is True
    assert maria["usage"]["ssl_handshakes_during_window"] >= 1


def test_plaintext_only_is_safe_over_a_window_not_in_a_snapshot_check_mode(fleet):
    with closing_all([pg_session(fleet, "orders-pg", "legacy-app", tls=False),
                      maria_session(fleet, "billing-maria", "legacy-app", tls=False)]):
        databases = [{"identifier": "orders-pg"}, {"identifier": "billing-maria"}]
        tasks = [
            usage_task("window", databases, fleet, login_user="admin", login_password=fleet.password,
                       sample_seconds=1.5, sample_interval=0.5),
            usage_task("snapshot", databases, fleet, login_user="admin", login_password=fleet.password),
        ]
        result = fleet.run(tasks, save=["window", "snapshot"], check=True)
    assert result.rc == 0, result.stdout[-3000:]
    for ident in ("orders-pg", "billing-maria"):
        window = by_id(result.task("window"))[ident]
        assert window["ssl_in_use"] == "no", window["ssl_in_use_reason"]
        assert window["ssl_in_use_reason"].startswith("no SSL/TLS session seen over")
        assert [c["application_name"] for c in window["clients"]] == ["legacy-app"]
        assert window["ssl_clients"] == []
        assert window["safe_without_restart"] is True, window["safe_without_restart_reason"]
        snapshot = by_id(result.task("snapshot"))[ident]
        assert snapshot["ssl_in_use"] == "no" and snapshot["window"]["samples"] == 1
        assert snapshot["safe_without_restart"] is False
        assert "single snapshot" in snapshot["safe_without_restart_reason"]
    assert by_id(result.task("window"))["billing-maria"]["usage"]["ssl_handshakes_during_window"] == 0
    assert result.task("window")["changed"] is False and result.task("window")["summary"]["safe_without_restart"] == 2


def test_enforcement_from_parameter_groups_and_engine_defaults(fleet):
    databases = [
        {"identifier": "pg11"},
        # rds_ca_facts' item shape: extra keys are ignored.
        {"identifier": "pg16", "region": REGION, "engine": "postgres", "engine_version": "16.3", "needs_rotation": False,
         "tags": {"Team": "orders"}, "reason": "already_on_target"},
        {"identifier": "pg16-override"},
        {"identifier": "maria-strict"},
        {"identifier": "mssql"},
    ]
    result = fleet.run([usage_task("enforcement", databases, fleet, probe=False, strict=True)], save=["enforcement"])
    assert result.rc == 0, result.stdout[-3000:]
    out = result.task("enforcement")
    dbs = by_id(out)
    expected = {
        "pg11": ("rds.force_ssl", "default.postgres11", "instance", "0", False),
        "pg16": ("rds.force_ssl", "default.postgres16", "instance", "1", True),
        "pg16-override": ("rds.force_ssl", "pg16-no-ssl", "instance", "0", False),
        "maria-strict": ("require_secure_transport", "mariadb-tls-required", "instance", "1", True),
    }
    # moto names SQL Server's default group after the full version ("default.sqlserver-se15.00.4355.3", AWS:
    # "default.sqlserver-se-15.0"); whatever it holds, the engine default (0) is what the module reports.
    mssql = dbs["mssql"]["enforcement"]
    assert (mssql["parameter"], mssql["api_value"], mssql["enforced"]) == ("rds.force_ssl", "0", False)
    # Aurora members (cluster parameter group) are covered by the unit tests: moto gives every Aurora
    # cluster the parameter group "default.aurora8.0", which the simulator does not serve.
    for ident, (parameter, group, group_type, value, enforced) in expected.items():
        enforcement = dbs[ident]["enforcement"]
        got = (enforcement["parameter"], enforcement["parameter_group"], enforcement["parameter_group_type"],
               enforcement["api_value"], enforcement["enforced"])
        assert got == (parameter, group, group_type, value, enforced), (ident, enforcement)
        assert dbs[ident]["ssl_enforced"] is enforced
        assert dbs[ident]["error"] is None
        assert dbs[ident]["probe"] is None
        assert dbs[ident]["ssl_in_use"] == "unknown"
        assert dbs[ident]["safe_without_restart"] is False
    assert dbs["pg16-override"]["enforcement"]["engine_default"] == "1"
    assert dbs["pg16-override"]["enforcement"]["api_source"] == "parameter_group"
    assert dbs["pg11"]["ssl_in_use_reason"] == "no credentials given (login_user): sessions were not listed"
    assert dbs["mssql"]["ssl_in_use_reason"] == ("no session query for engine sqlserver-se: SSL usage cannot be listed "
                                                 "over SQL")
    assert out["summary"]["ssl_enforced"] == {"enforced": 2, "not_enforced": 3, "unknown": 0}
    # One DescribeDBInstances for the region, one DescribeDBParameters per distinct parameter group.
    assert out["api_calls"] == {REGION: {"DescribeDBInstances": 1, "DescribeDBParameters": 5}}


def test_errors_are_per_database_strict_fails_and_secrets_never_show(fleet, tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    ecc_only = fleet.simulator.sim.linker.pki.write_bundle(tmp_path / "ecc-only.pem", ca_identifiers=["rds-ca-ecc384-g1"])
    pg = fleet.linked["orders-pg"]
    relay = Relay(pg["port"])
    wrong_name = pg["address"].replace("orders-pg", "orders-pg-old")
    mixed = [{"identifier": "orders-pg"}, {"identifier": "billing-maria"}]
    # Passwords come from variables, as they would from a vault: ansible-playbook itself prints the
    # source of a failed task, so a literal in the playbook would show up in its output whatever the module does.
    tasks = [
        usage_task("wrong_password", mixed, fleet, login_user="admin", login_password="{{ vault_wrong_password }}"),
        dict(usage_task("wrong_password_strict", mixed, fleet, login_user="admin", login_password="{{ vault_wrong_password }}",
                        strict=True), ignore_errors=True),
        usage_task("broken", [
            {"identifier": "pg11", "connect_port": closed_port},
            {"identifier": "orders-pg", "endpoint_address": wrong_name},
            {"identifier": "legacy-pg"},
            {"identifier": "no-such-db"},
        ], fleet, login_user="admin", login_password="{{ vault_db_password }}", timeout=3),
        usage_task("untrusted", [{"identifier": "orders-pg"}, {"identifier": "billing-maria"}], fleet,
                   login_user="admin", login_password="{{ vault_db_password }}", ca_cert=str(ecc_only)),
        usage_task("tunnel", [{"identifier": "orders-pg", "connect_port": relay.port}], fleet, login_user="admin",
                   login_password="{{ vault_db_password }}", sample_seconds=0.5, sample_interval=0.25),
        usage_task("iam", [{"identifier": "orders-pg"}], fleet, login_user="admin", iam_auth=True),
    ]
    try:
        result = fleet.run(tasks, save=["wrong_password", "wrong_password_strict", "broken", "untrusted", "tunnel", "iam"],
                           extra_vars={"vault_wrong_password": WRONG_PASSWORD, "vault_db_password": fleet.password})
    finally:
        relay.close()
    assert result.rc == 0, result.stdout[-3000:]
    everything = result.stdout + result.stderr + json.dumps(result.results)
    assert WRONG_PASSWORD not in everything
    assert fleet.password not in everything
    assert "X-Amz-Signature" not in everything and "X-Amz-Credential" not in everything

    tolerant = by_id(result.task("wrong_password"))
    assert "password authentication failed for user \"admin\"" in tolerant["orders-pg"]["error"]
    assert tolerant["orders-pg"]["error"].startswith("cannot connect to %s (127.0.0.1:%d) as admin:" % (pg["address"], pg["port"]))
    assert "Access denied for user 'admin'" in tolerant["billing-maria"]["error"]
    for db in tolerant.values():
        assert db["ssl_in_use"] == "unknown" and db["probe"]["verified"] is True  # the probe needs no password
    assert "2 of 2 database(s) could not be fully inspected" in result.stdout
    strict = result.task("wrong_password_strict")
    assert strict["failed"] is True and strict["msg"].startswith("2 of 2 database(s) could not be fully inspected")
    assert len(strict["databases"]) == 2

    broken = by_id(result.task("broken"))
    assert broken["pg11"]["probe"]["reachable"] is False
    assert broken["pg11"]["error"].startswith("probe: cannot connect to 127.0.0.1:%d:" % closed_port)
    # issue 20: no login follows a probe that could not open the TCP connection the login would use
    assert len(broken["pg11"]["errors"]) == 1
    assert broken["pg11"]["usage"]["reason"] == "not connected: the endpoint could not be reached (see probe.error)"
    assert broken["orders-pg"]["probe"]["verify_code"] == 62
    assert "Hostname mismatch" in broken["orders-pg"]["error"]
    assert "certificate does not verify" in broken["orders-pg"]["ssl_in_use_reason"]
    assert "certificate has expired" in broken["legacy-pg"]["error"]
    assert broken["legacy-pg"]["probe"]["presented_ca"] == "rds-ca-2019"
    assert broken["no-such-db"]["error"] == ("DB instance no-such-db not found in us-east-1; cannot reach the database: "
                                             "engine, endpoint_address, endpoint_port unknown")
    assert result.task("broken")["summary"]["errors"] == 4

    untrusted = by_id(result.task("untrusted"))
    assert "has no CA that issued this certificate (issuer 'Amazon RDS us-east-1 Root CA RSA2048 G1'" in untrusted["orders-pg"]["error"]
    assert untrusted["billing-maria"]["error"] is None  # its CA is in that bundle
    assert untrusted["billing-maria"]["ssl_in_use"] == "no"

    tunnel = by_id(result.task("tunnel"))["orders-pg"]
    assert tunnel["error"] is None, tunnel["error"]
    assert tunnel["connect_port"] == relay.port and tunnel["endpoint_port"] == pg["port"]
    assert tunnel["probe"]["verified"] is True and tunnel["probe"]["connect_port"] == relay.port
    assert tunnel["usage"]["available"] is True and tunnel["window"]["samples"] >= 2
    assert relay.accepted >= 2  # the probe and the SQL connection both went through the tunnel

    iam = by_id(result.task("iam"))["orders-pg"]
    assert "password authentication failed" in iam["error"]  # a real token would be accepted by RDS, not here


def test_bad_options_fail_before_any_connection(fleet):
    tasks = [
        dict(usage_task("both", [{"identifier": "pg11"}], fleet, identifier="pg11"), ignore_errors=True),
        dict(usage_task("iam_plain", [{"identifier": "pg11"}], fleet, login_user="a", iam_auth=True, ssl_mode="disable"),
             ignore_errors=True),
        dict(usage_task("bad_item", [{"region": REGION}], fleet), ignore_errors=True),
        dict(usage_task("bad_region", [{"identifier": "x", "region": "us-east-42x"}], fleet), ignore_errors=True),
    ]
    result = fleet.run(tasks, save=["both", "iam_plain", "bad_item", "bad_region"])
    assert result.rc == 0, result.stdout[-3000:]
    assert "mutually exclusive" in result.task("both")["msg"]
    assert "iam_auth needs TLS" in result.task("iam_plain")["msg"]
    assert result.task("bad_item")["msg"].startswith("Invalid databases: databases[0]: databases item without identifier")
    assert result.task("bad_region")["msg"].startswith("Invalid regions:")


def test_single_identifier_with_connection_region(fleet):
    result = fleet.run([{"name": "one", "rdsca.rotation.rds_ssl_usage": {
        "identifier": "billing-maria", "connect_host": "127.0.0.1", "ca_cert": fleet.bundle}, "register": "one"}],
        save=["one"])
    assert result.rc == 0, result.stdout[-3000:]
    (db,) = result.task("one")["databases"]
    assert db["identifier"] == "billing-maria" and db["probe"]["presented_ca"] == "rds-ca-ecc384-g1"
    assert db["current_ca"] == "rds-ca-ecc384-g1"


# -- issue 13 item 8: auditing TLS use where TLS is enforced and the expired rds-ca-2019 is presented ---------

def expired_chain_session(fleet: Fleet, db: str, app: str):
    """A client that keeps using the expired chain (as clients of such a database do: sslmode=require)."""
    info = fleet.linked[db]
    if db.endswith("-pg"):
        conn = psycopg2.connect(host=info["address"], hostaddr="127.0.0.1", port=info["port"], user="admin",
                                password=fleet.password, dbname="postgres", application_name=app, connect_timeout=5,
                                sslmode="require")
        conn.autocommit = True
        return conn
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return pymysql.connect(host="127.0.0.1", port=info["port"], user="admin", password=fleet.password,
                           program_name=app, connect_timeout=5, autocommit=True, ssl=context)


def test_tls_enforced_database_on_the_expired_ca_is_audited_only_with_allow_expired_ca(fleet, tmp_path):
    strict_dbs = [{"identifier": "legacy-strict-pg"}, {"identifier": "legacy-strict-maria"}]
    g1_only = fleet.simulator.sim.linker.pki.write_bundle(
        tmp_path / "g1-only.pem", ca_identifiers=["rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1"])
    pg = fleet.linked["legacy-strict-pg"]
    login = {"login_user": "admin", "login_password": "{{ vault_db_password }}"}
    tasks = [
        usage_task("plain", strict_dbs, fleet, **login),
        usage_task("tolerant", strict_dbs + [{"identifier": "orders-pg"}], fleet, allow_expired_ca=["rds-ca-2019"], **login),
        usage_task("wrong_name", [{"identifier": "legacy-strict-pg",
                                   "endpoint_address": pg["address"].replace("legacy-strict-pg", "other-pg")}],
                   fleet, allow_expired_ca=["rds-ca-2019"], **login),
        usage_task("no_2019_in_bundle", [{"identifier": "legacy-strict-pg"}], fleet, allow_expired_ca=["rds-ca-2019"],
                   **dict(login, ca_cert=str(g1_only))),
        usage_task("other_ca", [{"identifier": "legacy-strict-pg"}], fleet, allow_expired_ca=["rds-ca-rsa2048-g1"], **login),
        dict(usage_task("bad_option", strict_dbs, fleet, allow_expired_ca=["rds-ca-2091"], **login), ignore_errors=True),
    ]
    sessions = [expired_chain_session(fleet, "legacy-strict-pg", "billing-app"),
                expired_chain_session(fleet, "legacy-strict-maria", "billing-app")]
    try:
        result = fleet.run(tasks, save=["plain", "tolerant", "wrong_name", "no_2019_in_bundle", "other_ca", "bad_option"],
                           extra_vars={"vault_db_password": fleet.password})
    finally:
        for conn in sessions:
            conn.close()
    assert result.rc == 0, result.stdout[-3000:]
    assert fleet.password not in result.stdout + result.stderr + json.dumps(result.results)

    # Today's behaviour, kept by default: verify-full fails on the expired chain, nothing is listed.
    for item in result.task("plain")["databases"]:
        assert item["ssl_enforced"] == "yes" or item["enforcement"]["enforced"] is True, item["enforcement"]
        assert item["usage"]["available"] is False and item["ssl_in_use"] == "unknown", item["identifier"]
        assert item["tls_verification"] == "failed" and "certificate has expired" in item["error"]

    # With allow_expired_ca: the sessions are listed, and the result says what was tolerated.
    tolerant = by_id(result.task("tolerant"))
    for ident in ("legacy-strict-pg", "legacy-strict-maria"):
        item = tolerant[ident]
        assert item["error"] is None, (ident, item["error"])
        assert item["tls_verification"] == "verified_except_expiry"
        assert item["probe"]["verified"] is False  # strict verification did fail: never hidden
        assert [t["ca_identifier"] for t in item["tolerated_expiry"]] and all(
            t["ca_identifier"] == "rds-ca-2019" for t in item["tolerated_expiry"])
        assert "EXCEPT the expiry of rds-ca-2019" in item["tls_verification_note"]
        assert item["usage"]["available"] is True and item["ssl_in_use"] == "yes", (ident, item["ssl_in_use_reason"])
        assert any(c.get("application_name") == "billing-app" or c.get("program_name") == "billing-app"
                   or "billing-app" in json.dumps(c) for c in item["ssl_clients"]), item["ssl_clients"]
        assert "%s (us-east-1): TLS verified" % ident in " ".join((result.stdout + result.stderr).split())
    assert tolerant["orders-pg"]["tls_verification"] == "verified"  # not on the expired CA: untouched
    assert tolerant["orders-pg"]["tolerated_expiry"] is None

    # Everything but that expiry is still required.
    wrong = result.task("wrong_name")["databases"][0]
    assert wrong["tls_verification"] == "failed" and wrong["usage"]["available"] is False
    assert "Hostname mismatch" in wrong["error"] and not wrong["probe"]["verified_except_expiry"], wrong["error"]
    missing = result.task("no_2019_in_bundle")["databases"][0]
    assert missing["tls_verification"] == "failed" and missing["usage"]["available"] is False
    assert missing["probe"]["verified_except_expiry"] is not True, missing["probe"]
    other = result.task("other_ca")["databases"][0]  # rsa2048 is not the CA this database is on
    assert other["tls_verification"] == "failed" and other["probe"]["verified_except_expiry"] is None
    bad = result.task("bad_option")
    assert bad["failed"] is True and "allow_expired_ca: 'rds-ca-2091' is not an RDS CA identifier" in bad["msg"]
