# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Planning a fleet-wide CA rotation: pure functions, no AWS, no boto3.

The module ``rds_ca_rotate`` works in three steps:

1. :func:`normalize_entries` turns the ``databases`` option (identifiers, ARNs,
   ``{identifier, region}`` mappings, or ``rds_ca_facts`` entries) into requests;
   :func:`resolve_units` maps them, with each region's DescribeDBInstances and
   DescribeDBClusters output, onto *units*: a DB instance (standalone, read
   replica, Aurora member) or a Multi-AZ DB cluster (whose CA is changed on the
   cluster with ModifyDBCluster).
2. :func:`plan_unit` decides per unit what to do (``rotate``, ``schedule``,
   ``skip``, ``none`` or ``fail``), whether it would restart, and which API call
   does it; problems that must stop the task before any change (an unsupported
   CA, certificate_rotation_restart=false without evidence...) are returned, not
   raised, so that every database is checked first.
3. :func:`dependencies` and :class:`Scheduler` give the order (Aurora readers
   before their writer, read replicas before their source) and the bounded
   concurrency that ``rotation_runner`` drives.

Every unit ends in one of :data:`FINAL_STATUSES`. What RDS does (engines, statuses, restarts) is
module_utils.rds_domain's.
"""

from __future__ import annotations

import os
import re
import typing

from ansible_collections.rdsca.rotation.plugins.module_utils import bundle as bundle_lib
# Re-exported: the RDS knowledge lives in rds_domain.
from ansible_collections.rdsca.rotation.plugins.module_utils.rds_domain import (  # noqa: F401 pylint: disable=unused-import
    ACM,
    CA_NAME,
    FAIL_STATUSES,
    G1_LABELS,
    MAINTENANCE_ROTATION_TARGET,
    ROTATION_ACTION,
    SKIP_STATUSES,
    UNKNOWN,
    amazon_trust_services_ca,
    endpoint_certificate,
    engine_supported,
    is_multi_az_cluster,
    rotation_restart_parameter,
    rotation_without_restart as restart_free,
    status_category,
    status_reason,
    would_restart,
)
from ansible_collections.rdsca.rotation.plugins.module_utils.rds_domain import ACCOUNT_ID, db_label, scope_label, split_label

APPLY_IMMEDIATELY = "immediately"
APPLY_MAINTENANCE_WINDOW = "maintenance_window"
APPLY_PENDING_ACTION = "pending_action"
APPLY_CHOICES = (APPLY_IMMEDIATELY, APPLY_MAINTENANCE_WINDOW, APPLY_PENDING_ACTION)
OPT_IN_CHOICES = ("immediate", "next-maintenance")
ON_RESTART_CHOICES = ("skip", "schedule")
ORDER_CHOICES = ("safe", "as_given")

# What the module does to a unit.
ROTATE = "rotate"        # change now and wait for it
SCHEDULE = "schedule"    # leave a pending change (maintenance window / next-maintenance opt-in)
SKIP = "skip"            # leave alone, with a reason
NONE = "none"            # already where it should be
FAIL = "fail"            # cannot be rotated (status), reported as failed

ROTATED = "rotated"
SCHEDULED = "scheduled"
UNCHANGED = "unchanged"
SKIPPED = "skipped"
ROLLED_BACK = "rolled_back"
FAILED = "failed"
# Not changed: a unit that must come before it (order=safe) is not confirmed on the target.
BLOCKED = "blocked"
# Changed and confirmed by the API, but its endpoint could not be reached to verify the certificate.
UNVERIFIED = "unverified"
FINAL_STATUSES = (ROTATED, SCHEDULED, UNCHANGED, SKIPPED, BLOCKED, UNVERIFIED, ROLLED_BACK, FAILED)
# Statuses that fail the task (listed in `failures`).
FAILURE_STATUSES = (FAILED, ROLLED_BACK, BLOCKED, UNVERIFIED)
PREDICTED_STATUS = {ROTATE: ROTATED, SCHEDULE: SCHEDULED, SKIP: SKIPPED, NONE: UNCHANGED, FAIL: FAILED}

INSTANCE = "instance"
CLUSTER = "cluster"

IDENTIFIER = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
ARN = re.compile(r"^arn:aws[a-z-]*:rds:(?P<region>[a-z0-9-]+):(?P<account>\d*):(?P<kind>db|cluster):(?P<id>[A-Za-z0-9-]+)$")
# Keys of a `databases` mapping entry this module reads (anything else, e.g. the rest of an
# rds_ca_facts or rds_ca_rotate result entry, is ignored).
ENTRY_ID_KEYS = ("identifier", "id", "db_instance_identifier", "DBInstanceIdentifier", "db_cluster_identifier",
                 "DBClusterIdentifier")
ENTRY_TYPES = ("auto", INSTANCE, CLUSTER)


def unit_key(region: str, kind: str, identifier: str) -> str:
    return "%s/%s/%s" % (region, kind, identifier)


def label(region: str, identifier: str, account: str | None = None) -> str:
    """rds_domain.db_label: ``region/identifier``, or ``account/region/identifier`` with named accounts."""
    return db_label(region, identifier, account)


# -- the `databases` option -----------------------------------------------------------------------

def _entry_from_string(text: str, default_region: str | None) -> tuple[dict | None, str | None]:
    text = text.strip()
    match = ARN.match(text)
    if match:
        kind = INSTANCE if match.group("kind") == "db" else CLUSTER
        return {"identifier": match.group("id").lower(), "region": match.group("region"), "type": kind,
                "account": match.group("account") or None}, None
    # identifier, region/identifier, account/region/identifier (rds_domain.db_label, read by split_label)
    account, region, ident = split_label(text)
    if account is not None and not ACCOUNT_ID.match(account):
        return None, "databases entry %r: the account of account/region/identifier must be 12 digits" % text
    region = default_region if region is None else region
    return {"identifier": ident.lower(), "region": region, "type": "auto", "account": account}, None


def _entry_from_mapping(item: dict, default_region: str | None) -> tuple[dict | None, str | None]:
    ident = None
    for key in ENTRY_ID_KEYS:
        if item.get(key):
            ident = str(item[key])
            break
    if ident is None:
        return None, "a databases entry needs an identifier (keys: %s), got %r" % (", ".join(ENTRY_ID_KEYS[:3]), item)
    match = ARN.match(ident)
    region = item.get("region") or (match.group("region") if match else None) or default_region
    account = item.get("account") or (match.group("account") if match else None) or None
    if account is not None and not ACCOUNT_ID.match(str(account)):
        return None, "databases entry %s: account must be 12 digits, got %r" % (ident, account)
    kind = item.get("type") or "auto"
    if match:
        ident = match.group("id")
        if kind == "auto":
            kind = INSTANCE if match.group("kind") == "db" else CLUSTER
    entry = {"identifier": ident.lower(), "region": region, "type": kind, "account": account and str(account)}
    if kind not in ENTRY_TYPES:
        return None, "databases entry %s: type must be one of %s, got %r" % (ident, ", ".join(ENTRY_TYPES), kind)
    for key in ("connect_host", "connect_port"):
        if item.get(key) not in (None, ""):
            entry[key] = item[key]
    if "connect_port" in entry:
        try:
            entry["connect_port"] = int(entry["connect_port"])
        except (TypeError, ValueError):
            return None, "databases entry %s: connect_port must be a port number, got %r" % (ident, item["connect_port"])
    return entry, None


def normalize_entries(entries: list | None, default_region: str | None) -> tuple[list[dict], list[str]]:
    """``(requests, problems)`` from the ``databases`` option; duplicates are merged.

    An entry is an identifier (the connection region), ``region/identifier``, an
    RDS ARN (``arn:aws:rds:eu-west-1:123456789012:db:orders``), or a mapping with
    ``identifier`` (or ``id``), optional ``region``, ``type`` (``auto``,
    ``instance``, ``cluster``), ``connect_host`` and ``connect_port`` - which is
    what ``rds_ca_facts`` and ``rds_ca_rotate`` return per database.
    """
    requests = []
    problems = []
    seen = {}
    for item in entries or []:
        if isinstance(item, str):
            entry, problem = _entry_from_string(item, default_region)
        elif isinstance(item, dict):
            entry, problem = _entry_from_mapping(item, default_region)
        else:
            entry, problem = None, "a databases entry must be a string or a mapping, got %r" % (item,)
        if problem:
            problems.append(problem)
            continue
        if not entry["region"]:
            problems.append("databases entry %s has no region: give region (per entry, or the connection region)"
                            % entry["identifier"])
            continue
        if not IDENTIFIER.match(entry["identifier"]):
            problems.append("%r is not an RDS identifier (a letter, then letters, digits and hyphens)" % entry["identifier"])
            continue
        key = (entry.get("account"), entry["region"], entry["identifier"])
        if key in seen:
            previous = seen[key]
            if previous["type"] == "auto":
                previous["type"] = entry["type"]
            for extra in ("connect_host", "connect_port"):
                if previous.get(extra) is None and entry.get(extra) is not None:
                    previous[extra] = entry[extra]
            continue
        seen[key] = entry
        requests.append(entry)
    return requests, problems


# -- SSL/TLS usage evidence (certificate_rotation_restart=false) --------------------------------------

SSL_IN_USE_KEYS = ("ssl_in_use", "uses_ssl", "tls_in_use", "uses_tls")
SSL_COUNT_KEYS = ("ssl_connections", "tls_connections", "ssl_sessions", "tls_sessions")
EVIDENCE_KEYS = SSL_IN_USE_KEYS + SSL_COUNT_KEYS + ("ssl_in_use_reason", "safe_without_restart",
                                                    "safe_without_restart_reason", "ssl_enforced")
TRUE_WORDS = ("yes", "true", "on", "1")
FALSE_WORDS = ("no", "false", "off", "0")


def _yes_no(value: typing.Any) -> bool | None:
    """True, False or None from a bool or a yes/no/unknown word (rds_ssl_usage reports words)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if value is not None else ""
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    return None


