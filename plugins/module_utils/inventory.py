# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The RDS CA inventory: what every database's certificate authority is, and what rotating it costs.

Two layers:

* Pure functions (no AWS, no boto3) that turn the raw responses of
  DescribeDBInstances, DescribeDBClusters, DescribePendingMaintenanceActions,
  DescribeCertificates and DescribeDBEngineVersions into per-database facts,
  classify them (:func:`classify`) and summarise them. Unit tests feed them
  recorded API output.
* :func:`gather_regions`, which has the AWS adapter (module_utils.rds_api) fetch
  those raw responses for many regions in parallel, a fixed number of calls per region.

Rotation reasons (``reason`` of each database, :data:`REASONS`):

``unsupported_engine``
    RDS Custom is reported but out of scope: never rotated here (DocumentDB and Neptune are rotated).
``already_on_target``
    The database already uses the target CA.
``pending_change_to_target``
    A CA change to the target is already pending (PendingModifiedValues): nothing more to do.
``ca_expired``
    The current CA has expired (its ValidTill is in the past).
``ca_expires_soon``
    The current CA expires within ``expiring_within_days`` days.
``not_on_target_ca``
    The current CA is valid for longer but is not the target CA.

The first three mean ``needs_rotation: false``, the last three ``needs_rotation: true``.
"""

from __future__ import annotations

import datetime
import fnmatch
from typing import Any, Callable, Iterable, Optional, Sequence

from ansible_collections.rdsca.rotation.plugins.module_utils import rds_domain
# Re-exported: the RDS knowledge and the time helpers live in rds_domain.
from ansible_collections.rdsca.rotation.plugins.module_utils.rds_domain import (  # noqa: F401 pylint: disable=unused-import
    CA_NAME,
    DEFAULT_ENVIRONMENT_TAG,
    DEFAULT_TARGET_CA,
    KNOWN_ENGINES,
    ROTATION_ACTION,
    UNKNOWN,
    UNTAGGED,
    cluster_kind,
    days_until,
    engine_supported,
    iso,
    parse_time,
    restart_category as restart_key,
)

# A DescribeDB* item, a fact, an options mapping...
Item = dict[str, Any]

REASONS = {
    "unsupported_engine": "engine is out of scope for rotation (RDS Custom)",
    "already_on_target": "already uses the target CA",
    "pending_change_to_target": "a change to the target CA is already pending",
    "ca_expired": "the current CA has expired",
    "ca_expires_soon": "the current CA expires within expiring_within_days",
    "not_on_target_ca": "the current CA is not the target CA",
}

EXPIRY_HORIZONS = (30, 90, 180, 365)


# -- small helpers -----------------------------------------------------------------------

def tag_dict(tag_list: Optional[Iterable[Item]]) -> dict[str, str]:
    """``[{Key, Value}]`` to ``{Key: Value}``."""
    return dict((t.get("Key"), t.get("Value", "")) for t in tag_list or [] if t.get("Key") is not None)


def environment_of(tags: Optional[dict[str, str]], environment_tag: str,
                   fallback_tags: Optional[dict[str, str]] = None) -> Optional[str]:
    """The value of the environment tag (exact key first, then case-insensitively), else None."""
    for candidate in (tags or {}, fallback_tags or {}):
        if environment_tag in candidate:
            return candidate[environment_tag]
        lowered = environment_tag.lower()
        for key, value in candidate.items():
            if key.lower() == lowered:
                return value
    return None


# -- option validation -----------------------------------------------------------------------

def validate_options(params: Item) -> list[str]:
    """Problems with the module's non-connection options, as sentences (empty list: all good).

    Checked before any AWS call: negative day counts, engine patterns that match
    no RDS engine, empty identifiers or tag keys, malformed CA identifiers.
    """
    problems: list[str] = []
    days = params.get("expiring_within_days")
    if days is not None and days < 0:
        problems.append("expiring_within_days must be 0 or more, got %s" % days)
    for pattern in params.get("engines") or []:
        if not pattern or not any(fnmatch.fnmatchcase(e, pattern) for e in KNOWN_ENGINES):
            problems.append("engines: %r matches no RDS engine (known engines: %s)" % (pattern, ", ".join(KNOWN_ENGINES)))
    for ident in params.get("identifiers") or []:
        if not ident or not str(ident).strip():
            problems.append("identifiers must not contain empty strings")
    for key, value in (params.get("tags") or {}).items():
        if not str(key).strip():
            problems.append("tags: tag keys must not be empty")
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, (dict, list)) or item is None:
                problems.append("tags: the value of %s must be a string or a list of strings, got %r" % (key, value))
                break
    target = params.get("target_ca")
    if target is not None and not CA_NAME.match(target):
        problems.append("target_ca %r is not a CA identifier such as rds-ca-rsa2048-g1" % target)
    env_tag = params.get("environment_tag")
    if env_tag is not None and not env_tag.strip():
        problems.append("environment_tag must not be empty")
    return problems


def filter_options(params: Item) -> Item:
    """The classification and filtering options the pure functions use, from module params."""
    tags = {}
    for key, value in (params.get("tags") or {}).items():
        tags[str(key)] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return {
        "target_ca": params.get("target_ca") or DEFAULT_TARGET_CA,
        "environment_tag": params.get("environment_tag") or DEFAULT_ENVIRONMENT_TAG,
        "expiring_within_days": params.get("expiring_within_days"),
        "engines": list(params.get("engines") or []),
        "identifiers": [str(i).lower() for i in params.get("identifiers") or []],
        "tags": tags,
    }


# -- filters -----------------------------------------------------------------------------

def match_engine(engine: Optional[str], patterns: Optional[Sequence[str]]) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(engine or "", p) for p in patterns)


def match_identifier(names: Iterable[Optional[str]], patterns: Optional[Sequence[str]]) -> bool:
    """True when any of ``names`` (instance id, cluster id, ARN) matches any pattern (globs allowed)."""
    if not patterns:
        return True
    names = [n.lower() for n in names if n]
    return any(fnmatch.fnmatchcase(n, p) for p in patterns for n in names)


def match_tags(tags: dict[str, str], wanted: Optional[dict[str, list[str]]]) -> bool:
    """Every wanted tag key present with one of the wanted values (globs allowed)."""
    for key, values in (wanted or {}).items():
        if key not in tags:
            return False
        if not any(fnmatch.fnmatchcase(str(tags[key]), v) for v in values):
            return False
    return True


def prefilter_instance(db: Item, options: Item, cluster_tags: Optional[dict[str, str]] = None) -> bool:
    """The filters decidable from DescribeDBInstances alone (engines, identifiers, tags)."""
    if not match_engine(db.get("Engine"), options.get("engines")):
        return False
    if not match_identifier([db.get("DBInstanceIdentifier"), db.get("DBClusterIdentifier"), db.get("DBInstanceArn")],
                            options.get("identifiers")):
        return False
    if not options.get("tags"):
        return True
    tags = dict(cluster_tags or {})
    tags.update(tag_dict(db.get("TagList")))
    return match_tags(tags, options["tags"])


# -- raw responses to lookup tables -----------------------------------------------------------

def region_certificates(response: Optional[Item], now: datetime.datetime, target_ca: Optional[str] = None) -> Item:
    """Facts about a region's CAs from a DescribeCertificates response (items plus DefaultCertificateForNewLaunches)."""
    response = response or {}
    certificates = []
    override = None
    override_till = None
    for cert in response.get("Certificates") or []:
        valid_till = parse_time(cert.get("ValidTill"))
        days = days_until(valid_till, now)
        item = {
            "identifier": cert.get("CertificateIdentifier"),
            "type": cert.get("CertificateType"),
            "thumbprint": cert.get("Thumbprint"),
            "valid_from": iso(cert.get("ValidFrom")),
            "valid_till": iso(valid_till),
            "days_left": days,
            "expired": None if valid_till is None else valid_till <= now,
            "customer_override": bool(cert.get("CustomerOverride", False)),
            "customer_override_valid_till": iso(cert.get("CustomerOverrideValidTill")),
            "arn": cert.get("CertificateArn"),
        }
        if item["customer_override"]:
            override = item["identifier"]
            override_till = item["customer_override_valid_till"]
        certificates.append(item)
    certificates.sort(key=lambda c: (c["valid_till"] or "", c["identifier"] or ""))
    ids = [c["identifier"] for c in certificates]
    target = next((c for c in certificates if c["identifier"] == target_ca), None) if target_ca else None
    return {
        "certificates": certificates,
        "default_ca_for_new_launches": response.get("DefaultCertificateForNewLaunches"),
        "customer_override": override,
        "customer_override_valid_till": override_till,
        "target_ca_available": None if target_ca is None else target_ca in ids,
        "target_ca_valid_till": target["valid_till"] if target else None,
        "target_ca_expired": target["expired"] if target else None,
        "target_ca_problem": target_ca_problem(target_ca, target, ids),
    }


