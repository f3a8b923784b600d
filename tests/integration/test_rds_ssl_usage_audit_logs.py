"""rds_ssl_usage log_window_days on MySQL/MariaDB: real MariaDB clients (TLS and plaintext) found in the audit log
(MARIADB_AUDIT_PLUGIN) that the simulator serves through DescribeDBLogFiles/DownloadDBLogFilePortion, their TLS use
proven only where something proves it, and an instance without the plugin reported as incomplete, not as
"no TLS" (issue 18, MySQL/MariaDB)."""

from __future__ import annotations

import contextlib
import secrets

import pytest

from tests.simulator.linked import audit_plugin_available

pymysql = pytest.importorskip("pymysql")
_ok, _why = audit_plugin_available()
if not _ok:
    pytestmark = pytest.mark.skip(reason=_why)

REGION = "us-east-1"
AUDIT = {"MARIADB_AUDIT_PLUGIN": {"SERVER_AUDIT_EVENTS": "CONNECT"}}
FLEET = {
    "description": "rds_ssl_usage audit log evidence: plugin on, off, and with require_secure_transport",
    "regions": {
        REGION: {
            "default_ca": "rds-ca-rsa2048-g1",
            "parameter_groups": [
                {"name": "maria-tls-required", "family": "mariadb10.11", "parameters": {"require_secure_transport": "1"}},
            ],
            "option_groups": [
                {"name": "maria-audit", "engine": "mariadb", "major_engine_version": "10.11", "options": AUDIT},
                {"name": "maria-no-audit", "engine": "mariadb", "major_engine_version": "10.11", "options": {}},
                # Tiny files, one rotation kept: older events are rotated away within a few connections.
                {"name": "maria-audit-tiny", "engine": "mariadb", "major_engine_version": "10.11", "options": {
                    "MARIADB_AUDIT_PLUGIN": {"SERVER_AUDIT_EVENTS": "CONNECT", "SERVER_AUDIT_FILE_ROTATE_SIZE": "400",
                                             "SERVER_AUDIT_FILE_ROTATIONS": "1"}}},
            ],
            "instances": [
                {"id": "audited", "engine": "mariadb", "engine_version": "10.11.8", "linked": "mariadb",
                 "option_group": "maria-audit"},
                {"id": "unaudited", "engine": "mariadb", "engine_version": "10.11.8", "linked": "mariadb",
                 "option_group": "maria-no-audit"},
                {"id": "enforced", "engine": "mariadb", "engine_version": "10.11.8", "linked": "mariadb",
                 "option_group": "maria-audit", "parameter_group": "maria-tls-required"},
                {"id": "rotated", "engine": "mariadb", "engine_version": "10.11.8", "linked": "mariadb",
                 "option_group": "maria-audit-tiny"},
                # The audit log exported to CloudWatch Logs as well (EnabledCloudwatchLogsExports: audit).
                {"id": "exported", "engine": "mariadb", "engine_version": "10.11.8", "linked": "mariadb",
                 "option_group": "maria-audit", "cloudwatch_logs_exports": ["audit"]},
            ],
        },
    },
}
PASSWORD = secrets.token_urlsafe(12)


@pytest.fixture(scope="module")
def fleet(simulator):
    simulator.load(FLEET)
    linked = {item["id"]: item for item in simulator.control("GET", "/_sim/linked").values()}
    bundle = simulator.control("GET", "/_sim/bundle")["path"]
    for db in ("audited", "enforced"):
        with contextlib.closing(_connect((simulator, linked, bundle), db, "admin", tls=True)) as conn, \
                conn.cursor() as cur:
            # An account that must use TLS (mysql.user ssl_type ANY), and two that may connect either way.
            cur.execute("CREATE USER 'billing'@'%%' IDENTIFIED BY %s REQUIRE SSL", (PASSWORD,))
            cur.execute("CREATE USER 'orders'@'%%' IDENTIFIED BY %s", (PASSWORD,))
            cur.execute("CREATE USER 'legacy'@'%%' IDENTIFIED BY %s", (PASSWORD,))
    return simulator, linked, bundle