def _ssl_state(item: dict) -> bool | None:
    """True (in use), False (not in use) or None (the entry says nothing decisive)."""
    for key in SSL_IN_USE_KEYS:
        if key in item:
            state = _yes_no(item[key])
            if state is not None:
                return state
    for key in SSL_COUNT_KEYS:
        if key in item and item[key] is not None:
            try:
                return int(item[key]) > 0
            except (TypeError, ValueError):
                return None
    return None


def parse_ssl_evidence(value: typing.Any) -> tuple[dict, list[str]]:
    """``({(region or None, identifier): evidence}, problems)`` for certificate_rotation_restart=false.

    Accepts the registered result of ``rds_ssl_usage`` (a mapping with a
    ``databases`` list) or a list of per-database mappings, each with an
    identifier (``identifier``/``id``), an optional ``region``, and
    ``ssl_in_use`` (``yes``/``no``/``unknown`` as rds_ssl_usage reports it, or a
    bool; also ``uses_ssl``/``tls_in_use``) or a count (``ssl_connections``,
    ``tls_connections``). rds_ssl_usage's ``safe_without_restart: false`` vetoes.

    Each evidence is ``{"ssl_in_use": True/False/None, "safe": True/False/None,
    "evidence": {the keys above that the entry had}}``.
    """
    if value is None:
        return {}, []
    if isinstance(value, dict):
        value = value.get("databases", [value] if any(k in value for k in ENTRY_ID_KEYS) else [])
    if not isinstance(value, list):
        return {}, ["ssl_usage must be the result of rds_ssl_usage or a list of per-database mappings"]
    evidence = {}
    problems = []
    for item in value:
        if not isinstance(item, dict):
            problems.append("ssl_usage entries must be mappings, got %r" % (item,))
            continue
        ident = next((str(item[k]) for k in ENTRY_ID_KEYS if item.get(k)), None)
        if ident is None:
            problems.append("ssl_usage entry without an identifier: %r" % (item,))
            continue
        safe = item.get("safe_without_restart")
        # An entry with its account applies to that account's database only (identifiers repeat across accounts).
        key = (item.get("region"), ident.lower()) if not item.get("account") else (
            str(item["account"]), item.get("region"), ident.lower())
        evidence[key] = {
            "ssl_in_use": _ssl_state(item),
            "safe": safe if isinstance(safe, bool) else None,
            "evidence": dict((k, item[k]) for k in EVIDENCE_KEYS if k in item),
        }
    return evidence, problems


def evidence_for(evidence: dict, region: str, identifier: str, account: str | None = None) -> dict | None:
    if account is not None:
        found = evidence.get((account, region, identifier)) or evidence.get((account, None, identifier))
        if found is not None:
            return found
    return evidence.get((region, identifier)) or evidence.get((None, identifier))


# -- units ------------------------------------------------------------------------------------------

def _endpoint(raw: dict) -> dict:
    endpoint = raw.get("Endpoint") or {}
    return {"identifier": raw.get("DBInstanceIdentifier"), "address": endpoint.get("Address"),
            "port": endpoint.get("Port") or raw.get("DbInstancePort")}