def target_ca_problem(target_ca: Optional[str], target: Optional[Item], ids: Iterable[Optional[str]]) -> Optional[str]:
    """Why ``target_ca`` cannot be rotated to in a region (None when it can): unknown there, or expired."""
    if not target_ca:
        return None
    if target is None:
        return "%s is not a CA of this region (DescribeCertificates lists: %s)" % (target_ca, ", ".join(sorted(i for i in ids if i)) or "none")
    if target["expired"]:
        return "%s expired on %s: a database cannot be rotated to it" % (target_ca, target["valid_till"])
    return None


def ca_validity(certificates: Iterable[Item]) -> dict[str, Optional[datetime.datetime]]:
    """``{ca_id: valid_till datetime}`` from :func:`region_certificates`' list."""
    return dict((c["identifier"], parse_time(c["valid_till"])) for c in certificates if c.get("identifier"))


def engine_capabilities(engine_versions: Optional[Iterable[Item]]) -> dict[tuple[str, str], Item]:
    """``{(engine, version): {rotation_without_restart, supported_cas}}`` from DescribeDBEngineVersions items.

    ``rotation_without_restart`` is ``unknown`` when the version does not report
    SupportsCertificateRotationWithoutRestart; ``supported_cas`` None when it does
    not report SupportedCACertificateIdentifiers.
    """
    caps: dict[tuple[str, str], Item] = {}
    for item in engine_versions or []:
        key = (item.get("Engine"), item.get("EngineVersion"))
        restart_free = item.get("SupportsCertificateRotationWithoutRestart")
        cas = item.get("SupportedCACertificateIdentifiers")
        caps[key] = {
            "rotation_without_restart": bool(restart_free) if restart_free is not None else UNKNOWN,
            "supported_cas": list(cas) if cas is not None else None,
            "status": item.get("Status"),
        }
    return caps


