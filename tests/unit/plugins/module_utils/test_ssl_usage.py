# -*- coding: utf-8 -*-
# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""ssl_usage: enforcement, session rows, the sampling window, verdicts, AWS lookups and the per-database flow."""

from __future__ import absolute_import, division, print_function

import datetime
import socket
import ssl
import threading

import botocore.exceptions
import pytest

from ansible_collections.rdsca.rotation.plugins.module_utils import ssl_usage
from ansible_collections.rdsca.rotation.plugins.module_utils.ssl_usage import NO, UNKNOWN, YES

UTC = datetime.timezone.utc


# -- enforcement ---------------------------------------------------------------------------

@pytest.mark.parametrize("engine, version, parameter, default", [
    ("postgres", "11.22", "rds.force_ssl", "0"),
    ("postgres", "9.6.24", "rds.force_ssl", "0"),
    ("postgres", "14.12", "rds.force_ssl", "0"),
    ("postgres", "15.5", "rds.force_ssl", "1"),
    ("postgres", "16.3", "rds.force_ssl", "1"),
    ("aurora-postgresql", "13.12", "rds.force_ssl", "0"),
    ("aurora-postgresql", "15.4", "rds.force_ssl", "1"),
    ("postgres", None, "rds.force_ssl", None),
    ("mysql", "8.0.36", "require_secure_transport", "0"),
    ("mariadb", "10.11.8", "require_secure_transport", "0"),
    ("aurora-mysql", "8.0.mysql_aurora.3.05.2", "require_secure_transport", "0"),
    ("sqlserver-se", "15.00.4355.3.v1", "rds.force_ssl", "0"),
    ("oracle-ee", "19.0.0.0.ru-2024-04.rur-2024-04.r1", None, None),
    (None, None, None, None),
])
def test_parameter_and_engine_default(engine, version, parameter, default):
    assert ssl_usage.enforcement_parameter(engine) == parameter
    assert ssl_usage.engine_default(engine, version) == default


@pytest.mark.parametrize("value, expected", [
    ("1", True), ("0", False), ("ON", True), ("off", False), (1, True), (0, False), (True, True), ("true", True),
    (None, None), ("", None), ("{DBInstanceClassMemory/1000}", None),
])
def test_parse_flag(value, expected):
    assert ssl_usage.parse_flag(value) is expected


def test_parameter_value():
    params = [{"ParameterName": "rds.force_ssl", "ParameterValue": "0", "Source": "user"},
              {"ParameterName": "work_mem", "ParameterValue": "4096", "Source": "engine-default"}]
    assert ssl_usage.parameter_value(params, "rds.force_ssl") == ("0", "user")
    assert ssl_usage.parameter_value(params, "require_secure_transport") == (None, None)
    # A parameter listed without value (engine default not spelled out) is "not set".
    assert ssl_usage.parameter_value([{"ParameterName": "rds.force_ssl"}], "rds.force_ssl") == (None, None)


def test_enforcement_from_parameter_group_engine_default_and_override():
    pg11 = ssl_usage.enforcement_facts("postgres", "11.22", {"name": "default.postgres11", "type": "instance",
                                                             "apply_status": "in-sync", "value": "0", "source": "system"})
    assert (pg11["enforced"], pg11["enforced_by"], pg11["api_value"], pg11["api_source"]) == (False, "parameter_group", "0", "parameter_group")
    pg16 = ssl_usage.enforcement_facts("postgres", "16.3", {"name": "default.postgres16", "type": "instance", "value": "1"})
    assert (pg16["enforced"], pg16["api_value"], pg16["engine_default"]) == (True, "1", "1")
    override = ssl_usage.enforcement_facts("postgres", "16.3", {"name": "pg16-no-ssl", "value": "0", "source": "user"})
    assert (override["enforced"], override["parameter_source"], override["engine_default"]) == (False, "user", "1")
    missing = ssl_usage.enforcement_facts("postgres", "16.3", {"name": "custom", "value": None})
    assert (missing["enforced"], missing["enforced_by"], missing["api_value"]) == (True, "engine_default", "1")
    mysql = ssl_usage.enforcement_facts("mysql", "8.0.36", {"name": "strict", "value": "ON"})
    assert mysql["enforced"] is True and mysql["parameter"] == "require_secure_transport"


def test_enforcement_live_value_wins_and_differences_are_noted():
    facts = ssl_usage.enforcement_facts("postgres", "13.15", {"name": "g", "value": "1", "apply_status": "pending-reboot"},
                                        live_value="0")
    assert facts["enforced"] is False and facts["enforced_by"] == "live"
    assert "rds.force_ssl=0 but the parameter group says 1 (apply status: pending-reboot)" in facts["note"]
    same = ssl_usage.enforcement_facts("mariadb", "10.11.8", {"name": "g", "value": "0"}, live_value=0)
    assert same["enforced"] is False and same["note"] is None and same["live_value"] == "0"


def test_enforcement_unknowns():
    failed = ssl_usage.enforcement_facts("postgres", "16.3", None, api_error="DescribeDBParameters failed: AccessDenied")
    assert failed["enforced"] == UNKNOWN and failed["api_value"] is None and failed["error"].endswith("AccessDenied")
    oracle = ssl_usage.enforcement_facts("oracle-ee", "19", None)
    assert oracle["enforced"] == UNKNOWN and oracle["parameter"] is None and "separate listener" in oracle["note"]
    assert ssl_usage.enforcement_facts(None, None)["note"] == "the engine is unknown"


# -- sessions --------------------------------------------------------------------------------

START = datetime.datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)


