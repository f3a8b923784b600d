# -*- coding: utf-8 -*-
# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""mysql_audit_log: MariaDB Audit Plugin lines, the option group's settings, completeness, TLS per client."""

from __future__ import absolute_import, division, print_function

import datetime

from ansible_collections.rdsca.rotation.plugins.module_utils import mysql_audit_log as mal

UTC = datetime.timezone.utc

# Written by MariaDB 10.11's server_audit (SERVER_AUDIT_EVENTS=CONNECT) for a socket login, a TLS login, a plaintext
# login and a wrong password (tests/integration/test_simulator_audit_logs.py), then QUERY/TABLE events of
# SERVER_AUDIT_EVENTS=CONNECT,QUERY,TABLE (MariaDB KB, "MariaDB Audit Plugin - Log Format": a QUERY's object is the
# statement in quotes, commas included).
AUDIT = """\
20261201 20:59:26,vm,root,localhost,3,0,CONNECT,,,0
20261201 20:59:26,vm,root,localhost,3,0,DISCONNECT,,,0
20261201 20:59:28,vm,admin,127.0.0.1,5,0,CONNECT,,,0
20261201 20:59:28,vm,admin,127.0.0.1,5,0,DISCONNECT,,,0
20261201 20:59:28,vm,admin,127.0.0.1,6,0,CONNECT,,,0
20261201 20:59:28,vm,admin,127.0.0.1,6,0,DISCONNECT,,,0
20261201 20:59:28,vm,admin,127.0.0.1,7,0,FAILED_CONNECT,,,1045
20261201 20:59:28,vm,admin,127.0.0.1,7,0,DISCONNECT,,,0
20261201 21:10:02,ip-10-0-1-5,app,10.0.1.7,12,0,CONNECT,orders,,0
20261201 21:10:02,ip-10-0-1-5,app,10.0.1.7,12,41,QUERY,orders,'SELECT a, b FROM t WHERE c = \\'x,y\\'',0
20261201 21:10:02,ip-10-0-1-5,app,10.0.1.7,12,41,READ,orders,t,
20261201 21:10:03,ip-10-0-1-5,rdsadmin,localhost,13,0,CONNECT,mysql,,0
"""
NOW = datetime.datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
WINDOW_START = NOW - datetime.timedelta(days=1)


def _log(text=AUDIT, chunks=None, **kwargs):
    log = mal.AuditLog(**kwargs)
    for chunk in chunks or [text]:
        log.feed(chunk)
    log.end_file()
    return log


def test_connect_lines_of_the_real_format_are_parsed():
    event = mal.parse_line("20261201 20:59:28,vm,admin,127.0.0.1,7,0,FAILED_CONNECT,,,1045\n")
    assert event == {"timestamp": datetime.datetime(2026, 12, 1, 20, 59, 28, tzinfo=UTC), "serverhost": "vm",
                     "user": "admin", "host": "127.0.0.1", "connection_id": 7, "operation": "FAILED_CONNECT",
                     "database": None, "retcode": 1045}
    assert mal.parse_line("20261201 21:10:02,ip-10-0-1-5,app,10.0.1.7,12,0,CONNECT,orders,,0")["database"] == "orders"


def test_query_and_table_events_and_other_lines_are_not_connections():
    lines = AUDIT.splitlines()
    assert mal.parse_line(lines[9]) is None  # QUERY, commas inside the statement
    assert mal.parse_line(lines[10]) is None  # TABLE READ, empty retcode
    for junk in ("", "garbage", "2026-12-01 10:00:00 UTC:10.0.0.1(1):a@b:[1]:LOG:  connection received: host=x",
                 "20261341 20:59:28,vm,admin,127.0.0.1,7,0,CONNECT,,,0",  # month 13
                 "20261201 20:59:28,vm,admin,127.0.0.1,x,0,CONNECT,,,0"):
        assert mal.parse_line(junk) is None, junk


