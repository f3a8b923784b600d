# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Who uses SSL/TLS on a database, whether SSL is enforced, and whether a restart-free CA rotation is safe.

Layers, from pure to I/O:

* Enforcement (rds_domain.enforcement_parameter and rds_domain.engine_default,
  :func:`parameter_value`, :func:`enforcement_facts`): ``rds.force_ssl``
  (PostgreSQL, SQL Server) or ``require_secure_transport`` (MySQL, MariaDB) from
  the parameter group, the engine default when the group does not say, and the
  value the running server reports.
* Sessions (:func:`pg_sessions`, :func:`mysql_sessions`): one sample of every
  client session with its user, database, application, address and TLS state.
* The sampling window (:class:`UsageWindow`): samples merged into distinct
  sessions and distinct clients (user, address, application), so that clients
  that connect and leave between two looks at the server are still caught by a
  later or earlier sample; MySQL's ``Ssl_finished_accepts`` counter catches the
  ones that fit entirely between two samples.
* Verdicts (:func:`ssl_in_use_verdict`, :func:`restart_free_verdict`).
* AWS (:func:`describe_targets`): DescribeDBInstances / DescribeDBClusters once
  per region (filtered on the wanted identifiers), DescribeDB(Cluster)Parameters
  once per distinct parameter group.
* Connections (:func:`connect`): psycopg2 / PyMySQL with TLS verified against
  the bundle *and* the endpoint name, even through a tunnel; plaintext only when
  asked. :func:`inspect_database` runs everything for one database.

The database connection is read-only (PostgreSQL: a read-only session;
MySQL: SELECT and SHOW only) and excludes itself from what it reports.
"""

from __future__ import annotations

import datetime
import socket
import ssl
import struct
import threading
import time
import typing
from concurrent.futures import ThreadPoolExecutor

try:
    import psycopg2

    HAS_PSYCOPG2 = True
except ImportError:
    HAS_PSYCOPG2 = False

try:
    import pymysql

    HAS_PYMYSQL = True
except ImportError:
    HAS_PYMYSQL = False

from ansible_collections.rdsca.rotation.plugins.module_utils import tls_probe
from ansible_collections.rdsca.rotation.plugins.module_utils.accounts import by_account
# Re-exported: the engine facts, the words and the restart-free verdict live in rds_domain.
from ansible_collections.rdsca.rotation.plugins.module_utils.rds_domain import (  # noqa: F401 pylint: disable=unused-import
    DEFAULT_EXCLUDE_USERS,
    NO,
    NOT_RUNNING,
    UNKNOWN,
    YES,
    engine_default,
    enforcement_parameter,
    iso,
    now_iso as _now_iso,
    restart_free_verdict,
    usage_kind,
)

APPLICATION_NAME = "rdsca.rotation-rds_ssl_usage"
# libpq upgrades its "require" mode to verify-ca when a root certificate file exists (~/.postgresql/root.crt):
# a path that never exists keeps it at "require" for the expiry-tolerant login, which checks the chain itself.
NO_ROOT_CERT = "/nonexistent/rdsca-rotation/no-root-cert.pem"
SSL_MODES = ("verify-full", "disable")
MAX_SESSIONS = 2000
_MYSQL_INTERNAL_USERS = ("system user", "event_scheduler", "unauthenticated user", "")
_MYSQL_LOCAL_TRANSPORTS = ("socket", "named pipe", "shared memory")


# -- enforcement -----------------------------------------------------------------------------

def parse_flag(value: typing.Any) -> bool | None:
    """True / False for a boolean setting as RDS or the server spells it, None if unknown."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "on", "true", "yes"):
        return True
    if text in ("0", "off", "false", "no"):
        return False
    return None


def parameter_value(parameters: list | None, name: str) -> tuple[str | None, str | None]:
    """``(value, source)`` of parameter ``name`` in a DescribeDB(Cluster)Parameters list, ``(None, None)`` if absent."""
    for item in parameters or []:
        if item.get("ParameterName") == name:
            return item.get("ParameterValue"), item.get("Source")
    return None, None


def enforcement_facts(engine: str | None, engine_version: str | None, group: dict | None = None,
                      api_error: str | None = None, live_value: typing.Any = None, live_error: str | None = None) -> dict:
    """Whether TLS is enforced, from the parameter group, the engine default and the live server.

    ``group``: ``{name, type (instance|cluster), apply_status, value, source}`` as found
    through the API (``value`` None when the group does not list the parameter).
    The live value, when the server reports one, decides (a parameter change can
    be pending a reboot); otherwise the parameter group, then the engine default.
    """
    parameter = enforcement_parameter(engine)
    default = engine_default(engine, engine_version)
    group = group or {}
    facts = {
        "parameter": parameter,
        "parameter_group": group.get("name"),
        "parameter_group_type": group.get("type"),
        "parameter_apply_status": group.get("apply_status"),
        "parameter_source": group.get("source"),
        "api_value": None,
        "api_source": None,
        "engine_default": default,
        "live_value": None if live_value is None else str(live_value),
        "live_error": live_error,
        "enforced": UNKNOWN,
        "enforced_by": None,
        "note": None,
        "error": api_error,
    }
    if parameter is None:
        if engine:
            facts["note"] = ("%s has no TLS enforcement parameter (Oracle and Db2 serve TLS on a separate listener)"
                             % engine)
        else:
            facts["note"] = "the engine is unknown"
        return facts
    if group.get("value") not in (None, ""):
        facts["api_value"] = str(group["value"])
        facts["api_source"] = "parameter_group"
    elif api_error is None and default is not None:
        facts["api_value"] = default
        facts["api_source"] = "engine_default"
    api_flag = parse_flag(facts["api_value"])
    live_flag = parse_flag(live_value)
    if live_flag is not None:
        facts["enforced"] = live_flag
        facts["enforced_by"] = "live"
        if api_flag is not None and api_flag != live_flag:
            facts["note"] = ("the server runs with %s=%s but the parameter group says %s (apply status: %s)"
                             % (parameter, facts["live_value"], facts["api_value"],
                                group.get("apply_status") or "unknown"))
    elif api_flag is not None:
        facts["enforced"] = api_flag
        facts["enforced_by"] = facts["api_source"]
    return facts


# -- sessions --------------------------------------------------------------------------------

PG_SESSIONS_SQL = """
SELECT a.pid, a.usename, a.datname, a.application_name, host(a.client_addr), a.client_port,
       a.backend_type, a.backend_start, a.state, s.ssl, s.version, s.cipher, s.bits
FROM pg_stat_activity a
LEFT JOIN pg_stat_ssl s ON s.pid = a.pid
WHERE a.pid <> pg_backend_pid()
  AND a.backend_type IN ('client backend', 'walsender')
  AND coalesce(a.usename, '') <> ALL(%s)
"""

# PostgreSQL 9.6 has no backend_type: client sessions are the ones with a database or a user.
PG_SESSIONS_SQL_96 = """
SELECT a.pid, a.usename, a.datname, a.application_name, host(a.client_addr), a.client_port,
       'client backend', a.backend_start, a.state, s.ssl, s.version, s.cipher, s.bits
FROM pg_stat_activity a
LEFT JOIN pg_stat_ssl s ON s.pid = a.pid
WHERE a.pid <> pg_backend_pid()
  AND a.usename IS NOT NULL
  AND coalesce(a.usename, '') <> ALL(%s)
"""

MYSQL_SESSIONS_SQL = """
SELECT t.THREAD_ID, t.PROCESSLIST_ID, t.PROCESSLIST_USER, t.PROCESSLIST_HOST, t.PROCESSLIST_DB,
       t.CONNECTION_TYPE, t.PROCESSLIST_COMMAND, p.HOST
FROM performance_schema.threads t
LEFT JOIN information_schema.PROCESSLIST p ON p.ID = t.PROCESSLIST_ID
WHERE t.TYPE = 'FOREGROUND'
  AND t.PROCESSLIST_ID IS NOT NULL
  AND t.PROCESSLIST_ID <> CONNECTION_ID()
"""

