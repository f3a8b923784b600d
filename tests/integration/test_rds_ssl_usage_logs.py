"""rds_ssl_usage log_window_days: real PostgreSQL clients with and without TLS found in the connection logs that the
simulator serves through DescribeDBLogFiles/DownloadDBLogFilePortion, without a database login (issue 18)."""

from __future__ import annotations

from typing import Any

import datetime
import sys

import pytest

from tests.integration.conftest import COLLECTIONS_PATH, _ensure_collection_link
from tests.simulator import rds_ext
from tests.simulator.linked import tools_available

_ensure_collection_link()
if COLLECTIONS_PATH not in sys.path:
    sys.path.insert(0, COLLECTIONS_PATH)

from ansible_collections.rdsca.rotation.plugins.module_utils import aws as aws_utils  # noqa: E402
from ansible_collections.rdsca.rotation.plugins.module_utils import pg_connection_log  # noqa: E402

psycopg2 = pytest.importorskip("psycopg2")
_ok, _why = tools_available("postgres")
if not _ok:
    pytestmark = pytest.mark.skip(reason=_why)

REGION = "us-east-1"
FLEET = {
    "description": "rds_ssl_usage log evidence: connection logs on, off, and an engine without log evidence",
    "regions": {
        REGION: {
            "default_ca": "rds-ca-rsa2048-g1",
            "parameter_groups": [
                {"name": "pg16-logged", "family": "postgres16",
                 "parameters": {"rds.force_ssl": "0", "log_connections": "1"}},
                {"name": "pg16-quiet", "family": "postgres16", "parameters": {"rds.force_ssl": "0"}},
                {"name": "pg16-switched", "family": "postgres16", "parameters": {"rds.force_ssl": "0"}},
                # A prefix of its own, without the client address: the parser pairs "connection received: host=" by %p.
                {"name": "pg16-prefixed", "family": "postgres16",
                 "parameters": {"rds.force_ssl": "0", "log_connections": "1", "log_line_prefix": "%m [%p] "}},
            ],
            "instances": [
                {"id": "mixed-pg", "engine": "postgres", "engine_version": "16.3", "linked": "postgres",
                 "parameter_group": "pg16-logged"},
                {"id": "plain-pg", "engine": "postgres", "engine_version": "16.3", "linked": "postgres",
                 "parameter_group": "pg16-logged"},
                {"id": "quiet-pg", "engine": "postgres", "engine_version": "16.3", "linked": "postgres",
                 "parameter_group": "pg16-quiet"},
                {"id": "switched-pg", "engine": "postgres", "engine_version": "16.3", "linked": "postgres",
                 "parameter_group": "pg16-switched"},
                {"id": "prefixed-pg", "engine": "postgres", "engine_version": "16.3", "linked": "postgres",
                 "parameter_group": "pg16-prefixed"},
                {"id": "maria", "engine": "mariadb", "engine_version": "10.11.8"},
                {"id": "busy-pg", "engine": "postgres", "engine_version": "16.3"},
            ],
        },
    },
}


@pytest.fixture(scope="module")
def fleet(simulator):
    simulator.load(FLEET)
    linked = {item["id"]: item for item in simulator.control("GET", "/_sim/linked").values()}
    bundle = simulator.control("GET", "/_sim/bundle")["path"]
    return simulator, linked, bundle


def _connect(fleet, db: str, app: str, tls: bool) -> None:
    _sim, linked, bundle = fleet
    info = linked[db]
    kwargs: dict[str, Any] = dict(host=info["address"], hostaddr="127.0.0.1", port=info["port"], user="admin",
                                  password=info["admin_password"], dbname="postgres", application_name=app,
                                  connect_timeout=5)
    kwargs.update(sslmode="verify-full", sslrootcert=bundle) if tls else kwargs.update(sslmode="disable")
    conn = psycopg2.connect(**kwargs)
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
    conn.close()