def pg_row(pid, user="app", database="orders", app="billing", address="10.0.1.5", port=51000, ssl_flag=True,
           version="TLSv1.3", cipher="TLS_AES_256_GCM_SHA384", backend_type="client backend"):
    return (pid, user, database, app, address, port, backend_type, START, "idle", ssl_flag,
            version if ssl_flag else None, cipher if ssl_flag else None, 256 if ssl_flag else None)


def test_pg_session_rows():
    tls = ssl_usage.pg_session_from_row(pg_row(101))
    assert tls["transport"] == "ssl" and tls["ssl"] is True and tls["tls_version"] == "TLSv1.3"
    assert tls["key"] == "101@2026-11-28T12:00:00+00:00" and tls["client_port"] == 51000
    plain = ssl_usage.pg_session_from_row(pg_row(102, ssl_flag=False))
    assert plain["transport"] == "tcp" and plain["ssl"] is False and plain["cipher"] is None
    local = ssl_usage.pg_session_from_row(pg_row(103, address=None, port=-1, ssl_flag=False))
    assert local["transport"] == "local" and local["client_port"] is None
    hidden = ssl_usage.pg_session_from_row(pg_row(104, app="", address=None, port=None, ssl_flag=None))
    assert hidden["transport"] == "unknown" and hidden["ssl"] is None and hidden["application_name"] is None


class FakeCursor:
    """Answers queries by the first key found in the SQL text; records what ran."""

    def __init__(self, answers):
        self.answers = answers
        self.executed = []
        self._rows = []

    def execute(self, sql, params=None):
        self.executed.append((sql, params))
        for key, rows in self.answers.items():
            if key in sql:
                if isinstance(rows, Exception):
                    raise rows
                self._rows = rows() if callable(rows) else rows
                return
        raise AssertionError("unexpected SQL: %s" % sql)

    def fetchall(self):
        return list(self._rows)

    def fetchone(self):
        return self._rows[0]


def test_pg_sessions_query_excludes_users_and_picks_the_version_query():
    cursor = FakeCursor({"pg_stat_activity": [pg_row(1)]})
    sessions = ssl_usage.pg_sessions(cursor, 150004, ["rdsadmin"])
    assert len(sessions) == 1
    sql, params = cursor.executed[0]
    assert "backend_type IN ('client backend', 'walsender')" in sql and "pg_backend_pid()" in sql
    assert params == (["rdsadmin"],)
    ssl_usage.pg_sessions(cursor, 90624, ["rdsadmin"])
    assert "backend_type IN" not in cursor.executed[1][0]


THREADS = [
    # THREAD_ID, PROCESSLIST_ID, USER, HOST, DB, CONNECTION_TYPE, COMMAND, processlist HOST
    (20, 7, "app", "10.0.1.5", "orders", "SSL/TLS", "Sleep", "10.0.1.5:40001"),
    (21, 8, "report", "10.0.2.9", None, "TCP/IP", "Query", "10.0.2.9:40002"),
    (22, 9, "root", "localhost", None, "Socket", "Sleep", "localhost"),
    (23, 10, "rdsadmin", "localhost", "mysql", "Socket", "Sleep", "localhost"),
    (24, 11, "system user", None, None, None, "Daemon", None),
    (25, 12, "unauthenticated user", "10.0.3.3", None, "TCP/IP", "Connect", "10.0.3.3:40003"),
    (26, 13, "repl", "10.0.4.4", None, None, "Binlog Dump", "10.0.4.4:40004"),
]
TLS_ROWS = [(20, "Ssl_version", "TLSv1.3"), (20, "Ssl_cipher", "TLS_AES_256_GCM_SHA384"), (21, "Ssl_version", ""),
            (21, "Ssl_cipher", "")]
ATTRS = [(7, "program_name", "billing"), (7, "_client_name", "libmariadb"), (8, "_client_name", "pymysql")]


def test_mysql_sessions_from_performance_schema_rows():
    sessions = ssl_usage.mysql_sessions_from_rows(THREADS, TLS_ROWS, ATTRS, ["rdsadmin"])
    by_key = dict((s["key"], s) for s in sessions)
    assert sorted(by_key) == ["13", "7", "8", "9"]
    assert by_key["7"]["transport"] == "ssl" and by_key["7"]["tls_version"] == "TLSv1.3"
    assert by_key["7"]["application_name"] == "billing" and by_key["7"]["client_library"] == "libmariadb"
    assert by_key["7"]["client_address"] == "10.0.1.5" and by_key["7"]["client_port"] == 40001
    assert by_key["8"]["transport"] == "tcp" and by_key["8"]["tls_version"] is None
    assert by_key["8"]["application_name"] == "pymysql"  # no program_name: the client library names it
    assert by_key["9"]["transport"] == "local"
    assert by_key["13"]["transport"] == "unknown"  # a replica's dump thread: no connection type reported


def test_mysql_sessions_without_optional_tables():
    sessions = ssl_usage.mysql_sessions_from_rows(THREADS[:2], None, None, [])
    assert [s["application_name"] for s in sessions] == [None, None]
    assert [s["transport"] for s in sessions] == ["ssl", "tcp"]


def test_mysql_processlist_fallback():
    rows = [(7, "app", "10.0.1.5:40001", "orders", "Sleep"), (9, "root", "localhost", None, "Sleep"),
            (3, "event_scheduler", "localhost", None, "Daemon"), (4, "rdsadmin", "localhost:5555", None, "Sleep"),
            (5, "v6", "[2001:db8::1]:40005", None, "Sleep")]
    sessions = ssl_usage.mysql_processlist_sessions(rows, ["rdsadmin"])
    assert [(s["key"], s["transport"]) for s in sessions] == [("7", "unknown"), ("9", "local"), ("5", "unknown")]
    assert sessions[0]["client_address"] == "10.0.1.5" and sessions[0]["client_port"] == 40001
    assert sessions[2]["client_address"] == "2001:db8::1" and sessions[2]["client_port"] == 40005