def _connect(fleet, db: str, user: str, tls: bool):
    _sim, linked, bundle = fleet
    info = linked[db]
    # The chain is verified; plaintext is asked for (PyMySQL otherwise tries TLS first, "PREFERRED").
    kwargs = {"ssl": {"ca": bundle, "check_hostname": False}} if tls else {"ssl_disabled": True}
    password = info["admin_password"] if user == "admin" else PASSWORD
    return pymysql.connect(host="127.0.0.1", port=info["port"], user=user, password=password, connect_timeout=10,
                           autocommit=True, **kwargs)


def _once(fleet, db, user, tls):
    _connect(fleet, db, user, tls).close()


def _run(fleet, databases, **options):
    sim, _linked, bundle = fleet
    play = {
        "name": "rds_ssl_usage audit log evidence",
        "hosts": "localhost",
        "gather_facts": False,
        "module_defaults": {"group/rdsca.rotation.rds_ca": {"endpoint_url": "{{ sim_endpoint_url }}",
                                                            "region": REGION}},
        "tasks": [{"name": "usage", "register": "usage", "rdsca.rotation.rds_ssl_usage": {
            "databases": [{"identifier": d} for d in databases], "connect_host": "127.0.0.1", "ca_cert": bundle,
            **options}}],
        "save": ["usage"],
    }
    result = sim.run_playbook([play])
    assert result.rc == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return {db["identifier"]: db for db in result.results["usage"]["databases"]}, result.results["usage"]


def _clients(db):
    return {(c["user"], c["address"]): c for c in db["log_evidence"]["clients"]}


def test_audit_log_lists_clients_but_never_calls_them_plaintext_without_proof(fleet):
    _once(fleet, "audited", "billing", tls=True)
    _once(fleet, "audited", "orders", tls=True)
    _once(fleet, "audited", "legacy", tls=False)
    _once(fleet, "unaudited", "admin", tls=False)
    dbs, usage = _run(fleet, ["audited", "unaudited"], log_window_days=1)

    audited = dbs["audited"]
    evidence = audited["log_evidence"]
    assert evidence["available"] is True and evidence["complete"] is True, evidence["incomplete_reasons"]
    assert evidence["files"] == ["audit/server_audit.log"] and evidence["audit"]["events"] == ["CONNECT"]
    clients = _clients(audited)
    for user in ("billing", "orders", "legacy"):
        assert clients[(user, "127.0.0.1")]["count"] == 1
        # No login: nothing proves TLS either way, whatever the client did.
        assert clients[(user, "127.0.0.1")]["tls"] is None, clients[(user, "127.0.0.1")]
    assert evidence["tls_clients"] == 0 and evidence["tls_unknown_clients"] >= 3
    assert "does not record whether the connection used TLS" in evidence["limits"] or "not whether" in evidence["limits"]
    # Clients over a complete window, TLS unknown: never "no".
    assert audited["ssl_in_use"] == "unknown", audited["ssl_in_use_reason"]
    assert "the audit log does not record TLS" in audited["ssl_in_use_reason"]
    assert audited["safe_without_restart"] is False

    # Audit plugin off: incomplete evidence, not "no TLS".
    unaudited = dbs["unaudited"]["log_evidence"]
    assert unaudited["complete"] is False and unaudited["clients"] == []
    assert "has no MARIADB_AUDIT_PLUGIN option" in unaudited["reason"] and "maria-no-audit" in unaudited["reason"]
    assert dbs["unaudited"]["ssl_in_use"] == "unknown" and "incomplete" in dbs["unaudited"]["ssl_in_use_reason"]
    assert dbs["unaudited"]["safe_without_restart"] is False

    assert usage["summary"]["log_evidence"] == {"complete": 1, "incomplete": 1, "unavailable": 0}
    assert "DescribeOptionGroups" in str(usage["api_calls"]) and "DownloadDBLogFilePortion" in str(usage["api_calls"])