MYSQL_TLS_SQL = """
SELECT THREAD_ID, VARIABLE_NAME, VARIABLE_VALUE
FROM performance_schema.status_by_thread
WHERE VARIABLE_NAME IN ('Ssl_version', 'Ssl_cipher')
"""

MYSQL_ATTRS_SQL = """
SELECT PROCESSLIST_ID, ATTR_NAME, ATTR_VALUE
FROM performance_schema.session_connect_attrs
WHERE ATTR_NAME IN ('program_name', '_client_name')
"""

# Without performance_schema the processlist still lists sessions, but not their transport.
MYSQL_PROCESSLIST_SQL = """
SELECT ID, USER, HOST, DB, COMMAND
FROM information_schema.PROCESSLIST
WHERE ID <> CONNECTION_ID()
"""

MYSQL_COUNTERS_SQL = (
    "SHOW GLOBAL STATUS WHERE Variable_name IN ('Ssl_accepts', 'Ssl_finished_accepts', 'Uptime')"
)


def _text(value: typing.Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def _iso(value: typing.Any) -> str | None:
    """A driver's timestamp as UTC ISO 8601 text (naive means UTC); anything else as its text."""
    if value is None or isinstance(value, datetime.datetime):
        return iso(value)
    return str(value)


def session(key: str, user: str | None, database: str | None, application_name: str | None,
            client_address: str | None, client_port: int | None, transport: str, tls_version: str | None = None,
            cipher: str | None = None, backend_type: str | None = None, connected_at: str | None = None,
            state: str | None = None, client_library: str | None = None) -> dict:
    """One client session in the shape every engine reports.

    ``transport`` is ``ssl``, ``tcp`` (plaintext TCP), ``local`` (unix socket and the
    like, where TLS does not apply) or ``unknown`` (the session's TLS state is not
    visible: missing privilege, or performance_schema off).
    """
    return {
        "key": key,
        "user": user,
        "database": database,
        "application_name": application_name or None,
        "client_address": client_address,
        "client_port": client_port,
        "transport": transport,
        "ssl": True if transport == "ssl" else (False if transport in ("tcp", "local") else None),
        "tls_version": tls_version or None,
        "cipher": cipher or None,
        "backend_type": backend_type,
        "connected_at": connected_at,
        "state": state,
        "client_library": client_library,
    }


def pg_session_from_row(row: typing.Sequence) -> dict:
    """A :func:`session` from one PG_SESSIONS_SQL row."""
    (pid, user, database, application, address, port, backend_type, backend_start, state, ssl_flag, version,
     cipher, _bits) = row
    if ssl_flag is None:
        transport = "unknown"  # another role's session, not visible without pg_read_all_stats
    elif port is not None and int(port) == -1:
        transport = "local"
    elif ssl_flag:
        transport = "ssl"
    else:
        transport = "tcp"
    return session(key="%s@%s" % (pid, _iso(backend_start)), user=user, database=database,
                   application_name=application, client_address=address,
                   client_port=int(port) if port is not None and int(port) >= 0 else None,
                   transport=transport, tls_version=version, cipher=cipher, backend_type=backend_type,
                   connected_at=_iso(backend_start), state=state)


def pg_sessions(cursor: typing.Any, server_version_num: int | None, exclude_users: typing.Iterable[str]) -> list[dict]:
    """Every client session but this one (and the excluded users'), from pg_stat_activity + pg_stat_ssl."""
    sql = PG_SESSIONS_SQL if (server_version_num or 0) >= 100000 else PG_SESSIONS_SQL_96
    cursor.execute(sql, (list(exclude_users),))
    return [pg_session_from_row(row) for row in cursor.fetchall()]


def _split_host(host: typing.Any) -> tuple[str | None, int | None]:
    """``("10.0.0.5", 51234)`` from a processlist HOST (``ip:port``, or ``localhost`` for sockets)."""
    text = _text(host)
    if not text:
        return None, None
    if ":" in text:
        address, _sep, port = text.rpartition(":")
        if port.isdigit():
            return address.strip("[]"), int(port)
    return text, None


def mysql_transport(connection_type: typing.Any) -> str:
    if connection_type is None:
        return "unknown"
    text = str(connection_type).lower()
    if text in ("ssl/tls", "ssl"):
        return "ssl"
    if text in ("tcp/ip", "tcp"):
        return "tcp"
    if text in _MYSQL_LOCAL_TRANSPORTS:
        return "local"
    return "unknown"


def mysql_sessions_from_rows(thread_rows: list, tls_rows: list | None, attr_rows: list | None, exclude_users: typing.Iterable[str] | None) -> list[dict]:
    """Sessions from MYSQL_SESSIONS_SQL rows, with TLS details and connection attributes when available."""
    tls = {}
    for thread_id, name, value in tls_rows or []:
        tls.setdefault(thread_id, {})[_text(name)] = _text(value)
    attrs = {}
    for processlist_id, name, value in attr_rows or []:
        attrs.setdefault(processlist_id, {})[_text(name)] = _text(value)
    excluded = set(exclude_users or ())
    sessions = []
    for thread_id, processlist_id, user, host, database, connection_type, command, full_host in thread_rows:
        user = _text(user)
        if user is None or user in _MYSQL_INTERNAL_USERS or user in excluded:
            continue
        if connection_type is None and _text(command) in ("Daemon", "Connect"):
            continue  # replication and other server threads
        address, port = _split_host(full_host)
        if address is None:
            address = _text(host)
        transport = mysql_transport(connection_type)
        variables = tls.get(thread_id, {})
        session_attrs = attrs.get(processlist_id, {})
        program = session_attrs.get("program_name")
        library = session_attrs.get("_client_name")
        sessions.append(session(
            key=str(processlist_id), user=user, database=_text(database),
            application_name=program or library, client_address=address if transport != "local" else (address or "localhost"),
            client_port=port, transport=transport,
            tls_version=variables.get("Ssl_version") if transport == "ssl" else None,
            cipher=variables.get("Ssl_cipher") if transport == "ssl" else None,
            backend_type=_text(connection_type), state=_text(command), client_library=library,
        ))
    return sessions


def mysql_processlist_sessions(rows: list, exclude_users: typing.Iterable[str] | None) -> list[dict]:
    """Sessions from MYSQL_PROCESSLIST_SQL (performance_schema off): TLS state unknown."""
    excluded = set(exclude_users or ())
    sessions = []
    for processlist_id, user, host, database, command in rows:
        user = _text(user)
        if user is None or user in _MYSQL_INTERNAL_USERS or user in excluded or _text(command) == "Daemon":
            continue
        address, port = _split_host(host)
        transport = "local" if address == "localhost" and port is None else "unknown"
        sessions.append(session(key=str(processlist_id), user=user, database=_text(database), application_name=None,
                                client_address=address, client_port=port, transport=transport,
                                state=_text(command)))
    return sessions


def _optional_rows(cursor: typing.Any, sql: str) -> list | None:
    try:
        cursor.execute(sql)
        return cursor.fetchall()
    except Exception:  # pylint: disable=broad-except
        return None


def mysql_sessions(cursor: typing.Any, exclude_users: typing.Iterable[str], performance_schema: bool) -> list[dict]:
    """One sample of the sessions: performance_schema when on (TLS per session), else the processlist."""
    if performance_schema:
        cursor.execute(MYSQL_SESSIONS_SQL)
        threads = cursor.fetchall()
        return mysql_sessions_from_rows(threads, _optional_rows(cursor, MYSQL_TLS_SQL),
                                        _optional_rows(cursor, MYSQL_ATTRS_SQL), exclude_users)
    cursor.execute(MYSQL_PROCESSLIST_SQL)
    return mysql_processlist_sessions(cursor.fetchall(), exclude_users)


def mysql_account_ssl_types(cursor: typing.Any) -> dict[str, list[str]] | None:
    """``{user: [ssl_type of each user@host account]}`` from mysql.user (``ANY``: REQUIRE SSL, ``X509``,
    ``SPECIFIED``: REQUIRE ISSUER/SUBJECT/CIPHER, empty: TLS optional), None without SELECT on mysql.user."""
    rows = _optional_rows(cursor, "SELECT User, ssl_type FROM mysql.user")
    if rows is None:
        return None
    types: dict[str, list[str]] = {}
    for user, ssl_type in rows:
        types.setdefault(_text(user) or "", []).append((_text(ssl_type) or "").upper())
    return types


def mysql_counters(cursor: typing.Any) -> dict[str, int]:
    """``{Ssl_accepts, Ssl_finished_accepts, Uptime}`` as integers (missing ones absent)."""
    try:
        cursor.execute(MYSQL_COUNTERS_SQL)
        rows = cursor.fetchall()
    except Exception:  # pylint: disable=broad-except
        return {}
    result = {}
    for name, value in rows:
        try:
            result[_text(name)] = int(_text(value))
        except (TypeError, ValueError):
            continue
    return result


# -- the sampling window ---------------------------------------------------------------------

class UsageWindow:
    """Samples of a server's sessions merged over time.

    Distinct sessions are keyed by the engine's session identity (PostgreSQL: pid and
    start time; MySQL: processlist id); distinct clients by (user, client address,
    application name). Local sessions (unix socket) are kept apart: TLS does not
    apply to them, so they say nothing about SSL usage.
    """

    def __init__(self, max_sessions: int = MAX_SESSIONS) -> None:
        self.max_sessions = max_sessions
        self.sessions = {}
        self.order = []
        self.truncated = False
        self.samples = 0

    def add(self, sessions: typing.Iterable[dict], seen_at: str | None = None) -> None:
        seen_at = seen_at or _now_iso()
        self.samples += 1
        for item in sessions:
            key = item["key"]
            known = self.sessions.get(key)
            if known is None:
                if len(self.sessions) >= self.max_sessions:
                    self.truncated = True
                    continue
                known = dict(item)
                known["first_seen"] = seen_at
                known["samples"] = 0
                self.sessions[key] = known
                self.order.append(key)
            else:
                # A session's TLS state never changes, but its database/state can.
                for field in ("database", "state", "application_name", "tls_version", "cipher"):
                    if item.get(field) is not None:
                        known[field] = item[field]
            known["last_seen"] = seen_at
            known["samples"] += 1

    def session_list(self) -> list[dict]:
        result = []
        for key in self.order:
            item = dict(self.sessions[key])
            item.pop("key", None)
            item["id"] = key
            result.append(item)
        return result

    def clients(self) -> list[dict]:
        """Distinct clients (user, address, application), with what their sessions showed."""
        clients = {}
        order = []
        for key in self.order:
            item = self.sessions[key]
            if item["transport"] == "local":
                continue
            client_key = (item["user"], item["client_address"], item["application_name"])
            client = clients.get(client_key)
            if client is None:
                client = clients[client_key] = {
                    "user": item["user"], "client_address": item["client_address"],
                    "application_name": item["application_name"], "databases": set(), "sessions": 0,
                    "ssl_sessions": 0, "non_ssl_sessions": 0, "unknown_sessions": 0,
                    "tls_versions": set(), "ciphers": set(), "first_seen": item["first_seen"],
                    "last_seen": item["last_seen"],
                }
                order.append(client_key)
            client["sessions"] += 1
            if item.get("database"):
                client["databases"].add(item["database"])
            if item["transport"] == "ssl":
                client["ssl_sessions"] += 1
            elif item["transport"] == "tcp":
                client["non_ssl_sessions"] += 1
            else:
                client["unknown_sessions"] += 1
            if item.get("tls_version"):
                client["tls_versions"].add(item["tls_version"])
            if item.get("cipher"):
                client["ciphers"].add(item["cipher"])
            client["first_seen"] = min(client["first_seen"], item["first_seen"])
            client["last_seen"] = max(client["last_seen"], item["last_seen"])
        result = []
        for client_key in order:
            client = clients[client_key]
            for field in ("databases", "tls_versions", "ciphers"):
                client[field] = sorted(client[field])
            client["uses_ssl"] = client["ssl_sessions"] > 0
            client["uses_plaintext"] = client["non_ssl_sessions"] > 0
            result.append(client)
        return result

    def counts(self) -> dict[str, int]:
        counts = {"sessions": len(self.sessions), "ssl": 0, "tcp": 0, "local": 0, "unknown": 0}
        for item in self.sessions.values():
            counts[item["transport"]] = counts.get(item["transport"], 0) + 1
        return counts


# -- verdicts --------------------------------------------------------------------------------

def ssl_in_use_verdict(usage: dict) -> tuple[str, str]:
    """``(yes|no|unknown, reason)`` from the usage facts of one database.

    ``usage`` keys: ``available`` (sessions could be listed), ``reason`` (why not),
    ``counts`` (:meth:`UsageWindow.counts`), ``ssl_clients`` (number), ``samples``,
    ``seconds``, ``complete_visibility`` (every session's TLS state could be seen),
    ``ssl_handshakes_during_window`` (MySQL counter delta, or None), ``interrupted``.
    """
    if not usage.get("available"):
        return UNKNOWN, usage.get("reason") or "sessions could not be listed"
    counts = usage.get("counts") or {}
    samples = usage.get("samples") or 0
    seconds = usage.get("seconds") or 0
    over = "over %.1fs (%d sample%s)" % (seconds, samples, "" if samples == 1 else "s")
    if counts.get("ssl"):
        return YES, "%d SSL/TLS session(s) from %d distinct client(s) seen %s" % (
            counts["ssl"], usage.get("ssl_clients") or 0, over)
    handshakes = usage.get("ssl_handshakes_during_window")
    if handshakes:
        return YES, ("no SSL/TLS session was open at a sample, but the server completed %d TLS handshake(s) %s "
                     "(Ssl_finished_accepts): short-lived SSL clients connected between samples" % (handshakes, over))
    if usage.get("interrupted"):
        return UNKNOWN, "sampling was interrupted (%s) and no SSL/TLS session had been seen %s" % (
            usage["interrupted"], over)
    if counts.get("unknown") or not usage.get("complete_visibility", True):
        why = usage.get("visibility_note") or "the TLS state of some sessions is not visible"
        return UNKNOWN, "no SSL/TLS session seen %s, but %s (%d session(s) with unknown TLS state)" % (
            over, why, counts.get("unknown") or 0)
    return NO, "no SSL/TLS session seen %s; %d plaintext session(s) seen" % (over, counts.get("tcp") or 0)


def apply_log_evidence(result: dict, evidence: dict | None) -> dict:
    """Fold connection-log evidence (pg_connection_log.gather_evidence) into one database's verdicts.

    TLS clients in the logs mean SSL/TLS is in use. No TLS client in logs that are complete over the window
    means it is not (even without a database login). Incomplete logs (log_connections off, retention shorter
    than the window, missing or truncated files) prove nothing either way: the verdict stays what the sessions
    showed, and its reason says why the logs could not help. ``result["log_evidence"]`` keeps the window and
    its completeness next to the verdicts.
    """
    result["log_evidence"] = evidence
    if evidence is None:
        return result
    if evidence.get("errors"):
        # An API failure (AccessDenied...) is a failure to inspect, like any other: strict fails on it.
        result["errors"] = list(result.get("errors") or []) + ["logs: %s" % e for e in evidence["errors"]]
        result["error"] = "; ".join(result["errors"])
    window = "over %s day(s) of connection logs (%s to %s)" % (
        evidence.get("window_days"), evidence.get("covered_from") or evidence.get("window_start"),
        evidence.get("window_end"))
    ssl_in_use, reason = result.get("ssl_in_use"), result.get("ssl_in_use_reason")
    if not evidence.get("available"):
        reason = "%s; logs: %s" % (reason, evidence.get("reason")) if reason else "logs: %s" % evidence.get("reason")
    elif evidence.get("tls_clients"):
        note = "%d TLS client(s) %s" % (evidence["tls_clients"], window)
        reason = "%s; logs: %s" % (reason, note) if ssl_in_use == YES else note
        ssl_in_use = YES
    elif evidence.get("tls_unknown_clients"):
        # MySQL/MariaDB audit logs (mysql_audit_log): who connected is known, whether with TLS is not.
        note = "%d client(s) connected %s, but the audit log does not record TLS and nothing proves it for them" % (
            evidence["tls_unknown_clients"], window)
        reason = "%s; logs: %s" % (reason, note) if reason else "logs: %s" % note
    elif evidence.get("complete"):
        note = "no TLS connection %s, complete; %d plaintext client(s)" % (window, evidence.get("plaintext_clients") or 0)
        if ssl_in_use in (YES, NO):
            reason = "%s; logs: %s" % (reason, note)
        else:
            ssl_in_use, reason = NO, note
    else:
        reason = "%s; logs show no TLS client but are incomplete: %s" % (reason, evidence.get("reason"))
    result["ssl_in_use"], result["ssl_in_use_reason"] = ssl_in_use, reason
    complete_window = bool(evidence.get("available") and evidence.get("complete") and not evidence.get("tls_unknown_clients"))
    safe, safe_reason = restart_free_verdict(ssl_in_use, result.get("ssl_enforced"),
                                             (result.get("usage") or {}).get("samples"), reason,
                                             complete_log_window=complete_window)
    result["safe_without_restart"], result["safe_without_restart_reason"] = safe, safe_reason
    return result


def summarize(results: list[dict]) -> dict:
    """Totals over every database's result, and the same totals per account (``by_account``)."""
    return dict(totals(results), by_account=by_account(results, totals))


def totals(results: list[dict]) -> dict:
    """The totals of :func:`summarize` (without ``by_account``)."""
    summary = {
        "databases": len(results),
        "errors": 0,
        "ssl_in_use": {YES: 0, NO: 0, UNKNOWN: 0},
        "ssl_enforced": {"enforced": 0, "not_enforced": 0, UNKNOWN: 0},
        "safe_without_restart": 0,
        "ssl_clients": 0,
        "presented_ca": {},
        "probe_verified": {"verified": 0, "failed": 0, "not_checked": 0},
    }
    for item in results:
        if item.get("error"):
            summary["errors"] += 1
        summary["ssl_in_use"][item.get("ssl_in_use") or UNKNOWN] = summary["ssl_in_use"].get(item.get("ssl_in_use") or UNKNOWN, 0) + 1
        enforced = item.get("ssl_enforced")
        key = "enforced" if enforced is True else ("not_enforced" if enforced is False else UNKNOWN)
        summary["ssl_enforced"][key] += 1
        if item.get("safe_without_restart"):
            summary["safe_without_restart"] += 1
        summary["ssl_clients"] += len(item.get("ssl_clients") or [])
        probe = item.get("probe") or {}
        ca = probe.get("presented_ca") or UNKNOWN
        if item.get("probe") is not None:
            summary["presented_ca"][ca] = summary["presented_ca"].get(ca, 0) + 1
        verified = probe.get("verified")
        summary["probe_verified"]["verified" if verified is True else ("failed" if verified is False else "not_checked")] += 1
        evidence = item.get("log_evidence")
        if evidence is not None:
            counts = summary.setdefault("log_evidence", {"complete": 0, "incomplete": 0, "unavailable": 0})
            key = "unavailable" if not evidence.get("available") else ("complete" if evidence.get("complete") else "incomplete")
            counts[key] += 1
    return summary


# -- targets and AWS -------------------------------------------------------------------------

def _first(item: dict, *keys: str) -> typing.Any:
    for key in keys:
        value = item.get(key)
        if value not in (None, ""):
            return value
    return None


def normalize_target(item: typing.Any, default_region: str | None = None) -> dict:
    """A database to inspect from a ``databases`` item (rds_ca_facts' shape, or a minimal dict).

    Recognised keys: ``identifier`` (or ``db_instance_identifier``/``DBInstanceIdentifier``),
    ``region``, ``engine``, ``engine_version``, ``endpoint_address``/``endpoint_port`` (or an
    ``endpoint`` / ``Endpoint`` mapping with ``address``/``port``), ``cluster_id``, ``current_ca``,
    ``connect_host``, ``connect_port``, ``probe_port``, ``login_db``. Other keys are ignored.
    Raises ValueError for an item without identifier or region.
    """
    if not isinstance(item, dict):
        raise ValueError("each databases item must be a mapping, got %s" % type(item).__name__)
    identifier = _first(item, "identifier", "db_instance_identifier", "DBInstanceIdentifier")
    region = _first(item, "region") or default_region
    if not identifier:
        raise ValueError("databases item without identifier: %s" % sorted(item))
    if not region:
        raise ValueError("databases item %s has no region and no connection region is set" % identifier)
    endpoint = item.get("endpoint") or item.get("Endpoint") or {}
    if not isinstance(endpoint, dict):
        endpoint = {"address": endpoint}
    port = _first(item, "endpoint_port") or _first(endpoint, "port", "Port")
    return {
        "identifier": str(identifier),
        "region": str(region),
        "engine": _first(item, "engine", "Engine"),
        "engine_version": _first(item, "engine_version", "EngineVersion"),
        "endpoint_address": _first(item, "endpoint_address") or _first(endpoint, "address", "Address"),
        "endpoint_port": int(port) if port not in (None, "") else None,
        "cluster_id": _first(item, "cluster_id", "DBClusterIdentifier"),
        "current_ca": _first(item, "current_ca", "CACertificateIdentifier"),
        "connect_host": _first(item, "connect_host"),
        "connect_port": int(item["connect_port"]) if item.get("connect_port") not in (None, "") else None,
        "probe_port": int(item["probe_port"]) if item.get("probe_port") not in (None, "") else None,
        "login_db": _first(item, "login_db"),
        "status": _first(item, "status", "DBInstanceStatus"),
        "parameter_groups": None,
        "described": False,
    }


def apply_description(target: dict, db: dict) -> None:
    """Fill a target's missing facts from its DescribeDBInstances item (given values win)."""
    endpoint = db.get("Endpoint") or {}
    for key, value in (("engine", db.get("Engine")), ("engine_version", db.get("EngineVersion")),
                       ("endpoint_address", endpoint.get("Address")),
                       ("endpoint_port", endpoint.get("Port") or db.get("DbInstancePort")),
                       ("cluster_id", db.get("DBClusterIdentifier")),
                       ("current_ca", db.get("CACertificateIdentifier"))):
        if target.get(key) in (None, "") and value not in (None, ""):
            target[key] = value
    target["status"] = db.get("DBInstanceStatus") or target.get("status")
    target["parameter_groups"] = [
        {"name": g.get("DBParameterGroupName"), "apply_status": g.get("ParameterApplyStatus")}
        for g in db.get("DBParameterGroups") or []
    ]
    target["iam_database_authentication"] = db.get("IAMDatabaseAuthenticationEnabled")
    target["log_exports"] = list(db.get("EnabledCloudwatchLogsExports") or [])
    target["option_groups"] = list(db.get("OptionGroupMemberships") or [])
    target["created"] = db.get("InstanceCreateTime")
    target["arn"] = db.get("DBInstanceArn")  # its account (issue 17)
    target["described"] = True
    return target


def describe_targets(client: typing.Any, targets: list[dict]) -> None:
    """Describe one region's targets and their enforcement parameter (few calls, see the module docstring).

    The calls go through the AWS adapter (module_utils.rds_api), ``client`` is the region's RDS client.

    Sets on each target: the DescribeDBInstances facts (:func:`apply_description`),
    ``enforcement_group`` (``{name, type, apply_status, value, source}``) and
    ``aws_error`` (None, or what failed). Returns the region-level error or None.
    """
    # Imported here so that the rest of this module needs neither boto3 nor amazon.aws.
    from ansible_collections.rdsca.rotation.plugins.module_utils import rds_api

    by_id = dict((t["identifier"].lower(), t) for t in targets)
    try:
        for db in rds_api.describe_db_instances(client, sorted(by_id)):
            target = by_id.get((db.get("DBInstanceIdentifier") or "").lower())
            if target is not None:
                apply_description(target, db)
    except rds_api.AWS_ERRORS as exc:  # pylint: disable=catching-non-exception
        info = rds_api.error_info(exc)
        message = "DescribeDBInstances failed: %s: %s" % (info["error_code"], info["message"])
        for target in targets:
            target["aws_error"] = message
        return message
    for target in targets:
        target.setdefault("aws_error", None)
        if not target["described"]:
            target["aws_error"] = "DB instance %s not found in %s" % (target["identifier"], target["region"])

    clusters = {}
    cluster_ids = sorted(set(t["cluster_id"] for t in targets if t["described"] and t.get("cluster_id")))
    if cluster_ids:
        try:
            for cluster in rds_api.describe_db_clusters(client, cluster_ids):
                clusters[cluster.get("DBClusterIdentifier")] = cluster
        except rds_api.AWS_ERRORS as exc:  # pylint: disable=catching-non-exception
            info = rds_api.error_info(exc)
            message = "DescribeDBClusters failed: %s: %s" % (info["error_code"], info["message"])
            for target in targets:
                if target.get("cluster_id"):
                    target["aws_error"] = message

    wanted = {}
    for target in targets:
        if not target["described"] or target.get("aws_error"):
            continue
        parameter = enforcement_parameter(target.get("engine"))
        if parameter is None:
            target["enforcement_group"] = None
            continue
        cluster = clusters.get(target.get("cluster_id")) if target.get("cluster_id") else None
        if cluster is not None and cluster.get("DBClusterParameterGroup"):
            group = {"name": cluster["DBClusterParameterGroup"], "type": "cluster", "apply_status": None}
        elif target.get("parameter_groups"):
            first = target["parameter_groups"][0]
            group = {"name": first["name"], "type": "instance", "apply_status": first["apply_status"]}
        else:
            target["enforcement_group"] = None
            continue
        target["enforcement_group"] = group
        wanted.setdefault((group["type"], group["name"]), []).append((target, parameter))

    for (group_type, name), users in sorted(wanted.items()):
        try:
            if group_type == "cluster":
                parameters = rds_api.describe_db_cluster_parameters(client, name)
            else:
                parameters = rds_api.describe_db_parameters(client, name)
        except rds_api.AWS_ERRORS as exc:  # pylint: disable=catching-non-exception
            info = rds_api.error_info(exc)
            operation = "DescribeDBClusterParameters" if group_type == "cluster" else "DescribeDBParameters"
            for target, _parameter in users:
                target["aws_error"] = "%s(%s) failed: %s: %s" % (operation, name, info["error_code"], info["message"])
            continue
        for target, parameter in users:
            value, source = parameter_value(parameters, parameter)
            target["enforcement_group"] = dict(target["enforcement_group"], value=value, source=source)
            target["group_parameters"] = parameters
    return None


# -- connections -----------------------------------------------------------------------------

class ServerNameContext(ssl.SSLContext):
    """An SSLContext that always verifies ``server_name``, whatever host name the driver passes.

    PyMySQL verifies the name it connected to; through a tunnel or with an IP that
    is not the RDS endpoint name. This context keeps full chain and hostname
    verification but pins the expected name to the endpoint address.
    """

    pinned_server_name = None

    def wrap_socket(self, sock: socket.socket, server_side: bool = False, do_handshake_on_connect: bool = True,
                    suppress_ragged_eofs: bool = True, server_hostname: str | None = None,
                    session: typing.Any = None) -> ssl.SSLSocket:  # pylint: disable=arguments-differ
        return super(ServerNameContext, self).wrap_socket(
            sock, server_side=server_side, do_handshake_on_connect=do_handshake_on_connect,
            suppress_ragged_eofs=suppress_ragged_eofs, server_hostname=self.pinned_server_name, session=session)


class ExpiryTolerantContext(ServerNameContext):
    """:class:`ServerNameContext` that tolerates only the expiry of the RDS CAs in ``tolerated``.

    OpenSSL verifies chain and name with its validity-period checks off; right after the
    handshake, before the driver sends anything, tls_probe.check_tolerated_expiry judges the
    validity periods of the verified chain and closes the connection unless the only expired
    certificates are a tolerated RDS CA (and a server certificate that expired with it).
    """

    tolerated = ()
    tolerated_expiry = None

    def wrap_socket(self, sock: socket.socket, server_side: bool = False, do_handshake_on_connect: bool = True,
                    suppress_ragged_eofs: bool = True, server_hostname: str | None = None,
                    session: typing.Any = None) -> ssl.SSLSocket:  # pylint: disable=arguments-differ
        tls = super(ExpiryTolerantContext, self).wrap_socket(
            sock, server_side=server_side, do_handshake_on_connect=True, suppress_ragged_eofs=suppress_ragged_eofs,
            server_hostname=server_hostname, session=session)
        try:
            self.tolerated_expiry = tls_probe.check_tolerated_expiry(tls_probe.verified_chain_der(tls), self.tolerated)
        except Exception:
            tls.close()
            raise
        return tls


def server_name_context(server_name: str, ca_bundle: str | None = None, tolerated: typing.Iterable[str] | None = None) -> ssl.SSLContext:
    """Full verification pinned to ``server_name``; with ``tolerated`` (RDS CA identifiers), the expiry of
    those CAs alone is tolerated (:class:`ExpiryTolerantContext`)."""
    context = (ExpiryTolerantContext if tolerated else ServerNameContext)(ssl.PROTOCOL_TLS_CLIENT)
    context.pinned_server_name = server_name
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    if ca_bundle:
        context.load_verify_locations(cafile=ca_bundle)
    else:
        context.load_default_certs()
    if hasattr(ssl, "VERIFY_X509_STRICT"):
        context.verify_flags &= ~ssl.VERIFY_X509_STRICT
    if tolerated:
        # Last: ssl.VerifyFlags (an IntFlag) drops the bit when the flags are read and written back.
        context.tolerated = tuple(tolerated)
        context.verify_flags = int(context.verify_flags) | tls_probe.X509_V_FLAG_NO_CHECK_TIME
    return context


def system_ca_file() -> str | None:
    """A PEM file of the system trust store for libpq (which needs a file), or None."""
    import os  # pylint: disable=import-outside-toplevel

    paths = ssl.get_default_verify_paths()
    for candidate in (os.environ.get(paths.openssl_cafile_env or "SSL_CERT_FILE"), paths.cafile, paths.openssl_cafile,
                      "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"):
        if candidate and os.path.isfile(candidate):
            return candidate
    return None


def resolve_address(host: str) -> str:
    """The first IP address of ``host`` (an IP stays as is)."""
    infos = socket.getaddrinfo(host, None, 0, socket.SOCK_STREAM)
    if not infos:
        raise OSError("%s has no address" % host)
    return infos[0][4][0]


def scrub(text: typing.Any, secrets: typing.Iterable[str | None] | None) -> str:
    """``text`` with every secret replaced, so that no password or token reaches a message."""
    text = str(text)
    for secret in secrets or ():
        if secret and len(secret) >= 3:
            text = text.replace(secret, "********")
    return " ".join(text.split())


def _check_expiry_tolerance(kind: str, server_name: str, address: str, port: int | str, ca_bundle: str | None, tolerated: tuple, timeout: float) -> list:
    """A fresh verified handshake (tls_probe.expiry_tolerant_wrap), made right before a PostgreSQL login that
    libpq cannot verify itself: chain to a CA of the bundle, host name, validity periods but the tolerated
    RDS CA's expiry. Raises when anything else is wrong."""
    sock = socket.create_connection((address, int(port)), timeout=timeout)
    try:
        sock.sendall(struct.pack("!ii", 8, tls_probe.PG_SSL_REQUEST_CODE))
        answer = sock.recv(1)
        if answer != b"S":
            raise ValueError("the server did not accept TLS (answer %r to SSLRequest)" % answer)
        tls, expired = tls_probe.expiry_tolerant_wrap(tls_probe.expiry_tolerant_context(ca_bundle), sock,
                                                      server_name, tolerated)
        tls.close()
        return expired
    finally:
        sock.close()


def connect(kind: str, server_name: str, port: int | str, connect_host: str | None, user: str,
            password: str | None, database: str | None = None, ssl_mode: str = "verify-full",
            ca_bundle: str | None = None, timeout: float = 10, tolerated: tuple | None = None) -> typing.Any:
    """A read-only DB-API connection to ``server_name`` (TCP to ``connect_host``), TLS verified unless disabled.

    ``tolerated``: RDS CA identifiers whose expiry alone is tolerated (rds_ssl_usage allow_expired_ca,
    only once the probe showed that the chain verifies but for that): chain and host name are still
    verified before any credential is sent.
    """
    address = resolve_address(connect_host or server_name)
    if kind == "postgres" and tolerated and ssl_mode != "disable":
        # libpq cannot set expiry aside: the chain is checked on a handshake of our own right before the login,
        # and libpq logs in with channel binding required (SCRAM-SHA-256-PLUS binds the login to the
        # certificate of ITS TLS session: it succeeds only end to end with the server holding the user's SCRAM
        # verifier, and the password never crosses). A server without SCRAM is refused by libpq.
        _check_expiry_tolerance(kind, server_name, address, port, ca_bundle, tolerated, timeout)
        conn = psycopg2.connect(host=server_name, hostaddr=address, port=int(port), user=user, password=password,
                                dbname=database or "postgres", connect_timeout=max(1, int(timeout)),
                                application_name=APPLICATION_NAME, sslmode="require", channel_binding="require",
                                sslrootcert=NO_ROOT_CERT, gssencmode="disable")
        conn.set_session(readonly=True, autocommit=True)
        return conn
    if kind == "postgres":
        kwargs = dict(host=server_name, hostaddr=address, port=int(port), user=user, password=password,
                      dbname=database or "postgres", connect_timeout=max(1, int(timeout)),
                      application_name=APPLICATION_NAME)
        if ssl_mode == "disable":
            kwargs["sslmode"] = "disable"
        else:
            root = ca_bundle or system_ca_file()
            if not root:
                raise ValueError("no CA bundle given and no system trust store file found: set ca_bundle")
            kwargs.update(sslmode="verify-full", sslrootcert=root)
        conn = psycopg2.connect(**kwargs)
        conn.set_session(readonly=True, autocommit=True)
        return conn
    kwargs = dict(host=address, port=int(port), user=user, password=password or "", database=database or None,
                  connect_timeout=max(1, int(timeout)), read_timeout=max(5, int(timeout) * 3), autocommit=True,
                  charset="utf8mb4", program_name=APPLICATION_NAME)
    if ssl_mode == "disable":
        kwargs["ssl_disabled"] = True
    else:
        kwargs["ssl"] = server_name_context(server_name, ca_bundle, tolerated)
    return pymysql.connect(**kwargs)


def _driver_error_text(exc: BaseException) -> str:
    """The useful part of a psycopg2 / PyMySQL error."""
    args = getattr(exc, "args", ())
    if HAS_PYMYSQL and isinstance(exc, pymysql.err.MySQLError) and len(args) >= 2:
        return "%s (MySQL error %s)" % (args[1], args[0])
    return str(exc).strip() or type(exc).__name__


# -- one database ----------------------------------------------------------------------------

def _pg_live(cursor: typing.Any) -> dict:
    facts = {}
    cursor.execute("SELECT current_setting('server_version_num')::int, current_setting('rds.force_ssl', true)")
    facts["server_version_num"], facts["live_value"] = cursor.fetchone()
    try:
        cursor.execute("SELECT pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') "
                       "OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)")
        facts["full_visibility"] = bool(cursor.fetchone()[0])
    except Exception:  # pylint: disable=broad-except
        facts["full_visibility"] = None
    if facts["live_value"] is None:
        facts["live_error"] = "the server has no rds.force_ssl setting (not an RDS server?)"
    return facts


def _mysql_live(cursor: typing.Any) -> dict:
    facts = {}
    cursor.execute("SELECT @@performance_schema, CURRENT_USER(), VERSION()")
    performance_schema, current_user, version = cursor.fetchone()
    facts["performance_schema"] = bool(int(performance_schema or 0))
    facts["server_version"] = _text(version)
    try:
        cursor.execute("SELECT @@GLOBAL.require_secure_transport")
        facts["live_value"] = _text(cursor.fetchone()[0])
    except Exception as exc:  # pylint: disable=broad-except
        facts["live_value"] = None
        facts["live_error"] = "cannot read require_secure_transport: %s" % _driver_error_text(exc)
    facts["full_visibility"] = None
    facts["account_ssl_types"] = mysql_account_ssl_types(cursor)
    user, _sep, host = (_text(current_user) or "").rpartition("@")
    if user:
        try:
            cursor.execute("SELECT COUNT(*) FROM information_schema.USER_PRIVILEGES "
                           "WHERE PRIVILEGE_TYPE = 'PROCESS' AND GRANTEE = %s", ("'%s'@'%s'" % (user, host),))
            facts["full_visibility"] = int(cursor.fetchone()[0]) > 0
        except Exception:  # pylint: disable=broad-except
            facts["full_visibility"] = None
    return facts


class _NoSlots(object):
    """No limit on logins (inspect_database without ``login_slots``)."""

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        return None


_NO_SLOTS = _NoSlots()


def probe_unreachable(probe: dict | None, host: str, port: int | str) -> bool:
    """Whether ``probe`` failed to open a TCP connection to ``host:port`` (refused, timed out, no route).

    Only then is a login to the same address pointless; a probe of another port (``probe_port``) proves nothing
    about the login's port.
    """
    return bool(probe and probe.get("error") and probe.get("reachable") is False and probe.get("protocol")
                and probe.get("connect_host") == host and probe.get("connect_port") == int(port))


def sample_sessions(list_sessions: typing.Callable[[], list], window: UsageWindow, sample_seconds: float,
                    sample_interval: float, clock: typing.Callable[[], float] = time.monotonic,
                    sleep: typing.Callable[[float], typing.Any] = time.sleep) -> tuple[float, str | None]:
    """Sample ``list_sessions()`` into ``window`` for ``sample_seconds`` (at least once).

    Returns ``(seconds watched, error text or None)``; an error ends the window early.
    """
    started = clock()
    deadline = started + max(0.0, float(sample_seconds or 0))
    interval = max(0.05, float(sample_interval or 1))
    while True:
        try:
            window.add(list_sessions())
        except Exception as exc:  # pylint: disable=broad-except
            return clock() - started, _driver_error_text(exc)
        remaining = deadline - clock()
        if remaining <= 0:
            return clock() - started, None
        sleep(min(interval, remaining))


def inspect_all(items: typing.Iterable, inspect: typing.Callable, max_workers: int, probe_workers: int) -> list:
    """``[inspect(item, login_slots) for item in items]``, in order, run on max(probe_workers, max_workers) threads.

    ``login_slots`` is one semaphore of ``max_workers`` shared by every call: :func:`inspect_database` holds it
    from the login to the end of the sampling window, so probes (cheap, slow only when an endpoint does not
    answer) run up to ``probe_workers`` at a time while logins never exceed ``max_workers``.
    """
    items = list(items)
    if not items:
        return []
    login_slots = threading.BoundedSemaphore(max(1, int(max_workers)))
    threads = max(1, min(len(items), max(int(probe_workers), int(max_workers))))
    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(inspect, item, login_slots) for item in items]
        return [future.result() for future in futures]