def test_mysql_sessions_dispatch():
    cursor = FakeCursor({"performance_schema.threads": THREADS[:2], "status_by_thread": ssl_usage.pymysql.err.OperationalError(1142, "denied")
                         if ssl_usage.HAS_PYMYSQL else TLS_ROWS, "session_connect_attrs": ATTRS,
                         "information_schema.PROCESSLIST\nWHERE": [(7, "app", "10.0.1.5:1", None, "Sleep")]})
    assert [s["transport"] for s in ssl_usage.mysql_sessions(cursor, [], True)] == ["ssl", "tcp"]
    assert [s["transport"] for s in ssl_usage.mysql_sessions(cursor, [], False)] == ["unknown"]


def test_mysql_counters():
    rows = [("Ssl_accepts", "12"), ("Ssl_finished_accepts", "11"), ("Uptime", "99"), ("Weird", "x")]
    cursor = FakeCursor({"SHOW GLOBAL STATUS": rows})
    assert ssl_usage.mysql_counters(cursor) == {"Ssl_accepts": 12, "Ssl_finished_accepts": 11, "Uptime": 99}
    assert ssl_usage.mysql_counters(FakeCursor({"SHOW": RuntimeError("no")})) == {}


# -- the window ------------------------------------------------------------------------------

def _pg(pid, **kwargs):
    return ssl_usage.pg_session_from_row(pg_row(pid, **kwargs))


def test_window_merges_sessions_and_clients_over_samples():
    window = ssl_usage.UsageWindow()
    window.add([_pg(1), _pg(2, ssl_flag=False, app="reports")], seen_at="t1")
    window.add([_pg(1), _pg(3)], seen_at="t2")  # pid 3: same client as pid 1, a new short-lived session
    window.add([_pg(1), _pg(4, address=None, port=-1, ssl_flag=False, user="postgres")], seen_at="t3")
    assert window.samples == 3
    sessions = dict((s["id"].split("@")[0], s) for s in window.session_list())
    assert sorted(sessions) == ["1", "2", "3", "4"]
    assert (sessions["1"]["samples"], sessions["1"]["first_seen"], sessions["1"]["last_seen"]) == (3, "t1", "t3")
    assert (sessions["3"]["samples"], sessions["3"]["first_seen"]) == (1, "t2")
    clients = window.clients()
    assert [(c["user"], c["application_name"]) for c in clients] == [("app", "billing"), ("app", "reports")]
    billing = clients[0]
    assert (billing["sessions"], billing["ssl_sessions"], billing["non_ssl_sessions"]) == (2, 2, 0)
    assert billing["uses_ssl"] and not billing["uses_plaintext"]
    assert billing["tls_versions"] == ["TLSv1.3"] and billing["databases"] == ["orders"]
    assert (billing["first_seen"], billing["last_seen"]) == ("t1", "t3")
    assert clients[1]["uses_plaintext"] and not clients[1]["uses_ssl"]
    assert window.counts() == {"sessions": 4, "ssl": 2, "tcp": 1, "local": 1, "unknown": 0}


def test_window_same_client_with_ssl_and_plaintext_sessions():
    window = ssl_usage.UsageWindow()
    window.add([_pg(1), _pg(2, ssl_flag=False)])
    (client,) = window.clients()
    assert client["uses_ssl"] and client["uses_plaintext"] and client["sessions"] == 2


def test_window_truncates_but_keeps_counting_samples():
    window = ssl_usage.UsageWindow(max_sessions=2)
    window.add([_pg(1), _pg(2), _pg(3)])
    window.add([_pg(1)])
    assert window.truncated and len(window.session_list()) == 2
    assert window.session_list()[0]["samples"] == 2


def test_sample_sessions_fake_clock():
    now = [0.0]
    sleeps = []

    def clock():
        return now[0]

    def sleep(seconds):
        sleeps.append(seconds)
        now[0] += seconds

    calls = []

    def listing():
        calls.append(now[0])
        now[0] += 0.1  # each listing takes 100 ms
        return [_pg(len(calls))]

    window = ssl_usage.UsageWindow()
    seconds, error = ssl_usage.sample_sessions(listing, window, 3, 1, clock, sleep)
    assert error is None
    assert calls == pytest.approx([0.0, 1.1, 2.2, 3.0])  # the last listing happens at the end of the window
    assert seconds == pytest.approx(3.1) and window.samples == 4
    now[0] = 0.0
    single = ssl_usage.UsageWindow()
    assert ssl_usage.sample_sessions(listing, single, 0, 1, clock, sleep)[1] is None and single.samples == 1


def test_sample_sessions_stops_on_error():
    state = {"n": 0}

    def listing():
        state["n"] += 1
        if state["n"] == 3:
            raise RuntimeError("server closed the connection unexpectedly")
        return [_pg(state["n"])]

    window = ssl_usage.UsageWindow()
    _seconds, error = ssl_usage.sample_sessions(listing, window, 10, 0.01, sleep=lambda s: None)
    assert error == "server closed the connection unexpectedly" and window.samples == 2


# -- verdicts --------------------------------------------------------------------------------

def usage(**kwargs):
    base = {"available": True, "counts": {"sessions": 0, "ssl": 0, "tcp": 0, "local": 0, "unknown": 0},
            "samples": 6, "seconds": 5.0, "complete_visibility": True, "ssl_clients": 0}
    base.update(kwargs)
    return base