def test_tls_is_proven_by_accounts_live_sessions_and_require_secure_transport(fleet):
    sim, linked, _bundle = fleet
    _once(fleet, "audited", "billing", tls=True)
    _once(fleet, "enforced", "orders", tls=True)
    # Open while the module looks: one TLS session, one plaintext session.
    with contextlib.closing(_connect(fleet, "audited", "orders", tls=True)), \
            contextlib.closing(_connect(fleet, "audited", "legacy", tls=False)):
        dbs, _usage = _run(fleet, ["audited", "enforced"], log_window_days=1, login_user="admin",
                           login_password=linked["audited"]["admin_password"])
    clients = _clients(dbs["audited"])
    billing, orders, legacy = (clients[(u, "127.0.0.1")] for u in ("billing", "orders", "legacy"))
    assert billing["tls"] is True and billing["tls_proof"] == "account" and "REQUIRE" in billing["tls_basis"]
    assert orders["tls"] is True and orders["tls_proof"] == "sessions"
    # A plaintext session seen live: plaintext, but only as far as the sessions seen go.
    assert legacy["tls"] is False and legacy["tls_proof"] == "sessions" and "not known" in legacy["tls_basis"]
    assert dbs["audited"]["ssl_in_use"] == "yes"
    assert "TLS client(s) over 1.0 day(s) of connection logs" in dbs["audited"]["ssl_in_use_reason"]

    enforced = dbs["enforced"]
    assert enforced["ssl_enforced"] is True
    orders_enforced = _clients(enforced)[("orders", "127.0.0.1")]
    assert orders_enforced["tls"] is True and orders_enforced["tls_proof"] == "enforced"
    assert enforced["log_evidence"]["tls_unknown_clients"] == 0, enforced["log_evidence"]["clients"]
    assert enforced["ssl_in_use"] == "yes" and enforced["safe_without_restart"] is False


def test_audit_files_rotated_away_make_the_evidence_incomplete(fleet):
    sim, _linked, _bundle = fleet
    for _n in range(8):
        _once(fleet, "rotated", "admin", tls=False)
    names = [f["LogFileName"] for f in sim.client().describe_db_log_files(DBInstanceIdentifier="rotated")[
        "DescribeDBLogFiles"]]
    assert names == ["audit/server_audit.log", "audit/server_audit.log.1"], names  # the plugin's own rotation
    dbs, _usage = _run(fleet, ["rotated"], log_window_days=1)
    evidence = dbs["rotated"]["log_evidence"]
    assert evidence["complete"] is False and evidence["audit"]["rotations"] == 1
    assert "SERVER_AUDIT_FILE_ROTATIONS=1" in evidence["reason"] and "rotated away" in evidence["reason"]
    assert evidence["covered_from"] > evidence["needed_from"]
    assert sorted(evidence["files"]) == ["audit/server_audit.log", "audit/server_audit.log.1"]
    assert _clients(dbs["rotated"])[("admin", "127.0.0.1")]["count"] >= 1
    assert dbs["rotated"]["ssl_in_use"] == "unknown" and dbs["rotated"]["safe_without_restart"] is False


def test_the_audit_export_in_cloudwatch_logs_gives_the_same_clients(fleet):
    _once(fleet, "exported", "admin", tls=True)
    _once(fleet, "exported", "admin", tls=False)
    by_api, _usage = _run(fleet, ["exported"], log_window_days=1)
    by_cloudwatch, usage = _run(fleet, ["exported", "audited"], log_window_days=1, log_source="auto")
    evidence = by_cloudwatch["exported"]["log_evidence"]
    assert evidence["log_group"] == "/aws/rds/instance/exported/audit" and evidence["files"] == []
    assert evidence["complete"] is True and evidence["retention_days"] is None, evidence["incomplete_reasons"]
    admin = _clients(by_cloudwatch["exported"])[("admin", "127.0.0.1")]
    assert admin == _clients(by_api["exported"])[("admin", "127.0.0.1")] and admin["count"] >= 2
    assert admin["tls"] is None  # the export is the same audit log: no TLS field
    # auto: the instance that does not export its audit log is read through the RDS API.
    assert by_cloudwatch["audited"]["log_evidence"]["files"] == ["audit/server_audit.log"]
    assert "FilterLogEvents" in str(usage["api_calls"]) and "DownloadDBLogFilePortion" in str(usage["api_calls"])