def _run(fleet, databases, **options):
    sim, _linked, bundle = fleet
    play = {
        "name": "rds_ssl_usage log evidence",
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


def test_tls_and_plaintext_clients_are_found_in_the_logs_without_credentials(fleet):
    _connect(fleet, "mixed-pg", "orders-api", tls=True)
    _connect(fleet, "mixed-pg", "orders-api", tls=True)
    _connect(fleet, "mixed-pg", "nightly-report", tls=False)
    _connect(fleet, "plain-pg", "legacy-batch", tls=False)
    _connect(fleet, "quiet-pg", "unseen-api", tls=True)
    dbs, usage = _run(fleet, ["mixed-pg", "plain-pg", "quiet-pg", "maria"], log_window_days=1)

    mixed = dbs["mixed-pg"]
    evidence = mixed["log_evidence"]
    assert evidence["available"] is True and evidence["complete"] is True, evidence["incomplete_reasons"]
    assert evidence["log_line_prefix"] == "%t:%r:%u@%d:[%p]:" and evidence["files"]
    apps = {c["application"]: c for c in evidence["clients"]}
    assert apps["orders-api"]["tls"] is True and apps["orders-api"]["protocol"].startswith("TLSv1.")
    assert apps["orders-api"]["count"] == 2 and apps["orders-api"]["address"] == "127.0.0.1"
    assert apps["orders-api"]["user"] == "admin" and apps["orders-api"]["database"] == "postgres"
    assert apps["orders-api"]["first_seen"] <= apps["orders-api"]["last_seen"]
    assert apps["nightly-report"]["tls"] is False and apps["nightly-report"]["protocol"] is None
    # No login was given: the verdict comes from the logs alone.
    assert mixed["ssl_in_use"] == "yes" and "TLS client(s) over 1.0 day(s) of connection logs" in mixed["ssl_in_use_reason"]
    assert mixed["safe_without_restart"] is False

    # Only plaintext clients in complete logs: provably unused over the window, so restart-free is safe.
    plain = dbs["plain-pg"]
    assert plain["log_evidence"]["complete"] is True and plain["log_evidence"]["tls_clients"] == 0
    assert "legacy-batch" in {c["application"] for c in plain["log_evidence"]["clients"]}
    assert plain["ssl_in_use"] == "no" and plain["safe_without_restart"] is True, plain["safe_without_restart_reason"]

    # log_connections off: incomplete evidence, never "no TLS".
    quiet = dbs["quiet-pg"]
    assert quiet["log_evidence"]["complete"] is False and quiet["log_evidence"]["clients"] == []
    assert "log_connections is off in parameter group pg16-quiet" in quiet["log_evidence"]["reason"]
    assert quiet["ssl_in_use"] == "unknown" and "incomplete" in quiet["ssl_in_use_reason"]
    assert quiet["safe_without_restart"] is False

    # MariaDB on its default option group (no MARIADB_AUDIT_PLUGIN): its audit evidence is incomplete, not "no TLS"
    # (tests/integration/test_rds_ssl_usage_audit_logs.py covers the audit log itself).
    maria = dbs["maria"]
    assert maria["log_evidence"]["available"] is True and maria["log_evidence"]["complete"] is False
    assert "has no MARIADB_AUDIT_PLUGIN option" in maria["log_evidence"]["reason"]
    assert maria["ssl_in_use"] == "unknown" and "incomplete" in maria["ssl_in_use_reason"]

    assert usage["summary"]["log_evidence"] == {"complete": 2, "incomplete": 2, "unavailable": 0}
    calls = usage["api_calls"]
    assert "DownloadDBLogFilePortion" in str(calls) and "DescribeDBLogFiles" in str(calls)


def test_without_log_window_days_no_logs_are_read(fleet):
    dbs, usage = _run(fleet, ["mixed-pg"])
    assert "log_evidence" not in dbs["mixed-pg"] and "log_evidence" not in usage["summary"]
    assert "DescribeDBLogFiles" not in str(usage["api_calls"])
    assert dbs["mixed-pg"]["ssl_in_use"] == "unknown"


@pytest.mark.parametrize("days,words", [(-1, "log_window_days must be 0 or more, got -1"),
                                        (32, "log_window_days must be at most 31 (days), got 32"),
                                        ("nan", "log_window_days must be a finite number, got nan")])
def test_bad_log_window_days_fails_before_any_call(fleet, days, words):
    sim, _linked, _bundle = fleet
    play = {"hosts": "localhost", "gather_facts": False, "tasks": [{"rdsca.rotation.rds_ssl_usage": {
        "identifier": "mixed-pg", "region": REGION, "endpoint_url": "{{ sim_endpoint_url }}",
        "log_window_days": days}}]}
    sim.reset_calls()
    result = sim.run_playbook([play])
    assert result.rc != 0 and words in result.stdout, result.stdout[-3000:]
    assert sim.calls()["total"] == 0


def test_portions_rds_truncates_at_one_megabyte_are_read_again_in_smaller_blocks(fleet, tmp_path):
    """2000 lines of 1 KB do not fit in one 1 MB portion: the reader goes back to the same marker with fewer lines
    and loses nothing (against the simulator's DownloadDBLogFilePortion, through boto3)."""
    sim, _linked, _bundle = fleet
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    padding = "x" * 900
    lines = []
    for n in range(2500):
        lines.append(f"{stamp}:10.0.0.9({n + 1000}):app@orders:[{n + 10}]:LOG:  connection authorized: user=app "
                     f"database=orders application_name={'tls' if n % 2 else 'plain'}-{padding}"
                     + (" SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)\n" if n % 2 else "\n"))
    log = tmp_path / "postgresql.log"
    log.write_text("".join(lines), encoding="utf-8")
    key = (sim.sim.fleet.account_id, REGION, "busy-pg")
    rds_ext.STATE.log_sources[key] = log
    try:
        client = sim.client()
        name = client.describe_db_log_files(DBInstanceIdentifier="busy-pg")["DescribeDBLogFiles"][0]["LogFileName"]
        whole = client.download_db_log_file_portion(DBInstanceIdentifier="busy-pg", LogFileName=name, Marker="0",
                                                    NumberOfLines=2000)
        assert whole["LogFileData"].endswith(pg_connection_log.TRUNCATION_NOTICE + "\n")  # RDS's cut, as modelled
        reader = pg_connection_log.ConnectionLog()
        problems = pg_connection_log.read_log_file(aws_utils.call, client, "busy-pg", name, reader)
        assert problems == [] and reader.truncated_portions == 0
        assert reader.connections == 2500
        counts = {c["tls"]: c["count"] for c in reader.clients()}
        assert counts == {True: 1250, False: 1250}
    finally:
        rds_ext.STATE.log_sources.pop(key, None)


def test_throttled_log_calls_are_retried_and_the_evidence_stays_complete(fleet):
    sim, _linked, _bundle = fleet
    _connect(fleet, "mixed-pg", "orders-api", tls=True)
    sim.reset_calls()
    sim.faults([{"operation": "DescribeDBLogFiles", "error": "Throttling", "count": 1},
                {"operation": "DownloadDBLogFilePortion", "error": "Throttling", "count": 2}])
    try:
        dbs, _usage = _run(fleet, ["mixed-pg"], log_window_days=1, probe=False, strict=True)
    finally:
        sim.clear_faults()
    evidence = dbs["mixed-pg"]["log_evidence"]
    assert evidence["complete"] is True and evidence["errors"] == [] and evidence["tls_clients"] >= 1
    # The faults were served (and retried past): the evidence above is complete all the same.
    assert sim.calls()["errors"] == {"rds:us-east-1:DescribeDBLogFiles": 1, "rds:us-east-1:DownloadDBLogFilePortion": 2}


def _set_log_connections(fleet, value: str) -> None:
    sim, _linked, _bundle = fleet
    sim.client().modify_db_parameter_group(DBParameterGroupName="pg16-switched", Parameters=[
        {"ParameterName": "log_connections", "ParameterValue": value, "ApplyMethod": "immediate"}])


def test_log_connections_turned_on_late_leaves_the_window_incomplete_and_off_says_since_when(fleet):
    """The parameter group says what log_connections is now, not since when: the server log's reload line does. A
    TLS client that connected before logging was turned on is in no log, so the window is incomplete (not "only
    these clients"); once turned off again, the evidence says since when."""
    _connect(fleet, "switched-pg", "before-logging", tls=True)
    _set_log_connections(fleet, "1")
    _connect(fleet, "switched-pg", "after-logging", tls=True)
    dbs, _usage = _run(fleet, ["switched-pg"], log_window_days=1, probe=False)
    evidence = dbs["switched-pg"]["log_evidence"]
    # (The simulator's own superuser checks the reload over the unix socket: user postgres, [local].)
    assert [c["application"] for c in evidence["clients"] if c["user"] == "admin"] == ["after-logging"]
    assert evidence["complete"] is False, evidence
    assert "log_connections was off from " in evidence["reason"] and "(the server log: a reload turned it on)" in evidence["reason"]
    assert dbs["switched-pg"]["ssl_in_use"] == "yes" and dbs["switched-pg"]["safe_without_restart"] is False

    _set_log_connections(fleet, "0")
    dbs, _usage = _run(fleet, ["switched-pg"], log_window_days=1, probe=False)
    reason = dbs["switched-pg"]["log_evidence"]["reason"]
    assert "log_connections is off in parameter group pg16-switched since " in reason, reason
    assert "(the server log: a reload turned it off)" in reason


def test_the_log_line_prefix_is_parsed_as_the_parameter_group_configures_it(fleet):
    """A real server logging with the parameter group's own prefix (%m [%p], no address in it): the clients are found,
    their address paired from the "connection received" line of the same process."""
    _connect(fleet, "prefixed-pg", "prefixed-api", tls=True)
    _connect(fleet, "prefixed-pg", "prefixed-batch", tls=False)
    dbs, _usage = _run(fleet, ["prefixed-pg"], log_window_days=1, probe=False)
    evidence = dbs["prefixed-pg"]["log_evidence"]
    assert evidence["log_line_prefix"] == "%m [%p] " and evidence["complete"] is True, evidence
    apps = {c["application"]: c for c in evidence["clients"] if c["user"] == "admin"}
    assert apps["prefixed-api"]["tls"] is True and apps["prefixed-api"]["address"] == "127.0.0.1"
    assert apps["prefixed-batch"]["tls"] is False and apps["prefixed-batch"]["address"] == "127.0.0.1"
    assert apps["prefixed-api"]["first_seen"].endswith("Z")


def test_describe_db_log_files_pages_are_followed_by_marker(fleet, tmp_path):
    """Forty-six hourly files, read twenty a page (RDS's smallest MaxRecords): the collection's walk
    (pg_connection_log.list_log_files over aws.paginate) follows DescribeDBLogFiles' Marker to the last page and lists
    every file once."""
    sim, _linked, _bundle = fleet
    now = datetime.datetime.now(datetime.timezone.utc).replace(minute=0, second=0, microsecond=0)
    lines = [f"{(now - datetime.timedelta(hours=h)).strftime('%Y-%m-%d %H:%M:%S UTC')}::@:[1]:LOG:  checkpoint starting: time\n"
             for h in range(45, -1, -1)]
    log = tmp_path / "postgresql.log"
    log.write_text("".join(lines), encoding="utf-8")
    key = (sim.sim.fleet.account_id, REGION, "busy-pg")
    rds_ext.STATE.log_sources[key] = log
    try:
        client = sim.client()
        sim.reset_calls()

        def paginate(client, method, key, **params):
            return aws_utils.paginate(client, method, key, page_size=20, **params)

        since = int((now - datetime.timedelta(days=2)).timestamp() * 1000)
        files = pg_connection_log.list_log_files(paginate, client, "busy-pg", since)
        names = [f["LogFileName"] for f in files]
        assert len(names) == 46 and len(set(names)) == 46, names
        assert sim.calls()["by_region"][REGION].get("rds:DescribeDBLogFiles", 0) == 3, sim.calls()
    finally:
        rds_ext.STATE.log_sources.pop(key, None)