def test_ssl_in_use_verdicts():
    assert ssl_usage.ssl_in_use_verdict({"available": False, "reason": "no credentials given"}) == (UNKNOWN, "no credentials given")
    verdict, reason = ssl_usage.ssl_in_use_verdict(usage(counts={"ssl": 3, "tcp": 1, "unknown": 1}, ssl_clients=2))
    assert verdict == YES and reason == "3 SSL/TLS session(s) from 2 distinct client(s) seen over 5.0s (6 samples)"
    verdict, reason = ssl_usage.ssl_in_use_verdict(usage(ssl_handshakes_during_window=4))
    assert verdict == YES and "completed 4 TLS handshake(s)" in reason
    verdict, reason = ssl_usage.ssl_in_use_verdict(usage(counts={"tcp": 2, "unknown": 1}, complete_visibility=False,
                                                         visibility_note="performance_schema is off"))
    assert verdict == UNKNOWN and "performance_schema is off" in reason and "1 session(s) with unknown TLS state" in reason
    verdict, reason = ssl_usage.ssl_in_use_verdict(usage(interrupted="connection lost"))
    assert verdict == UNKNOWN and "connection lost" in reason
    verdict, reason = ssl_usage.ssl_in_use_verdict(usage(counts={"tcp": 2, "local": 3}))
    assert verdict == NO and reason == "no SSL/TLS session seen over 5.0s (6 samples); 2 plaintext session(s) seen"
    assert ssl_usage.ssl_in_use_verdict(usage(samples=1, seconds=0))[1].startswith("no SSL/TLS session seen over 0.0s (1 sample);")


@pytest.mark.parametrize("in_use, enforced, samples, safe, why", [
    (NO, False, 6, True, "not enforced and no SSL/TLS client was seen"),
    (NO, False, 1, False, "single snapshot"),
    (NO, True, 6, False, "enforced"),
    (NO, UNKNOWN, 6, False, "whether SSL/TLS is enforced is unknown"),
    (YES, False, 6, False, "in use"),
    (UNKNOWN, False, 6, False, "usage is unknown"),
])
def test_restart_free_verdict(in_use, enforced, samples, safe, why):
    verdict, reason = ssl_usage.restart_free_verdict(in_use, enforced, samples, "evidence")
    assert verdict is safe and why in reason


def test_summarize():
    results = [
        {"ssl_in_use": YES, "ssl_enforced": False, "safe_without_restart": False, "ssl_clients": [{}, {}],
         "probe": {"presented_ca": "rds-ca-2019", "verified": False}, "error": "TLS verification failed"},
        {"ssl_in_use": NO, "ssl_enforced": False, "safe_without_restart": True, "ssl_clients": [],
         "probe": {"presented_ca": "rds-ca-rsa2048-g1", "verified": True}, "error": None},
        {"ssl_in_use": UNKNOWN, "ssl_enforced": UNKNOWN, "safe_without_restart": False, "ssl_clients": [],
         "probe": None, "error": None},
    ]
    summary = ssl_usage.summarize(results)
    totals = {
        "databases": 3, "errors": 1, "ssl_in_use": {YES: 1, NO: 1, UNKNOWN: 1},
        "ssl_enforced": {"enforced": 0, "not_enforced": 2, UNKNOWN: 1}, "safe_without_restart": 1, "ssl_clients": 2,
        "presented_ca": {"rds-ca-2019": 1, "rds-ca-rsa2048-g1": 1},
        "probe_verified": {"verified": 1, "failed": 1, "not_checked": 1},
    }
    # Items without an account (none known) count under "unknown", as rds_ca_facts counts them.
    assert summary == dict(totals, by_account={"unknown": totals})


def test_summarize_by_account():
    """summary.by_account: the same totals per account (issue 17), the one account of each item."""
    a, b = "111111111111", "222222222222"
    results = [
        {"account": a, "ssl_in_use": YES, "ssl_enforced": True, "safe_without_restart": False, "ssl_clients": [{}],
         "probe": {"presented_ca": "rds-ca-2019", "verified": True}, "error": None},
        {"account": b, "ssl_in_use": NO, "ssl_enforced": False, "safe_without_restart": True, "ssl_clients": [],
         "probe": None, "error": "login failed"},
        {"account": b, "ssl_in_use": NO, "ssl_enforced": False, "safe_without_restart": True, "ssl_clients": [],
         "probe": None, "error": None},
    ]
    by_account = ssl_usage.summarize(results)["by_account"]
    assert sorted(by_account) == [a, b]
    assert (by_account[a]["databases"], by_account[a]["ssl_in_use"][YES], by_account[a]["ssl_clients"],
            by_account[a]["probe_verified"]["verified"]) == (1, 1, 1, 1)
    assert (by_account[b]["databases"], by_account[b]["errors"], by_account[b]["safe_without_restart"],
            by_account[b]["ssl_enforced"]["not_enforced"], by_account[b]["probe_verified"]["not_checked"]) == (2, 1, 2, 2, 2)
    assert "by_account" not in by_account[a]
    # Over every account, the per-account totals add up to the summary's.
    assert sum(s["databases"] for s in by_account.values()) == ssl_usage.summarize(results)["databases"]


def test_scrub():
    assert ssl_usage.scrub("FATAL: password s3cr3t-Pw rejected\n  for admin", ["s3cr3t-Pw", None, ""]) == \
        "FATAL: password ******** rejected for admin"
    assert ssl_usage.scrub("ab", ["a"]) == "ab"  # too short to be a secret worth hiding


# -- targets and AWS -------------------------------------------------------------------------

FACTS_ITEM = {
    "identifier": "orders-pg13-production", "region": "us-east-1", "engine": "postgres", "engine_version": "13.15",
    "endpoint_address": "orders-pg13-production.c1fd162ee33d3.us-east-1.rds.amazonaws.com", "endpoint_port": 5432,
    "cluster_id": None, "current_ca": "rds-ca-2019", "status": "available", "needs_rotation": True, "tags": {"a": "b"},
}


