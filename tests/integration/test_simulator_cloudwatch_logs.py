"""CloudWatch Logs FilterLogEvents on RDS's PostgreSQL log group, served from a linked server's real log."""

from __future__ import annotations

import datetime as dt
import json
import re
import time

import botocore.exceptions
import botocore.validate
import psycopg2
import pytest

from tests.simulator.fleet import FleetError, parse_fleet
from tests.simulator.linked import tools_available

FLEET = {
    "timing": {"modify_seconds": 0.3, "reboot_seconds": 0.3},
    "regions": {
        "us-east-1": {
            "parameter_groups": [{"name": "pg16-logged", "family": "postgres16",
                                  "parameters": {"log_connections": "1", "rds.force_ssl": "0"}}],
            "instances": [
                {"id": "exported", "engine": "postgres", "engine_version": "16.3", "parameter_group": "pg16-logged",
                 "linked": "postgres", "cloudwatch_logs_exports": ["postgresql"]},
                {"id": "local-only", "engine": "postgres", "engine_version": "16.3", "parameter_group": "pg16-logged",
                 "linked": "postgres"},
            ],
            "clusters": [
                {"id": "stock", "engine": "aurora-postgresql", "engine_version": "15.4",
                 "cloudwatch_logs_exports": ["postgresql"],
                 "members": [{"id": "stock-1", "writer": True, "linked": "postgres"}, {"id": "stock-2"}]},
            ],
        },
    },
}
GROUP = "/aws/rds/instance/exported/postgresql"


@pytest.fixture(scope="module")
def cw(simulator):
    ok, reason = tools_available("postgres")
    if not ok:
        pytest.skip(reason)
    simulator.load(FLEET)
    yield simulator


def _connect(sim, db_id, sslmode, application_name):
    db = sim.client().describe_db_instances(DBInstanceIdentifier=db_id)["DBInstances"][0]
    server = sim.sim.linker.databases[(sim.sim.fleet.account_id, "us-east-1", db_id)].server
    conn = psycopg2.connect(host="127.0.0.1", port=db["Endpoint"]["Port"], user="admin", dbname="admin",
                            password=server.admin_password, sslmode=sslmode, connect_timeout=10,
                            application_name=application_name)
    conn.close()


def _all_events(logs, **params):
    events, pages, token = [], 0, None
    while True:
        answer = logs.filter_log_events(logGroupName=GROUP, **params, **({"nextToken": token} if token else {}))
        pages += 1
        events += answer["events"]
        token = answer.get("nextToken")
        if not token:
            return events, pages


def _wait_for(logs, text, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        events, _pages = _all_events(logs)
        if any(text in e["message"] for e in events) or time.monotonic() > deadline:
            return events
        time.sleep(0.2)


def test_exported_instance_shows_in_describe_db_instances(cw):
    dbs = {d["DBInstanceIdentifier"]: d for d in cw.client().describe_db_instances()["DBInstances"]}
    assert dbs["exported"]["EnabledCloudwatchLogsExports"] == ["postgresql"]
    assert not dbs["local-only"].get("EnabledCloudwatchLogsExports")


def test_each_log_line_is_one_event_with_its_prefix(cw):
    _connect(cw, "exported", "require", "cw-tls")
    _connect(cw, "exported", "disable", "cw-plain")
    logs = cw.client("logs")
    events = _wait_for(logs, "application_name=cw-plain")
    messages = [e["message"] for e in events]
    tls = [m for m in messages if "application_name=cw-tls" in m]
    assert tls and re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC:127\.0\.0\.1\(\d+\):admin@admin:\[\d+\]:LOG:  "
                            r"connection authorized: user=admin database=admin application_name=cw-tls "
                            r"SSL enabled \(protocol=TLSv1\.[23], cipher=\S+, bits=\d+\)$", tls[0]), tls
    assert any(m.endswith("application_name=cw-plain") for m in messages)
    assert all("\n" not in m and not m.startswith("--- ") for m in messages)
    stream = {e["logStreamName"] for e in events}
    assert stream == {"exported"}
    # The event's time is the line's own time.
    line = tls[0]
    stamp = dt.datetime.strptime(line[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.timezone.utc)
    event = next(e for e in events if e["message"] == line)
    assert event["timestamp"] == int(stamp.timestamp() * 1000)


def test_group_exists_only_for_exporting_instances(cw):
    logs = cw.client("logs")
    names = [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix="/aws/rds/")["logGroups"]]
    assert sorted(names) == ["/aws/rds/cluster/stock/postgresql", GROUP]
    group = logs.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"][0]
    assert "retentionInDays" not in group  # RDS creates it without a retention policy: never expire
    with pytest.raises(botocore.exceptions.ClientError) as err:
        logs.filter_log_events(logGroupName="/aws/rds/instance/local-only/postgresql")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_paging_and_time_window(cw):
    logs = cw.client("logs")
    everything, _pages = _all_events(logs)
    assert len(everything) >= 4
    paged, pages = _all_events(logs, limit=2)
    assert [e["eventId"] for e in paged] == [e["eventId"] for e in everything]
    assert pages >= 2
    future = int((dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)).timestamp() * 1000)
    assert _all_events(logs, startTime=future)[0] == []
    last = everything[-1]["timestamp"]
    assert all(e["timestamp"] <= last - 1 for e in _all_events(logs, endTime=last - 1)[0])
    with pytest.raises(botocore.exceptions.ClientError) as err:
        logs.filter_log_events(logGroupName=GROUP, limit=10001)
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"