def tolerance_note(expired: list | None) -> str:
    """What a result says when allow_expired_ca let an expired RDS CA pass (never silent)."""
    return ("TLS verified (chain to an RDS CA of the bundle, endpoint name) EXCEPT the expiry of %s, tolerated by "
            "allow_expired_ca because the database is still on that CA: rotate it" % ", ".join(
                "%s (%s, expired %s)" % (e["ca_identifier"], e["common_name"], e["not_after"]) for e in expired or []))


def _usage_block(available: bool, reason: str | None = None) -> dict:
    return {"available": available, "reason": reason, "kind": None, "samples": 0, "seconds": 0.0,
            "counts": None, "complete_visibility": None, "visibility_note": None,
            "ssl_handshakes_during_window": None, "interrupted": None}


PG_VISIBILITY_NOTE = "the login role lacks pg_read_all_stats (pg_monitor): other roles' sessions hide their TLS state"


def _where(target: dict, settings: dict) -> dict:
    """Where one database is: engine, TLS server name and port, and where TCP connections go."""
    return {
        "engine": target.get("engine"),
        "server_name": target.get("endpoint_address"),
        "port": target.get("endpoint_port"),
        "connect_host": target.get("connect_host") or settings.get("connect_host"),
        "connect_port": target.get("connect_port") or settings.get("connect_port"),
    }