def engine_versions_needed(instances: Optional[Iterable[Item]], options: Optional[Item] = None,
                           clusters: Optional[Iterable[Item]] = None) -> dict[str, list[str]]:
    """``{engine: [versions]}`` to look up for the (pre-filtered, supported-engine) instances of a region."""
    cluster_tags = dict((c.get("DBClusterIdentifier"), tag_dict(c.get("TagList"))) for c in clusters or [])
    needed: dict[str, set[str]] = {}
    for db in instances or []:
        engine = db.get("Engine")
        version = db.get("EngineVersion")
        if not engine or not version or not engine_supported(engine):
            continue
        if options is not None and not prefilter_instance(db, options, cluster_tags.get(db.get("DBClusterIdentifier"))):
            continue
        needed.setdefault(engine, set()).add(version)
    return dict((engine, sorted(versions)) for engine, versions in needed.items())


def cluster_type(cluster):
    return cluster_kind(cluster.get("Engine"))


def cluster_members(clusters: Optional[Iterable[Item]]) -> dict[str, Item]:
    """``{instance_id: membership}`` from DescribeDBClusters: cluster id, type, role, cluster-level CA and tags."""
    members: dict[str, Item] = {}
    for cluster in clusters or []:
        ctype = cluster_type(cluster)
        details = cluster.get("CertificateDetails") or {}
        pending = ((cluster.get("PendingModifiedValues") or {}).get("CertificateDetails") or {}).get("CAIdentifier")
        for member in cluster.get("DBClusterMembers") or []:
            writer = bool(member.get("IsClusterWriter", False))
            if ctype == "multi_az_db_cluster":
                role = "multi_az_db_cluster"
            else:
                role = "writer" if writer else "reader"
            members[member.get("DBInstanceIdentifier")] = {
                "cluster_id": cluster.get("DBClusterIdentifier"),
                "cluster_type": ctype,
                "cluster_role": role,
                "cluster_writer": writer,
                "cluster_ca": details.get("CAIdentifier"),
                "cluster_certificate_valid_till": details.get("ValidTill"),
                "cluster_pending_ca": pending,
                "cluster_tags": tag_dict(cluster.get("TagList")),
                "cluster_arn": cluster.get("DBClusterArn"),
            }
    return members