def test_normalize_target():
    target = ssl_usage.normalize_target(FACTS_ITEM)
    assert target["identifier"] == "orders-pg13-production" and target["endpoint_port"] == 5432
    assert target["engine_version"] == "13.15" and target["current_ca"] == "rds-ca-2019"
    minimal = ssl_usage.normalize_target({"identifier": "db1"}, "eu-west-1")
    assert minimal["region"] == "eu-west-1" and minimal["engine"] is None
    aws_shape = ssl_usage.normalize_target({"DBInstanceIdentifier": "db2", "Engine": "mysql",
                                            "Endpoint": {"Address": "db2.x", "Port": "3306"}}, "eu-west-1")
    assert (aws_shape["endpoint_address"], aws_shape["endpoint_port"], aws_shape["engine"]) == ("db2.x", 3306, "mysql")
    tunnel = ssl_usage.normalize_target({"identifier": "db3", "region": "us-east-1", "connect_host": "127.0.0.1",
                                         "connect_port": "15432"})
    assert tunnel["connect_port"] == 15432
    with pytest.raises(ValueError, match="without identifier"):
        ssl_usage.normalize_target({"region": "us-east-1"})
    with pytest.raises(ValueError, match="no region"):
        ssl_usage.normalize_target({"identifier": "x"})
    with pytest.raises(ValueError, match="must be a mapping"):
        ssl_usage.normalize_target("db1", "us-east-1")


class FakeClientError(botocore.exceptions.ClientError):
    """An AccessDenied answer, as botocore raises it."""

    def __init__(self, message):
        super().__init__({"Error": {"Code": "AccessDenied", "Message": message}}, "Fake")


class FakeRds:
    """An RDS client answering each method with one page (a list, a function of the params, or an error)."""

    def __init__(self, responses, calls):
        self.responses = responses
        self.calls = calls

    def __getattr__(self, method):
        def answer(**params):
            self.calls.append((method, params))
            result = self.responses[method]
            if callable(result):
                result = result(params)
            if isinstance(result, Exception):
                raise result
            return {"Items": result, "DBInstances": result, "DBClusters": result, "Parameters": result}
        return answer


def db_item(ident, engine="postgres", version="16.3", group="default.postgres16", cluster=None, status="available"):
    return {"DBInstanceIdentifier": ident, "Engine": engine, "EngineVersion": version, "DBInstanceStatus": status,
            "Endpoint": {"Address": "%s.c1.us-east-1.rds.amazonaws.com" % ident, "Port": 5432},
            "DBParameterGroups": [{"DBParameterGroupName": group, "ParameterApplyStatus": "in-sync"}],
            "DBClusterIdentifier": cluster, "CACertificateIdentifier": "rds-ca-rsa2048-g1"}


def test_describe_targets_one_call_per_kind_and_group():
    targets = [ssl_usage.normalize_target({"identifier": i}, "us-east-1") for i in ("pg16a", "pg16b", "pg11", "aurora-1", "gone")]
    groups = {"default.postgres16": [{"ParameterName": "rds.force_ssl", "ParameterValue": "1", "Source": "system"}],
              "default.postgres11": [{"ParameterName": "rds.force_ssl", "ParameterValue": "0", "Source": "system"}]}
    calls = []
    client = FakeRds({
        "describe_db_instances": [db_item("pg16a"), db_item("pg16b"), db_item("pg11", version="11.22", group="default.postgres11"),
                                  db_item("aurora-1", engine="aurora-postgresql", version="15.4", group="default.aurora-postgresql15",
                                          cluster="inv")],
        "describe_db_clusters": [{"DBClusterIdentifier": "inv", "DBClusterParameterGroup": "default.aurora-postgresql15"}],
        "describe_db_parameters": lambda p: groups[p["DBParameterGroupName"]],
        "describe_db_cluster_parameters": [{"ParameterName": "rds.force_ssl", "ParameterValue": "1", "Source": "system"}],
    }, calls)
    assert ssl_usage.describe_targets(client, targets) is None
    assert [c[0] for c in calls] == ["describe_db_instances", "describe_db_clusters", "describe_db_cluster_parameters",
                                     "describe_db_parameters", "describe_db_parameters"]
    assert calls[0][1] == {"Filters": [{"Name": "db-instance-id", "Values": ["aurora-1", "gone", "pg11", "pg16a", "pg16b"]}],
                           "MaxRecords": 100}
    by_id = dict((t["identifier"], t) for t in targets)
    assert by_id["pg16a"]["enforcement_group"]["value"] == "1"
    assert by_id["pg11"]["enforcement_group"] == {"name": "default.postgres11", "type": "instance", "apply_status": "in-sync",
                                                  "value": "0", "source": "system"}
    assert by_id["aurora-1"]["enforcement_group"]["type"] == "cluster"
    assert by_id["pg16a"]["endpoint_address"] == "pg16a.c1.us-east-1.rds.amazonaws.com"
    assert by_id["gone"]["aws_error"] == "DB instance gone not found in us-east-1"
    assert by_id["pg16b"]["aws_error"] is None


def test_describe_targets_errors_stay_per_target():
    targets = [ssl_usage.normalize_target({"identifier": "a"}, "us-east-1")]
    message = ssl_usage.describe_targets(FakeRds({"describe_db_instances": FakeClientError("no")}, []), targets)
    assert message == "DescribeDBInstances failed: AccessDenied: no" and targets[0]["aws_error"] == message
    targets = [ssl_usage.normalize_target({"identifier": "a"}, "us-east-1")]
    ssl_usage.describe_targets(FakeRds({"describe_db_instances": [db_item("a")],
                                        "describe_db_parameters": FakeClientError("denied")}, []), targets)
    assert targets[0]["aws_error"] == "DescribeDBParameters(default.postgres16) failed: AccessDenied: denied"
    assert targets[0]["engine"] == "postgres"  # described even though the parameters could not be read


