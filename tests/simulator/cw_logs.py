"""CloudWatch Logs for RDS for PostgreSQL log exports, served from a linked PostgreSQL server's real log.

Models (RDS User Guide, "Publishing PostgreSQL logs to Amazon CloudWatch Logs"; Aurora User Guide, "Publishing
Aurora PostgreSQL logs to Amazon CloudWatch Logs") what RDS does when an instance's
``EnabledCloudwatchLogsExports`` holds ``postgresql`` (CreateDBInstance ``EnableCloudwatchLogsExports``,
ModifyDBInstance ``CloudwatchLogsExportConfiguration``, which moto 5.2 keeps; Aurora: the cluster's):

* the log group ``/aws/rds/instance/<id>/postgresql`` (Aurora: ``/aws/rds/cluster/<cluster>/postgresql``) with
  one log stream per instance, named by the instance identifier; RDS creates the group, without a retention
  policy ("Never expire") until one is set with ``PutRetentionPolicy``;
* every line of the PostgreSQL log is one log event whose ``message`` is the whole line, ``log_line_prefix``
  included (the User Guide's examples show ``2019-03-10 03:54:59 UTC:10.0.0.123(52834):postgres@logtestdb:
  [20175]:ERROR: ...``), its ``timestamp`` the line's own time.

moto 5.2's ``logs`` backend keeps the groups, streams and events and serves ``FilterLogEvents`` with
``startTime``/``endTime``, ``limit`` (at most 10000), ``logStreamNames`` and ``nextToken`` paging; this module
adds what it lacks (CloudWatch Logs API Reference, FilterLogEvents, PutRetentionPolicy):

* the events: the linked server's new lines are published to moto's stream whenever a CloudWatch Logs request
  is served (lines written while the export is off are never published);
* the page size: "as many log events as can fit in 1 MB (up to 10,000 log events)" - a page stops at 1 MB
  (each event counted as its UTF-8 message plus 26 bytes, as PutLogEvents counts it) and ``nextToken``
  continues after its last event;
* retention: events older than the group's ``retentionInDays`` are gone (moto keeps them).

MariaDB's audit export (RDS User Guide, "Publishing MariaDB logs to Amazon CloudWatch Logs"): an instance whose
``EnabledCloudwatchLogsExports`` holds ``audit`` and whose linked MariaDB runs the audit plugin (option group
``MARIADB_AUDIT_PLUGIN``) publishes each line of its audit files to ``/aws/rds/instance/<id>/audit``, stream the
instance, timestamp the line's own (``YYYYMMDD HH:MM:SS``, UTC); a line is published once, whatever file the
plugin has rotated it into since.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path
from typing import Any

from moto.logs.models import LogEvent, logs_backends
from moto.logs.responses import LogsResponse
from moto.rds.models import rds_backends

from . import db_logs, rds_ext

# CloudWatch Logs API Reference, FilterLogEvents ("1 MB (up to 10,000 log events)") and PutLogEvents (26 bytes).
MAX_PAGE_BYTES = 1024 * 1024
MAX_PAGE_EVENTS = 10000
EVENT_OVERHEAD = 26
EXPORT = "postgresql"
AUDIT_EXPORT = "audit"

_lock = threading.RLock()
# (account, region, db id) -> events of its log already published to the stream.
_published: dict[tuple[str, str, str], int] = {}
# (account, region, db id) -> audit lines already published (the plugin rotates lines from file to file).
_published_audit: dict[tuple[str, str, str], set[bytes]] = {}
_original: dict[str, Any] = {}


def log_group_name(db: Any) -> str:
    """The log group RDS publishes an instance's PostgreSQL log to (Aurora: its cluster's)."""
    if getattr(db, "db_cluster_identifier", None):
        return f"/aws/rds/cluster/{db.db_cluster_identifier}/{EXPORT}"
    return f"/aws/rds/instance/{db.db_instance_identifier}/{EXPORT}"


def exports_postgresql(db: Any, backend: Any) -> bool:
    """EnabledCloudwatchLogsExports of the instance, or of its Aurora cluster, holds postgresql."""
    if EXPORT in (getattr(db, "enabled_cloudwatch_logs_exports", None) or []):
        return True
    cluster = backend.clusters.get(db.db_cluster_identifier) if getattr(db, "db_cluster_identifier", None) else None
    return cluster is not None and EXPORT in (getattr(cluster, "enabled_cloudwatch_logs_exports", None) or [])


def sync(account: str, region: str) -> None:
    """Publish the new lines of every linked PostgreSQL server of (account, region) to its log stream."""
    rds = rds_backends[account][region]
    logs = logs_backends[account][region]
    with rds_ext.STATE.lock:
        sources = [(key[2], path) for key, path in rds_ext.STATE.log_sources.items() if key[:2] == (account, region)]
        instances = {db_id: rds.databases.get(db_id) for db_id, _path in sources}
        exporting = {db_id: db is not None and exports_postgresql(db, rds) for db_id, db in instances.items()}
    with _lock:
        for db_id, path in sources:
            db = instances[db_id]
            if db is None:
                continue
            events = db_logs.line_events(Path(path))
            done = _published.get((account, region, db_id), 0)
            _published[(account, region, db_id)] = len(events)
            if not exporting[db_id]:
                continue
            group_name = log_group_name(db)
            if group_name not in logs.groups:
                logs.create_log_group(group_name, {})
            group = logs.groups[group_name]
            if db_id not in group.streams:
                group.create_log_stream(db_id)
            stream = group.streams[db_id]
            now_ms = int(dt.datetime.now(dt.timezone.utc).timestamp() * 1000)
            for stamp, line in events[done:]:
                stream.events.append(LogEvent(now_ms, {"timestamp": stamp, "message": line.decode("utf-8", "replace")}))
            if len(events) > done:
                stream.last_ingestion_time = dt.datetime.now(dt.timezone.utc)


def _audit_events(directory: Path) -> list[tuple[int, bytes]]:
    """The audit lines of every kept file, oldest first, with their own time in ms."""
    events = []
    for log_file in reversed(db_logs.audit_files(directory)):  # audit_files lists the current file first
        for line in log_file.data.splitlines():
            try:
                stamp = dt.datetime.strptime(line[:17].decode(), "%Y%m%d %H:%M:%S").replace(tzinfo=dt.timezone.utc)
            except ValueError:
                continue
            events.append((int(stamp.timestamp() * 1000), line))
    return events


def sync_audit(account: str, region: str) -> None:
    """Publish the new audit lines of every linked MariaDB of (account, region) exporting ``audit``."""
    rds = rds_backends[account][region]
    logs = logs_backends[account][region]
    with rds_ext.STATE.lock:
        sources = [(key[2], path) for key, path in rds_ext.STATE.audit_sources.items() if key[:2] == (account, region)]
        instances = {db_id: rds.databases.get(db_id) for db_id, _path in sources}
    with _lock:
        for db_id, path in sources:
            db = instances[db_id]
            published = _published_audit.setdefault((account, region, db_id), set())
            new = [(stamp, line) for stamp, line in _audit_events(Path(path)) if line not in published]
            published.update(line for _stamp, line in new)
            if db is None or AUDIT_EXPORT not in (getattr(db, "enabled_cloudwatch_logs_exports", None) or []):
                continue
            group_name = f"/aws/rds/instance/{db_id}/{AUDIT_EXPORT}"
            if group_name not in logs.groups:
                logs.create_log_group(group_name, {})
            group = logs.groups[group_name]
            if db_id not in group.streams:
                group.create_log_stream(db_id)
            stream = group.streams[db_id]
            now_ms = int(dt.datetime.now(dt.timezone.utc).timestamp() * 1000)
            for stamp, line in new:
                stream.events.append(LogEvent(now_ms, {"timestamp": stamp, "message": line.decode("utf-8", "replace")}))
            if new:
                stream.last_ingestion_time = dt.datetime.now(dt.timezone.utc)


def reset() -> None:
    with _lock:
        _published.clear()
        _published_audit.clear()


def _account_region(resp: LogsResponse) -> tuple[str, str]:
    return resp.current_account, resp.region


def _filter_log_events(self: LogsResponse) -> str:
    account, region = _account_region(self)
    sync(account, region)
    sync_audit(account, region)
    group = logs_backends[account][region].groups.get(self._get_param("logGroupName") or "")
    retention = getattr(group, "retention_in_days", None) if group is not None else None
    if retention:
        # Events older than the retention are deleted: a startTime before the horizon reads from the horizon.
        horizon = int((dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=int(retention))).timestamp() * 1000)
        body = json.loads(self.body or "{}")  # moto's LogsResponse reads its parameters from the JSON body
        body["startTime"] = max(int(body.get("startTime") or 0), horizon)
        self.body = json.dumps(body)
    answer = json.loads(_original["filter_log_events"](self))
    events = answer.get("events") or []
    size = 0
    for index, event in enumerate(events):
        size += len(event["message"].encode("utf-8")) + EVENT_OVERHEAD
        if size > MAX_PAGE_BYTES and index > 0:
            kept = events[:index]
            last = kept[-1]
            answer["events"] = kept
            # moto's own token format: continue after the last event returned.
            answer["nextToken"] = f"{self._get_param('logGroupName')}@{last['logStreamName']}@{last['eventId']}"
            break
    return json.dumps(answer)


def _describe_log_groups(self: LogsResponse) -> str:
    account, region = _account_region(self)
    sync(account, region)
    sync_audit(account, region)
    return _original["describe_log_groups"](self)


_installed = False


def install() -> None:
    """Wrap moto's CloudWatch Logs actions (idempotent)."""
    global _installed  # pylint: disable=global-statement
    if _installed:
        return
    for name, func in {"filter_log_events": _filter_log_events, "describe_log_groups": _describe_log_groups}.items():
        _original[name] = getattr(LogsResponse, name)
        setattr(LogsResponse, name, func)
    _installed = True