def maintenance_by_resource(actions: Optional[Iterable[Item]]) -> dict[str, Item]:
    """``{resource ARN: ca-certificate-rotation action details}`` from DescribePendingMaintenanceActions."""
    result: dict[str, Item] = {}
    for resource in actions or []:
        for detail in resource.get("PendingMaintenanceActionDetails") or []:
            if detail.get("Action") == ROTATION_ACTION:
                result[resource.get("ResourceIdentifier")] = {
                    "action": detail.get("Action"),
                    "description": detail.get("Description"),
                    "auto_applied_after": iso(detail.get("AutoAppliedAfterDate")),
                    "forced_apply": iso(detail.get("ForcedApplyDate")),
                    "current_apply_date": iso(detail.get("CurrentApplyDate")),
                    "opt_in_status": detail.get("OptInStatus"),
                }
    return result


# -- classification ----------------------------------------------------------------------------

def restart_facts(capability):
    """``(rotation_without_restart, would_restart, supported_cas)`` for one engine version's capability (or None)."""
    if not capability:
        return UNKNOWN, UNKNOWN, None
    restart_free = capability.get("rotation_without_restart", UNKNOWN)
    return restart_free, rds_domain.would_restart(rds_domain.rotation_without_restart(capability)), capability.get("supported_cas")


def classify(current_ca: Optional[str], target_ca: str, pending_ca: Optional[str] = None, ca_days_left: Optional[int] = None,
             ca_expired: Optional[bool] = None, expiring_within_days: Optional[int] = None,
             supported: bool = True) -> tuple[bool, str]:
    """``(needs_rotation, reason)`` for one database (see the module docstring for the reasons).

    Checked in order: unsupported engine, already on the target, change to the target
    pending, CA expired, CA expiring within ``expiring_within_days``, anything else
    that is not the target.
    """
    if not supported:
        return False, "unsupported_engine"
    if current_ca == target_ca:
        return False, "already_on_target"
    if pending_ca and pending_ca == target_ca:
        return False, "pending_change_to_target"
    if ca_expired:
        return True, "ca_expired"
    if expiring_within_days is not None and ca_days_left is not None and ca_days_left <= expiring_within_days:
        return True, "ca_expires_soon"
    return True, "not_on_target_ca"


def target_supported(supported_cas: Optional[Sequence[str]], target_ca: str) -> Any:
    if supported_cas is None:
        return UNKNOWN
    return target_ca in supported_cas