def _inspection_result(target: dict, where: dict, errors: list) -> dict:
    """An :func:`inspect_database` result before anything is known."""
    result = {
        "identifier": target["identifier"],
        "region": target["region"],
        "engine": where["engine"],
        "engine_version": target.get("engine_version"),
        "status": target.get("status"),
        "endpoint_address": where["server_name"],
        "endpoint_port": where["port"],
        "connect_host": where["connect_host"] or where["server_name"],
        "connect_port": where["connect_port"] or where["port"],
        "current_ca": target.get("current_ca"),
    }
    result.update(dict.fromkeys(("probe", "enforcement", "usage", "window")))
    result.update(sessions=[], sessions_truncated=False, clients=[], ssl_clients=[])
    result.update(dict.fromkeys(("tls_verification", "tolerated_expiry", "tls_verification_note")))
    result.update(ssl_in_use=UNKNOWN, ssl_in_use_reason=None, ssl_enforced=UNKNOWN, safe_without_restart=False,
                  safe_without_restart_reason=None, errors=errors, error=None)
    return result


def _reachable(target: dict, errors: list) -> bool:
    """Whether there is a server to connect to (endpoint known, instance running); says why not in ``errors``."""
    if not (target.get("endpoint_address") and target.get("endpoint_port") and target.get("engine")):
        missing = [k for k in ("engine", "endpoint_address", "endpoint_port") if not target.get(k)]
        errors.append("cannot reach the database: %s unknown" % ", ".join(missing))
        return False
    if (target.get("status") or "available") in NOT_RUNNING:
        errors.append("the DB instance is %s: nothing to connect to" % target["status"])
        return False
    return True