def _replica_source(raw: dict, region: str, account: str | None = None) -> str | None:
    source = raw.get("ReadReplicaSourceDBInstanceIdentifier")
    if not source:
        return None
    match = ARN.match(source)
    if match:
        return label(match.group("region"), match.group("id").lower(), account and (match.group("account") or account))
    return label(region, source.lower(), account)


def _where(region: str, view: dict, arn: str | None) -> dict:
    """A unit's account fields: ``account`` (the assumed role's, else its ARN's), ``place`` (the scope label the
    calls go to: ``region``, or ``account/region`` for a named account) and its ``label``'s account."""
    named = view.get("account")
    match = ARN.match(arn or "")
    return {"account": named or (match.group("account") if match else None) or None,
            "account_alias": view.get("account_alias"),
            "place": scope_label(region, named), "named": named}


def _instance_unit(region: str, raw: dict, view: dict, request: dict) -> dict:
    ident = raw.get("DBInstanceIdentifier")
    cluster_id = raw.get("DBClusterIdentifier")
    cluster = view["clusters"].get(cluster_id) if cluster_id else None
    role = None
    if cluster is not None:
        writer = any(m.get("DBInstanceIdentifier") == ident and m.get("IsClusterWriter")
                     for m in cluster.get("DBClusterMembers") or [])
        role = "writer" if writer else "reader"
    where = _where(region, view, raw.get("DBInstanceArn"))
    return {
        "key": unit_key(where["place"], INSTANCE, ident),
        "label": label(region, ident, where["named"]),
        "region": region,
        "account": where["account"],
        "account_alias": where["account_alias"],
        "place": where["place"],
        "kind": INSTANCE,
        "identifier": ident,
        "arn": raw.get("DBInstanceArn"),
        "engine": raw.get("Engine"),
        "engine_version": raw.get("EngineVersion"),
        "cluster_id": cluster_id,
        "cluster_role": role,
        "members": [ident],
        "current_ca": raw.get("CACertificateIdentifier") or (raw.get("CertificateDetails") or {}).get("CAIdentifier"),
        "pending_ca": (raw.get("PendingModifiedValues") or {}).get("CACertificateIdentifier"),
        "status": raw.get("DBInstanceStatus"),
        "maintenance_window": raw.get("PreferredMaintenanceWindow"),
        "read_replica_source": _replica_source(raw, region, where["named"]),
        "endpoints": [_endpoint(raw)],
        "maintenance": view["maintenance"].get(raw.get("DBInstanceArn")),
        "connect_host": request.get("connect_host"),
        "connect_port": request.get("connect_port"),
        "requested_as": request["identifier"],
    }


def _cluster_unit(region: str, cluster: dict, view: dict, request: dict) -> dict:
    ident = cluster.get("DBClusterIdentifier")
    members = [m.get("DBInstanceIdentifier") for m in cluster.get("DBClusterMembers") or []]
    raws = [view["instances"][m] for m in members if m in view["instances"]]
    statuses = [r.get("DBInstanceStatus") for r in raws]
    status = cluster.get("Status") or "available"
    for member_status in statuses:
        if member_status != "available":
            status = member_status
            break
    details = cluster.get("CertificateDetails") or {}
    pending = ((cluster.get("PendingModifiedValues") or {}).get("CertificateDetails") or {}).get("CAIdentifier")
    where = _where(region, view, cluster.get("DBClusterArn"))
    return {
        "key": unit_key(where["place"], CLUSTER, ident),
        "label": label(region, ident, where["named"]),
        "region": region,
        "account": where["account"],
        "account_alias": where["account_alias"],
        "place": where["place"],
        "kind": CLUSTER,
        "identifier": ident,
        "arn": cluster.get("DBClusterArn"),
        "engine": cluster.get("Engine"),
        "engine_version": cluster.get("EngineVersion"),
        "cluster_id": ident,
        "cluster_role": None,
        "members": members,
        "current_ca": details.get("CAIdentifier") or (raws[0].get("CACertificateIdentifier") if raws else None),
        "pending_ca": pending,
        "status": status,
        "maintenance_window": cluster.get("PreferredMaintenanceWindow"),
        "read_replica_source": None,
        "endpoints": [_endpoint(r) for r in raws],
        "maintenance": None,
        "connect_host": request.get("connect_host"),
        "connect_port": request.get("connect_port"),
        "requested_as": request["identifier"],
    }


def region_view(raw_instances: list | None, raw_clusters: list | None, maintenance: dict | None = None) -> dict:
    """Lookup tables for :func:`resolve_units` from one region's raw describe output."""
    return {
        "instances": dict((i.get("DBInstanceIdentifier"), i) for i in raw_instances or []),
        "clusters": dict((c.get("DBClusterIdentifier"), c) for c in raw_clusters or []),
        "maintenance": dict(maintenance or {}),
    }


def _resolve_request(request: dict, view: dict, add: typing.Callable[[dict], None], notes: list,
                     problems: list) -> None:
    """Map one request onto units of its region (``add``), with notes and problems."""
    region = request["region"]
    ident = request["identifier"]
    raw = view["instances"].get(ident)
    cluster = view["clusters"].get(ident)
    wanted = request.get("type", "auto")
    if raw is not None and wanted != CLUSTER:
        owner = view["clusters"].get(raw.get("DBClusterIdentifier") or "")
        if owner is not None and is_multi_az_cluster(owner):
            notes.append("%s is a member of the Multi-AZ DB cluster %s, whose CA is changed on the cluster "
                         "(ModifyDBCluster): the cluster is rotated" % (label(region, ident, view.get("account")),
                                                                        owner.get("DBClusterIdentifier")))
            add(_cluster_unit(region, owner, view, request))
        else:
            add(_instance_unit(region, raw, view, request))
    elif cluster is not None and wanted != INSTANCE:
        if is_multi_az_cluster(cluster):
            add(_cluster_unit(region, cluster, view, request))
            return
        members = sorted(cluster.get("DBClusterMembers") or [],
                         key=lambda m: (bool(m.get("IsClusterWriter")), m.get("DBInstanceIdentifier")))
        if not members:
            problems.append("%s: the Aurora cluster has no DB instances to rotate" % label(region, ident, view.get("account")))
        for member in members:
            member_raw = view["instances"].get(member.get("DBInstanceIdentifier"))
            if member_raw is not None:
                add(_instance_unit(region, member_raw, view, request))
    elif cluster is not None and wanted == INSTANCE:
        problems.append("%s is a DB cluster identifier, but the entry says type: instance; give one of its DB "
                        "instances (%s), or drop type to rotate the cluster" % (
                            label(region, ident, view.get("account")),
                            ", ".join(m.get("DBInstanceIdentifier") for m in cluster.get("DBClusterMembers") or [])
                            or "it has none"))
    elif raw is not None and wanted == CLUSTER:
        problems.append("%s is a DB instance identifier, but the entry says type: cluster" % label(region, ident, view.get("account")))
    else:
        close = sorted(set(list(view["instances"]) + list(view["clusters"])))
        close = [c for c in close if c.startswith(ident[:4])][:3]
        hint = " (similar: %s)" % ", ".join(close) if close else ""
        problems.append("%s: no DB instance or DB cluster of that identifier in %s%s" % (
            label(region, ident, view.get("account")), request.get("place") or region, hint))


