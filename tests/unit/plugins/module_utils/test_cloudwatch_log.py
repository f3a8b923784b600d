# -*- coding: utf-8 -*-
# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""cloudwatch_log: FilterLogEvents paging, the window, retention and missing exports as incomplete evidence."""

from __future__ import absolute_import, division, print_function

import datetime

from ansible_collections.rdsca.rotation.plugins.module_utils import cloudwatch_log as cwl
from ansible_collections.rdsca.rotation.plugins.module_utils import pg_connection_log as pcl

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
GROUP = "/aws/rds/instance/orders/postgresql"
LINES = [
    "2026-12-01 10:00:02 UTC:10.0.1.5(51234):[unknown]@[unknown]:[4242]:LOG:  connection received: host=10.0.1.5 "
    "port=51234",
    "2026-12-01 10:00:02 UTC:10.0.1.5(51234):app@orders:[4242]:LOG:  connection authorized: user=app "
    "database=orders application_name=api SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)",
    "2026-12-02 10:00:05 UTC:10.0.2.9(40000):batch@orders:[4243]:LOG:  connection authorized: user=batch "
    "database=orders application_name=psql",
    "2026-12-03 11:00:05 UTC:10.0.1.5(51300):app@orders:[4250]:LOG:  connection authorized: user=app "
    "database=orders application_name=api SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)",
]


class ApiError(Exception):
    def __init__(self, code):
        super(ApiError, self).__init__(code)
        self.code = code


