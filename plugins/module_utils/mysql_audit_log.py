# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Evidence over days of who connects to a MySQL or MariaDB database, from the MariaDB Audit Plugin's log read
through the RDS API (no database login), and what it can and cannot say about TLS.

RDS for MariaDB (10.3 and later) and RDS for MySQL offer the ``MARIADB_AUDIT_PLUGIN`` option (RDS User Guide,
"Options for MariaDB database engine" and "MariaDB Audit Plugin support for MySQL"). With ``CONNECT`` in its
``SERVER_AUDIT_EVENTS`` setting, every connection writes lines such as::

    20261201 20:59:28,ip-10-0-1-5,app,10.0.1.7,6,0,CONNECT,orders,,0
    20261201 20:59:28,ip-10-0-1-5,app,10.0.1.7,7,0,FAILED_CONNECT,,,1045
    20261201 20:59:29,ip-10-0-1-5,app,10.0.1.7,6,0,DISCONNECT,orders,,0

(``[timestamp],[serverhost],[username],[host],[connectionid],[queryid],[operation],[database],[object],
[retcode]``, MariaDB KB "MariaDB Audit Plugin - Log Format"), in ``audit/server_audit.log``, rotated by size
(``SERVER_AUDIT_FILE_ROTATE_SIZE``, 1 MB by default) into ``audit/server_audit.log.1`` ... keeping
``SERVER_AUDIT_FILE_ROTATIONS`` (9) of them; the files are read with the same ``DescribeDBLogFiles`` +
``DownloadDBLogFilePortion`` walk as PostgreSQL's (:func:`pg_connection_log.read_files`), and the window model
is the same (:func:`pg_connection_log.coverage`).