def resolve_units(requests: list[dict], views: dict) -> tuple[list[dict], list[str], list[str]]:
    """``(units, notes, problems)``: the requests mapped onto instances and Multi-AZ DB clusters.

    ``views`` is ``{region: region_view(...)}``. Aurora cluster identifiers expand
    to their members; a Multi-AZ DB cluster (or one of its members) becomes one
    cluster unit. Units keep the order of the requests; duplicates are merged.
    """
    units = []
    by_key = {}
    notes = []
    problems = []

    def add(unit: dict) -> None:
        if unit["key"] in by_key:
            existing = by_key[unit["key"]]
            for extra in ("connect_host", "connect_port"):
                if existing.get(extra) is None and unit.get(extra) is not None:
                    existing[extra] = unit[extra]
            return
        by_key[unit["key"]] = unit
        units.append(unit)

    for request in requests:
        place = request.get("place") or request["region"]
        view = views.get(place)
        if view is None:
            problems.append("%s: region %s could not be read" % (
                label(request["region"], request["identifier"], request.get("account") if "/" in place else None),
                place))
            continue

        def add_checked(unit: dict, request: dict = request) -> None:
            # An entry naming another account than the database found (e.g. an ARN, or rds_ca_facts output of
            # another account) is refused: the same identifier there is a different database.
            if request.get("account") and unit.get("account") and request["account"] != unit["account"]:
                problems.append("%s: the entry names account %s, but the database found is in account %s (set the "
                                "accounts option to reach another account)" % (
                                    unit["label"], request["account"], unit["account"]))
                return
            add(unit)

        _resolve_request(request, view, add_checked, notes, problems)
    return units, notes, problems


# -- planning ---------------------------------------------------------------------------------------

def capability_of(capabilities: dict | None, engine: str | None, version: str | None) -> dict | None:
    """``{rotation_without_restart, supported_cas}`` for an exact engine version, or None when unknown."""
    cap = (capabilities or {}).get((engine, version))
    return cap or None


def ca_usable(ca: str | None, certificates: dict | None) -> tuple[bool, str | None]:
    """``(usable, why_not)`` for a CA identifier in a region's certificates ``{id: {valid_till, expired}}``."""
    if not ca:
        return False, "the CA is not known"
    cert = (certificates or {}).get(ca)
    if cert is None:
        return False, "%s is not among the region's CAs (DescribeCertificates)" % ca
    if cert.get("expired"):
        return False, "%s expired on %s" % (ca, cert.get("valid_till"))
    return True, None


def check_target_ca(region: str, target: str, certificates: dict | None) -> list[str]:
    """Problems with the target CA in one region (from DescribeCertificates): unknown or expired."""
    usable, why = ca_usable(target, certificates)
    if usable:
        return []
    if target not in (certificates or {}):
        return ["target_ca %s is not a CA of %s (DescribeCertificates lists: %s)" % (
            target, region, ", ".join(sorted(certificates or {})) or "none")]
    return ["target_ca %s cannot be used in %s: %s" % (target, region, why)]


def _new_plan(unit: dict, opts: dict, cap: dict | None) -> dict:
    """A plan before any decision: target, previous CA, the engine version's restart behaviour and CAs."""
    return {
        "action": None, "reason": None, "would_restart": UNKNOWN, "call": None, "problems": [],
        "notes": [], "target_ca": opts["target_ca"], "previous_ca": unit.get("current_ca"),
        "rotation_without_restart": restart_free(cap),
        "supported_cas": list(cap.get("supported_cas") or []) if cap and cap.get("supported_cas") is not None else None,
        "restart_parameter": None, "rollback": {"possible": False, "reason": None},
    }


def _finish(plan: dict, action: str, reason: str | None = None) -> dict:
    plan["action"] = action
    plan["status"] = PREDICTED_STATUS[action]
    plan["reason"] = reason
    return plan


def _nothing_to_do(plan: dict, unit: dict, apply: str) -> str | None:
    """Why nothing needs changing (already on the target, or its change pending for the window), else None."""
    target = plan["target_ca"]
    if unit.get("current_ca") == target:
        return "already on %s" % target
    if apply == APPLY_MAINTENANCE_WINDOW and unit.get("pending_ca") == target:
        return "a change to %s is already pending for the maintenance window" % target
    return None


def _check_versions(plan: dict, unit: dict, context: dict) -> None:
    """Target supported by this exact engine version (a problem if not); whether a rollback could restore."""
    target = plan["target_ca"]
    engine_text = "%s %s" % (unit.get("engine"), unit.get("engine_version"))
    # The target is a CA of the region, not expired (check_target_ca, once per region).
    if target in (context.get("certificates") or {}) and target not in plan["supported_cas"]:
        plan["problems"].append("%s: %s does not support %s (SupportedCACertificateIdentifiers: %s)" % (
            unit["label"], engine_text, target, ", ".join(plan["supported_cas"]) or "none"))
    # Rollback target: the current CA, if it is still valid and supported.
    current = unit.get("current_ca")
    ok, why = ca_usable(current, context.get("certificates"))
    if ok and current not in plan["supported_cas"]:
        ok, why = False, "%s is not supported by %s" % (current, engine_text)
    plan["rollback"] = {"possible": ok, "reason": why}


def _status_decision(plan: dict, unit: dict, opts: dict) -> tuple[str, str] | None:
    """``(action, reason)`` when the unit's status decides (skip, fail); transient statuses are waited for."""
    status = unit.get("status")
    category = status_category(status)
    if category in ("skip", "fail"):
        return (SKIP if category == "skip" else FAIL), status_reason(status)
    if category == "wait":
        plan["notes"].append("status is %s: waiting for available before changing it" % status)
        if not opts.get("wait", True):
            return SKIP, "%s, and wait is false" % status_reason(status)
    return None