def test_given_values_win_over_the_description():
    target = ssl_usage.normalize_target({"identifier": "a", "region": "us-east-1", "endpoint_address": "custom.name"})
    ssl_usage.apply_description(target, db_item("a"))
    assert target["endpoint_address"] == "custom.name" and target["endpoint_port"] == 5432


# -- one database ----------------------------------------------------------------------------

def described(ident="pg", engine="postgres", version="13.15", value="0"):
    target = ssl_usage.normalize_target({"identifier": ident, "region": "us-east-1", "engine": engine,
                                         "engine_version": version, "endpoint_address": "%s.c1.rds.amazonaws.com" % ident,
                                         "endpoint_port": 5432})
    target["enforcement_group"] = {"name": "g", "type": "instance", "apply_status": "in-sync", "value": value}
    target["aws_error"] = None
    return target


SETTINGS = {"login_user": "monitor", "password": "Pa55-w0rd-zz", "ssl_mode": "verify-full", "probe": True,
            "sample_seconds": 2, "sample_interval": 1, "timeout": 3, "exclude_users": ["rdsadmin"]}


def fake_probe(verified=True, **extra):
    def probe(*_args, **_kwargs):
        result = {"verified": verified, "error": None, "tls_supported": True, "presented_ca": "rds-ca-rsa2048-g1",
                  "verify_error": None if verified else "TLS verification of x failed: unable to get local issuer certificate",
                  "server_requires_tls": None}
        result.update(extra)
        return result
    return probe


class FakeConnection:
    def __init__(self, cursor):
        self._cursor = cursor
        self.closed = False

    def cursor(self):
        return self._cursor

    def close(self):
        self.closed = True