def _probe(target: dict, settings: dict, where: dict, tolerated: tuple, result: dict, errors: list) -> dict:
    """The TLS probe of the endpoint, with what it says about verification folded into ``result``."""
    probe_port = target.get("probe_port") or settings.get("probe_port")
    probe = tls_probe.probe_endpoint(where["server_name"], where["port"], where["engine"],
                                     connect_host=where["connect_host"],
                                     connect_port=probe_port or where["connect_port"],
                                     ca_bundle=settings.get("ca_bundle"),
                                     timeout=settings.get("timeout") or tls_probe.DEFAULT_TIMEOUT,
                                     tolerate_expired=tolerated, connect_timeout=settings.get("connect_timeout"))
    result["probe"] = probe
    if probe.get("error"):
        errors.append("probe: %s" % probe["error"])
    elif probe.get("verified") is False and probe.get("verified_except_expiry"):
        result["tls_verification"] = "verified_except_expiry"
        result["tolerated_expiry"] = probe.get("tolerated_expiry")
        result["tls_verification_note"] = tolerance_note(probe.get("tolerated_expiry"))
    elif probe.get("verified") is False:
        result["tls_verification"] = "failed"
        expected = expired_current_ca_note(target, probe)
        if expected:
            # A finding about the database (it is still on an expired CA), not a failure to inspect it.
            result["tls_verification_note"] = expected
        else:
            errors.append((probe.get("verify_error") or "TLS verification failed") + (
                "; allow_expired_ca does not help: %s" % probe["tolerance_error"] if probe.get("tolerance_error") else ""))
    elif probe.get("verified"):
        result["tls_verification"] = "verified"
    return probe