def _restart_parameter(plan: dict, unit: dict, opts: dict, context: dict) -> None:
    """CertificateRotationRestart: false only with evidence that SSL/TLS is unused, and only where it matters."""
    restart_param = opts.get("certificate_rotation_restart")
    if unit["kind"] != INSTANCE or opts["apply"] == APPLY_PENDING_ACTION:
        return
    if restart_param is not None and not rotation_restart_parameter(unit.get("engine")):
        _no_restart_parameter(plan, unit, restart_param)
        return
    if restart_param is True:
        plan["restart_parameter"] = True
        return
    if restart_param is not False or plan["rotation_without_restart"] is True:
        return
    proof = evidence_for(context.get("evidence") or {}, unit["region"], unit["identifier"], unit.get("account"))
    if proof is None or (proof.get("ssl_in_use") is None and proof.get("safe") is not False):
        plan["problems"].append(
            "%s: certificate_rotation_restart=false is refused without evidence that it does not use SSL/TLS "
            "(AWS: set it only if you are not using SSL/TLS to connect; clients on TLS would keep getting the "
            "old certificate until the next restart). Pass its rds_ssl_usage result in ssl_usage%s" % (
                unit["label"], "" if proof is None else " (the entry given does not say whether SSL/TLS is used: %s)"
                % (proof.get("evidence"),)))
    elif proof["ssl_in_use"]:
        plan["problems"].append(
            "%s: certificate_rotation_restart=false is refused: the ssl_usage evidence shows SSL/TLS in use (%s); "
            "rotate it with a restart instead" % (unit["label"], proof.get("evidence")))
    elif proof.get("safe") is False:
        plan["problems"].append(
            "%s: certificate_rotation_restart=false is refused: the ssl_usage evidence says rotating without a "
            "restart is not safe (%s)" % (unit["label"], proof.get("evidence")))
    else:
        plan["restart_parameter"] = False
        plan["would_restart"] = would_restart(plan["rotation_without_restart"], False)
        plan["notes"].append("not restarted (certificate_rotation_restart=false, no SSL/TLS use per ssl_usage): "
                             "the endpoint presents the new certificate after its next restart")


def _no_restart_parameter(plan: dict, unit: dict, restart_param: bool) -> None:
    """An engine whose ModifyDBInstance has no CertificateRotationRestart (Neptune): never sent for it."""
    if restart_param is False:
        plan["problems"].append(
            "%s: certificate_rotation_restart=false cannot be honoured: %s's ModifyDBInstance has no "
            "CertificateRotationRestart (its API reference documents none); leave certificate_rotation_restart unset "
            "or rotate it with a restart" % (unit["label"], unit.get("engine")))
        return
    plan["notes"].append("CertificateRotationRestart is not sent: %s's ModifyDBInstance has none" % unit.get("engine"))


def _plan_change(plan: dict, unit: dict, opts: dict) -> dict:
    """The change itself: opt in to the pending action, schedule for the window, or change now (or not)."""
    target = plan["target_ca"]
    restart = plan["would_restart"]
    needs_restart_permission = restart is not False and not opts.get("allow_restart")
    engine_text = "%s %s" % (unit.get("engine"), unit.get("engine_version"))
    restart_text = ("%s cannot rotate its certificate without a restart" % engine_text if restart is True else
                    "whether %s rotates without a restart is not known" % engine_text)

    def done(action: str, reason: str | None = None) -> dict:
        return _finish(plan, action, reason)

    if opts["apply"] == APPLY_PENDING_ACTION:
        return _plan_pending_action(plan, unit, opts, done, needs_restart_permission, restart_text)
    window = unit.get("maintenance_window") or "its maintenance window"
    if opts["apply"] == APPLY_MAINTENANCE_WINDOW:
        plan["call"] = _modify_call(unit, target, False, plan["restart_parameter"])
        return done(SCHEDULE, "applied in the maintenance window (%s)%s" % (
            window, ", with a restart" if restart is True else ""))
    # immediately
    if not needs_restart_permission:
        plan["call"] = _modify_call(unit, target, True, plan["restart_parameter"])
        return done(ROTATE, None)
    if opts.get("on_restart_required") != "schedule":
        return done(SKIP, "%s and allow_restart is false (set allow_restart, or on_restart_required=schedule for "
                          "the maintenance window)" % restart_text)
    if unit.get("pending_ca") == target:
        return done(NONE, "%s and allow_restart is false; the change to %s is already pending for the "
                          "maintenance window (%s)" % (restart_text, target, window))
    plan["call"] = _modify_call(unit, target, False, plan["restart_parameter"])
    return done(SCHEDULE, "%s and allow_restart is false: scheduled for the maintenance window (%s)" % (
        restart_text, window))


def plan_unit(unit: dict, opts: dict, context: dict) -> dict:
    """The plan for one unit: what to do, why, whether it restarts, and the API call.

    ``opts``: target_ca, apply, opt_in_type, allow_restart, on_restart_required,
    certificate_rotation_restart (None/True/False), wait.
    ``context``: capabilities ``{(engine, version): cap}``, certificates ``{ca: {...}}``
    of the unit's region, evidence (from :func:`parse_ssl_evidence`).

    Returns a dict with ``action``, ``status`` (predicted), ``reason``, ``would_restart``
    (True, False or ``unknown``), ``call`` (None or ``{"op": ..., params}``),
    ``problems`` (fatal, checked before any change), ``notes``, ``rollback``
    (whether the previous CA could be restored, and why not).
    """
    cap = capability_of(context.get("capabilities"), unit.get("engine"), unit.get("engine_version"))
    plan = _new_plan(unit, opts, cap)
    if not engine_supported(unit.get("engine")):
        return _finish(plan, SKIP, "engine %s is out of scope: this collection does not rotate RDS Custom "
                                   "certificates" % unit.get("engine"))
    # CertificateRotationRestart=true forces a restart; only ModifyDBInstance has it (not a cluster unit).
    forced = True if (opts.get("certificate_rotation_restart") is True and unit["kind"] == INSTANCE
                      and rotation_restart_parameter(unit.get("engine"))) else None
    plan["would_restart"] = would_restart(plan["rotation_without_restart"], forced)
    unchanged = _nothing_to_do(plan, unit, opts["apply"])
    if unchanged is not None:
        plan["would_restart"] = would_restart(plan["rotation_without_restart"], changes_ca=False)
        return _finish(plan, NONE, unchanged)
    if cap is None or plan["supported_cas"] is None:
        return _finish(plan, SKIP, "engine version %s %s is not reported by DescribeDBEngineVersions, so neither "
                                   "its supported CAs nor whether it rotates without a restart are known" % (
                                       unit.get("engine"), unit.get("engine_version")))
    _check_versions(plan, unit, context)
    decided = _status_decision(plan, unit, opts)
    if decided is not None:
        return _finish(plan, *decided)
    _restart_parameter(plan, unit, opts, context)
    return _plan_change(plan, unit, opts)