def test_inspect_postgres_flow(monkeypatch):
    samples = iter([[pg_row(1), pg_row(2, ssl_flag=False, app="reports")], [pg_row(1), pg_row(3)], [pg_row(1)]])
    cursor = FakeCursor({"server_version_num": [(150004, None)], "pg_read_all_stats": [(True,)],
                         "pg_stat_activity": lambda: next(samples)})
    conn = FakeConnection(cursor)
    seen = {}

    def connect(kind, server_name, port, connect_host, user, password, *args):
        seen.update(kind=kind, server_name=server_name, port=port, connect_host=connect_host, user=user, password=password)
        return conn
    monkeypatch.setattr(ssl_usage.tls_probe, "probe_endpoint", fake_probe())
    monkeypatch.setattr(ssl_usage, "connect", connect)
    now = [0.0]
    result = ssl_usage.inspect_database(described(), dict(SETTINGS, connect_host="127.0.0.1"), clock=lambda: now[0],
                                        sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert seen == {"kind": "postgres", "server_name": "pg.c1.rds.amazonaws.com", "port": 5432,
                    "connect_host": "127.0.0.1", "user": "monitor", "password": "Pa55-w0rd-zz"}
    assert conn.closed
    assert result["error"] is None
    assert result["ssl_in_use"] == YES
    assert result["ssl_in_use_reason"] == "2 SSL/TLS session(s) from 1 distinct client(s) seen over 2.0s (3 samples)"
    assert result["window"]["samples"] == 3 and result["window"]["seconds"] == 2.0
    assert [c["application_name"] for c in result["ssl_clients"]] == ["billing"]
    assert len(result["sessions"]) == 3
    assert result["ssl_enforced"] is False and result["enforcement"]["enforced_by"] == "parameter_group"
    assert result["enforcement"]["live_error"] == "the server has no rds.force_ssl setting (not an RDS server?)"
    assert result["safe_without_restart"] is False
    assert result["connect_host"] == "127.0.0.1"


def test_inspect_postgres_no_ssl_is_safe(monkeypatch):
    cursor = FakeCursor({"server_version_num": [(150004, "0")], "pg_read_all_stats": [(True,)],
                         "pg_stat_activity": [pg_row(2, ssl_flag=False)]})
    monkeypatch.setattr(ssl_usage.tls_probe, "probe_endpoint", fake_probe())
    monkeypatch.setattr(ssl_usage, "connect", lambda *a: FakeConnection(cursor))
    now = [0.0]
    result = ssl_usage.inspect_database(described(), SETTINGS, clock=lambda: now[0],
                                        sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert result["ssl_in_use"] == NO and result["ssl_enforced"] is False
    assert result["enforcement"]["enforced_by"] == "live"
    assert result["safe_without_restart"] is True


def test_inspect_without_visibility_is_unknown(monkeypatch):
    cursor = FakeCursor({"server_version_num": [(150004, "0")], "pg_read_all_stats": [(False,)],
                         "pg_stat_activity": [pg_row(2, ssl_flag=False), pg_row(3, ssl_flag=None, address=None, port=None)]})
    monkeypatch.setattr(ssl_usage.tls_probe, "probe_endpoint", fake_probe())
    monkeypatch.setattr(ssl_usage, "connect", lambda *a: FakeConnection(cursor))
    result = ssl_usage.inspect_database(described(), dict(SETTINGS, sample_seconds=0), sleep=lambda s: None)
    assert result["ssl_in_use"] == UNKNOWN
    assert "pg_read_all_stats" in result["ssl_in_use_reason"]


def test_inspect_mysql_counter_catches_short_lived_clients(monkeypatch):
    counters = iter([[("Ssl_accepts", "10"), ("Ssl_finished_accepts", "10"), ("Uptime", "50")],
                     [("Ssl_accepts", "13"), ("Ssl_finished_accepts", "13"), ("Uptime", "52")]])
    cursor = FakeCursor({"@@performance_schema": [(1, "monitor@%", "8.0.36")],
                         "require_secure_transport": [("OFF",)], "USER_PRIVILEGES": [(1,)],
                         "SHOW GLOBAL STATUS": lambda: next(counters),
                         "performance_schema.threads": [THREADS[1]], "status_by_thread": [], "session_connect_attrs": []})
    monkeypatch.setattr(ssl_usage.tls_probe, "probe_endpoint", fake_probe())
    monkeypatch.setattr(ssl_usage, "connect", lambda *a: FakeConnection(cursor))
    now = [0.0]
    result = ssl_usage.inspect_database(described("my", "mysql", "8.0.36"), SETTINGS, clock=lambda: now[0],
                                        sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert result["ssl_in_use"] == YES and "completed 3 TLS handshake(s)" in result["ssl_in_use_reason"]
    assert result["usage"]["ssl_handshakes_during_window"] == 3
    assert result["enforcement"]["live_value"] == "OFF" and result["ssl_enforced"] is False
    grantee = [p for s, p in cursor.executed if "USER_PRIVILEGES" in s][0]
    assert grantee == ("'monitor'@'%'",)


def test_inspect_mysql_without_performance_schema(monkeypatch):
    cursor = FakeCursor({"@@performance_schema": [(0, "admin@%", "10.11.8-MariaDB")],
                         "require_secure_transport": [(0,)], "USER_PRIVILEGES": [(1,)],
                         "SHOW GLOBAL STATUS": [("Ssl_finished_accepts", "5")],
                         "information_schema.PROCESSLIST\nWHERE": [(7, "app", "10.0.1.5:40001", None, "Sleep")]})
    monkeypatch.setattr(ssl_usage.tls_probe, "probe_endpoint", fake_probe())
    monkeypatch.setattr(ssl_usage, "connect", lambda *a: FakeConnection(cursor))
    result = ssl_usage.inspect_database(described("maria", "mariadb", "10.11.8"), dict(SETTINGS, sample_seconds=0),
                                        sleep=lambda s: None)
    assert result["ssl_in_use"] == UNKNOWN
    assert "performance_schema is off" in result["ssl_in_use_reason"]
    assert result["sessions"][0]["transport"] == "unknown"
    assert result["usage"]["performance_schema"] is False


@pytest.mark.parametrize("target_kwargs, settings, probe, reason", [
    ({"ident": "ora", "engine": "oracle-ee", "version": "19"}, {}, fake_probe(), "no session query for engine oracle-ee"),
    ({}, {"login_user": None}, fake_probe(), "no credentials given (login_user)"),
    ({}, {}, fake_probe(verified=False), "certificate does not verify"),
    ({}, {}, fake_probe(tls_supported=False, verified=None), "does not offer TLS"),
])
def test_inspect_without_session_query(monkeypatch, target_kwargs, settings, probe, reason):
    monkeypatch.setattr(ssl_usage.tls_probe, "probe_endpoint", probe)
    monkeypatch.setattr(ssl_usage, "connect", lambda *a: pytest.fail("must not connect"))
    result = ssl_usage.inspect_database(described(**target_kwargs), dict(SETTINGS, **settings))
    assert result["ssl_in_use"] == UNKNOWN and reason in result["ssl_in_use_reason"]
    assert result["safe_without_restart"] is False


EXPIRED_2019 = {"presented_ca": "rds-ca-2019",
                "certificate": {"subject_cn": "pg.c1.rds.amazonaws.com", "expired": True, "not_after": "2024-08-22T17:08:50Z"},
                "chain": [{"subject_cn": "Amazon RDS us-east-1 2019 CA", "expired": True, "not_after": "2024-08-22T17:08:50Z"}],
                "verify_error": "TLS verification of pg.c1.rds.amazonaws.com failed: unable to get local issuer certificate"}


def on_ca(ca, **kwargs):
    target = described(**kwargs)
    target["current_ca"] = ca
    return target


def test_a_database_still_on_its_expired_ca_is_inspected_not_an_error(monkeypatch):
    """Issue 19 (the demo's 'could not be fully inspected' warning): every database still on rds-ca-2019 presents
    an expired chain that no trust store verifies; the probe saw all it could, so that is a finding (note), not an
    inspection failure - as long as nothing else was asked for that the failed verification prevented."""
    monkeypatch.setattr(ssl_usage.tls_probe, "probe_endpoint", fake_probe(verified=False, **EXPIRED_2019))
    monkeypatch.setattr(ssl_usage, "connect", lambda *a: pytest.fail("must not connect"))
    result = ssl_usage.inspect_database(on_ca("rds-ca-2019"), dict(SETTINGS, login_user=None))
    assert result["error"] is None and result["errors"] == []
    assert result["tls_verification"] == "failed"
    assert result["tls_verification_note"].startswith("the endpoint presents a certificate of its current CA rds-ca-2019 "
                                                      "whose chain has expired (Amazon RDS us-east-1 2019 CA, 2024-08-22")
    assert "unable to get local issuer certificate" in result["tls_verification_note"]


def test_credentials_that_cannot_log_in_to_an_expired_chain_leave_the_database_not_fully_inspected(monkeypatch):
    monkeypatch.setattr(ssl_usage.tls_probe, "probe_endpoint", fake_probe(verified=False, **EXPIRED_2019))
    monkeypatch.setattr(ssl_usage, "connect", lambda *a: pytest.fail("must not connect"))
    result = ssl_usage.inspect_database(on_ca("rds-ca-2019"), SETTINGS)
    assert result["error"].startswith("sessions not listed (not connected: the endpoint's certificate does not verify")
    assert "allow_expired_ca, or connection logs (log_window_days)" in result["error"]


@pytest.mark.parametrize("current, probe", [
    # The API says the database is on the new CA, the endpoint still presents the expired one: an error.
    ("rds-ca-rsa2048-g1", EXPIRED_2019),
    # On a current CA that the trust store lacks (a wrong bundle): an error, whatever the expiry.
    ("rds-ca-rsa2048-g1", dict(EXPIRED_2019, presented_ca="rds-ca-rsa2048-g1", certificate={"expired": False},
                               chain=[{"expired": False}])),
    # allow_expired_ca was asked for and could not apply: an error.
    ("rds-ca-2019", dict(EXPIRED_2019, tolerance_error="the chain does not lead to a CA of the bundle")),
])
def test_other_verification_failures_stay_errors(monkeypatch, current, probe):
    monkeypatch.setattr(ssl_usage.tls_probe, "probe_endpoint", fake_probe(verified=False, **probe))
    result = ssl_usage.inspect_database(on_ca(current), dict(SETTINGS, login_user=None))
    assert result["error"].startswith("TLS verification of pg.c1.rds.amazonaws.com failed"), result["error"]
    assert result["tls_verification"] == "failed" and result["tls_verification_note"] is None


def test_inspect_connection_error_never_shows_the_password(monkeypatch):
    def connect(*_args):
        raise RuntimeError('connection failed: FATAL:  password "Pa55-w0rd-zz" authentication failed for user "monitor"')
    monkeypatch.setattr(ssl_usage.tls_probe, "probe_endpoint", fake_probe())
    monkeypatch.setattr(ssl_usage, "connect", connect)
    result = ssl_usage.inspect_database(described(), SETTINGS)
    assert "Pa55-w0rd-zz" not in repr(result)
    assert result["error"].startswith("cannot connect to pg.c1.rds.amazonaws.com (pg.c1.rds.amazonaws.com:5432) as monitor:")
    assert "********" in result["error"]
    assert result["ssl_in_use"] == UNKNOWN


def test_inspect_unreachable_and_stopped(monkeypatch):
    monkeypatch.setattr(ssl_usage.tls_probe, "probe_endpoint", lambda *a, **k: pytest.fail("must not probe"))
    target = ssl_usage.normalize_target({"identifier": "x", "region": "us-east-1"})
    target["aws_error"] = "DB instance x not found in us-east-1"
    result = ssl_usage.inspect_database(target, SETTINGS)
    assert result["errors"] == ["DB instance x not found in us-east-1",
                                "cannot reach the database: engine, endpoint_address, endpoint_port unknown"]
    stopped = described()
    stopped["status"] = "stopped"
    assert "the DB instance is stopped" in ssl_usage.inspect_database(stopped, SETTINGS)["error"]


def test_inspect_sql_server_enforcement_from_prelogin(monkeypatch):
    monkeypatch.setattr(ssl_usage.tls_probe, "probe_endpoint", fake_probe(server_requires_tls=True))
    result = ssl_usage.inspect_database(described("mssql", "sqlserver-se", "15.00", value="0"), dict(SETTINGS, login_user=None))
    assert result["ssl_enforced"] is True and result["enforcement"]["enforced_by"] == "tds_prelogin"


# -- the pinned server name ------------------------------------------------------------------

def test_server_name_context_verifies_the_pinned_name(tmp_path):
    crypto = pytest.importorskip("cryptography")
    assert crypto
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Amazon RDS us-east-1 Root CA ECC384 G1")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=9))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "db.rds.test")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=9))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("db.rds.test")]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(str(tmp_path / "leaf.pem"), str(tmp_path / "key.pem"))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)

    def serve():
        for _attempt in range(2):
            try:
                conn, _addr = listener.accept()
            except OSError:
                return
            try:
                with server_context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        good = ssl_usage.server_name_context("db.rds.test", str(tmp_path / "ca.pem"))
        # The driver passes the IP it connected to; the context verifies the endpoint name instead.
        with socket.create_connection(listener.getsockname(), timeout=5) as sock:
            with good.wrap_socket(sock, server_hostname="127.0.0.1") as tls:
                assert tls.server_hostname == "db.rds.test"
                assert tls.getpeercert()["subject"] == ((("commonName", "db.rds.test"),),)
        bad = ssl_usage.server_name_context("other.rds.test", str(tmp_path / "ca.pem"))
        with socket.create_connection(listener.getsockname(), timeout=5) as sock:
            with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
                bad.wrap_socket(sock, server_hostname="db.rds.test")
        assert good.verify_mode == ssl.CERT_REQUIRED and good.check_hostname
    finally:
        listener.close()
        thread.join(5)


def test_resolve_address():
    assert ssl_usage.resolve_address("127.0.0.1") == "127.0.0.1"
    assert ssl_usage.resolve_address("localhost") in ("127.0.0.1", "::1")


def test_inspect_iam_token_is_made_at_login_and_never_shown(monkeypatch):
    token = "db.c1.rds.amazonaws.com:5432/?Action=connect&DBUser=monitor&X-Amz-Signature=abc123def456"
    calls = []

    def provider(host, port):
        calls.append((host, port))
        return token

    def connect(kind, server_name, port, connect_host, user, password, *args):
        assert password == token
        raise RuntimeError("PAM authentication failed for user monitor with %s" % password)
    monkeypatch.setattr(ssl_usage.tls_probe, "probe_endpoint", fake_probe())
    monkeypatch.setattr(ssl_usage, "connect", connect)
    result = ssl_usage.inspect_database(described(), dict(SETTINGS, password=None, password_provider=provider))
    assert calls == [("pg.c1.rds.amazonaws.com", 5432)]
    assert "X-Amz-Signature" not in repr(result) and "PAM authentication failed" in result["error"]

    def broken(host, port):
        raise RuntimeError("Unable to locate credentials")
    result = ssl_usage.inspect_database(described(), dict(SETTINGS, password=None, password_provider=broken))
    assert "cannot generate an IAM authentication token: Unable to locate credentials" in result["error"]
