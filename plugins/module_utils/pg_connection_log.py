# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Evidence of TLS use from PostgreSQL connection log lines, read through the RDS API (no database login).

With ``log_connections`` on, PostgreSQL logs two lines per connection:

* ``connection received: host=10.0.1.5 port=51234``
* ``connection authorized: user=app database=orders application_name=api SSL enabled (protocol=TLSv1.3,
  cipher=TLS_AES_256_GCM_SHA384, bits=256)`` - without ``SSL enabled (...)`` for a plaintext connection,
  without ``application_name=`` before PostgreSQL 14, with ``, compression=off`` inside the parentheses before
  PostgreSQL 14, ``replication connection authorized: user=...`` for replication.

Each line starts with the configured ``log_line_prefix`` (RDS's default ``%t:%r:%u@%d:[%p]:``), which
:func:`prefix_pattern` turns into a regular expression, so the prefix in use is honoured rather than one
hard-coded format. :class:`ConnectionLog` aggregates the lines of many portions (a portion may end in the
middle of a line) into distinct clients. The AWS side is one small function per call
(:func:`list_log_files`, :func:`download_portion`) and :func:`read_log_files`, which walks the files with
markers. :func:`completeness` says what the evidence cannot prove.
"""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

import abc
import datetime
import re
from typing import Any, Callable, Iterable, Optional, Pattern

from ansible_collections.rdsca.rotation.plugins.module_utils.rds_domain import iso_z as _iso
from ansible_collections.rdsca.rotation.plugins.module_utils.rds_domain import usage_kind

RDS_DEFAULT_PREFIX = "%t:%r:%u@%d:[%p]:"
RDS_DEFAULT_RETENTION_MINUTES = 4320
# Lines per DownloadDBLogFilePortion: well below RDS's 1 MB portion limit for ordinary lines; a truncated
# portion is read again in smaller blocks down to MIN_LINES.
PORTION_LINES = 2000
MIN_LINES = 16
TRUNCATION_NOTICE = "[Your log message was truncated]"
LOG_FILE_PREFIX = "error/postgresql.log."
_FILE_HOUR = re.compile(r"(\d{4}-\d{2}-\d{2})-(\d{2})(\d{2})?$")

_TIMESTAMP = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?(?: [A-Za-z0-9+_/-]+)?"
# What each log_line_prefix escape can print (PostgreSQL "Error Reporting and Logging", log_line_prefix).
_ESCAPES = {
    "a": r"(?P<application>.*?)",
    "u": r"(?P<user>.*?)",
    "d": r"(?P<database>.*?)",
    "r": r"(?P<remote>\[local\]|[^\s()]+\(\d+\)|[^\s()]*?)",
    "h": r"(?P<host>\[local\]|[^\s()]*?)",
    "b": r".*?",
    "p": r"(?P<pid>\d+)",
    "P": r"\d*",
    "t": r"(?P<timestamp>%s)" % _TIMESTAMP,
    "m": r"(?P<timestamp>%s)" % _TIMESTAMP,
    "n": r"(?P<epoch>\d+(?:\.\d+)?)",
    "i": r".*?",
    "e": r"[0-9A-Z]{5}",
    "c": r"[0-9a-f]+\.[0-9a-f]+",
    "l": r"\d+",
    "s": r".*?",
    "v": r".*?",
    "x": r"\d*",
    "Q": r"-?\d*",
}
_SEVERITY = r"(?P<severity>DEBUG\d?|INFO|NOTICE|WARNING|ERROR|LOG|FATAL|PANIC|STATEMENT|DETAIL|HINT|CONTEXT)"
_RECEIVED = re.compile(r"^connection received: host=(?P<host>\S+?)(?: port=(?P<port>\d+))?$")
_AUTHORIZED = re.compile(
    r"^(?P<replication>replication )?connection authorized: user=(?P<user>\S+)"
    r"(?: database=(?P<database>\S+))?"
    r"(?: application_name=(?P<application>.*?))?"
    r"(?P<ssl> SSL enabled \(protocol=(?P<protocol>[^,)]+), cipher=(?P<cipher>[^,)]+), bits=(?P<bits>\d+)"
    r"(?:, compression=\w+)?\))?"
    r"(?P<gss> GSS \([^)]*\))?$")

# PostgreSQL logs each setting a configuration reload changes (RDS applies a parameter group's dynamic parameters with
# a reload): when log_connections was turned on or off, which DescribeDBParameters does not say.
_SWITCHED = re.compile(r'^parameter "log_connections" changed to "(?P<value>[^"]*)"$')


def prefix_pattern(log_line_prefix: str) -> Pattern[str]:
    """A compiled regex matching a whole log line written with ``log_line_prefix``.

    Named groups: those of the prefix escapes (``timestamp``, ``remote``, ``host``, ``user``, ``database``,
    ``application``, ``pid``...), ``severity`` and ``message``. ``%q`` (the rest is printed only by session
    processes) makes the rest of the prefix optional. Raises ValueError for a prefix that is not a string.
    """
    if not isinstance(log_line_prefix, str):
        raise ValueError("log_line_prefix must be a string")
    parts = []
    seen = set()
    optional_from = None
    index = 0
    while index < len(log_line_prefix):
        char = log_line_prefix[index]
        if char != "%" or index + 1 >= len(log_line_prefix):
            parts.append(re.escape(char))
            index += 1
            continue
        escape = log_line_prefix[index + 1]
        index += 2
        # A padding width (%-10u) changes spacing only.
        while escape in "-0123456789" and index < len(log_line_prefix):
            escape = log_line_prefix[index]
            index += 1
        if escape == "%":
            parts.append("%")
        elif escape == "q":
            optional_from = len(parts)
        elif escape in _ESCAPES:
            pattern = _ESCAPES[escape]
            name = re.match(r"\(\?P<(\w+)>", pattern)
            if name and name.group(1) in seen:
                pattern = "(?:" + pattern[len(name.group(0)):]  # a repeated escape: match it, capture once
            elif name:
                seen.add(name.group(1))
            parts.append(pattern)
        else:
            parts.append(r".*?")  # an escape this version does not know: PostgreSQL prints nothing or text
    if optional_from is not None:
        parts = parts[:optional_from] + ["(?:" + "".join(parts[optional_from:]) + ")?"]
    return re.compile("^" + "".join(parts) + _SEVERITY + r":\s+(?P<message>.*)$")


def parse_timestamp(text: Optional[str]) -> Optional[datetime.datetime]:
    """A prefix timestamp (``%t``/``%m``) as an aware datetime (UTC when the zone is UTC/GMT or absent)."""
    if not text:
        return None
    match = re.match(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})(\.\d+)?(?: (\S+))?$", text)
    if not match:
        return None
    stamp = datetime.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S")
    if match.group(2):
        stamp = stamp.replace(microsecond=int(float(match.group(2)) * 1000000))
    zone = match.group(3)
    if zone in (None, "UTC", "GMT", "Z", "+00", "-00"):
        return stamp.replace(tzinfo=datetime.timezone.utc)
    offset = re.match(r"^([+-])(\d{2})(?::?(\d{2}))?$", zone)
    if offset:
        delta = datetime.timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3) or 0))
        return stamp.replace(tzinfo=datetime.timezone(delta if offset.group(1) == "+" else -delta))
    return None  # a zone name (CET...): the time is not comparable


def parse_line(line: str, pattern: Pattern[str]) -> Optional[dict[str, Any]]:
    """One log line as a dict, or None when it is not a connection line.

    ``{"event": "received", "host", "port", "pid", "timestamp"}`` or ``{"event": "authorized", "user",
    "database", "application", "tls", "protocol", "cipher", "bits", "replication", "address", "pid",
    "timestamp"}``.
    """
    match = pattern.match(line.rstrip("\r\n"))
    if not match or match.group("severity") != "LOG":
        return None
    fields = match.groupdict()
    message = fields["message"]
    stamp = parse_timestamp(fields.get("timestamp"))
    if stamp is None and fields.get("epoch"):
        stamp = datetime.datetime.fromtimestamp(float(fields["epoch"]), datetime.timezone.utc)
    pid = fields.get("pid")
    switched = _SWITCHED.match(message)
    if switched:
        return {"event": "log_connections", "on": _flag(switched.group("value")), "timestamp": stamp}
    received = _RECEIVED.match(message)
    if received:
        return {"event": "received", "host": received.group("host"), "port": received.group("port"),
                "pid": pid, "timestamp": stamp}
    authorized = _AUTHORIZED.match(message)
    if not authorized:
        return None
    address = None
    remote = fields.get("remote") or fields.get("host")
    if remote:
        address = remote.split("(", 1)[0] or None
    return {
        "event": "authorized",
        "user": authorized.group("user"),
        "database": authorized.group("database"),
        "application": authorized.group("application") or None,
        "tls": bool(authorized.group("ssl")),
        "protocol": authorized.group("protocol"),
        "cipher": authorized.group("cipher"),
        "bits": int(authorized.group("bits")) if authorized.group("bits") else None,
        "replication": bool(authorized.group("replication")),
        "address": address,
        "pid": pid,
        "timestamp": stamp,
    }


class PortionLines(abc.ABC):
    """Lines of a log fed portion by portion (DownloadDBLogFilePortion, CloudWatch Logs events): ``feed(text)``
    keeps a trailing partial line until the next portion of the same file completes it, ``end_file()`` flushes
    it; each whole line goes to ``_line``. Shared by ConnectionLog and mysql_audit_log.AuditLog."""

    _partial = ""

    def feed(self, text: Optional[str]) -> None:
        if not text:
            return
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            self._line(line)

    def end_file(self) -> None:
        if self._partial:
            self._line(self._partial)
        self._partial = ""

    @abc.abstractmethod
    def _line(self, line: str) -> None:
        """Take one whole line (each reader keeps what it needs)."""


class ConnectionLog(PortionLines):
    """Distinct clients from connection lines, fed portion by portion.

    ``feed(text)`` takes the data of one DownloadDBLogFilePortion answer; a trailing partial line is kept until
    the next portion of the same file completes it, and ``end_file()`` flushes it. A client is (address, user,
    database, application, tls, protocol) with its first/last seen time and the number of connections.
    """

    def __init__(self, log_line_prefix: str = RDS_DEFAULT_PREFIX, exclude_users: Iterable[str] = (),
                 since: Optional[datetime.datetime] = None) -> None:
        self.pattern = prefix_pattern(log_line_prefix)
        # Connections logged before ``since`` (the window start; the oldest file may begin earlier) are left out.
        self.since = since
        self.exclude_users = set(exclude_users or ())
        self.has_time = bool(re.search(r"%-?\d*[tmn]", log_line_prefix))
        self.has_pid = bool(re.search(r"%-?\d*p", log_line_prefix))
        self._partial = ""
        self._hosts: dict[str, Any] = {}
        self._clients: dict[tuple, dict[str, Any]] = {}
        self.lines = 0
        self.connections = 0
        self.truncated_portions = 0
        self.first_line = None
        self.last_line = None
        # (time, on) of each reload that turned log_connections on or off, in the order logged.
        self.switches: list[tuple[Optional[datetime.datetime], bool]] = []

    def _line(self, line: str) -> None:
        if TRUNCATION_NOTICE in line:
            self.truncated_portions += 1
            return
        self.lines += 1
        event = parse_line(line, self.pattern)
        if event is None:
            return
        stamp = event["timestamp"]
        if stamp is not None:
            self.first_line = min(self.first_line or stamp, stamp)
            self.last_line = max(self.last_line or stamp, stamp)
        if event["event"] == "log_connections":
            self.switches.append((stamp, event["on"]))
            return
        if event["event"] == "received":
            if event["pid"]:
                self._hosts[event["pid"]] = event["host"]
            return
        received_host = self._hosts.pop(event["pid"], None) if event["pid"] else None
        address = event["address"] or received_host
        if event["user"] in self.exclude_users or (self.since and stamp and stamp < self.since):
            return
        self.connections += 1
        key = (address, event["user"], event["database"], event["application"], event["tls"], event["protocol"])
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = {
                "address": address, "user": event["user"], "database": event["database"],
                "application": event["application"], "tls": event["tls"], "protocol": event["protocol"],
                "cipher": event["cipher"], "replication": event["replication"],
                "first_seen": stamp, "last_seen": stamp, "count": 0,
            }
        client["count"] += 1
        if stamp is not None:
            client["first_seen"] = min(client["first_seen"] or stamp, stamp)
            client["last_seen"] = max(client["last_seen"] or stamp, stamp)

    def clients(self) -> list[dict[str, Any]]:
        """Distinct clients, TLS ones first, as JSON-ready dicts (times in ISO 8601 UTC)."""
        items = []
        for client in self._clients.values():
            item = dict(client, first_seen=_iso(client["first_seen"]), last_seen=_iso(client["last_seen"]))
            items.append(item)
        return sorted(items, key=lambda c: (not c["tls"], str(c["address"]), str(c["user"]), str(c["database"]),
                                            str(c["application"]), str(c["protocol"])))


# -- AWS: one small function per call ------------------------------------------------------------

def list_log_files(paginate: Callable[..., Any], client: Any, db_id: str, since_ms: float) -> list[dict[str, Any]]:
    """DescribeDBLogFiles, every page (100 a page), files written since ``since_ms`` (ms since the epoch)."""
    files, _first = paginate(client, "describe_db_log_files", "DescribeDBLogFiles", DBInstanceIdentifier=db_id,
                             FileLastWritten=int(since_ms))
    return files


def download_portion(call: Callable[..., Any], client: Any, db_id: str, name: str, marker: str,
                     lines: int) -> tuple[str, Optional[str], bool]:
    """One DownloadDBLogFilePortion: ``(data, next marker, additional data pending)``."""
    answer = call(client, "download_db_log_file_portion", DBInstanceIdentifier=db_id, LogFileName=name,
                  Marker=marker, NumberOfLines=int(lines))
    return answer.get("LogFileData") or "", answer.get("Marker"), bool(answer.get("AdditionalDataPending"))


def read_log_file(call: Callable[..., Any], client: Any, db_id: str, name: str, log: ConnectionLog,
                  lines: int = PORTION_LINES, max_portions: int = 100000) -> list[str]:
    """Feed one file to ``log`` from its first line, following markers; returns the file's problems (list).

    A truncated portion (RDS cut it at 1 MB) is read again from the same marker in smaller blocks; only when
    even MIN_LINES lines do not fit is the truncation kept and reported.
    """
    problems = []
    marker = "0"
    size = lines
    for _portion in range(max_portions):
        data, next_marker, pending = download_portion(call, client, db_id, name, marker, size)
        if TRUNCATION_NOTICE in data and size > MIN_LINES:
            size = max(MIN_LINES, size // 8)
            continue
        if TRUNCATION_NOTICE in data:
            problems.append("%s: a portion was truncated by RDS at 1 MB even at %d lines" % (name, size))
        log.feed(data)
        if not pending:
            log.end_file()
            return problems
        if not next_marker or next_marker == marker:
            problems.append("%s: RDS returned no new marker while more data was pending" % name)
            break
        marker = next_marker
        size = lines
    else:
        problems.append("%s: more than %d portions; the rest was not read" % (name, max_portions))
    log.end_file()
    return problems


def file_hour(name: Optional[str]) -> Optional[datetime.datetime]:
    """The UTC start of an RDS PostgreSQL log file's hour (or minute) from its name, or None."""
    match = _FILE_HOUR.search(name or "")
    if not match:
        return None
    stamp = datetime.datetime.strptime("%s %s:%s" % (match.group(1), match.group(2), match.group(3) or "00"),
                                       "%Y-%m-%d %H:%M")
    return stamp.replace(tzinfo=datetime.timezone.utc)


# -- completeness ---------------------------------------------------------------------------------

def _flag(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "on", "true", "yes")


def parameter_reasons(settings: dict[str, Any]) -> list[str]:
    """Why the parameter group makes the evidence incomplete: it could not be read, or log_connections is off
    (shared by the log files read through the RDS API and by CloudWatch Logs)."""
    reasons = []
    if settings.get("error"):
        reasons.append("the parameter group could not be read (%s): whether connections are logged is unknown"
                       % settings["error"])
    elif not _flag(settings.get("log_connections")):
        reasons.append("log_connections is off in parameter group %s: connections are not logged, so the logs "
                       "cannot show which clients use TLS (set log_connections=1)" % settings.get("group"))
    return reasons


def switch_reasons(switches: list[tuple[Optional[datetime.datetime], bool]], needed_from: datetime.datetime,
                   settings: dict[str, Any]) -> list[str]:
    """Since when log_connections is off, and when in the window it was off, from the server log's reload lines.

    DescribeDBParameters gives the parameter group's value now, not since when: the log says when a reload turned it
    on or off. Off now: "since <time>", or "since before <needed_from>" when no reload in the logs read turned it
    off. On now: each stretch of the window it was off ("from <time> to <time>"; from the window start when the first
    reload in the window turned it on) makes the evidence incomplete.
    """
    ordered = sorted((s for s in switches if s[0] is not None), key=lambda s: s[0])
    state = None  # at needed_from: unknown until a reload before it says
    for stamp, on in ordered:
        if stamp <= needed_from:
            state = on
    if not _flag(settings.get("log_connections")):
        offs = [stamp for stamp, on in ordered if not on]
        since = ("since %s (the server log: a reload turned it off)" % _iso(offs[-1])) if offs else \
            "since before %s (no reload in the logs read turned it off)" % _iso(needed_from)
        return ["log_connections is off in parameter group %s %s: connections are not logged, so the logs cannot show "
                "which clients use TLS (set log_connections=1)" % (settings.get("group"), since)]
    reasons = []
    off_from = None
    if state is False:
        off_from = needed_from
    for stamp, on in ordered:
        if stamp <= needed_from:
            continue
        if not on and off_from is None:
            off_from = stamp
        elif on and (off_from is not None or state is None):
            reasons.append("log_connections was off from %s to %s (the server log: a reload turned it %s): connections "
                           "then were not logged" % (_iso(off_from or needed_from), _iso(stamp),
                                                     "on" if off_from is None else "off, then on"))
            off_from = None
        state = on
    if off_from is not None:
        reasons.append("log_connections was turned off at %s (the server log), though parameter group %s has it on: "
                       "connections since then were not logged" % (_iso(off_from), settings.get("group")))
    return reasons


def logging_reasons(settings: dict[str, Any], log: Optional[ConnectionLog], needed_from: datetime.datetime) -> list[str]:
    """:func:`parameter_reasons`, with since when (:func:`switch_reasons`) once the log was read (shared by the log
    files read through the RDS API and by CloudWatch Logs)."""
    if log is None or settings.get("error"):
        return parameter_reasons(settings)
    return switch_reasons(log.switches, needed_from, settings)


def completeness(window_start: datetime.datetime, now: datetime.datetime, created: Any, settings: dict[str, Any],
                 files: list[dict[str, Any]], problems: list[str], log: ConnectionLog) -> dict[str, Any]:
    """What the evidence covers and why it may be incomplete.

    ``settings``: ``{"group", "log_connections", "log_line_prefix", "retention_minutes", "error"}`` from the
    parameter group (``log_connections`` None when the group does not set it: PostgreSQL's default, off).
    ``files``: DescribeDBLogFiles items read. ``created``: the instance creation time (nothing to log before).
    Returns ``{"complete", "reasons", "covered_from", "covered_to", ...}``.
    """
    needed_from = max(window_start, created) if created else window_start
    reasons = logging_reasons(settings, log, needed_from)
    hours = sorted(h for h in (file_hour(f.get("LogFileName")) for f in files) if h is not None)
    covered_from = hours[0] if hours else None
    retention = settings.get("retention_minutes")
    why = ""
    if retention and now - datetime.timedelta(minutes=retention) > needed_from:
        why = " (rds.log_retention_period is %d minutes, shorter than the window)" % retention
    if log is not None and not log.has_time:
        problems = list(problems) + ["log_line_prefix has no time (%t/%m/%n): first/last seen are unknown"]
    return coverage(window_start, now, needed_from, covered_from if files else None, reasons, why, problems)


def coverage(window_start: datetime.datetime, now: datetime.datetime, needed_from: datetime.datetime,
             covered_from: Optional[datetime.datetime], reasons: list[str], why: str,
             problems: Iterable[str]) -> dict[str, Any]:
    """The window model every log reader shares (PostgreSQL here, MySQL/MariaDB audit in mysql_audit_log).

    ``needed_from``: the window start, or the instance creation when later; ``covered_from``: where the files
    read reach back to (None: no file in the window); ``reasons``: what already makes the evidence incomplete
    (settings); ``why``: the likely cause when the files start late; ``problems``: what went wrong reading.
    """
    reasons = list(reasons)
    if covered_from is None:
        reasons.append("no log file was written in the window")
    elif covered_from > needed_from:
        reasons.append("the log files cover only from %s, not from %s%s" % (_iso(covered_from), _iso(needed_from), why))
    reasons.extend(problems)
    return {
        "complete": not reasons,
        "reasons": reasons,
        "needed_from": _iso(needed_from),
        "covered_from": _iso(max(covered_from, window_start)) if covered_from else None,
        "covered_to": _iso(now),
    }


def read_files(aws: dict[str, Any], client: Any, db_id: str, names: Iterable[str], log: Any, problems: list[str],
               aws_failures: list[str]) -> None:
    """Feed every file of ``names`` to ``log`` (any reader with ``feed``/``end_file``); a file that cannot be
    read goes to ``problems`` (rotated away or missing), an API failure other than that to ``aws_failures``."""
    for name in names:
        try:
            problems.extend(read_log_file(aws["call"], client, db_id, name, log))
        except aws["errors"] as exc:  # pylint: disable=catching-non-exception
            info = aws["error_info"](exc)
            problems.append("%s could not be read (%s: %s): rotated away or missing" % (
                name, info["error_code"], info["message"]))
            if info["error_code"] != "DBLogFileNotFoundFault":
                aws_failures.append("DownloadDBLogFilePortion(%s) failed: %s: %s" % (
                    name, info["error_code"], info["message"]))
            log.end_file()


# -- one database --------------------------------------------------------------------------------

EVIDENCE_SOURCE = "DescribeDBLogFiles + DownloadDBLogFilePortion (PostgreSQL connection log)"


def log_settings(parameters: list[dict[str, Any]], group: Optional[str]) -> dict[str, Any]:
    """log_connections, log_line_prefix and rds.log_retention_period from a DescribeDB(Cluster)Parameters list.

    ``log_connections`` is None when the group gives no value (PostgreSQL's default: off); the prefix and the
    retention fall back to RDS's defaults.
    """
    values = dict((p.get("ParameterName"), p.get("ParameterValue")) for p in parameters or [])
    retention = values.get("rds.log_retention_period")
    try:
        retention = int(retention) if retention not in (None, "") else RDS_DEFAULT_RETENTION_MINUTES
    except ValueError:
        retention = RDS_DEFAULT_RETENTION_MINUTES
    return {
        "group": group,
        "log_connections": values.get("log_connections"),
        "log_line_prefix": values.get("log_line_prefix") or RDS_DEFAULT_PREFIX,
        "retention_minutes": retention,
        "error": None,
    }


def unavailable(engine: Optional[str], window_days: float, reason: Optional[str]) -> dict[str, Any]:
    return {"available": False, "reason": reason, "errors": [], "engine": engine, "source": None, "window_days": window_days,
            "window_start": None, "window_end": None, "complete": False, "incomplete_reasons": [reason],
            "log_connections": None, "log_line_prefix": None, "files": [], "connections": 0, "clients": [],
            "tls_clients": 0, "plaintext_clients": 0}


def gather_evidence(aws: dict[str, Any], client: Any, target: dict[str, Any], settings: dict[str, Any], window_days: float,
                    now: datetime.datetime, exclude_users: Iterable[str] = ()) -> dict[str, Any]:
    """Connection-log evidence of one database over the last ``window_days`` days. Never raises.

    ``aws``: ``{"call": f(client, method, **params), "paginate": ..., "errors": (exception classes),
    "error_info": f(exc)}`` (the collection's aws module_utils). ``settings``: :func:`log_settings`, or
    ``{"error": ...}`` when the parameter group could not be read. ``target``: identifier, engine, created
    (InstanceCreateTime).
    """
    engine = target.get("engine")
    if usage_kind(engine) != "postgres":  # RDS for PostgreSQL and Aurora PostgreSQL
        return unavailable(engine, window_days, "log evidence is not available for %s yet: only PostgreSQL "
                                                "connection logs (log_connections) are read" % (engine or "this engine"))
    window_start = now - datetime.timedelta(days=window_days)
    evidence = unavailable(engine, window_days, None)
    evidence.update(available=True, source=EVIDENCE_SOURCE, window_start=_iso(window_start), window_end=_iso(now),
                    log_connections=settings.get("log_connections"), log_line_prefix=settings.get("log_line_prefix"))
    problems = []
    aws_failures = []
    log = None
    files = []
    try:
        log = ConnectionLog(settings.get("log_line_prefix") or RDS_DEFAULT_PREFIX, exclude_users, since=window_start)
    except ValueError as exc:
        problems.append("log_line_prefix cannot be parsed: %s" % exc)
    if log is not None:
        try:
            files = list_log_files(aws["paginate"], client, target["identifier"],
                                   int((window_start - datetime.timedelta(hours=1)).timestamp() * 1000))
        except aws["errors"] as exc:  # pylint: disable=catching-non-exception
            info = aws["error_info"](exc)
            problems.append("DescribeDBLogFiles failed: %s: %s" % (info["error_code"], info["message"]))
            aws_failures.append(problems[-1])
        files = sorted((f for f in files if (f.get("LogFileName") or "").startswith(LOG_FILE_PREFIX)),
                       key=lambda f: f.get("LogFileName"))
        read_files(aws, client, target["identifier"], [item["LogFileName"] for item in files], log, problems,
                   aws_failures)
    created = target.get("created")
    if not isinstance(created, datetime.datetime) or created.tzinfo is None:
        created = None
    facts = completeness(window_start, now, created, settings, files, problems, log)
    clients = log.clients() if log is not None else []
    evidence.update(complete=facts["complete"], incomplete_reasons=facts["reasons"],
                    covered_from=facts["covered_from"], needed_from=facts["needed_from"],
                    files=[f.get("LogFileName") for f in files], connections=log.connections if log else 0,
                    clients=clients, tls_clients=len([c for c in clients if c["tls"]]),
                    plaintext_clients=len([c for c in clients if not c["tls"]]))
    evidence["reason"] = None if facts["complete"] else "; ".join(facts["reasons"])
    evidence["errors"] = aws_failures
    return evidence