def test_a_page_stops_at_one_megabyte(cw):
    # Long lines (a long application_name or statement), written as the server writes them.
    server = cw.sim.linker.databases[(cw.sim.fleet.account_id, "us-east-1", "exported")].server
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    line = f"{now}:127.0.0.1(5000):admin@admin:[4242]:LOG:  statement: SELECT '{'x' * 2000}'\n".encode()
    with server.log_path.open("ab") as handle:
        handle.write(line * 1200)  # about 2.4 MB
    logs = cw.client("logs")
    first = logs.filter_log_events(logGroupName=GROUP)
    size = sum(len(e["message"].encode()) + 26 for e in first["events"])
    assert size <= 1024 * 1024 and first.get("nextToken")
    everything, pages = _all_events(logs)
    assert pages >= 3
    assert sum(1 for e in everything if "[4242]" in e["message"]) == 1200


def test_retention_drops_older_events(cw):
    server = cw.sim.linker.databases[(cw.sim.fleet.account_id, "us-east-1", "exported")].server
    old = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=2)).strftime("%Y-%m-%d %H:%M:%S UTC")
    with server.log_path.open("ab") as handle:
        handle.write(f"{old}:10.9.9.9(5000):old@orders:[77]:LOG:  connection authorized: user=old database=orders\n"
                     .encode())
    logs = cw.client("logs")
    three_days_ago = int((dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=3)).timestamp() * 1000)
    before, _pages = _all_events(logs, startTime=three_days_ago)
    assert any("user=old" in e["message"] for e in before)
    logs.put_retention_policy(logGroupName=GROUP, retentionInDays=1)
    try:
        assert logs.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"][0]["retentionInDays"] == 1
        after, _pages = _all_events(logs, startTime=three_days_ago)
        assert not any("user=old" in e["message"] for e in after)
        assert len(after) == len(before) - 1
    finally:
        logs.delete_retention_policy(logGroupName=GROUP)


def test_modify_db_instance_turns_the_export_on(cw):
    rds = cw.client()
    cw.client("logs").describe_log_groups()  # the simulator publishes when CloudWatch Logs is asked
    rds.modify_db_instance(DBInstanceIdentifier="local-only", ApplyImmediately=True,
                           CloudwatchLogsExportConfiguration={"EnableLogTypes": ["postgresql"]})
    db = rds.describe_db_instances(DBInstanceIdentifier="local-only")["DBInstances"][0]
    assert db["EnabledCloudwatchLogsExports"] == ["postgresql"]
    _connect(cw, "local-only", "require", "after-export")
    logs = cw.client("logs")
    deadline = time.monotonic() + 10
    while True:
        events = logs.filter_log_events(logGroupName="/aws/rds/instance/local-only/postgresql")["events"]
        if any("application_name=after-export" in e["message"] for e in events) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    messages = [e["message"] for e in events]
    assert any("application_name=after-export" in m for m in messages)
    # Lines written before the export was turned on are not published.
    assert not any("database system is ready" in m for m in messages)


def test_aurora_members_publish_to_the_cluster_group_in_their_own_stream(cw):
    assert cw.client().describe_db_clusters(DBClusterIdentifier="stock")["DBClusters"][0][
        "EnabledCloudwatchLogsExports"] == ["postgresql"]
    logs = cw.client("logs")
    events = logs.filter_log_events(logGroupName="/aws/rds/cluster/stock/postgresql")["events"]
    assert events and {e["logStreamName"] for e in events} == {"stock-1"}
    assert any("database system is ready to accept connections" in e["message"] for e in events)


def test_answers_conform_to_botocore_shapes(cw):
    """The raw JSON of DescribeLogGroups and FilterLogEvents (the 1 MB cut included) holds only members of
    botocore's output shapes, of their types."""
    logs = cw.client("logs")
    bodies: list[bytes] = []
    logs.meta.events.register("before-parse.logs.*", lambda response_dict, **_kw: bodies.append(response_dict["body"]))
    validator = botocore.validate.ParamValidator()
    for operation, params in (("describe_log_groups", {"logGroupNamePrefix": "/aws/rds/"}),
                              ("filter_log_events", {"logGroupName": GROUP}),
                              ("filter_log_events", {"logGroupName": GROUP, "limit": 3})):
        bodies.clear()
        getattr(logs, operation)(**params)
        model = logs.meta.service_model.operation_model(logs.meta.method_to_api_mapping[operation])
        raw = {k: v for k, v in json.loads(bodies[0]).items() if v is not None}
        report = validator.validate(raw, model.output_shape)
        assert not report.has_errors(), (operation, report.generate_report())


@pytest.mark.parametrize("exports, words", [
    (["slowquery"], "instances[0].cloudwatch_logs_exports: a list of ['postgresql', 'upgrade', 'iam-db-auth-error']"),
    ("postgresql", "instances[0].cloudwatch_logs_exports"),
])
def test_a_bad_export_list_is_refused_with_its_path(exports, words):
    bad = {"regions": {"us-east-1": {"instances": [
        {"id": "x", "engine": "postgres", "engine_version": "16.3", "cloudwatch_logs_exports": exports}]}}}
    with pytest.raises(FleetError) as err:
        parse_fleet(bad)
    assert words in str(err.value)