def database_facts(db: Item, region: str, context: Item) -> Item:
    """The facts of one DescribeDBInstances item; ``context`` comes from :func:`region_context`."""
    options = context["options"]
    now = context["now"]
    ident = db.get("DBInstanceIdentifier")
    member = context["members"].get(ident) or {}
    engine = db.get("Engine")
    version = db.get("EngineVersion")
    supported = engine_supported(engine)
    details = db.get("CertificateDetails") or {}
    current_ca = db.get("CACertificateIdentifier") or details.get("CAIdentifier") or member.get("cluster_ca")
    pending_ca = (db.get("PendingModifiedValues") or {}).get("CACertificateIdentifier") or member.get("cluster_pending_ca")
    certificate_valid_till = parse_time(details.get("ValidTill") or member.get("cluster_certificate_valid_till"))
    ca_valid_till = context["ca_validity"].get(current_ca)
    # The CA's validity decides expiry; without it (CA missing from DescribeCertificates) the server certificate's.
    expiry = ca_valid_till or certificate_valid_till
    ca_days_left = days_until(expiry, now)
    ca_expired = None if expiry is None else expiry <= now
    capability = context["capabilities"].get((engine, version)) if supported else None
    restart_free, would_restart, supported_cas = restart_facts(capability)
    needs_rotation, reason = classify(current_ca, options["target_ca"], pending_ca, ca_days_left, ca_expired,
                                      options.get("expiring_within_days"), supported)
    tags = tag_dict(db.get("TagList"))
    endpoint = db.get("Endpoint") or {}
    arn = db.get("DBInstanceArn")
    maintenance = context["maintenance"].get(arn) or context["maintenance"].get(member.get("cluster_arn"))
    return {
        "identifier": ident,
        "arn": arn,
        "region": region,
        "engine": engine,
        "engine_version": version,
        "engine_supported": supported,
        "endpoint_certificate": rds_domain.endpoint_certificate(engine),
        "instance_class": db.get("DBInstanceClass"),
        "status": db.get("DBInstanceStatus"),
        "multi_az": bool(db.get("MultiAZ", False)),
        "cluster_id": db.get("DBClusterIdentifier") or member.get("cluster_id"),
        "cluster_type": member.get("cluster_type"),
        "cluster_role": member.get("cluster_role"),
        "cluster_writer": member.get("cluster_writer"),
        "read_replica_source": db.get("ReadReplicaSourceDBInstanceIdentifier"),
        "read_replicas": list(db.get("ReadReplicaDBInstanceIdentifiers") or []),
        "endpoint_address": endpoint.get("Address"),
        "endpoint_port": endpoint.get("Port") or db.get("DbInstancePort"),
        "current_ca": current_ca,
        "ca_valid_till": iso(ca_valid_till),
        "ca_days_left": ca_days_left,
        "ca_expired": ca_expired,
        "certificate_valid_till": iso(certificate_valid_till),
        "days_left": days_until(certificate_valid_till, now),
        "pending_ca": pending_ca,
        "pending_maintenance": maintenance,
        "rotation_without_restart": restart_free,
        "would_restart": would_restart,
        "supported_cas": supported_cas,
        "target_ca_supported": target_supported(supported_cas, options["target_ca"]) if supported else UNKNOWN,
        "tags": tags,
        "environment": environment_of(tags, options["environment_tag"], member.get("cluster_tags")),
        "needs_rotation": needs_rotation,
        "reason": reason,
    }


def region_context(raw: Item, options: Item, now: datetime.datetime) -> Item:
    """Lookup tables shared by every database of one region."""
    certs = region_certificates(raw.get("certificates"), now, options["target_ca"])
    return {
        "options": options,
        "now": now,
        "certificates": certs,
        "ca_validity": ca_validity(certs["certificates"]),
        "capabilities": engine_capabilities(raw.get("engine_versions")),
        "members": cluster_members(raw.get("clusters")),
        "maintenance": maintenance_by_resource(raw.get("maintenance")),
    }


def keep(fact: Item, options: Item) -> bool:
    """The filters on a finished fact: engines, identifiers, tags (own or the cluster's) and expiry."""
    if not match_engine(fact["engine"], options.get("engines")):
        return False
    if not match_identifier([fact["identifier"], fact["cluster_id"], fact["arn"]], options.get("identifiers")):
        return False
    days = options.get("expiring_within_days")
    if days is not None and (fact["ca_days_left"] is None or fact["ca_days_left"] > days):
        return False
    return True


def build_region(region: str, raw: Item, options: Item, now: datetime.datetime) -> tuple[list[Item], Item]:
    """``(databases, region_facts)`` for one region's raw responses, filters applied, sorted by identifier."""
    context = region_context(raw, options, now)
    databases = []
    instances = raw.get("instances") or []
    wanted_tags = options.get("tags")
    for db in instances:
        if wanted_tags:
            member = context["members"].get(db.get("DBInstanceIdentifier")) or {}
            tags = dict(member.get("cluster_tags") or {})
            tags.update(tag_dict(db.get("TagList")))
            if not match_tags(tags, wanted_tags):
                continue
        fact = database_facts(db, region, context)
        if keep(fact, options):
            databases.append(fact)
    databases.sort(key=lambda f: f["identifier"] or "")
    facts = dict(context["certificates"])
    facts["region"] = region
    facts["counts"] = counts(databases)
    facts["counts"]["scanned"] = len(instances)
    return databases, facts


# -- summaries -------------------------------------------------------------------------------

def _bump(table: dict[str, int], key: str) -> None:
    table[key] = table.get(key, 0) + 1


