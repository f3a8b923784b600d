"""RDS database log files served from a linked PostgreSQL server's real log.

Models (RDS API Reference) ``DescribeDBLogFiles`` and ``DownloadDBLogFilePortion``
and (RDS User Guide, "RDS for PostgreSQL database log files") the log files RDS
keeps: ``error/postgresql.log.YYYY-MM-DD-HH``, one per UTC hour, kept for
``rds.log_retention_period`` minutes (default 4320, three days).

The linked server writes one stderr log (``logging_collector`` stays off so the
linked-server code can watch reload messages in it); its lines carry the
``log_line_prefix`` of the instance's parameter group and are UTC-stamped, so
this module rotates them into hourly files by each line's own timestamp. Lines
without a timestamp (DETAIL/STATEMENT continuations) stay in the file of the
line they continue; the linked-server annotations (``--- ...``) and initdb's
output before the server's first line are not server log lines and are dropped.
A prefix without a timestamp (no ``%t``/``%m``) puts every line in the hour the
log was last written.

DownloadDBLogFilePortion, as the API Reference documents it:

* no ``Marker`` and no ``NumberOfLines``: the last 10000 lines of the file;
* ``NumberOfLines`` without ``Marker``: that many lines from the end;
* ``Marker`` ``"0"`` (or a marker returned earlier): lines from there, up to
  ``NumberOfLines`` (10000 when not given), with ``AdditionalDataPending`` true
  while lines remain and the ``Marker`` to continue from;
* a portion larger than 1 MB is truncated at 1 MB ("the file is truncated at 1 MB
  in size"): the data ends with RDS's ``[Your log message was truncated]`` and the
  marker moves past every requested line, so the cut lines are lost for the
  caller, as on RDS.

The markers here are ``<hour>:<byte offset>`` (audit files: ``<file name>:<byte offset>``); callers must treat
them as opaque.

MariaDB/MySQL audit log files (RDS User Guide, "MariaDB database log files" / "MySQL database log files" and
"Options for MariaDB database engine", MariaDB Audit Plugin support): with the ``MARIADB_AUDIT_PLUGIN`` option the
audit log is ``audit/server_audit.log``, rotated by size (``SERVER_AUDIT_FILE_ROTATE_SIZE``) into
``audit/server_audit.log.1`` ... keeping ``SERVER_AUDIT_FILE_ROTATIONS`` of them. :func:`audit_files` serves the
linked MariaDB server's real files (its server_audit plugin rotates them itself), ``LastWritten`` each file's own
modification time; the portions are served like the PostgreSQL files'.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path

FILE_PREFIX = "error/postgresql.log."
# API Reference, DownloadDBLogFilePortion: "up to a maximum of 10000 lines", "truncated at 1 MB".
DEFAULT_LINES = 10000
MAX_PORTION_BYTES = 1024 * 1024
TRUNCATION_NOTICE = "\n [Your log message was truncated]\n"
# RDS for PostgreSQL default (User Guide, "Setting the log line prefix").
RDS_LOG_LINE_PREFIX = "%t:%r:%u@%d:[%p]:"
DEFAULT_RETENTION_MINUTES = 4320

_STAMP = re.compile(rb"^(\d{4}-\d{2}-\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d+)? UTC")
_MARKER = re.compile(r"^(?:0|(\d{4}-\d{2}-\d{2}-\d{2}|server_audit\.log(?:\.\d+)?):(\d+))$")
AUDIT_PREFIX = "audit/"
_AUDIT_FILE = re.compile(r"^server_audit\.log(?:\.(\d+))?$")


class LogError(ValueError):
    """A request the RDS API refuses; ``code`` is the RDS error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class LogFile:
    name: str
    data: bytes
    last_written_ms: int

    @property
    def hour(self) -> str:
        """The marker key: the hour of a PostgreSQL file, the file name of an audit file."""
        if self.name.startswith(AUDIT_PREFIX):
            return self.name[len(AUDIT_PREFIX):]
        return self.name[len(FILE_PREFIX):]