def test_clients_are_distinct_address_and_user_with_counts_and_failures():
    log = _log(exclude_users=["rdsadmin"])
    clients = {(c["user"], c["address"]): c for c in log.clients()}
    assert sorted(clients) == [("admin", "127.0.0.1"), ("app", "10.0.1.7"), ("root", "localhost")]
    admin = clients[("admin", "127.0.0.1")]
    assert admin["count"] == 2 and admin["failed"] == 1 and admin["local"] is False
    assert admin["first_seen"] == "2026-12-01T20:59:28Z" and admin["last_seen"] == "2026-12-01T20:59:28Z"
    assert clients[("app", "10.0.1.7")]["databases"] == ["orders"] and clients[("app", "10.0.1.7")]["database"] == "orders"
    assert clients[("root", "localhost")]["local"] is True
    # TLS is not in the audit log: unknown until attribute_tls.
    assert all(c["tls"] is None for c in clients.values())
    assert log.connections == 4 and log.failed_connections == 1


def test_a_line_cut_between_two_portions_is_joined():
    cut = AUDIT.index("127.0.0.1,6") + 4
    whole = _log().clients()
    assert _log(chunks=[AUDIT[:cut], AUDIT[cut:]]).clients() == whole


def test_connections_before_the_window_start_are_left_out():
    log = _log(since=datetime.datetime(2026, 12, 1, 21, 0, tzinfo=UTC), exclude_users=["rdsadmin"])
    assert [c["user"] for c in log.clients()] == ["app"]
    assert log.first_line == datetime.datetime(2026, 12, 1, 20, 59, 26, tzinfo=UTC)


def _group(settings=None, name="maria-audit"):
    options = [] if settings is None else [{"OptionName": "MARIADB_AUDIT_PLUGIN", "OptionSettings": [
        {"Name": k, "Value": v} for k, v in settings.items()]}]
    return {"OptionGroupName": name, "Options": options}


def test_option_group_settings_and_what_makes_them_incomplete():
    on = mal.audit_settings(_group({"SERVER_AUDIT_EVENTS": "CONNECT"}), {"OptionGroupName": "maria-audit",
                                                                         "Status": "in-sync"})
    assert on["enabled"] is True and on["events"] == ["CONNECT"] and on["rotations"] == 9
    assert mal.setting_reasons(on) == []
    # RDS's default events (CONNECT,QUERY) audit connections too.
    assert mal.setting_reasons(mal.audit_settings(_group({}))) == []
    off = mal.audit_settings(_group(None, "default:mariadb-10-11"), {"OptionGroupName": "default:mariadb-10-11"})
    assert "default:mariadb-10-11 has no MARIADB_AUDIT_PLUGIN option" in mal.setting_reasons(off)[0]
    query_only = mal.setting_reasons(mal.audit_settings(_group({"SERVER_AUDIT_EVENTS": "QUERY"})))
    assert "without CONNECT" in query_only[0]
    some = mal.setting_reasons(mal.audit_settings(_group({"SERVER_AUDIT_EXCL_USERS": "rdsadmin,etl"})),
                               exclude_users=["rdsadmin"])
    assert some == ["SERVER_AUDIT_EXCL_USERS hides the connections of etl"]
    failed = mal.audit_settings(None, None, "DescribeOptionGroups(x) failed: AccessDenied: no")
    assert "could not be read" in mal.setting_reasons(failed)[0]


def _files(*names_and_hours):
    return [{"LogFileName": name, "LastWritten": int((NOW - datetime.timedelta(hours=h)).timestamp() * 1000)}
            for name, h in names_and_hours]


def test_completeness_follows_the_rotations():
    on = mal.audit_settings(_group({"SERVER_AUDIT_EVENTS": "CONNECT", "SERVER_AUDIT_FILE_ROTATIONS": "2"}))
    log = _log(since=WINDOW_START)
    # An older file is still kept: the files read reach back past the window start.
    facts = mal.completeness(WINDOW_START, NOW, None, on, _files(("audit/server_audit.log", 0)),
                             _files(("audit/server_audit.log.1", 30)), [], log)
    assert facts["complete"] is True and facts["covered_from"] == "2026-12-01T00:00:00Z"
    # No file was ever rotated away (slot .2 unused): the log reaches back to its start.
    facts = mal.completeness(WINDOW_START, NOW, None, on, _files(("audit/server_audit.log.1", 3),
                                                                 ("audit/server_audit.log", 0)), [], [], log)
    assert facts["complete"] is True
    # The last kept rotation is in use and nothing older is kept: events before the first one may be lost.
    facts = mal.completeness(WINDOW_START, NOW, None, on, _files(("audit/server_audit.log.2", 4), (
        "audit/server_audit.log.1", 3), ("audit/server_audit.log", 0)), [], [], log)
    assert facts["complete"] is False and facts["covered_from"] == "2026-12-01T20:59:26Z"
    assert "SERVER_AUDIT_FILE_ROTATIONS=2" in facts["reasons"][0] and "rotated away" in facts["reasons"][0]
    # Plugin off: incomplete, whatever the files.
    off = mal.audit_settings(_group(None))
    facts = mal.completeness(WINDOW_START, NOW, None, off, [], [], [], log)
    assert facts["complete"] is False and "no MARIADB_AUDIT_PLUGIN option" in facts["reasons"][0]