**What the audit log cannot prove:** it records no TLS field - a TLS and a plaintext connection write the same
line. TLS use per client is therefore taken from what does prove it (:func:`attribute_tls`):
``require_secure_transport=ON`` (every TCP connection must use TLS), accounts created ``REQUIRE SSL``/``X509``/
``ISSUER``/``SUBJECT``/``CIPHER`` (``mysql.user.ssl_type``, read with a login), and live sessions
(``performance_schema.threads`` ``CONNECTION_TYPE``, ``status_by_thread`` ``Ssl_cipher``). performance_schema
keeps no TLS history: ``accounts``/``users``/``hosts`` count connections but not their transport, and
``session_status``/``status_by_thread`` cover open sessions only. A client with no such proof is reported with
``tls: null`` ("unknown"), never as plaintext; a live plaintext session makes ``tls: false`` for that client, but
only for the sessions seen - other connections of the window stay unproven (``tls_proof: sessions``).
"""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

import datetime
import re
from typing import Any, Iterable, Optional

from ansible_collections.rdsca.rotation.plugins.module_utils import cloudwatch_log
from ansible_collections.rdsca.rotation.plugins.module_utils import pg_connection_log
from ansible_collections.rdsca.rotation.plugins.module_utils.rds_domain import iso_z as _iso
from ansible_collections.rdsca.rotation.plugins.module_utils.rds_domain import usage_kind

OPTION = "MARIADB_AUDIT_PLUGIN"
FILE_PREFIX = "audit/server_audit.log"
EXPORT = "audit"
CLOUDWATCH_SOURCE = "CloudWatch Logs FilterLogEvents (MariaDB Audit Plugin log exported by RDS, log type audit)"
EVIDENCE_SOURCE = "DescribeDBLogFiles + DownloadDBLogFilePortion (MariaDB Audit Plugin log, MARIADB_AUDIT_PLUGIN)"
# RDS's defaults for the option's settings (RDS User Guide, "Options for MariaDB database engine").
DEFAULT_SETTINGS = {"SERVER_AUDIT_EVENTS": "CONNECT,QUERY", "SERVER_AUDIT_FILE_ROTATE_SIZE": "1000000",
                    "SERVER_AUDIT_FILE_ROTATIONS": "9", "SERVER_AUDIT_INCL_USERS": "", "SERVER_AUDIT_EXCL_USERS": ""}
CONNECTION_EVENTS = ("CONNECT", "FAILED_CONNECT", "DISCONNECT", "CHANGEUSER")
# mysql.user ssl_type values of accounts that must connect with TLS (MySQL/MariaDB CREATE USER ... REQUIRE).
TLS_REQUIRED_SSL_TYPES = ("ANY", "X509", "SPECIFIED")
LIMITS = ("the MariaDB audit log records who connected, from where and when, but not whether the connection used "
          "TLS; TLS per client is proven only by require_secure_transport=ON, by accounts that REQUIRE SSL/X509 "
          "(mysql.user, with a login) and by live sessions (performance_schema, open sessions only: it keeps no TLS "
          "history)")
# Aurora MySQL has no MARIADB_AUDIT_PLUGIN option: it audits with Advanced Auditing (Aurora User Guide, "Using
# Advanced Auditing with an Amazon Aurora MySQL DB cluster"), configured in the DB cluster parameter group.
AURORA_REASON = ("log evidence is not available for aurora-mysql yet: Aurora MySQL audits with Advanced Auditing "
                 "(server_audit_logging in the DB cluster parameter group), which is not read")
_TIMESTAMP = re.compile(r"^(\d{8}) (\d{2}):(\d{2}):(\d{2})$")
# Unsigned 32-bit rotation index of a rotated audit file.
_ROTATION = re.compile(r"^audit/server_audit\.log(?:\.(\d+))?$")


def parse_timestamp(text: Optional[str]) -> Optional[datetime.datetime]:
    """``20261201 20:59:28`` (the server's time: UTC on RDS) as an aware UTC datetime, None when malformed."""
    match = _TIMESTAMP.match(text or "")
    if not match:
        return None
    try:
        stamp = datetime.datetime.strptime("%s %s:%s:%s" % match.groups(), "%Y%m%d %H:%M:%S")
    except ValueError:
        return None
    return stamp.replace(tzinfo=datetime.timezone.utc)


def parse_line(line: str) -> Optional[dict[str, Any]]:
    """One audit line as a dict, or None when it is not a connection event (or not an audit line).

    ``{"timestamp", "serverhost", "user", "host", "connection_id", "operation", "database", "retcode"}``. Only
    the ``object`` field (a QUERY event's statement) may hold commas, so the line is split on the first eight and
    the last comma.
    """
    text = line.rstrip("\r\n")
    head = text.split(",", 8)
    if len(head) != 9:
        return None
    stamp_text, serverhost, user, host, connection_id, query_id, operation, database, rest = head
    if operation not in CONNECTION_EVENTS or not connection_id.isdigit() or not query_id.isdigit():
        return None
    _object, _sep, retcode = rest.rpartition(",")
    stamp = parse_timestamp(stamp_text)
    if stamp is None or not retcode.lstrip("-").isdigit():
        return None
    return {"timestamp": stamp, "serverhost": serverhost, "user": user, "host": host or None,
            "connection_id": int(connection_id), "operation": operation, "database": database or None,
            "retcode": int(retcode)}


class AuditLog(pg_connection_log.PortionLines):
    """Distinct clients (address, user) from audit lines, fed portion by portion like
    :class:`pg_connection_log.ConnectionLog` (a trailing partial line waits for the next portion)."""

    has_time = True

    def __init__(self, exclude_users: Iterable[str] = (), since: Optional[datetime.datetime] = None) -> None:
        self.since = since
        self.exclude_users = set(exclude_users or ())
        self._partial = ""
        self._clients: dict[tuple, dict[str, Any]] = {}
        self.lines = 0
        self.connections = 0
        self.failed_connections = 0
        self.truncated_portions = 0
        self.first_line: Optional[datetime.datetime] = None
        self.last_line: Optional[datetime.datetime] = None

    def _line(self, line: str) -> None:
        if pg_connection_log.TRUNCATION_NOTICE in line:
            self.truncated_portions += 1
            return
        self.lines += 1
        event = parse_line(line)
        if event is None:
            return
        stamp = event["timestamp"]
        self.first_line = min(self.first_line or stamp, stamp)
        self.last_line = max(self.last_line or stamp, stamp)
        if event["operation"] not in ("CONNECT", "FAILED_CONNECT", "CHANGEUSER") or event["user"] in self.exclude_users:
            return
        if self.since and stamp < self.since:
            return
        failed = event["operation"] == "FAILED_CONNECT" or event["retcode"] != 0
        key = (event["host"], event["user"])
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = {
                "address": event["host"], "user": event["user"], "databases": set(),
                "local": (event["host"] or "localhost") == "localhost", "count": 0, "failed": 0,
                "first_seen": None, "last_seen": None,
            }
        if failed:
            self.failed_connections += 1
            client["failed"] += 1
        else:
            self.connections += 1
            client["count"] += 1
            if event["database"]:
                client["databases"].add(event["database"])
        client["first_seen"] = min(client["first_seen"] or stamp, stamp)
        client["last_seen"] = max(client["last_seen"] or stamp, stamp)

    def clients(self) -> list[dict[str, Any]]:
        """Distinct clients, JSON-ready (times ISO 8601 UTC), TLS unknown until :func:`attribute_tls`."""
        items = []
        for client in self._clients.values():
            items.append(dict(client, databases=sorted(client["databases"]), database=None, application=None,
                              protocol=None, cipher=None, replication=False, tls=None, tls_proof=None,
                              tls_basis=None, first_seen=_iso(client["first_seen"]),
                              last_seen=_iso(client["last_seen"])))
            items[-1]["database"] = items[-1]["databases"][0] if len(items[-1]["databases"]) == 1 else None
        return sorted(items, key=lambda c: (c["local"], str(c["address"]), str(c["user"])))


# -- the option group ------------------------------------------------------------------------------

def audit_settings(option_group: Optional[dict[str, Any]], membership: Optional[dict[str, Any]] = None,
                   error: Optional[str] = None) -> dict[str, Any]:
    """What the instance's option group says about the audit plugin.

    ``option_group``: a DescribeOptionGroups item (None when the instance has none); ``membership``: the
    instance's OptionGroupMemberships item (its ``Status``, ``in-sync`` once applied); ``error``: why the group
    could not be read. Returns ``{"option_group", "status", "enabled", "events", "rotations", "rotate_size",
    "include_users", "exclude_users", "error"}``.
    """
    settings = {"option_group": (membership or {}).get("OptionGroupName") or (option_group or {}).get("OptionGroupName"),
                "status": (membership or {}).get("Status"), "enabled": False, "events": [], "rotations": None,
                "rotate_size": None, "include_users": [], "exclude_users": [], "error": error}
    if error or option_group is None:
        return settings
    for option in option_group.get("Options") or []:
        if option.get("OptionName") != OPTION:
            continue
        values = dict(DEFAULT_SETTINGS)
        for item in option.get("OptionSettings") or []:
            if item.get("Name") and item.get("Value") not in (None, ""):
                values[item["Name"]] = str(item["Value"])

        def words(name: str) -> list[str]:
            return [w.strip() for w in values.get(name, "").split(",") if w.strip()]

        def number(name: str) -> Optional[int]:
            try:
                return int(values.get(name))
            except (TypeError, ValueError):
                return None
        settings.update(enabled=True, events=[w.upper() for w in words("SERVER_AUDIT_EVENTS")],
                        rotations=number("SERVER_AUDIT_FILE_ROTATIONS"),
                        rotate_size=number("SERVER_AUDIT_FILE_ROTATE_SIZE"),
                        include_users=words("SERVER_AUDIT_INCL_USERS"), exclude_users=words("SERVER_AUDIT_EXCL_USERS"))
    return settings


def setting_reasons(settings: dict[str, Any], exclude_users: Iterable[str] = ()) -> list[str]:
    """Why the option group makes the audit evidence incomplete (none when it audits every connection)."""
    group = settings.get("option_group")
    if settings.get("error"):
        return ["the option group could not be read (%s): whether connections are audited is unknown" % settings["error"]]
    if not settings.get("enabled"):
        return ["the option group %s has no %s option: connections are not audited, so the logs cannot show which "
                "clients connect (add the option with SERVER_AUDIT_EVENTS=CONNECT)" % (group or "(none)", OPTION)]
    reasons = []
    if "CONNECT" not in settings.get("events", []):
        reasons.append("SERVER_AUDIT_EVENTS of option group %s is %s, without CONNECT: connections are not audited"
                       % (group, ",".join(settings.get("events") or []) or "empty"))
    if settings.get("status") not in (None, "in-sync"):
        reasons.append("option group %s is %s on the instance, not in-sync" % (group, settings["status"]))
    if settings.get("include_users"):
        reasons.append("SERVER_AUDIT_INCL_USERS (%s): only these users' connections are audited"
                       % ",".join(settings["include_users"]))
    hidden = sorted(set(settings.get("exclude_users") or []) - set(exclude_users or ()))
    if hidden:
        reasons.append("SERVER_AUDIT_EXCL_USERS hides the connections of %s" % ",".join(hidden))
    return reasons


def rotation_index(name: Optional[str]) -> Optional[int]:
    """0 for ``audit/server_audit.log``, N for ``audit/server_audit.log.N``, None for another file."""
    match = _ROTATION.match(name or "")
    if not match:
        return None
    return int(match.group(1) or 0)


def completeness(window_start: datetime.datetime, now: datetime.datetime, created: Any, settings: dict[str, Any],
                 files: list[dict[str, Any]], older: list[dict[str, Any]], problems: list[str], log: AuditLog,
                 exclude_users: Iterable[str] = ()) -> dict[str, Any]:
    """What the audit evidence covers (same keys as :func:`pg_connection_log.completeness`).

    ``files``: the audit files read (written since the window start); ``older``: audit files last written before
    it. An older file still kept means the files read reach back past the window start. Otherwise the log
    reaches back to its first event - unless a file was rotated away (the rotation slot
    ``SERVER_AUDIT_FILE_ROTATIONS`` is in use), when the events before it are lost.
    """
    reasons = setting_reasons(settings, exclude_users)
    needed_from = max(window_start, created) if created else window_start
    covered_from = None
    why = ""
    if older:
        covered_from = needed_from
    elif files:
        rotations = settings.get("rotations")
        if rotations and rotations in [rotation_index(f.get("LogFileName")) for f in files]:
            # The last kept rotation is in use: a file older than it may have been dropped.
            covered_from = log.first_line or now
            why = (" (SERVER_AUDIT_FILE_ROTATIONS=%s files of SERVER_AUDIT_FILE_ROTATE_SIZE=%s bytes are kept: "
                   "older events were rotated away)" % (rotations, settings.get("rotate_size")))
        else:
            covered_from = needed_from  # no file was ever rotated away: the log reaches back to its start
    return pg_connection_log.coverage(window_start, now, needed_from, covered_from, reasons, why, problems)


# -- TLS per client ------------------------------------------------------------------------------

def _required_users(account_ssl_types: Optional[dict[str, list[str]]]) -> set[str]:
    """Users all of whose accounts (user@host rows) must use TLS."""
    required = set()
    for user, types in (account_ssl_types or {}).items():
        if types and all(str(t or "").upper() in TLS_REQUIRED_SSL_TYPES for t in types):
            required.add(user)
    return required


def attribute_tls(evidence: dict[str, Any], enforced: Any = None, enforced_by: Optional[str] = None,
                  account_ssl_types: Optional[dict[str, list[str]]] = None,
                  sessions: Iterable[dict[str, Any]] = ()) -> dict[str, Any]:
    """Set each audit client's ``tls`` (True, False, None) with ``tls_proof`` and ``tls_basis``, and the counts.

    ``enforced``: require_secure_transport as the result says (True: every TCP connection used TLS, as far as
    the setting held over the window); ``account_ssl_types``: ``{user: [ssl_type of each user@host row]}`` from
    mysql.user; ``sessions``: the live sessions seen (rds_ssl_usage ``sessions``). ``tls_unknown_clients``
    counts the clients that connected (not locally) whose TLS use over the window is not proven.
    """
    required = _required_users(account_ssl_types)
    seen: dict[tuple, set[str]] = {}
    for item in sessions or ():
        seen.setdefault((item.get("client_address"), item.get("user")), set()).add(item.get("transport"))
    for client in evidence.get("clients") or []:
        if client.get("local"):
            client.update(tls=None, tls_proof=None, tls_basis="a local (socket) connection: TLS does not apply")
            continue
        transports = seen.get((client.get("address"), client.get("user")), set())
        if enforced is True:
            client.update(tls=True, tls_proof="enforced", tls_basis=(
                "require_secure_transport=ON (%s): the server refuses TCP connections without TLS" % (enforced_by or "")
            ).replace(" ()", ""))
        elif client.get("user") in required:
            client.update(tls=True, tls_proof="account", tls_basis=(
                "every %s account REQUIREs SSL/X509 (mysql.user ssl_type): it cannot connect without TLS"
                % client["user"]))
        elif "ssl" in transports:
            client.update(tls=True, tls_proof="sessions",
                          tls_basis="a live session of this client used TLS (performance_schema)")
        elif "tcp" in transports:
            client.update(tls=False, tls_proof="sessions", tls_basis=(
                "a live session of this client was plaintext (performance_schema); its other connections in the "
                "window are not known"))
        else:
            client.update(tls=None, tls_proof=None, tls_basis=(
                "the audit log does not record TLS, and no setting, account or live session proves it"))
    remote = [c for c in evidence.get("clients") or [] if not c.get("local") and c.get("count")]
    evidence["tls_clients"] = len([c for c in remote if c["tls"] is True])
    evidence["plaintext_clients"] = len([c for c in remote if c["tls"] is False])
    evidence["tls_unknown_clients"] = len([c for c in remote if c["tls"] is not True])
    return evidence


# -- one database --------------------------------------------------------------------------------

def gather_evidence(aws: dict[str, Any], client: Any, target: dict[str, Any], settings: dict[str, Any],
                    window_days: float, now: datetime.datetime, exclude_users: Iterable[str] = ()) -> dict[str, Any]:
    """Audit-log evidence of one MySQL/MariaDB database over the last ``window_days`` days. Never raises.

    Same arguments and result keys as :func:`pg_connection_log.gather_evidence` (``settings``:
    :func:`audit_settings`), plus ``audit`` (the option's settings), ``failed_connections``,
    ``tls_unknown_clients`` and ``limits``; every client's ``tls`` is None until :func:`attribute_tls`.
    """
    engine = target.get("engine")
    if usage_kind(engine) != "mysql":
        return pg_connection_log.unavailable(engine, window_days, "audit log evidence is for MySQL and MariaDB")
    if str(engine).startswith("aurora"):
        return pg_connection_log.unavailable(engine, window_days, AURORA_REASON)
    window_start = now - datetime.timedelta(days=window_days)
    evidence = pg_connection_log.unavailable(engine, window_days, None)
    evidence.update(available=True, source=EVIDENCE_SOURCE, window_start=_iso(window_start), window_end=_iso(now),
                    audit=dict((k, settings.get(k)) for k in ("option_group", "status", "enabled", "events",
                                                              "rotations", "rotate_size")),
                    failed_connections=0, tls_unknown_clients=0, limits=LIMITS,
                    notes=["RDS shows the option group as it is now, not since when: an audit plugin added during "
                           "the window looks like quiet hours before it"])
    problems: list[str] = []
    aws_failures: list[str] = []
    log = AuditLog(exclude_users, since=window_start)
    created = target.get("created")
    if not isinstance(created, datetime.datetime) or created.tzinfo is None:
        created = None
    needed_from = max(window_start, created) if created else window_start
    files, older = [], []
    if settings.get("error") and settings["error"] != target.get("aws_error"):
        aws_failures.append(settings["error"])  # an API failure is a failure to inspect (strict fails on it)
    if settings.get("enabled") and not settings.get("error"):
        try:
            listed, _first = aws["paginate"](client, "describe_db_log_files", "DescribeDBLogFiles",
                                             DBInstanceIdentifier=target["identifier"], FilenameContains="audit/")
        except aws["errors"] as exc:  # pylint: disable=catching-non-exception
            info = aws["error_info"](exc)
            problems.append("DescribeDBLogFiles failed: %s: %s" % (info["error_code"], info["message"]))
            aws_failures.append(problems[-1])
            listed = []
        audit_files = [f for f in listed if rotation_index(f.get("LogFileName")) is not None]
        since_ms = int(needed_from.timestamp() * 1000)
        # Oldest first (the highest rotation index), so that first/last seen grow in order.
        files = sorted((f for f in audit_files if int(f.get("LastWritten") or 0) >= since_ms),
                       key=lambda f: -rotation_index(f["LogFileName"]))
        older = [f for f in audit_files if int(f.get("LastWritten") or 0) < since_ms]
        pg_connection_log.read_files(aws, client, target["identifier"], [f["LogFileName"] for f in files], log,
                                     problems, aws_failures)
    facts = completeness(window_start, now, created, settings, files, older, problems, log, exclude_users)
    clients = log.clients()
    evidence.update(complete=facts["complete"], incomplete_reasons=facts["reasons"],
                    covered_from=facts["covered_from"], needed_from=facts["needed_from"],
                    files=[f.get("LogFileName") for f in files], connections=log.connections,
                    failed_connections=log.failed_connections, clients=clients)
    attribute_tls(evidence)
    evidence["reason"] = None if facts["complete"] else "; ".join(facts["reasons"])
    evidence["errors"] = aws_failures
    return evidence


# -- CloudWatch Logs (the audit export) ------------------------------------------------------------

def exports_audit(target: dict[str, Any]) -> bool:
    """Whether DescribeDBInstances showed ``audit`` in the instance's EnabledCloudwatchLogsExports."""
    return EXPORT in (target.get("log_exports") or [])


def use_cloudwatch(log_source: str, target: dict[str, Any]) -> bool:
    """``log_source`` ``cloudwatch``; ``auto``: when the instance exports its audit log; ``rds``: never."""
    return log_source == "cloudwatch" or (log_source == "auto" and exports_audit(target))


def gather_cloudwatch_evidence(aws: dict[str, Any], client: Any, target: dict[str, Any], settings: dict[str, Any],
                               window_days: float, now: datetime.datetime,
                               exclude_users: Iterable[str] = ()) -> dict[str, Any]:
    """Audit evidence from the ``audit`` export in CloudWatch Logs (``client`` a ``logs`` client). Never raises.

    RDS publishes each audit line as one event of ``/aws/rds/instance/<id>/audit``, log stream the instance (RDS User
    Guide, "Publishing MariaDB logs to Amazon CloudWatch Logs" / "Publishing MySQL logs to Amazon CloudWatch
    Logs"); the same parser reads them (:func:`cloudwatch_log.read_events`). The group's ``retentionInDays``, not
    the plugin's rotations, bounds what is kept. Same result keys as :func:`gather_evidence`, plus ``log_group``,
    ``log_stream`` and ``retention_days``.
    """
    engine = target.get("engine")
    if usage_kind(engine) != "mysql" or str(engine).startswith("aurora"):
        return gather_evidence(aws, client, target, settings, window_days, now, exclude_users)
    window_start = now - datetime.timedelta(days=window_days)
    group = "/aws/rds/instance/%s/%s" % (target["identifier"], EXPORT)
    evidence = pg_connection_log.unavailable(engine, window_days, None)
    evidence.update(available=True, source=CLOUDWATCH_SOURCE, window_start=_iso(window_start), window_end=_iso(now),
                    audit=dict((k, settings.get(k)) for k in ("option_group", "status", "enabled", "events",
                                                              "rotations", "rotate_size")),
                    failed_connections=0, tls_unknown_clients=0, limits=LIMITS, log_group=group,
                    log_stream=target["identifier"], retention_days=None, notes=[])
    problems: list[str] = []
    aws_failures = [settings["error"]] if settings.get("error") and settings["error"] != target.get("aws_error") else []
    reasons = setting_reasons(settings, exclude_users)
    if "log_exports" in target and not exports_audit(target):
        reasons.append("the instance does not export its audit log to CloudWatch Logs (EnabledCloudwatchLogsExports): "
                       "new connections are not published")
    log = AuditLog(exclude_users, since=window_start)
    created = target.get("created")
    if not isinstance(created, datetime.datetime) or created.tzinfo is None:
        created = None
    needed_from = max(window_start, created) if created else window_start
    covered_from, why = needed_from, ""
    try:
        info = cloudwatch_log.describe_group(aws["call"], client, group)
        if info is None:
            problems.append("the log group %s does not exist: the audit log is not exported to CloudWatch Logs" % group)
        else:
            evidence["retention_days"] = info.get("retentionInDays")
            if info.get("retentionInDays"):
                horizon = now - datetime.timedelta(days=int(info["retentionInDays"]))
                if horizon > needed_from:
                    covered_from = horizon
                    why = " (the log group keeps events for %d day(s), retentionInDays)" % int(info["retentionInDays"])
            _events, more = cloudwatch_log.read_events(aws["call"], client, group, target["identifier"],
                                                       needed_from, now, log)
            problems.extend(more)
    except aws["errors"] as exc:  # pylint: disable=catching-non-exception
        info = aws["error_info"](exc)
        problems.append("CloudWatch Logs failed: %s: %s" % (info["error_code"], info["message"]))
        if info["error_code"] != "ResourceNotFoundException":
            aws_failures.append(problems[-1])
        log.end_file()
    facts = pg_connection_log.coverage(window_start, now, needed_from, covered_from, reasons, why, problems)
    evidence.update(complete=facts["complete"], incomplete_reasons=facts["reasons"], covered_from=facts["covered_from"],
                    needed_from=facts["needed_from"], files=[], connections=log.connections,
                    failed_connections=log.failed_connections, clients=log.clients())
    attribute_tls(evidence)
    evidence["reason"] = None if facts["complete"] else "; ".join(facts["reasons"])
    evidence["errors"] = aws_failures
    return evidence