def _plan_pending_action(plan: dict, unit: dict, opts: dict, done: typing.Callable[..., dict],
                         needs_restart_permission: bool, restart_text: str) -> dict:
    if unit["kind"] == CLUSTER:
        return done(SKIP, "apply=pending_action opts DB instances in to the ca-certificate-rotation action; rotate "
                          "the Multi-AZ DB cluster with apply=immediately or maintenance_window")
    action = unit.get("maintenance")
    if not action:
        return done(SKIP, "no pending ca-certificate-rotation maintenance action (RDS raises it as the CA nears "
                          "expiry); use apply=immediately or maintenance_window")
    opt_in = opts.get("opt_in_type") or "next-maintenance"
    current_opt_in = action.get("opt_in_status")
    if opt_in == "immediate" and needs_restart_permission:
        if opts.get("on_restart_required") != "schedule":
            return done(SKIP, "%s and allow_restart is false (set allow_restart, or on_restart_required=schedule "
                              "to opt in for the next maintenance window)" % restart_text)
        opt_in = "next-maintenance"
    if opt_in == "next-maintenance" and current_opt_in == "next-maintenance":
        return done(NONE, "already opted in to ca-certificate-rotation at the next maintenance (%s)" % (
            action.get("current_apply_date") or unit.get("maintenance_window")))
    plan["call"] = _in_place(unit, {"op": "apply_pending_action", "region": unit["region"],
                                    "identifier": unit["identifier"], "arn": unit["arn"], "opt_in": opt_in})
    if opt_in == "immediate":
        return done(ROTATE, None)
    return done(SCHEDULE, "opted in to ca-certificate-rotation at the next maintenance window (%s)" % (
        unit.get("maintenance_window") or "unknown"))


def _in_place(unit: dict, call: dict) -> dict:
    """A call of a unit in a named account carries its ``place`` (``account/region``), where it is sent."""
    if unit.get("place") and unit["place"] != unit["region"]:
        call["place"] = unit["place"]
    return call


def _modify_call(unit: dict, ca: str, immediately: bool, restart: bool | None) -> dict:
    if unit["kind"] == CLUSTER:
        return _in_place(unit, {"op": "modify_cluster", "region": unit["region"], "identifier": unit["identifier"],
                                "ca": ca, "apply_immediately": immediately})
    return _in_place(unit, {"op": "modify_instance", "region": unit["region"], "identifier": unit["identifier"],
                            "ca": ca, "apply_immediately": immediately, "restart": restart})


def rollback_call(unit: dict, plan: dict) -> dict:
    """The call that puts the unit back on its previous CA (ApplyImmediately)."""
    return _modify_call(unit, plan["previous_ca"], True, plan.get("restart_parameter"))


def check_options(params: dict) -> list[str]:
    """Problems with option combinations and values, before any AWS call (sentences)."""
    problems = []
    target = params.get("target_ca")
    if not target or not CA_NAME.match(target):
        problems.append("target_ca %r is not a CA identifier such as rds-ca-rsa2048-g1" % (target,))
    apply = params.get("apply")
    if params.get("max_concurrent") is not None and params["max_concurrent"] < 1:
        problems.append("max_concurrent must be 1 or more, got %s" % params["max_concurrent"])
    for name in ("wait_timeout", "poll_interval", "verify_timeout"):
        if params.get(name) is not None and params[name] <= 0:
            problems.append("%s must be more than 0, got %s" % (name, params[name]))
    if params.get("verify_grace_period") is not None and params["verify_grace_period"] < 0:
        problems.append("verify_grace_period must be 0 or more, got %s" % params["verify_grace_period"])
    if params.get("opt_in_type") and apply != APPLY_PENDING_ACTION:
        problems.append("opt_in_type applies to apply=pending_action only (apply is %s)" % apply)
    if apply == APPLY_PENDING_ACTION:
        if target != MAINTENANCE_ROTATION_TARGET:
            problems.append("apply=pending_action opts in to RDS's ca-certificate-rotation maintenance action, which "
                            "moves databases to %s only; target_ca is %s" % (MAINTENANCE_ROTATION_TARGET, target))
        if params.get("certificate_rotation_restart") is not None:
            problems.append("certificate_rotation_restart cannot be used with apply=pending_action "
                            "(ApplyPendingMaintenanceAction has no such parameter)")
    if params.get("certificate_rotation_restart") is False and params.get("ssl_usage") is None:
        problems.append("certificate_rotation_restart=false is refused without evidence that the databases do not use "
                        "SSL/TLS (AWS: set it only if you are not using SSL/TLS to connect): pass the results of "
                        "rds_ssl_usage in ssl_usage")
    immediate = apply == APPLY_IMMEDIATELY or (apply == APPLY_PENDING_ACTION and params.get("opt_in_type") == "immediate")
    if params.get("verify_endpoint"):
        if not immediate:
            problems.append("verify_endpoint needs a change applied now: apply=immediately, or apply=pending_action "
                            "with opt_in_type=immediate (apply is %s)" % apply)
        if not params.get("wait", True):
            problems.append("verify_endpoint needs wait=true (the endpoint is probed once the change is applied)")
        if not (params.get("ca_cert") or params.get("verify_ca_bundle")):
            problems.append("verify_endpoint needs ca_cert, the CA bundle clients use to verify the server")
    if params.get("rollback_on_failure") and not params.get("verify_endpoint"):
        problems.append("rollback_on_failure needs verify_endpoint (a rollback follows a failed verification)")
    if params.get("rollback_on_unreachable") and not params.get("rollback_on_failure"):
        problems.append("rollback_on_unreachable needs rollback_on_failure (it widens when a rollback happens)")
    if params.get("connect_host") is not None and not str(params["connect_host"]).strip():
        problems.append("connect_host must not be empty")
    return problems