def expired_current_ca_note(target: dict, probe: dict) -> str | None:
    """Why a failed verification is expected, or None: the endpoint presents a chain of the CA the database is on
    (``CACertificateIdentifier``, the CA a rotation replaces) and that chain has expired, so that no trust store can
    verify it before the rotation (rds-ca-2019 since August 2024). Without a tolerance that failed (allow_expired_ca
    was asked for and did not apply: an error)."""
    if probe.get("tolerance_error") or not probe.get("presented_ca") or probe["presented_ca"] != target.get("current_ca"):
        return None
    certificates = [probe.get("certificate") or {}] + list(probe.get("chain") or [])
    expired = [c for c in certificates if c.get("expired")]
    if not expired:
        return None
    return ("the endpoint presents a certificate of its current CA %s whose chain has expired (%s, %s): no trust "
            "store verifies it until the database is rotated; %s" % (
                probe["presented_ca"], expired[-1].get("subject_cn") or "the server certificate", expired[-1].get(
                    "not_after"), probe.get("verify_error") or "TLS verification failed"))


def _no_login_reason(kind: str | None, reachable: bool, settings: dict, probe: dict | None,
                     where: dict) -> str | None:
    """Why sessions are not listed (no login is tried), or None when a login is worth it."""
    verifying = settings.get("ssl_mode") != "disable"
    if not reachable:
        return "the database could not be reached"
    if kind is None:
        return "no session query for engine %s: SSL usage cannot be listed over SQL" % where["engine"]
    if not settings.get("login_user"):
        return "no credentials given (login_user): sessions were not listed"
    if verifying and probe is not None and probe.get("verified") is False and not probe.get("verified_except_expiry"):
        return "not connected: the endpoint's certificate does not verify (see probe.verify_error)"
    if verifying and probe is not None and probe.get("tls_supported") is False:
        return "not connected: the endpoint does not offer TLS (ssl_mode=disable to connect in plaintext)"
    if probe_unreachable(probe, where["connect_host"] or where["server_name"], where["connect_port"] or where["port"]):
        # The probe's TCP connection to the very address the login would use failed: a login would only wait
        # for the same timeout again (issue 20: 1,000 unreachable endpoints).
        return "not connected: the endpoint could not be reached (see probe.error)"
    return None