def _stamp(line: bytes) -> dt.datetime | None:
    match = _STAMP.match(line)
    if not match:
        return None
    day, hour, minute, second = (g.decode() for g in match.groups())
    return dt.datetime.strptime(f"{day} {hour}:{minute}:{second}", "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.timezone.utc)


def hourly_files(path: Path, retention_minutes: int = DEFAULT_RETENTION_MINUTES,
                 now: dt.datetime | None = None) -> list[LogFile]:
    """The server log at ``path`` as RDS's hourly files, oldest first, without those past retention."""
    now = now or dt.datetime.now(dt.timezone.utc)
    try:
        raw = path.read_bytes()
        mtime = dt.datetime.fromtimestamp(os.stat(path).st_mtime, dt.timezone.utc)
    except FileNotFoundError:
        return []
    buckets: dict[str, list[bytes]] = {}
    last: dict[str, dt.datetime] = {}
    current: str | None = None
    lines = raw.splitlines(keepends=True)
    any_stamp = any(_STAMP.match(line) for line in lines)
    for line in lines:
        if line.startswith(b"--- "):
            continue
        stamp = _stamp(line)
        if stamp is not None:
            current = stamp.strftime("%Y-%m-%d-%H")
            last[current] = stamp
        elif current is None:
            if any_stamp:
                continue  # initdb output before the server's first line
            current = mtime.strftime("%Y-%m-%d-%H")
            last[current] = mtime
        buckets.setdefault(current, []).append(line)
    horizon = now - dt.timedelta(minutes=retention_minutes)
    files = []
    latest = max(buckets) if buckets else None
    for hour in sorted(buckets):
        written = mtime if hour == latest else last[hour]
        if written < horizon:
            continue
        files.append(LogFile(FILE_PREFIX + hour, b"".join(buckets[hour]), int(written.timestamp() * 1000)))
    return files


def find(files: list[LogFile], name: str, db_id: str) -> LogFile:
    for log_file in files:
        if log_file.name == name:
            return log_file
    raise LogError("DBLogFileNotFoundFault", f"DBLog File: {name}, is not found on the DB instance {db_id}")


def _positive(raw: object, name: str) -> int | None:
    if raw in (None, ""):
        return None
    try:
        value = int(str(raw))
    except ValueError as exc:
        raise LogError("InvalidParameterValue", f"Invalid value {raw} for {name}") from exc
    if value < 1:
        raise LogError("InvalidParameterValue", f"Invalid value {value} for {name}: must be positive")
    return value


def portion(log_file: LogFile, marker: str | None, number_of_lines: object) -> dict[str, object]:
    """DownloadDBLogFilePortion's answer for ``log_file`` (see the module docstring)."""
    lines = log_file.data.splitlines(keepends=True)
    wanted = _positive(number_of_lines, "NumberOfLines")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    if marker in (None, ""):
        count = wanted or DEFAULT_LINES
        start = max(0, len(lines) - count)
        end = len(lines)
    else:
        match = _MARKER.match(str(marker))
        if not match:
            raise LogError("InvalidParameterValue", f"The marker {marker} is not valid.")
        byte_offset = 0
        if match.group(1):
            if match.group(1) != log_file.hour:
                raise LogError("InvalidParameterValue", f"The marker {marker} is not valid for {log_file.name}.")
            byte_offset = int(match.group(2))
        if byte_offset not in offsets:
            raise LogError("InvalidParameterValue", f"The marker {marker} is not valid.")
        start = offsets.index(byte_offset)
        end = min(len(lines), start + (wanted or DEFAULT_LINES))
    data = b"".join(lines[start:end])
    if len(data) > MAX_PORTION_BYTES:
        text = data[:MAX_PORTION_BYTES].decode("utf-8", "replace") + TRUNCATION_NOTICE
    else:
        text = data.decode("utf-8", "replace")
    return {
        "LogFileData": text,
        "Marker": f"{log_file.hour}:{offsets[end]}",
        "AdditionalDataPending": end < len(lines),
    }


def line_events(path: Path) -> list[tuple[int, bytes]]:
    """The server log at ``path`` as (timestamp in ms, line) pairs, in order, for CloudWatch Logs.

    The same lines as :func:`hourly_files` keeps (no ``--- `` annotations, no initdb output before the first
    server line); a continuation line without its own time carries the time of the line it continues; a prefix
    without a time puts every line at the log's last write.
    """
    try:
        raw = path.read_bytes()
        mtime = dt.datetime.fromtimestamp(os.stat(path).st_mtime, dt.timezone.utc)
    except FileNotFoundError:
        return []
    raw = raw[:raw.rfind(b"\n") + 1]  # a line still being written is published once complete
    lines = raw.splitlines()
    any_stamp = any(_STAMP.match(line) for line in lines)
    events: list[tuple[int, bytes]] = []
    current: dt.datetime | None = None
    for line in lines:
        if line.startswith(b"--- "):
            continue
        stamp = _stamp(line)
        if stamp is not None:
            current = stamp
        elif current is None:
            if any_stamp:
                continue
            current = mtime
        events.append((int(current.timestamp() * 1000), line))
    return events


def audit_files(directory: Path) -> list[LogFile]:
    """The MariaDB audit plugin's files in ``directory`` as RDS lists them (``audit/server_audit.log``,
    ``audit/server_audit.log.1``...), newest (the current file) first; none when the plugin never wrote."""
    files = []
    try:
        entries = list(Path(directory).iterdir())
    except FileNotFoundError:
        return []
    for entry in entries:
        match = _AUDIT_FILE.match(entry.name)
        if not match or not entry.is_file():
            continue
        try:
            data = entry.read_bytes()
            written = int(entry.stat().st_mtime * 1000)
        except FileNotFoundError:
            continue  # rotated away while listing
        files.append((int(match.group(1) or 0), LogFile(AUDIT_PREFIX + entry.name, data, written)))
    return [log_file for _index, log_file in sorted(files, key=lambda item: item[0])]
