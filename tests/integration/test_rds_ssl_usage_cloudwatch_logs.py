"""rds_ssl_usage log_source=cloudwatch/auto: real PostgreSQL clients with and without TLS found in the connection
lines RDS exports to CloudWatch Logs, read with FilterLogEvents from the simulator's log groups (issue 18)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from moto.rds.models import rds_backends

from tests.simulator.linked import tools_available

psycopg2 = pytest.importorskip("psycopg2")
_ok, _why = tools_available("postgres")
if not _ok:
    pytestmark = pytest.mark.skip(reason=_why)

REGION = "us-east-1"
LOGGED = {"parameter_group": "pg16-logged", "engine": "postgres", "engine_version": "16.3", "linked": "postgres"}
FLEET = {
    "description": "rds_ssl_usage evidence from CloudWatch Logs",
    "regions": {
        REGION: {
            "default_ca": "rds-ca-rsa2048-g1",
            "parameter_groups": [
                {"name": "pg16-logged", "family": "postgres16",
                 "parameters": {"rds.force_ssl": "0", "log_connections": "1"}},
            ],
            "instances": [
                {"id": "cw-mixed", "cloudwatch_logs_exports": ["postgresql"], **LOGGED},
                {"id": "cw-plain", "cloudwatch_logs_exports": ["postgresql"], **LOGGED},
                {"id": "files-only", **LOGGED},
            ],
        },
    },
}


@pytest.fixture(scope="module")
def fleet(simulator):
    simulator.load(FLEET)
    linked = {item["id"]: item for item in simulator.control("GET", "/_sim/linked").values()}
    bundle = simulator.control("GET", "/_sim/bundle")["path"]
    _connect(simulator, linked, bundle, "cw-mixed", "orders-api", tls=True)
    _connect(simulator, linked, bundle, "cw-mixed", "nightly-report", tls=False)
    _connect(simulator, linked, bundle, "cw-plain", "legacy-batch", tls=False)
    _connect(simulator, linked, bundle, "files-only", "files-api", tls=True)
    return simulator, linked, bundle


def _connect(_sim, linked, bundle, db: str, app: str, tls: bool) -> None:
    info = linked[db]
    kwargs: dict[str, Any] = dict(host=info["address"], hostaddr="127.0.0.1", port=info["port"], user="admin",
                                  password=info["admin_password"], dbname="postgres", application_name=app,
                                  connect_timeout=5)
    kwargs.update(sslmode="verify-full", sslrootcert=bundle) if tls else kwargs.update(sslmode="disable")
    conn = psycopg2.connect(**kwargs)
    conn.close()


def _run(fleet, databases, **options):
    sim, _linked, bundle = fleet
    play = {
        "name": "rds_ssl_usage CloudWatch evidence",
        "hosts": "localhost",
        "gather_facts": False,
        "module_defaults": {"group/rdsca.rotation.rds_ca": {"endpoint_url": "{{ sim_endpoint_url }}",
                                                            "region": REGION}},
        "tasks": [{"name": "usage", "register": "usage", "rdsca.rotation.rds_ssl_usage": {
            "databases": [{"identifier": d} for d in databases], "connect_host": "127.0.0.1", "ca_bundle": bundle,
            "probe": False, **options}}],
        "save": ["usage"],
    }
    result = sim.run_playbook([play])
    assert result.rc == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return {db["identifier"]: db for db in result.results["usage"]["databases"]}, result.results["usage"]


def test_tls_and_plaintext_clients_are_found_in_cloudwatch_logs(fleet):
    dbs, usage = _run(fleet, ["cw-mixed", "cw-plain"], log_window_days=1, log_source="cloudwatch")
    mixed = dbs["cw-mixed"]["log_evidence"]
    assert mixed["complete"] is True, mixed["incomplete_reasons"]
    assert mixed["source"].startswith("CloudWatch Logs FilterLogEvents") and mixed["files"] == []
    assert mixed["log_group"] == "/aws/rds/instance/cw-mixed/postgresql" and mixed["log_stream"] == "cw-mixed"
    apps = {c["application"]: c for c in mixed["clients"]}
    assert apps["orders-api"]["tls"] is True and apps["orders-api"]["protocol"].startswith("TLSv1.")
    assert apps["orders-api"]["address"] == "127.0.0.1" and apps["orders-api"]["user"] == "admin"
    assert apps["nightly-report"]["tls"] is False
    assert dbs["cw-mixed"]["ssl_in_use"] == "yes"
    plain = dbs["cw-plain"]
    assert plain["log_evidence"]["complete"] is True and plain["log_evidence"]["tls_clients"] == 0
    assert plain["ssl_in_use"] == "no" and plain["safe_without_restart"] is True
    # One DescribeLogGroups and one FilterLogEvents page per database; no RDS log file call.
    calls = usage["api_calls"][REGION]
    assert calls["DescribeLogGroups"] == 2 and calls["FilterLogEvents"] == 2, calls
    assert "DescribeDBLogFiles" not in calls and "DownloadDBLogFilePortion" not in calls, calls


def test_retention_shorter_than_the_window_is_incomplete_not_no_tls(fleet):
    sim, _linked, _bundle = fleet
    # An instance created ten days ago: the whole three-day window needs evidence.
    db = rds_backends[sim.sim.fleet.account_id][REGION].databases["cw-plain"]
    db.instance_create_time = db.created = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=10)
    logs = sim.client("logs", REGION)
    logs.put_retention_policy(logGroupName="/aws/rds/instance/cw-plain/postgresql", retentionInDays=1)
    try:
        dbs, _usage = _run(fleet, ["cw-plain"], log_window_days=3, log_source="cloudwatch")
    finally:
        logs.delete_retention_policy(logGroupName="/aws/rds/instance/cw-plain/postgresql")
    plain = dbs["cw-plain"]
    evidence = plain["log_evidence"]
    assert evidence["complete"] is False and evidence["retention_days"] == 1
    assert any("retentionInDays" in r for r in evidence["incomplete_reasons"]), evidence["incomplete_reasons"]
    assert evidence["tls_clients"] == 0
    # The logs show no TLS client but cannot prove none: never "no", never safe on that evidence.
    assert plain["ssl_in_use"] != "no" and plain["safe_without_restart"] is not True


def test_auto_reads_cloudwatch_for_exporting_instances_and_files_for_the_others(fleet):
    dbs, _usage = _run(fleet, ["cw-mixed", "files-only"], log_window_days=1, log_source="auto")
    assert dbs["cw-mixed"]["log_evidence"]["log_group"] == "/aws/rds/instance/cw-mixed/postgresql"
    files = dbs["files-only"]["log_evidence"]
    assert files["source"].startswith("DescribeDBLogFiles") and files["files"] and files["complete"] is True
    assert "files-api" in {c["application"] for c in files["clients"] if c["tls"]}


def test_cloudwatch_for_an_instance_that_does_not_export_is_incomplete(fleet):
    dbs, _usage = _run(fleet, ["files-only"], log_window_days=1, log_source="cloudwatch")
    evidence = dbs["files-only"]["log_evidence"]
    assert evidence["complete"] is False and evidence["clients"] == []
    reasons = " ".join(evidence["incomplete_reasons"])
    assert "does not exist" in reasons and "EnabledCloudwatchLogsExports" in reasons
    assert dbs["files-only"]["ssl_in_use"] != "no"


def test_bad_log_source_is_refused(fleet):
    sim, _linked, bundle = fleet
    play = {"name": "bad", "hosts": "localhost", "gather_facts": False,
            "module_defaults": {"group/rdsca.rotation.rds_ca": {"endpoint_url": "{{ sim_endpoint_url }}",
                                                                "region": REGION}},
            "tasks": [{"name": "usage", "rdsca.rotation.rds_ssl_usage": {
                "identifier": "cw-mixed", "ca_bundle": bundle, "log_window_days": 1, "log_source": "s3"}}]}
    result = sim.run_playbook([play])
    assert result.rc != 0 and "log_source" in result.stdout and "cloudwatch" in result.stdout


def test_throttled_cloudwatch_calls_are_retried_and_the_evidence_stays_complete(fleet):
    sim, _linked, _bundle = fleet
    sim.reset_calls()
    sim.faults([{"operation": "DescribeLogGroups", "error": "Throttling", "count": 1},
                {"operation": "FilterLogEvents", "error": "Throttling", "count": 2}])
    try:
        dbs, _usage = _run(fleet, ["cw-mixed"], log_window_days=1, log_source="cloudwatch", strict=True)
    finally:
        sim.clear_faults()
    evidence = dbs["cw-mixed"]["log_evidence"]
    assert evidence["complete"] is True and evidence["errors"] == [] and evidence["tls_clients"] >= 1
    # CloudWatch Logs answered ThrottlingException three times; the client backed off and read everything.
    assert sim.calls()["errors"] == {"logs:us-east-1:DescribeLogGroups": 1, "logs:us-east-1:FilterLogEvents": 2}