def _login(kind: str, target: dict, settings: dict, where: dict, probe: dict | None, tolerated: tuple,
           secrets: list) -> typing.Any:
    """A read-only connection for listing sessions (an IAM token, when used, is added to ``secrets``)."""
    password = settings.get("password")
    if settings.get("password_provider") is not None:
        try:
            password = settings["password_provider"](where["server_name"], where["port"])
        except Exception as exc:  # pylint: disable=broad-except
            raise ValueError("cannot generate an IAM authentication token: %s" % exc)
        secrets.append(password)
    extra = {}
    if probe is not None and probe.get("verified_except_expiry"):
        extra["tolerated"] = tolerated
    return connect(kind, where["server_name"], where["connect_port"] or where["port"], where["connect_host"],
                   settings["login_user"], password, target.get("login_db") or settings.get("login_db"),
                   settings.get("ssl_mode") or "verify-full", settings.get("ca_bundle"),
                   settings.get("timeout") or 10, **extra)


def _session_lister(kind: str, cursor: typing.Any, exclude: list, state: dict) -> tuple:
    """``(list_sessions, visibility note, MySQL counters before the window)``; the server's facts go to ``state``."""
    if kind == "postgres":
        live = state["live"] = _pg_live(cursor)

        def list_pg_sessions() -> list[dict]:
            return pg_sessions(cursor, live.get("server_version_num"), exclude)
        return list_pg_sessions, PG_VISIBILITY_NOTE, {}
    live = state["live"] = _mysql_live(cursor)
    performance_schema = live["performance_schema"]

    def list_mysql_sessions() -> list[dict]:
        return mysql_sessions(cursor, exclude, performance_schema)
    if not performance_schema:
        note = ("performance_schema is off: per-session TLS is not visible "
                "(turn performance_schema on in the parameter group for evidence)")
    else:
        note = "the login user lacks the PROCESS privilege: other users' sessions are hidden"
    return list_mysql_sessions, note, mysql_counters(cursor)


