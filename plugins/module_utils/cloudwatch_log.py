# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Evidence of TLS use from PostgreSQL connection lines exported to CloudWatch Logs (no database login).

When an instance exports its PostgreSQL log (``EnabledCloudwatchLogsExports`` holds ``postgresql``), RDS
publishes every log line as one event of the log group ``/aws/rds/instance/<id>/postgresql`` (Aurora:
``/aws/rds/cluster/<cluster>/postgresql``), in the log stream named by the instance, and the event's message is
the whole line, ``log_line_prefix`` included (RDS User Guide, "Publishing PostgreSQL logs to Amazon CloudWatch
Logs"). So the lines are parsed by the same :class:`pg_connection_log.ConnectionLog` as the files read through the
RDS API, and the evidence has the same shape as :func:`pg_connection_log.gather_evidence`'s.

CloudWatch Logs keeps a group's events for its ``retentionInDays`` (never expire when unset), whatever
``rds.log_retention_period`` says, so the window can reach further back than the RDS log files.
``FilterLogEvents`` returns at most 1 MB or 10,000 events a page and a ``nextToken`` while more may follow
(CloudWatch Logs API Reference, FilterLogEvents); throttling is retried by the client
(:class:`aws.RegionClients`, amazon.aws's jittered backoff, ``ThrottlingException`` included).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.rdsca.rotation.plugins.module_utils import pg_connection_log
from ansible_collections.rdsca.rotation.plugins.module_utils.rds_domain import iso_z as _iso
from ansible_collections.rdsca.rotation.plugins.module_utils.rds_domain import usage_kind

EXPORT = "postgresql"
EVIDENCE_SOURCE = "CloudWatch Logs FilterLogEvents (PostgreSQL connection log exported by RDS)"
# FilterLogEvents' own maximum ("The maximum number of events to return. The default is 10,000 events.").
PAGE_EVENTS = 10000
MAX_PAGES = 100000
SOURCES = ("rds", "cloudwatch", "auto")


def log_group_name(target):
    """The log group RDS publishes a database's PostgreSQL log to (Aurora: its cluster's)."""
    if target.get("cluster_id") and str(target.get("engine") or "").startswith("aurora"):
        return "/aws/rds/cluster/%s/%s" % (target["cluster_id"], EXPORT)
    return "/aws/rds/instance/%s/%s" % (target["identifier"], EXPORT)


def exports_postgresql(target):
    """Whether DescribeDBInstances showed ``postgresql`` in the instance's EnabledCloudwatchLogsExports."""
    return EXPORT in (target.get("log_exports") or [])


def use_cloudwatch(log_source, target):
    """``log_source`` ``cloudwatch``; ``auto``: when the instance exports its PostgreSQL log; ``rds``: never."""
    if log_source == "cloudwatch":
        return True
    return log_source == "auto" and exports_postgresql(target)


def _ms(stamp):
    return int(stamp.timestamp() * 1000)


def describe_group(call, client, group):
    """The log group's DescribeLogGroups item, or None when it does not exist."""
    answer = call(client, "describe_log_groups", logGroupNamePrefix=group)
    for item in answer.get("logGroups") or []:
        if item.get("logGroupName") == group:
            return item
    return None


def read_events(call, client, group, stream, start, end, log, max_pages=MAX_PAGES):
    """Feed the events of ``stream`` in ``group`` between ``start`` and ``end`` (datetimes) to ``log``.

    Follows ``nextToken`` (a page may be empty while more follow); returns ``(events, problems)``.
    """
    params = dict(logGroupName=group, logStreamNames=[stream], startTime=_ms(start), endTime=_ms(end),
                  limit=PAGE_EVENTS)
    events = 0
    seen_tokens = set()
    for _page in range(max_pages):
        answer = call(client, "filter_log_events", **params)
        for event in answer.get("events") or []:
            events += 1
            log.feed((event.get("message") or "").rstrip("\r\n") + "\n")
        token = answer.get("nextToken")
        if not token:
            log.end_file()
            return events, []
        if token in seen_tokens:
            log.end_file()
            return events, ["%s: CloudWatch Logs returned the same nextToken twice; the rest was not read" % group]
        seen_tokens.add(token)
        params["nextToken"] = token
    log.end_file()
    return events, ["%s: more than %d pages of FilterLogEvents; the rest was not read" % (group, max_pages)]


def completeness(window_start, now, created, settings, group_info, exporting, problems, log):
    """What the CloudWatch evidence covers and why it may be incomplete (same keys as pg_connection_log's)."""
    needed_from = max(window_start, created) if created else window_start
    reasons = pg_connection_log.logging_reasons(settings, log, needed_from)
    if exporting is False:
        reasons.append("the instance does not export its postgresql log to CloudWatch Logs "
                       "(EnabledCloudwatchLogsExports): new connections are not published")
    covered_from = None
    if group_info is not None:
        covered_from = needed_from
        retention = group_info.get("retentionInDays")
        if retention:
            horizon = now - datetime.timedelta(days=int(retention))
            if horizon > needed_from:
                covered_from = horizon
                reasons.append("the log group %s keeps events for %d day(s) (retentionInDays), shorter than the "
                               "window: covered only from %s, not from %s" % (
                                   group_info.get("logGroupName"), int(retention), _iso(horizon), _iso(needed_from)))
    reasons.extend(problems)
    if log is not None and not log.has_time:
        reasons.append("log_line_prefix has no time (%t/%m/%n): first/last seen are unknown")
    return {"complete": not reasons, "reasons": reasons, "needed_from": _iso(needed_from),
            "covered_from": _iso(covered_from) if covered_from else None, "covered_to": _iso(now)}


def gather_evidence(aws, client, target, settings, window_days, now, exclude_users=()):
    """Connection-log evidence of one database from CloudWatch Logs over ``window_days``. Never raises.

    Same arguments and result keys as :func:`pg_connection_log.gather_evidence` (``client`` a ``logs`` client),
    plus ``log_group``, ``log_stream`` and ``retention_days``; ``files`` stays empty.
    """
    engine = target.get("engine")
    if usage_kind(engine) != "postgres":
        return pg_connection_log.unavailable(engine, window_days, "log evidence is not available for %s yet: only "
                                             "PostgreSQL connection logs (log_connections) are read"
                                             % (engine or "this engine"))
    window_start = now - datetime.timedelta(days=window_days)
    group = log_group_name(target)
    stream = target["identifier"]
    evidence = pg_connection_log.unavailable(engine, window_days, None)
    evidence.update(available=True, source=EVIDENCE_SOURCE, window_start=_iso(window_start), window_end=_iso(now),
                    log_connections=settings.get("log_connections"), log_line_prefix=settings.get("log_line_prefix"),
                    log_group=group, log_stream=stream, retention_days=None)
    problems, aws_failures = [], []
    log, group_info = None, None
    try:
        log = pg_connection_log.ConnectionLog(settings.get("log_line_prefix") or pg_connection_log.RDS_DEFAULT_PREFIX,
                                              exclude_users, since=window_start)
    except ValueError as exc:
        problems.append("log_line_prefix cannot be parsed: %s" % exc)
    if log is not None:
        try:
            group_info = describe_group(aws["call"], client, group)
            if group_info is None:
                problems.append("the log group %s does not exist: the database's postgresql log is not exported to "
                                "CloudWatch Logs" % group)
            else:
                evidence["retention_days"] = group_info.get("retentionInDays")
                read_from = window_start
                if target.get("created") and isinstance(target["created"], datetime.datetime) and \
                        target["created"].tzinfo is not None:
                    read_from = max(read_from, target["created"])
                _events, more = read_events(aws["call"], client, group, stream, read_from, now, log)
                problems.extend(more)
        except aws["errors"] as exc:  # pylint: disable=catching-non-exception
            info = aws["error_info"](exc)
            problems.append("CloudWatch Logs failed: %s: %s" % (info["error_code"], info["message"]))
            if info["error_code"] != "ResourceNotFoundException":
                aws_failures.append(problems[-1])
            log.end_file()
    created = target.get("created")
    if not isinstance(created, datetime.datetime) or created.tzinfo is None:
        created = None
    exporting = exports_postgresql(target) if "log_exports" in target and not target.get("cluster_id") else None
    facts = completeness(window_start, now, created, settings, group_info, exporting, problems, log)
    clients = log.clients() if log is not None else []
    evidence.update(complete=facts["complete"], incomplete_reasons=facts["reasons"],
                    covered_from=facts["covered_from"], needed_from=facts["needed_from"], files=[],
                    connections=log.connections if log else 0, clients=clients,
                    tls_clients=len([c for c in clients if c["tls"]]),
                    plaintext_clients=len([c for c in clients if not c["tls"]]))
    evidence["reason"] = None if facts["complete"] else "; ".join(facts["reasons"])
    evidence["errors"] = aws_failures
    return evidence