def check_ca_bundle_file(path: str, regions: typing.Iterable[str], target_ca: str, option: str = "verify_ca_bundle",
                         allow_unpinned: bool = False, warnings: list | None = None, pins: typing.Any = None) -> list[str]:
    """Problems with a CA bundle file that verification will use, before anything is changed (sentences).

    It must be a readable regular file of PEM CA certificates (module_utils.bundle.load_bundle) and,
    when the target is a G1 CA, hold the target's root for every region of the task: a bundle that
    cannot verify the target would fail every verification of a correct certificate. The file's
    content is never quoted (a mistyped path may name a file with secrets). Keys, not names, are
    trusted, as for every bundle of the collection: a certificate with an Amazon RDS name must be one
    of AWS's pinned RDS CAs, or of the operator's ``pins``, unless ``allow_unpinned`` (each one accepted that
    way is appended to ``warnings``).
    """
    where = "%s %s" % (option, path)
    if not os.path.lexists(path):
        return ["%s does not exist" % where]
    if not os.path.isfile(path):
        return ["%s is not a file" % where]
    try:
        if os.path.getsize(path) > bundle_lib.MAX_BUNDLE_BYTES:
            return ["%s is larger than %d bytes: not a CA bundle" % (where, bundle_lib.MAX_BUNDLE_BYTES)]
        with open(path, "rb") as handle:
            data = handle.read()
    except (IOError, OSError) as e:
        return ["%s cannot be read: %s" % (where, e.strerror or e)]
    if not data.strip():
        return ["%s is empty" % where]
    if b"-----BEGIN CERTIFICATE-----" not in data:
        return ["%s is not a PEM CA bundle: no '-----BEGIN CERTIFICATE-----' line (its content is not shown)" % where]
    g1 = target_ca in G1_LABELS
    try:
        loaded = bundle_lib.load_bundle(data, keep_expired=True, require_rds_subjects=False,
                                        regions=sorted(set(regions)) if g1 else (),
                                        target_cas=(target_ca,) if g1 else (), source=where,
                                        allow_unpinned=allow_unpinned, pins=pins)
    except bundle_lib.BundleError as e:
        return [str(e)]
    if loaded.get("unpinned") and warnings is not None:
        warnings.append("%s: %d certificate(s) with an Amazon RDS name are not among AWS's pinned RDS CA certificates "
                        "and are trusted for verification only because allow_unpinned_rds_cas is set: %s" % (
                            where, len(loaded["unpinned"]),
                            ", ".join("%s (SHA-256 %s)" % (c.get("common_name"), c.get("sha256"))
                                      for c in loaded["unpinned"])))
    return []


# -- order and concurrency --------------------------------------------------------------------------

def dependencies(units: list[dict], order: str = "safe") -> dict[str, set]:
    """``{unit key: set of unit keys that must finish first}``.

    ``safe``: an Aurora writer waits for the readers of its cluster, and a read
    replica's source waits for its replicas (transitively), among the units of
    this run. ``as_given``: no constraints.
    """
    deps = dict((u["key"], set()) for u in units)
    if order != "safe":
        return deps
    by_label = dict((u["label"], u) for u in units if u["kind"] == INSTANCE)
    readers = {}
    for unit in units:
        if unit["kind"] == INSTANCE and unit.get("cluster_role") == "reader":
            readers.setdefault((unit.get("place"), unit["region"], unit["cluster_id"]), []).append(unit["key"])
    for unit in units:
        if unit["kind"] != INSTANCE:
            continue
        if unit.get("cluster_role") == "writer":
            deps[unit["key"]].update(readers.get((unit.get("place"), unit["region"], unit["cluster_id"]), []))
        source = by_label.get(unit.get("read_replica_source") or "")
        if source is not None and source["key"] != unit["key"]:
            deps[source["key"]].add(unit["key"])
    return deps


# How far a finished unit got, for what depends on it (order=safe):
ON_TARGET = "on_target"  # confirmed on the target CA (seen available on it, or already there)
PENDING = "pending"      # the change to the target is pending (maintenance window, opt-in, or not waited for)
LEVELS = {ON_TARGET: 2, PENDING: 1, None: 0}


def required_level(plan: dict) -> str:
    """What a unit needs of the units it comes after: changed now needs them on the target; a change left
    pending for the maintenance window needs them at least pending."""
    return PENDING if plan.get("action") == SCHEDULE else ON_TARGET


def reached_level(status: str, current_ca: str | None, target_ca: str, confirmed: bool | None = True) -> str | None:
    """ON_TARGET, PENDING or None for a unit that ended with ``status``."""
    if status == ROTATED:
        return ON_TARGET if confirmed is not False else PENDING
    if status == UNCHANGED:
        return ON_TARGET if current_ca == target_ca else PENDING
    if status == SCHEDULED:
        return PENDING
    return None  # skipped, blocked, unverified, rolled back, failed


def satisfies(level: str | None, needed: str) -> bool:
    return LEVELS.get(level, 0) >= LEVELS[needed]


class Scheduler:
    """Which units may start: what they come after finished far enough, at most ``limit`` in flight.

    Pure bookkeeping: :meth:`start` and :meth:`finish` are called by the runner.
    ``finish(key, level)`` records how far a unit got (:data:`ON_TARGET`, :data:`PENDING`
    or None; True/False stand for ON_TARGET/None). A unit whose dependency finished
    without reaching the level it needs (:func:`required_level`, ``needs``) is reported
    by :meth:`blocked` so that the runner ends it ``blocked``, naming the dependency.
    """

    def __init__(self, keys: typing.Iterable[str], deps: dict, limit: int, needs: dict | None = None) -> None:
        self.order = list(keys)
        self.deps = dict((k, set(deps.get(k, ()))) for k in self.order)
        self.needs = dict(needs or {})
        self.limit = limit
        self.queued = list(self.order)
        self.in_flight = set()
        self.outcome = {}
        self.max_in_flight = 0

    def _needs(self, key: str) -> str:
        return self.needs.get(key, ON_TARGET)

    def ready(self) -> list[str]:
        """Keys that may start now, in order, without exceeding the limit."""
        free = self.limit - len(self.in_flight)
        ready = []
        for key in self.queued:
            if free <= 0:
                break
            deps = self.deps.get(key, set())
            if all(d in self.outcome and satisfies(self.outcome[d], self._needs(key)) for d in deps):
                ready.append(key)
                free -= 1
        return ready

    def blocked(self) -> list[tuple[str, list[str]]]:
        """``[(key, blocking dependency keys)]`` for queued units that can no longer start."""
        result = []
        for key in self.queued:
            failed = sorted(d for d in self.deps.get(key, set())
                            if d in self.outcome and not satisfies(self.outcome[d], self._needs(key)))
            if failed:
                result.append((key, failed))
        return result

    def start(self, key: str) -> None:
        self.queued.remove(key)
        self.in_flight.add(key)
        self.max_in_flight = max(self.max_in_flight, len(self.in_flight))

    def finish(self, key: str, level: str | bool | None) -> None:
        if level is True:
            level = ON_TARGET
        elif level is False:
            level = None
        self.in_flight.discard(key)
        if key in self.queued:
            self.queued.remove(key)
        self.outcome[key] = level

    @property
    def idle(self) -> bool:
        return not self.queued and not self.in_flight