def counts(databases: Sequence[Item]) -> Item:
    """Per-region counts: databases, needs_rotation, by CA and by restart behaviour."""
    result: Item = {"databases": len(databases), "needs_rotation": 0, "by_ca": {},
                    "by_restart": {"restart": 0, "no_restart": 0, UNKNOWN: 0}}
    for fact in databases:
        if fact["needs_rotation"]:
            result["needs_rotation"] += 1
        _bump(result["by_ca"], fact["current_ca"] or UNKNOWN)
        _bump(result["by_restart"], restart_key(fact["would_restart"]))
    return result


def summarize(databases: Sequence[Item], regions_queried: Optional[Sequence[str]] = None,
              failed_regions: Optional[Sequence[Item]] = None) -> Item:
    """Estate-wide totals (see RETURN ``summary``)."""
    summary: Item = {
        "regions_queried": len(regions_queried or []),
        "regions_failed": len(failed_regions or []),
        "databases": len(databases),
        "needs_rotation": 0,
        "by_ca": {},
        "by_environment": {},
        "by_engine": {},
        "by_region": {},
        "by_account": {},
        "by_reason": {},
        "by_restart": {"restart": 0, "no_restart": 0, UNKNOWN: 0},
        "needs_rotation_by_restart": {"restart": 0, "no_restart": 0, UNKNOWN: 0},
        "expired": 0,
        "expiring": dict(("within_%d_days" % d, 0) for d in EXPIRY_HORIZONS),
    }
    for fact in databases:
        key = restart_key(fact["would_restart"])
        if fact["needs_rotation"]:
            summary["needs_rotation"] += 1
            _bump(summary["needs_rotation_by_restart"], key)
        _bump(summary["by_restart"], key)
        _bump(summary["by_ca"], fact["current_ca"] or UNKNOWN)
        _bump(summary["by_environment"], fact["environment"] if fact["environment"] is not None else UNTAGGED)
        _bump(summary["by_engine"], fact["engine"] or UNKNOWN)
        _bump(summary["by_region"], fact["region"])
        _bump(summary["by_account"], fact.get("account") or UNKNOWN)
        _bump(summary["by_reason"], fact["reason"])
        if fact["ca_expired"]:
            summary["expired"] += 1
        days = fact["ca_days_left"]
        if days is not None:
            for horizon in EXPIRY_HORIZONS:
                if days <= horizon:
                    summary["expiring"]["within_%d_days" % horizon] += 1
    return summary


# -- AWS collection ----------------------------------------------------------------------------

def gather_regions(clients: Any, regions: Sequence[str], options: Item, concurrency: int = 64,
                   paginate: Optional[Callable[..., Any]] = None, aws_errors: Any = None,
                   error_info: Optional[Callable[..., Any]] = None) -> dict[str, Item]:
    """Every region's raw responses, read by the AWS adapter: ``{region: {"raw": {...}, "error": None | {...}}}``.

    module_utils.rds_api.scan_regions does the reading (its docstring lists the calls); the engine
    versions looked up are those of the instances that pass the engines/identifiers/tags filters of
    ``options`` (:func:`engine_versions_needed`). ``paginate``, ``aws_errors`` and ``error_info`` are
    ignored (kept so that older callers still work): the adapter is the one describe path.
    """
    # Imported here so that the pure functions above need neither boto3 nor amazon.aws.
    from ansible_collections.rdsca.rotation.plugins.module_utils import rds_api

    del paginate, aws_errors, error_info
    states = gather_scopes(clients, rds_api.scopes(regions), options, concurrency=concurrency)
    return dict((scope.region, state) for scope, state in states.items())


def gather_scopes(clients: Any, where: Sequence[Any], options: Item, concurrency: int = 64) -> dict[Any, Item]:
    """:func:`gather_regions` for ``rds_api.Scope`` (region, account) items, on one pool: ``{scope: state}``."""
    from ansible_collections.rdsca.rotation.plugins.module_utils import rds_api

    def versions_needed(instances: list[Item], clusters: list[Item]) -> dict[str, list[str]]:
        return engine_versions_needed(instances, options, clusters)

    return rds_api.scan_regions(clients, list(where), versions_needed, concurrency=concurrency)


def target_ca_argument_spec():
    """Argument spec of the rdsca.rotation.target_ca doc fragment."""
    return dict(target_ca=dict(type="str", default=DEFAULT_TARGET_CA))