def _stamp(line):
    stamp = datetime.datetime.strptime(line[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    return int(stamp.timestamp() * 1000)


class FakeLogs:
    """CloudWatch Logs as FilterLogEvents documents it: pages of ``page`` events, startTime/endTime inclusive."""

    def __init__(self, lines=tuple(LINES), page=2, retention=None, group=GROUP, empty_pages=0):
        self.events = [{"timestamp": _stamp(line), "message": line, "logStreamName": "orders"} for line in lines]
        self.page = page
        self.retention = retention
        self.group = group
        self.empty_pages = empty_pages
        self.calls = []

    def __call__(self, _client, method, **params):
        self.calls.append((method, params))
        if method == "describe_log_groups":
            if self.group is None or not self.group.startswith(params["logGroupNamePrefix"]):
                return {"logGroups": []}
            item = {"logGroupName": self.group}
            if self.retention:
                item["retentionInDays"] = self.retention
            return {"logGroups": [item]}
        assert method == "filter_log_events"
        if params["logGroupName"] != self.group:
            raise ApiError("ResourceNotFoundException")
        assert params["logStreamNames"] == ["orders"] and params["limit"] <= 10000
        if self.empty_pages:
            self.empty_pages -= 1
            return {"events": [], "nextToken": "empty-%d" % self.empty_pages}
        chosen = [e for e in self.events if params["startTime"] <= e["timestamp"] <= params["endTime"]]
        token = params.get("nextToken") or "0"
        start = 0 if token.startswith("empty") else int(token)
        page = chosen[start:start + self.page]
        answer = {"events": page}
        if start + self.page < len(chosen):
            answer["nextToken"] = str(start + self.page)
        return answer


def _aws(fake):
    return {"call": fake, "paginate": None, "errors": (ApiError,),
            "error_info": lambda exc: {"error_code": exc.code, "message": "it failed"}}


SETTINGS = {"group": "pg16-logged", "log_connections": "1", "log_line_prefix": pcl.RDS_DEFAULT_PREFIX,
            "retention_minutes": 4320, "error": None}
TARGET = {"identifier": "orders", "engine": "postgres", "log_exports": ["postgresql"],
          "created": datetime.datetime(2026, 1, 1, tzinfo=UTC)}


def test_pages_are_followed_and_clients_found_with_the_same_parser():
    fake = FakeLogs(page=1)
    evidence = cwl.gather_evidence(_aws(fake), None, TARGET, SETTINGS, 3, NOW)
    assert evidence["complete"], evidence["incomplete_reasons"]
    assert evidence["source"] == cwl.EVIDENCE_SOURCE and evidence["log_group"] == GROUP
    assert [c["user"] for c in evidence["clients"]] == ["app", "batch"]
    assert evidence["clients"][0]["tls"] and evidence["clients"][0]["count"] == 2
    assert evidence["clients"][0]["address"] == "10.0.1.5" and evidence["clients"][0]["protocol"] == "TLSv1.3"
    assert not evidence["clients"][1]["tls"]
    assert evidence["tls_clients"] == 1 and evidence["plaintext_clients"] == 1 and evidence["connections"] == 3
    filters = [p for m, p in fake.calls if m == "filter_log_events"]
    assert len(filters) == 4  # one event a page, four events
    assert [p.get("nextToken") for p in filters] == [None, "1", "2", "3"]


def test_empty_pages_with_a_token_are_followed():
    fake = FakeLogs(empty_pages=3)
    evidence = cwl.gather_evidence(_aws(fake), None, TARGET, SETTINGS, 3, NOW)
    assert evidence["tls_clients"] == 1 and evidence["connections"] == 3


def test_the_window_is_asked_for_and_respected():
    fake = FakeLogs()
    evidence = cwl.gather_evidence(_aws(fake), None, TARGET, SETTINGS, 1, NOW)
    first = [p for m, p in fake.calls if m == "filter_log_events"][0]
    assert first["startTime"] == int((NOW - datetime.timedelta(days=1)).timestamp() * 1000)
    assert first["endTime"] == int(NOW.timestamp() * 1000)
    # Only the last connection (2026-12-03 11:00) is in the last day.
    assert evidence["connections"] == 1 and evidence["window_start"] == "2026-12-02T12:00:00Z"


def test_retention_shorter_than_the_window_is_incomplete_not_no_tls():
    fake = FakeLogs(lines=LINES[2:3], retention=1)  # only a plaintext client is left in the group
    evidence = cwl.gather_evidence(_aws(fake), None, TARGET, SETTINGS, 3, NOW)
    assert not evidence["complete"] and evidence["tls_clients"] == 0
    assert evidence["retention_days"] == 1
    assert any("retentionInDays" in r and "1 day" in r for r in evidence["incomplete_reasons"]), evidence
    assert evidence["covered_from"] == "2026-12-02T12:00:00Z"


def test_retention_longer_than_the_window_is_complete():
    evidence = cwl.gather_evidence(_aws(FakeLogs(retention=30)), None, TARGET, SETTINGS, 3, NOW)
    assert evidence["complete"], evidence["incomplete_reasons"]


def test_missing_group_and_export_off_are_incomplete():
    target = dict(TARGET, log_exports=[])
    evidence = cwl.gather_evidence(_aws(FakeLogs(group=None)), None, target, SETTINGS, 3, NOW)
    assert not evidence["complete"] and evidence["available"]
    reasons = " ".join(evidence["incomplete_reasons"])
    assert "does not exist" in reasons and "EnabledCloudwatchLogsExports" in reasons
    assert evidence["errors"] == []


def test_log_connections_off_is_incomplete():
    evidence = cwl.gather_evidence(_aws(FakeLogs()), None, TARGET, dict(SETTINGS, log_connections=None), 3, NOW)
    assert not evidence["complete"] and "log_connections is off" in evidence["reason"]


def test_api_failure_is_reported_not_raised():
    def failing(_client, method, **_params):
        raise ApiError("AccessDeniedException")
    evidence = cwl.gather_evidence(_aws(failing), None, TARGET, SETTINGS, 3, NOW)
    assert not evidence["complete"] and evidence["errors"] == ["CloudWatch Logs failed: AccessDeniedException: it failed"]


def test_a_repeated_token_stops_the_walk():
    def looping(_client, method, **_params):
        if method == "describe_log_groups":
            return {"logGroups": [{"logGroupName": GROUP}]}
        return {"events": [], "nextToken": "same"}
    evidence = cwl.gather_evidence(_aws(looping), None, TARGET, SETTINGS, 3, NOW)
    assert not evidence["complete"] and "same nextToken" in evidence["reason"]


def test_other_engines_are_unavailable():
    evidence = cwl.gather_evidence(_aws(FakeLogs()), None, dict(TARGET, engine="mysql"), SETTINGS, 3, NOW)
    assert not evidence["available"]


def test_group_names_and_source_choice():
    assert cwl.log_group_name(TARGET) == GROUP
    aurora = {"identifier": "orders-1", "engine": "aurora-postgresql", "cluster_id": "orders"}
    assert cwl.log_group_name(aurora) == "/aws/rds/cluster/orders/postgresql"
    assert cwl.use_cloudwatch("auto", TARGET) and not cwl.use_cloudwatch("auto", dict(TARGET, log_exports=[]))
    assert cwl.use_cloudwatch("cloudwatch", {}) and not cwl.use_cloudwatch("rds", TARGET)


def test_an_old_group_of_an_instance_that_stopped_exporting_is_incomplete():
    target = dict(TARGET, log_exports=["upgrade"])
    evidence = cwl.gather_evidence(_aws(FakeLogs()), None, target, SETTINGS, 3, NOW)
    assert evidence["tls_clients"] == 1  # what the group still holds is shown...
    assert not evidence["complete"] and "EnabledCloudwatchLogsExports" in evidence["reason"]  # ...but proves nothing


def test_cloudwatch_events_say_when_log_connections_was_turned_on():
    """The same reload line, exported to CloudWatch Logs: the hours before it are not logged (issue 18)."""
    log = pcl.ConnectionLog()
    log.feed('2026-12-01 09:00:05 UTC::@:[391]:LOG:  parameter "log_connections" changed to "on"\n')
    log.end_file()
    now = datetime.datetime(2026, 12, 1, 11, tzinfo=datetime.timezone.utc)
    settings = {"group": "g", "log_connections": "1", "log_line_prefix": pcl.RDS_DEFAULT_PREFIX}
    facts = cwl.completeness(now - datetime.timedelta(days=1), now, None, settings, {"logGroupName": "x"}, True, [], log)
    assert facts["complete"] is False and facts["reasons"][0].startswith(
        "log_connections was off from 2026-11-30T11:00:00Z to 2026-12-01T09:00:05Z")