def blocked_reason(target_ca: str, blockers: list[tuple]) -> str:
    """Why a unit is blocked: ``blockers`` is ``[(label, status, reason)]`` of what it must come after."""
    return ("not changed: order=safe changes an Aurora writer only after its readers and a source only after its "
            "replicas, once they are confirmed on %s; blocked by %s. Fix %s and run again" % (
                target_ca, "; ".join("%s (%s%s)" % (lbl, status, ": %s" % why if why else "")
                                     for lbl, status, why in blockers),
                "it" if len(blockers) == 1 else "them"))


# -- observing and verifying --------------------------------------------------------------------------

def observe(unit: dict, described: dict, target_ca: str, immediate: bool = True) -> tuple[str, str | None]:
    """One poll's verdict on an in-flight unit: ``("done"|"wait"|"fail", detail)``.

    ``described`` is ``{instance id: DescribeDBInstances item}`` for the unit's
    instances (members of a Multi-AZ DB cluster). Done means every instance is
    ``available`` on ``target_ca`` (and, when applied immediately, no change to
    it still pending).
    """
    statuses = []
    for ident in unit["members"]:
        raw = described.get(ident)
        if raw is None:
            return "fail", "%s was not returned by DescribeDBInstances (deleted?)" % ident
        status = raw.get("DBInstanceStatus")
        statuses.append(status)
        if status_category(status) in ("fail",):
            return "fail", "%s went to status %s: %s" % (ident, status, status_reason(status))
        if status_category(status) == "skip":
            return "fail", "%s went to status %s while its CA was being changed" % (ident, status)
    cas = [described[i].get("CACertificateIdentifier") for i in unit["members"]]
    pending = [(described[i].get("PendingModifiedValues") or {}).get("CACertificateIdentifier") for i in unit["members"]]
    if all(s == "available" for s in statuses) and all(ca == target_ca for ca in cas):
        if immediate and any(p == target_ca for p in pending):
            return "wait", "available, change still pending"
        return "done", None
    return "wait", ", ".join("%s %s on %s" % (i, s, c) for i, s, c in zip(unit["members"], statuses, cas))


def verdict(probe: dict, target_ca: str) -> tuple[str, str | None]:
    """``("ok"|"retry"|"fail", message)`` for one TLS probe result (a dict) against the target CA.

    Retry while the endpoint cannot be reached or still presents another CA (a
    certificate swap can lag behind the API); fail at once when it presents the
    target CA's chain but that chain does not verify against the bundle.
    """
    if acm_endpoint(probe):
        return "ok", ACM_NOTE
    if probe.get("error") and not probe.get("ca_id"):
        return "retry", "probe failed: %s" % probe["error"]
    ca_id = probe.get("ca_id")
    if ca_id != target_ca:
        return "retry", "the endpoint presents %s (issuer %s), not %s" % (
            ca_id or "an unknown CA", probe.get("issuer"), target_ca)
    if not probe.get("verified"):
        return "fail", "the endpoint presents %s but its chain does not verify against the CA bundle%s" % (
            ca_id, ": %s" % probe["error"] if probe.get("error") else "")
    return "ok", None


ACM_NOTE = ("the endpoint presents its ACM certificate (Amazon Trust Services), as the Neptune User Guide documents: "
            "the CA change does not change what its clients must trust")


def probe_summary(probe: dict) -> dict:
    """The parts of a tls_probe result worth returning, plus ``ca_id``/``issuer`` for the verdict."""
    cert = probe.get("certificate") or {}
    return {
        "server_name": probe.get("server_name"),
        "connect_host": probe.get("connect_host"),
        "connect_port": probe.get("connect_port"),
        "ca_id": probe.get("presented_ca"),
        "issuer": cert.get("issuer_cn"),
        "not_after": cert.get("not_after"),
        "verified": probe.get("verified"),
        "hostname_matches": probe.get("hostname_matches"),
        "tls_version": probe.get("tls_version"),
        "error": probe.get("verify_error") or probe.get("error"),
    }


def acm_endpoint(probe: dict) -> bool:
    """Whether a probe met the ACM certificate AWS documents for the engine (Neptune), not an RDS CA's.

    Only for engines whose endpoints AWS documents as presenting an ACM certificate
    (rds_domain.endpoint_certificate), with an Amazon Trust Services issuer that names the endpoint;
    the chain is not checked against the RDS bundle (it is not an RDS CA's), and the CA change
    did not change it.
    """
    return (endpoint_certificate(probe.get("engine")) == ACM and not probe.get("ca_id")
            and amazon_trust_services_ca(probe.get("issuer")) and probe.get("hostname_matches") is not False)


def probe_unreachable(probe: dict) -> bool:
    """Whether a probe never got a certificate from the endpoint (refused, timed out, no TLS): no evidence."""
    return bool(probe.get("error")) and not probe.get("ca_id")


def verification_outcome(verdicts: list[tuple]) -> str:
    """``failed``, ``unreachable`` or ``verified`` for a unit from ``[(verdict, message, unreachable)]``.

    ``failed`` needs evidence that the certificate is wrong: a chain that does not verify
    against the bundle, or (after the grace period) another CA than the target presented.
    Endpoints that could not be reached are no evidence either way: ``unreachable``.
    """
    if any(v == "fail" or (v == "retry" and not unreachable) for v, _m, unreachable in verdicts):
        return "failed"
    if any(v == "retry" for v, _m, _u in verdicts):
        return "unreachable"
    return "verified"


# -- reporting ------------------------------------------------------------------------------------------

def summarize(results: list[dict]) -> dict:
    counts = dict((s, 0) for s in FINAL_STATUSES)
    for item in results:
        counts[item["status"]] = counts.get(item["status"], 0) + 1
    counts["total"] = len(results)
    return counts


def build_diff(results: list[dict]) -> dict:
    """Ansible diff: CA (and pending CA) before and after, per changed database."""
    before = {}
    after = {}
    for item in results:
        if not item.get("changed"):
            continue
        name = item["label"]
        before[name] = {"ca": item.get("previous_ca"), "pending_ca": item.get("previous_pending_ca")}
        after[name] = {"ca": item.get("current_ca"), "pending_ca": item.get("pending_ca")}
    return {"before": before, "after": after}