def _evidence():
    return {"clients": _log(exclude_users=["rdsadmin"]).clients()}


def test_tls_is_unknown_without_proof_and_never_plaintext():
    evidence = mal.attribute_tls(_evidence())
    remote = [c for c in evidence["clients"] if not c["local"]]
    assert all(c["tls"] is None and "does not record TLS" in c["tls_basis"] for c in remote)
    assert evidence["tls_clients"] == 0 and evidence["plaintext_clients"] == 0 and evidence["tls_unknown_clients"] == 2


def test_tls_proven_by_enforcement_accounts_and_live_sessions():
    enforced = mal.attribute_tls(_evidence(), enforced=True, enforced_by="live")
    assert enforced["tls_clients"] == 2 and enforced["tls_unknown_clients"] == 0
    assert all(c["tls_proof"] == "enforced" for c in enforced["clients"] if not c["local"])

    accounts = {"app": ["ANY"], "admin": ["", "X509"]}  # admin@'%' may connect in plaintext
    sessions = [{"user": "admin", "client_address": "127.0.0.1", "transport": "tcp"}]
    evidence = mal.attribute_tls(_evidence(), enforced=False, account_ssl_types=accounts, sessions=sessions)
    clients = {c["user"]: c for c in evidence["clients"]}
    assert clients["app"]["tls"] is True and clients["app"]["tls_proof"] == "account"
    # A plaintext session seen: plaintext, proven only for the sessions seen, so still not "no TLS" over the window.
    assert clients["admin"]["tls"] is False and clients["admin"]["tls_proof"] == "sessions"
    assert evidence["plaintext_clients"] == 1 and evidence["tls_unknown_clients"] == 1

    sessions = [{"user": "admin", "client_address": "127.0.0.1", "transport": "ssl"}]
    evidence = mal.attribute_tls(_evidence(), sessions=sessions)
    assert {c["user"]: c["tls"] for c in evidence["clients"]}["admin"] is True


def test_complete_audit_evidence_with_unproven_clients_never_makes_no_tls():
    from ansible_collections.rdsca.rotation.plugins.module_utils import ssl_usage

    evidence = mal.attribute_tls(dict(_evidence(), available=True, complete=True, window_days=1,
                                      window_start="2026-12-01T00:00:00Z", window_end="2026-12-02T00:00:00Z"))
    result = {"ssl_in_use": "unknown", "ssl_in_use_reason": "no credentials given", "ssl_enforced": False,
              "usage": {"samples": 0}}
    ssl_usage.apply_log_evidence(result, evidence)
    assert result["ssl_in_use"] == "unknown" and result["safe_without_restart"] is False
    assert "2 client(s) connected over 1 day(s)" in result["ssl_in_use_reason"]
    assert "the audit log does not record TLS" in result["ssl_in_use_reason"]
    # Sessions said "no" over a sampled window: kept, but the audit log does not turn it into days of proof.
    result = {"ssl_in_use": "no", "ssl_in_use_reason": "no SSL/TLS session seen", "ssl_enforced": False,
              "usage": {"samples": 1}}
    ssl_usage.apply_log_evidence(result, evidence)
    assert result["ssl_in_use"] == "no" and result["safe_without_restart"] is False
    # Complete audit evidence where nobody connected over TCP at all: provably no TLS over the window.
    quiet = mal.attribute_tls(dict(_evidence(), available=True, complete=True, window_days=1))
    quiet["clients"] = [c for c in quiet["clients"] if c["local"]]
    mal.attribute_tls(quiet)
    result = {"ssl_in_use": "unknown", "ssl_in_use_reason": None, "ssl_enforced": False, "usage": {"samples": 0}}
    ssl_usage.apply_log_evidence(result, quiet)
    assert result["ssl_in_use"] == "no" and result["safe_without_restart"] is True