def _sample_usage(conn: typing.Any, kind: str, settings: dict, window: UsageWindow, usage: dict, state: dict,
                  errors: list, secrets: list, clock: typing.Callable, sleep: typing.Callable) -> None:
    """Watch the sessions over the window into ``window`` and ``usage`` (raises on a driver error)."""
    cursor = conn.cursor()
    exclude = list(settings.get("exclude_users") or DEFAULT_EXCLUDE_USERS)
    list_sessions, visibility_note, before = _session_lister(kind, cursor, exclude, state)
    state["started"] = _now_iso()
    seconds, interrupted = sample_sessions(list_sessions, window, settings.get("sample_seconds") or 0,
                                           settings.get("sample_interval") or 1, clock, sleep)
    state["ended"] = _now_iso()
    usage["samples"] = window.samples
    usage["seconds"] = round(seconds, 3)
    if interrupted:
        usage["interrupted"] = scrub(interrupted, secrets)
        errors.append("sampling stopped early: %s" % usage["interrupted"])
    live = state["live"]
    if kind == "mysql" and before and not interrupted:
        after = mysql_counters(cursor)
        key = "Ssl_finished_accepts" if "Ssl_finished_accepts" in before else "Ssl_accepts"
        if key in before and key in after:
            usage["ssl_handshakes_during_window"] = max(0, after[key] - before[key])
            usage["ssl_handshakes_since_startup"] = after[key]
            usage["uptime_seconds"] = after.get("Uptime")
    if kind == "mysql" and not live.get("performance_schema"):
        usage["complete_visibility"] = False
    else:
        usage["complete_visibility"] = live.get("full_visibility") is not False and not window.counts().get("unknown")
    if not usage["complete_visibility"]:
        usage["visibility_note"] = visibility_note
    if kind == "mysql":
        usage["performance_schema"] = live.get("performance_schema")
        usage["server_version"] = live.get("server_version")
        usage["account_ssl_types"] = live.get("account_ssl_types")


def _login_and_sample(kind: str, target: dict, settings: dict, where: dict, probe: dict | None, tolerated: tuple,
                      window: UsageWindow, state: dict, errors: list, secrets: list, clock: typing.Callable,
                      sleep: typing.Callable) -> dict:
    """Log in (holding a login slot until the window ends) and sample the sessions: the ``usage`` block."""
    usage = _usage_block(True)
    usage["kind"] = kind
    slot = settings.get("login_slots") or _NO_SLOTS
    slot.acquire()
    try:
        try:
            conn = _login(kind, target, settings, where, probe, tolerated, secrets)
        except Exception as exc:  # pylint: disable=broad-except
            message = scrub("cannot connect to %s (%s:%s) as %s: %s" % (
                where["server_name"], where["connect_host"] or where["server_name"],
                where["connect_port"] or where["port"], settings["login_user"], _driver_error_text(exc)), secrets)
            errors.append(message)
            return _usage_block(False, "not connected: %s" % message)
        try:
            _sample_usage(conn, kind, settings, window, usage, state, errors, secrets, clock, sleep)
        except Exception as exc:  # pylint: disable=broad-except
            message = scrub("querying sessions failed: %s" % _driver_error_text(exc), secrets)
            errors.append(message)
            usage["available"] = False
            usage["reason"] = message
        finally:
            try:
                conn.close()
            except Exception:  # pylint: disable=broad-except
                pass
    finally:
        slot.release()
    return usage


def _fill_usage(result: dict, usage: dict, window: UsageWindow, settings: dict, state: dict) -> None:
    """The usage block, the window and the sessions and clients seen, into ``result``."""
    clients = window.clients()
    usage["counts"] = window.counts()
    usage["ssl_clients"] = len([c for c in clients if c["uses_ssl"]])
    result["usage"] = usage
    result["window"] = {
        "requested_seconds": float(settings.get("sample_seconds") or 0),
        "interval": float(settings.get("sample_interval") or 1),
        "seconds": usage.get("seconds") or 0.0,
        "samples": usage.get("samples") or 0,
        "started": state["started"],
        "ended": state["ended"],
    }
    result["sessions"] = window.session_list()
    result["sessions_truncated"] = window.truncated
    result["clients"] = clients
    result["ssl_clients"] = [c for c in clients if c["uses_ssl"]]


def _enforcement(target: dict, live: dict, probe: dict | None, usage: dict) -> dict:
    """Whether TLS is enforced: parameter group and engine default, the live server, SQL Server's PRELOGIN."""
    enforcement = enforcement_facts(target.get("engine"), target.get("engine_version"), target.get("enforcement_group"),
                                    api_error=target.get("aws_error"), live_value=live.get("live_value"),
                                    live_error=live.get("live_error"))
    if probe is not None and probe.get("server_requires_tls") is not None and enforcement["enforced_by"] != "live":
        enforcement["enforced"] = bool(probe["server_requires_tls"])
        enforcement["enforced_by"] = "tds_prelogin"
    if (enforcement["enforced"] is True and (usage.get("counts") or {}).get("tcp")
            and enforcement["enforced_by"] != "live"):
        note = ("plaintext sessions were seen although %s says %s=%s: the setting may not be applied yet"
                % (enforcement["enforced_by"], enforcement["parameter"], enforcement["api_value"]))
        enforcement["note"] = note if not enforcement["note"] else enforcement["note"] + "; " + note
    return enforcement


def _verdicts(result: dict, usage: dict, errors: list, secrets: list) -> None:
    """SSL/TLS in use, safe without a restart, and the errors, scrubbed of secrets, into ``result``."""
    if usage.get("reason"):
        usage["reason"] = scrub(usage["reason"], secrets)
    ssl_in_use, reason = ssl_in_use_verdict(usage)
    result["ssl_in_use"] = ssl_in_use
    result["ssl_in_use_reason"] = reason
    safe, safe_reason = restart_free_verdict(ssl_in_use, result["ssl_enforced"], usage.get("samples"), reason)
    result["safe_without_restart"] = safe
    result["safe_without_restart_reason"] = safe_reason
    result["errors"] = [scrub(e, secrets) for e in errors]
    result["error"] = "; ".join(result["errors"]) or None


def inspect_database(target: dict, settings: dict, clock: typing.Callable = time.monotonic,
                     sleep: typing.Callable = time.sleep) -> dict:
    """Everything about one database: probe, enforcement, sessions over the window, verdicts.

    ``target``: :func:`normalize_target` (+ :func:`describe_targets`) output. ``settings``:
    ``login_user``, ``password``, ``password_provider`` (``f(host, port)`` returning an IAM
    token, called right before logging in), ``login_db``, ``ssl_mode``,
    ``ca_bundle``, ``connect_host``, ``connect_port``, ``probe_port``, ``probe``,
    ``sample_seconds``, ``sample_interval``, ``timeout``, ``connect_timeout`` (the probe's TCP connection),
    ``exclude_users``, ``login_slots`` (a semaphore held from the login to the end of the sampling window,
    so that many probing threads never make more logins at once than it allows).
    Never raises: failures end up in the result's ``error``/``errors``.
    """
    errors = [target["aws_error"]] if target.get("aws_error") else []
    secrets = [settings.get("password")]
    where = _where(target, settings)
    result = _inspection_result(target, where, errors)
    # allow_expired_ca: only the expiry of the CA this database is still on (the one being rotated away).
    tolerated = tuple(ca for ca in settings.get("allow_expired_ca") or () if ca == target.get("current_ca"))
    reachable = _reachable(target, errors)
    probe = None
    if reachable and settings.get("probe", True):
        probe = _probe(target, settings, where, tolerated, result, errors)
    kind = usage_kind(where["engine"])
    window = UsageWindow()
    state = {"live": {}, "started": None, "ended": None}
    reason = _no_login_reason(kind, reachable, settings, probe, where)
    if reason is not None:
        usage = _usage_block(False, reason)
        if result["tls_verification_note"] and result["tls_verification"] == "failed" and settings.get("login_user"):
            # Credentials were given for a session list that a verifying login cannot make: not fully inspected.
            errors.append("sessions not listed (%s): %s; allow_expired_ca, or connection logs (log_window_days), "
                          "show its clients" % (reason, result["tls_verification_note"]))
    else:
        usage = _login_and_sample(kind, target, settings, where, probe, tolerated, window, state, errors, secrets,
                                  clock, sleep)
    _fill_usage(result, usage, window, settings, state)
    result["enforcement"] = _enforcement(target, state["live"], probe, usage)
    result["ssl_enforced"] = result["enforcement"]["enforced"]
    _verdicts(result, usage, errors, secrets)
    return result