def test_aurora_mysql_is_unavailable_not_reported_without_the_option():
    calls = []
    aws = {"call": lambda *a, **k: calls.append(a), "paginate": lambda *a, **k: calls.append(a), "errors": (),
           "error_info": None}
    evidence = mal.gather_evidence(aws, None, {"identifier": "ledger-1", "engine": "aurora-mysql"},
                                   mal.audit_settings(None), 1, NOW)
    assert evidence["available"] is False and "Advanced Auditing" in evidence["reason"] and calls == []


class FakeLogs:
    """CloudWatch Logs as FilterLogEvents documents it (pages with nextToken, startTime/endTime inclusive), holding
    the audit lines RDS publishes to /aws/rds/instance/<id>/audit, one event each."""

    def __init__(self, lines, retention=None, group="/aws/rds/instance/maria/audit", page=3):
        stamps = [mal.parse_timestamp(line[:17]) for line in lines]
        self.events = [{"timestamp": int(s.timestamp() * 1000), "message": line, "logStreamName": "maria"}
                       for s, line in zip(stamps, lines)]
        self.retention, self.group, self.page, self.calls = retention, group, page, []

    def __call__(self, _client, method, **params):
        self.calls.append((method, params))
        if method == "describe_log_groups":
            if self.group is None:
                return {"logGroups": []}
            return {"logGroups": [dict({"logGroupName": self.group}, **(
                {"retentionInDays": self.retention} if self.retention else {}))]}
        assert method == "filter_log_events" and params["logGroupName"] == self.group
        assert params["logStreamNames"] == ["maria"]
        chosen = [e for e in self.events if params["startTime"] <= e["timestamp"] <= params["endTime"]]
        start = int(params.get("nextToken") or 0)
        answer = {"events": chosen[start:start + self.page]}
        if start + self.page < len(chosen):
            answer["nextToken"] = str(start + self.page)
        return answer


def _cloudwatch(fake, exports=("audit",), settings=None):
    aws = {"call": fake, "paginate": None, "errors": (KeyError,), "error_info": None}
    target = {"identifier": "maria", "engine": "mariadb", "log_exports": list(exports)}
    settings = settings or mal.audit_settings(_group({"SERVER_AUDIT_EVENTS": "CONNECT"}))
    return mal.gather_cloudwatch_evidence(aws, None, target, settings, 3, NOW, ["rdsadmin"])


def test_the_audit_export_in_cloudwatch_logs_is_read_with_the_same_parser():
    fake = FakeLogs(AUDIT.splitlines())
    evidence = _cloudwatch(fake)
    assert evidence["complete"] is True, evidence["incomplete_reasons"]
    assert evidence["log_group"] == "/aws/rds/instance/maria/audit" and evidence["source"] == mal.CLOUDWATCH_SOURCE
    clients = {(c["user"], c["address"]): c for c in evidence["clients"]}
    assert clients[("admin", "127.0.0.1")]["count"] == 2 and clients[("admin", "127.0.0.1")]["failed"] == 1
    assert evidence["tls_unknown_clients"] == 2 and evidence["tls_clients"] == 0
    assert len([c for c in fake.calls if c[0] == "filter_log_events"]) > 1  # followed nextToken


def test_cloudwatch_audit_retention_export_and_option_make_it_incomplete():
    short = _cloudwatch(FakeLogs(AUDIT.splitlines(), retention=1))
    assert short["complete"] is False and "retentionInDays" in short["reason"]
    assert short["covered_from"] == "2026-12-01T00:00:00Z" and short["needed_from"] == "2026-11-29T00:00:00Z"
    stopped = _cloudwatch(FakeLogs(AUDIT.splitlines()), exports=())
    assert stopped["complete"] is False and "does not export its audit log" in stopped["reason"]
    missing = _cloudwatch(FakeLogs(AUDIT.splitlines(), group=None))
    assert missing["complete"] is False and "does not exist" in missing["reason"] and missing["clients"] == []
    off = _cloudwatch(FakeLogs(AUDIT.splitlines()), settings=mal.audit_settings(_group(None)))
    assert off["complete"] is False and "no MARIADB_AUDIT_PLUGIN option" in off["reason"]
