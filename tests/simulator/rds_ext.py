"""What moto 5.2 lacks for RDS certificate rotation, grafted onto moto's own RDS.

moto keeps the instances, clusters, tags and parameter groups; this module keeps
what moto does not model (CA validity, pending CA changes, restart behaviour,
maintenance actions, per-region certificate defaults) in a side state keyed like
moto's backends, and adds or wraps the RDS actions that use it. Responses go
through moto's own botocore-shape serializer, so they look like RDS's.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from moto.core.responses import ActionResult
from moto.ec2.models import ec2_backends
from moto.rds import models as rds_models
from moto.rds.exceptions import (
    DBClusterNotFoundError,
    DBProxyNotFoundFault,
    DBInstanceNotFoundError,
    InvalidParameterCombination,
    InvalidParameterValue,
    RDSClientError,
)
from moto.rds.models import DBCluster, DBInstance, rds_backends
from moto.rds.responses import RDSResponse
from moto.rds.utils import ClusterEngine, DbInstanceEngine

from . import db_logs
from .catalog import (
    CA_CERTIFICATES,
    DEFAULT_CA_FOR_NEW_LAUNCHES,
    DEFAULT_PORTS,
    ENDPOINT_DOMAINS,
    MAINTENANCE_ROTATION_TARGET,
    BUILTIN_ENGINE_VERSIONS,
    EngineVersion,
    ca_certificate,
    Timing,
    force_ssl_parameter,
)

ROTATION_ACTION = "ca-certificate-rotation"
SERVER_CERT_LIFETIME = dt.timedelta(days=365)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class CertificateListener(Protocol):
    """Told when an instance's presented certificate must change (linked servers)."""

    def certificate_changed(self, account: str, region: str, db_id: str, ca_id: str, restart: bool) -> None:
        """Called when the presented certificate must change."""

    def restarted(self, account: str, region: str, db_id: str, ca_id: str) -> None:
        """Called when the instance restarted."""


@dataclass
class MaintenanceAction:
    auto_applied_after: dt.datetime
    forced_apply: dt.datetime
    opt_in_status: str | None = None
    current_apply_date: dt.datetime | None = None


@dataclass
class InstanceExtra:
    pending_ca: str | None = None
    pending_restart: bool = True
    # The CA whose certificate the server actually presents: it lags behind the
    # identifier when a restart-needing engine was told not to restart.
    presented_ca: str | None = None
    cert_issued_at: dt.datetime = field(default_factory=utcnow)
    maintenance: MaintenanceAction | None = None
    maintenance_suppressed: bool = False
    steps: list[tuple[str, float, Callable[[], None] | None]] = field(default_factory=list)
    step_deadline: float = 0.0
    # The status an instance reaches when its steps are done (available; stopped after stopping).
    final_status: str = "available"


@dataclass
class RegionCertificates:
    default_ca: str = DEFAULT_CA_FOR_NEW_LAUNCHES
    customer_override: str | None = None


@dataclass
class ClusterExtra:
    ca: str
    pending_ca: str | None = None
    cert_issued_at: dt.datetime = field(default_factory=utcnow)
    # A CA change being applied to the members: the cluster is `modifying` and shows the change as pending
    # until every member is done (its status follows its members).
    applying: bool = False


class SimState:
    """Everything the simulator knows beyond moto, shared by all request threads."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.timing = Timing()
        self.engine_versions: dict[tuple[str, str], EngineVersion] = {}
        self.region_certs: dict[tuple[str, str], RegionCertificates] = {}
        self.instances: dict[tuple[str, str, str], InstanceExtra] = {}
        self.clusters: dict[tuple[str, str, str], ClusterExtra] = {}
        self.listeners: list[CertificateListener] = []
        # (account, region, db id) -> the linked PostgreSQL server's log file, served by DescribeDBLogFiles.
        self.log_sources: dict[tuple[str, str, str], Any] = {}
        # (account, region, db id) -> the linked MariaDB server's audit log directory (MARIADB_AUDIT_PLUGIN).
        self.audit_sources: dict[tuple[str, str, str], Any] = {}
        # Instances in a timed transition (modifying, rebooting...) now, and the most at once
        # since the last reset: what `GET /_sim/stats` reports (e.g. to check a concurrency limit).
        self.in_transition: set[tuple[str, str, str]] = set()
        self.max_in_transition = 0
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.timing = Timing()
            self.engine_versions = {(ev.engine, ev.version): ev for ev in BUILTIN_ENGINE_VERSIONS}
            self.region_certs.clear()
            self.instances.clear()
            self.clusters.clear()
            self.log_sources.clear()
            self.audit_sources.clear()
            self.in_transition.clear()
            self.max_in_transition = 0

    def stats(self) -> dict[str, int]:
        with self.lock:
            return {"in_transition": len(self.in_transition), "max_in_transition": self.max_in_transition}

    # -- lookups -----------------------------------------------------------
    def certs(self, account: str, region: str) -> RegionCertificates:
        return self.region_certs.setdefault((account, region), RegionCertificates())

    def default_ca(self, account: str, region: str) -> str:
        certs = self.certs(account, region)
        return certs.customer_override or certs.default_ca

    def extra(self, db: DBInstance) -> InstanceExtra:
        key = (db.account_id, db.region, db.db_instance_identifier)
        extra = self.instances.get(key)
        if extra is None:
            extra = self.instances[key] = InstanceExtra(presented_ca=db.ca_certificate_identifier)
        return extra

    def engine_version(self, engine: str, version: str) -> EngineVersion | None:
        return self.engine_versions.get((engine, version))

    # -- timed status transitions -----------------------------------------
    def start_ticker(self) -> None:
        if self._ticker is None:
            self._stop.clear()
            self._ticker = threading.Thread(target=self._tick_forever, name="rds-sim-ticker", daemon=True)
            self._ticker.start()

    def stop_ticker(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=5)
            self._ticker = None

    def schedule(self, db: DBInstance, steps: list[tuple[str, float, Callable[[], None] | None]],
                 final: str = "available", counted: bool = True) -> None:
        """Run db through statuses, then `final`; each step's callback runs when that step ends.

        `counted` steps are changes someone asked for (they count in `GET /_sim/stats`); a fleet's
        seeded or scheduled statuses are not.
        """
        extra = self.extra(db)
        extra.steps = list(steps)
        extra.final_status = final
        db.status = steps[0][0]
        extra.step_deadline = time.monotonic() + steps[0][1]
        if counted:
            self.in_transition.add((db.account_id, db.region, db.db_instance_identifier))
            self.max_in_transition = max(self.max_in_transition, len(self.in_transition))

    def _tick_forever(self) -> None:
        while not self._stop.wait(0.05):
            self.tick()

    def tick(self) -> None:
        with self.lock:
            now = time.monotonic()
            for (account, region, db_id), extra in list(self.instances.items()):
                while extra.steps and now >= extra.step_deadline:
                    _status, _duration, callback = extra.steps.pop(0)
                    if callback is not None:
                        # Under the lock, before the next status shows: no poll may see the next status with the
                        # previous step's effect (a new CA) missing. Listeners only queue work.
                        callback()
                    db = rds_backends[account][region].databases.get(db_id)
                    if db is None:
                        extra.steps.clear()
                        self.in_transition.discard((account, region, db_id))
                        break
                    if extra.steps:
                        db.status = extra.steps[0][0]
                        extra.step_deadline = now + extra.steps[0][1]
                    else:
                        db.status = extra.final_status
                        self.in_transition.discard((account, region, db_id))
            self._settle_clusters()

    def _settle_clusters(self) -> None:
        """A Multi-AZ DB cluster applying a CA is done when none of its members is still transitioning."""
        for (account, region, cluster_id), cextra in self.clusters.items():
            if not cextra.applying:
                continue
            backend = rds_backends[account][region]
            cluster = backend.clusters.get(cluster_id)
            if cluster is None:
                cextra.applying = False
                continue
            members = [db for db in backend.databases.values() if db.db_cluster_identifier == cluster_id]
            if any(self.instances.get((account, region, db.db_instance_identifier), InstanceExtra()).steps
                   for db in members):
                continue
            cextra.applying = False
            if cextra.pending_ca:
                cextra.ca = cextra.pending_ca
                cextra.pending_ca = None
                cextra.cert_issued_at = utcnow()
            cluster.status = "available"


STATE = SimState()


# -- helpers used by the wrapped actions -------------------------------------

def paginated(params: Any, key: str, items: list[Any], **extra: Any) -> ActionResult:
    """MaxRecords/Marker paging as RDS does it (moto's paginator needs model objects)."""
    check_max_records(params)
    max_records = int(params.get("MaxRecords") or 100)
    marker = params.get("Marker")
    start = 0
    if marker:
        try:
            start = int(base64.b64decode(marker.encode()).decode().split(":", 1)[1])
        except (ValueError, IndexError, UnicodeDecodeError) as exc:
            raise InvalidParameterValue(f"The marker {marker} is not valid.") from exc
    page = items[start:start + max_records]
    result: dict[str, Any] = {key: page, **extra}
    if start + max_records < len(items):
        result["Marker"] = base64.b64encode(f"{key}:{start + max_records}".encode()).decode()
    return ActionResult(result)


def _region_of(resp: RDSResponse) -> tuple[str, str]:
    return resp.current_account, resp.region


def _certificate(account: str, region: str, ca_id: str) -> dict[str, Any]:
    ca = ca_certificate(region, ca_id)
    certs = STATE.certs(account, region)
    item: dict[str, Any] = {
        "CertificateIdentifier": ca.identifier,
        "CertificateType": "CA",
        "Thumbprint": ca.thumbprint,
        "ValidFrom": ca.valid_from,
        "ValidTill": ca.valid_till,
        "CertificateArn": f"arn:aws:rds:{region}::cert:{ca.identifier}",
        "CustomerOverride": certs.customer_override == ca.identifier,
    }
    if certs.customer_override == ca.identifier:
        item["CustomerOverrideValidTill"] = ca.valid_till
    return item


def require_known_ca(ca_id: str) -> None:
    if ca_id not in CA_CERTIFICATES:
        raise RDSClientError("CertificateNotFound", f"Certificate {ca_id} not found.")


def require_supported_ca(engine: str, version: str, ca_id: str) -> EngineVersion:
    require_known_ca(ca_id)
    ev = STATE.engine_version(engine, version)
    if ev is None:
        raise InvalidParameterCombination(f"Cannot find version {version} for {engine}")
    if ca_id not in ev.supported_cas:
        raise InvalidParameterCombination(
            f"The CA certificate {ca_id} isn't supported for engine {engine} version {version}. "
            f"Supported CA certificates: {', '.join(ev.supported_cas)}."
        )
    return ev


def server_cert_valid_till(region: str, ca_id: str, issued_at: dt.datetime) -> dt.datetime:
    return min(ca_certificate(region, ca_id).valid_till, issued_at + SERVER_CERT_LIFETIME)


def _notify(method: str, *args: Any) -> None:
    for listener in list(STATE.listeners):
        # parameters_changed is optional (listeners that only follow certificates need not have it).
        handler = getattr(listener, method, None)
        if handler is not None:
            handler(*args)


def _modify_db_parameter_group(self: RDSResponse) -> ActionResult:
    """ModifyDBParameterGroup, then the running instances of that group take the dynamic logging parameters
    applied immediately (RDS User Guide, "Modifying parameters in a DB parameter group": dynamic parameters with
    ApplyMethod immediate apply without a reboot): a linked PostgreSQL reloads with the new log_connections."""
    answer = _original["modify_db_parameter_group"](self)
    account, region = _region_of(self)
    group = self._get_param("DBParameterGroupName")
    backend = rds_backends[account][region]
    for db in list(backend.databases.values()):
        if db.db_parameter_group_name == group:
            _notify("parameters_changed", account, region, db.db_instance_identifier, log_settings(db))
    return answer


def rotation_restarts(db: DBInstance, requested_restart: bool | None) -> bool:
    """Whether applying a CA change restarts db (RDS: by default, unless the engine can hot-swap)."""
    ev = STATE.engine_version(db.engine, db.engine_version)
    if ev is not None and ev.rotation_without_restart:
        return False
    return requested_restart is not False


def apply_ca_now(db: DBInstance, ca_id: str, restart: bool) -> None:
    """Start the modifying[/rebooting] sequence that puts ca_id on db (lock held)."""
    account, region, db_id = db.account_id, db.region, db.db_instance_identifier
    extra = STATE.extra(db)
    ev = STATE.engine_version(db.engine, db.engine_version)
    hot_swap = ev is not None and ev.rotation_without_restart
    # While the change is applied RDS shows it in PendingModifiedValues and the old CA as current
    # (DBInstance.PendingModifiedValues, RDS API Reference); the identifier changes when `modifying` ends.
    extra.pending_ca = ca_id

    def rotated() -> None:
        with STATE.lock:
            db.ca_certificate_identifier = ca_id
            extra.pending_ca = None
            extra.cert_issued_at = utcnow()
            if restart or hot_swap:
                extra.presented_ca = ca_id
            if extra.maintenance is not None and ca_certificate(region, ca_id).valid_till > _notice_horizon():
                extra.maintenance = None
            db.add_event("DB_INSTANCE_CA_ROTATED")
        if restart or hot_swap:
            _notify("certificate_changed", account, region, db_id, ca_id, restart)

    def restarted() -> None:
        with STATE.lock:
            db.add_event("DB_INSTANCE_RESTARTED")

    steps: list[tuple[str, float, Callable[[], None] | None]] = [
        ("modifying", STATE.timing.duration("modifying"), rotated)]
    if restart:
        steps.append(("rebooting", STATE.timing.duration("rebooting"), restarted))
    STATE.schedule(db, steps)


def _notice_horizon() -> dt.datetime:
    return utcnow() + dt.timedelta(days=STATE.timing.maintenance_notice_days)


def maintenance_action(db: DBInstance) -> MaintenanceAction | None:
    """The pending ca-certificate-rotation action RDS would show for db, if any."""
    extra = STATE.extra(db)
    if extra.maintenance is not None:
        return extra.maintenance
    if extra.maintenance_suppressed or db.ca_certificate_identifier not in CA_CERTIFICATES:
        return None
    valid_till = ca_certificate(db.region, db.ca_certificate_identifier).valid_till
    if valid_till > _notice_horizon():
        return None
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    extra.maintenance = MaintenanceAction(
        auto_applied_after=max(valid_till - dt.timedelta(days=30), today + dt.timedelta(days=14)),
        forced_apply=max(valid_till, today + dt.timedelta(days=30)),
    )
    return extra.maintenance


def next_maintenance_window(window: str, now: dt.datetime | None = None) -> dt.datetime:
    """Start of the next occurrence of a 'ddd:hh24:mi-ddd:hh24:mi' window."""
    now = now or utcnow()
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    start = window.split("-", 1)[0]
    day, hour, minute = start.split(":")
    candidate = now.replace(hour=int(hour), minute=int(minute), second=0, microsecond=0)
    candidate += dt.timedelta(days=(days.index(day.lower()) - now.weekday()) % 7)
    if candidate <= now:
        candidate += dt.timedelta(days=7)
    return candidate


def run_maintenance(account: str, region: str, identifiers: list[str] | None = None) -> list[str]:
    """Apply what RDS applies in a maintenance window: pending CA changes and opted-in rotations."""
    applied = []
    with STATE.lock:
        backend = rds_backends[account][region]
        for db_id, db in list(backend.databases.items()):
            if identifiers and db_id not in identifiers:
                continue
            extra = STATE.extra(db)
            if db.status != "available":
                continue
            if extra.pending_ca:
                apply_ca_now(db, extra.pending_ca, rotation_restarts(db, extra.pending_restart))
                applied.append(db_id)
            elif extra.maintenance and extra.maintenance.opt_in_status == "next-maintenance":
                extra.maintenance = None
                extra.maintenance_suppressed = True
                apply_ca_now(db, MAINTENANCE_ROTATION_TARGET, rotation_restarts(db, None))
                applied.append(db_id)
        for cluster_id, cluster in backend.clusters.items():
            cextra = STATE.clusters.get((account, region, cluster_id))
            if cextra and cextra.pending_ca and (not identifiers or cluster_id in identifiers):
                _apply_cluster_ca(cluster, cextra, cextra.pending_ca)
                applied.append(cluster_id)
    return applied


def _apply_cluster_ca(cluster: DBCluster, cextra: ClusterExtra, ca_id: str) -> None:
    """Apply ca_id to the three members; the cluster is `modifying`, with the change pending, until they are
    all done (STATE._settle_clusters), as a Multi-AZ DB cluster's status follows its instances."""
    cextra.pending_ca = ca_id
    cextra.applying = True
    cluster.status = "modifying"
    backend = rds_backends[cluster.account_id][cluster.region]
    for db in backend.databases.values():
        if db.db_cluster_identifier == cluster.db_cluster_identifier:
            apply_ca_now(db, ca_id, rotation_restarts(db, None))


# -- properties moto's serializer picks up ------------------------------------

def _instance_certificate_details(self: DBInstance) -> dict[str, Any] | None:
    if self.ca_certificate_identifier not in CA_CERTIFICATES:
        return None
    extra = STATE.extra(self)
    return {
        "CAIdentifier": self.ca_certificate_identifier,
        "ValidTill": server_cert_valid_till(self.region, self.ca_certificate_identifier, extra.cert_issued_at),
    }


def _instance_pending_modified_values(self: DBInstance) -> dict[str, Any]:
    """Always present: RDS returns ``PendingModifiedValues: {}`` when nothing is pending (DBInstance in the
    RDS API Reference); moto omits it."""
    extra = STATE.instances.get((self.account_id, self.region, self.db_instance_identifier))
    if extra is None or not extra.pending_ca:
        return {}
    return {"CACertificateIdentifier": extra.pending_ca}


def _get_publicly_accessible(self: DBInstance) -> bool:
    return bool(getattr(self, "_sim_publicly_accessible", False))


def _set_publicly_accessible(self: DBInstance, value: Any) -> None:
    # RDS always returns PubliclyAccessible (false unless asked for); moto leaves it unset (None).
    self._sim_publicly_accessible = bool(value) if value is not None else False


def hosted_zone_id(region: str) -> str:
    """A Route 53 hosted zone ID for the region's RDS endpoints: stable, in the format AWS uses (Z + 13)."""
    digest = hashlib.sha256(f"rds-hosted-zone:{region}".encode()).hexdigest().upper()
    return "Z" + "".join(ch for ch in digest if ch.isalnum())[:13]


def _instance_endpoint(self: DBInstance) -> dict[str, Any]:
    """``Endpoint {Address, Port, HostedZoneId}``: RDS always returns the hosted zone (moto omits it)."""
    return {"Address": self.address, "Port": self.port, "HostedZoneId": hosted_zone_id(self.region)}


def endpoint_label(account: str, region: str) -> str:
    """The per-account, per-region label of endpoint names (``c`` + 12 hex digits, stable across runs)."""
    return "c" + hashlib.sha256(f"{account}:{region}".encode()).hexdigest()[:12]


def endpoint_domain(engine: str) -> str:
    return ENDPOINT_DOMAINS.get(engine, "rds.amazonaws.com")


def _cluster_endpoint(self: DBCluster) -> str:
    """``<id>.cluster-<label>.<region>.<domain>``, the label of the account's instances in that region (RDS User
    Guide, "Types of Aurora endpoints"; Neptune User Guide, SSL/HTTPS: one wildcard certificate covers
    ``*.cluster-<label>``, ``*.cluster-ro-<label>`` and ``*.<label>``). moto draws a random label per cluster."""
    return (f"{self.db_cluster_identifier}.cluster-{endpoint_label(self.account_id, self.region)}.{self.region}."
            f"{endpoint_domain(self.engine)}")


def _cluster_reader_endpoint(self: DBCluster) -> str:
    return _cluster_endpoint(self).replace(".cluster-", ".cluster-ro-", 1)


def _with_docdb(original: Callable[..., Any], docdb_value: Any) -> Any:
    """A moto per-engine default (port, allocated storage) that also knows DocumentDB (moto 5.2 has no docdb)."""
    def default(engine: str, *args: Any, **kwargs: Any) -> Any:
        if engine == "docdb":
            return docdb_value
        return original(engine, *args, **kwargs)
    return staticmethod(default)


def _install_engines() -> None:
    """DocumentDB through the RDS API: moto 5.2 knows neptune but refuses engine docdb. DocumentDB clusters and
    instances are RDS resources with Engine docdb (DocumentDB Developer Guide, "DescribeDBClusters": "Use the
    filterName=engine,Values=docdb filter parameter to return only Amazon DocumentDB clusters")."""
    engines = ClusterEngine.list_cluster_engines.__func__  # type: ignore[attr-defined]
    ClusterEngine.list_cluster_engines = classmethod(lambda cls: sorted({*engines(cls), "docdb"}))
    instance_engines = DbInstanceEngine.valid_db_instance_engine.__func__  # type: ignore[attr-defined]
    DbInstanceEngine.valid_db_instance_engine = classmethod(lambda cls: sorted({*instance_engines(cls), "docdb"}))
    DBCluster.default_port = _with_docdb(DBCluster.default_port, DEFAULT_PORTS["docdb"])
    DBCluster.default_allocated_storage = _with_docdb(DBCluster.default_allocated_storage, 1)
    DBInstance.default_port = _with_docdb(DBInstance.default_port, DEFAULT_PORTS["docdb"])
    DBInstance.default_allocated_storage = _with_docdb(DBInstance.default_allocated_storage, 1)
    DBCluster.endpoint = property(_cluster_endpoint)
    DBCluster.reader_endpoint = property(_cluster_reader_endpoint)


def default_subnet_group(account: str, region: str) -> str:
    """The region's ``default`` DB subnet group over the default VPC's subnets, created on first use.

    Real RDS always returns ``DBSubnetGroup`` (an instance lives in a VPC; CreateDBInstance without
    DBSubnetGroupName uses the default VPC), and ``amazon.aws.rds_instance`` reads it before it modifies
    an instance; moto only has one for instances created with one.
    """
    backend = rds_backends[account][region]
    if "default" not in backend.subnet_groups:
        ec2 = ec2_backends[account][region]
        subnets = [s for s in ec2.describe_subnets() if getattr(s, "default_for_az", False)] or ec2.describe_subnets()
        backend.create_subnet_group("default", "default", subnets, [])
    return "default"


def check_max_records(params: Any) -> None:
    """RDS Describe* operations take MaxRecords from 20 to 100 (default 100), else InvalidParameterValue."""
    raw = params.get("MaxRecords")
    if raw in (None, ""):
        return
    try:
        max_records = int(raw)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterValue(f"Invalid value {raw} for MaxRecords. Must be between 20 and 100") from exc
    if not 20 <= max_records <= 100:
        raise InvalidParameterValue(f"Invalid value {max_records} for MaxRecords. Must be between 20 and 100")


def _cluster_extra(cluster: DBCluster) -> ClusterExtra | None:
    return STATE.clusters.get((cluster.account_id, cluster.region, cluster.db_cluster_identifier))


def _cluster_certificate_details(self: DBCluster) -> dict[str, Any] | None:
    cextra = _cluster_extra(self)
    if cextra is None:
        return None
    return {"CAIdentifier": cextra.ca,
            "ValidTill": server_cert_valid_till(self.region, cextra.ca, cextra.cert_issued_at)}


def _cluster_pending_modified_values(self: DBCluster) -> dict[str, Any] | None:
    cextra = _cluster_extra(self)
    if cextra is None or not cextra.pending_ca:
        return None
    return {"CertificateDetails": {"CAIdentifier": cextra.pending_ca}}


# -- wrapped and added actions -------------------------------------------------

_original: dict[str, Callable[..., Any]] = {}


def _create_db_instance(self: RDSResponse) -> ActionResult:
    account, region = _region_of(self)
    ca_id = self.params.get("CACertificateIdentifier") or STATE.default_ca(account, region)
    engine = self.params.get("Engine")
    version = self.params.get("EngineVersion")
    with STATE.lock:
        if engine and version:
            require_supported_ca(engine, version, ca_id)
        else:
            require_known_ca(ca_id)
        self.params["CACertificateIdentifier"] = ca_id
        if not self.params.get("DBSubnetGroupName"):
            self.params["DBSubnetGroupName"] = default_subnet_group(account, region)
        return _original["create_db_instance"](self)


def _bounded(name: str) -> Callable[[RDSResponse], ActionResult]:
    """moto's own Describe* action, with RDS's MaxRecords bounds checked first."""
    def action(self: RDSResponse) -> ActionResult:
        check_max_records(self.params)
        return _original[name](self)
    action.__name__ = f"_{name}"
    return action


def _modify_db_instance(self: RDSResponse) -> ActionResult:
    account, region = _region_of(self)
    params = self.params
    db_id = params.get("DBInstanceIdentifier")
    ca_id = params.pop("CACertificateIdentifier", None)
    restart_param = params.pop("CertificateRotationRestart", None)
    apply_immediately = bool(params.get("ApplyImmediately", False))
    if restart_param is not None and ca_id is None:
        raise InvalidParameterCombination("CACertificateIdentifier is required to use the NoCertificateRotationRestart option.")
    with STATE.lock:
        backend = rds_backends[account][region]
        db = backend.databases.get((db_id or "").lower())
        if db is None:
            raise DBInstanceNotFoundError(db_id)
        if ca_id is not None:
            if db.status != "available":
                raise RDSClientError("InvalidDBInstanceState", "Database instance is not in available state.")
            cextra = STATE.clusters.get((account, region, db.db_cluster_identifier or ""))
            if cextra is not None:
                raise InvalidParameterCombination(
                    "The CA certificate of an instance in a Multi-AZ DB cluster is modified through ModifyDBCluster."
                )
            require_supported_ca(db.engine, db.engine_version, ca_id)
        other = {k: v for k, v in params.items() if k not in ("DBInstanceIdentifier", "ApplyImmediately")}
        if other:
            _original["modify_db_instance"](self)
        if ca_id is not None:
            extra = STATE.extra(db)
            restart = rotation_restarts(db, restart_param)
            if ca_id == db.ca_certificate_identifier:
                extra.pending_ca = None
            elif apply_immediately:
                apply_ca_now(db, ca_id, restart)
            else:
                extra.pending_ca = ca_id
                extra.pending_restart = restart_param is not False
        return ActionResult({"DBInstance": db})


def _reboot_db_instance(self: RDSResponse) -> ActionResult:
    account, region = _region_of(self)
    db_id = (self.params.get("DBInstanceIdentifier") or "").lower()
    with STATE.lock:
        db = rds_backends[account][region].databases.get(db_id)
        if db is None:
            raise DBInstanceNotFoundError(db_id)
        if db.status != "available":
            raise RDSClientError("InvalidDBInstanceState", "Database instance is not in available state.")
        extra = STATE.extra(db)

        def restarted() -> None:
            with STATE.lock:
                extra.presented_ca = db.ca_certificate_identifier
                db.add_event("DB_INSTANCE_RESTARTED")
            _notify("restarted", account, region, db_id, db.ca_certificate_identifier)

        if extra.pending_ca:
            apply_ca_now(db, extra.pending_ca, True)
        else:
            STATE.schedule(db, [("rebooting", STATE.timing.duration("rebooting"), restarted)])
        return ActionResult({"DBInstance": db})


def _modify_db_cluster(self: RDSResponse) -> ActionResult:
    account, region = _region_of(self)
    params = self.params
    ca_id = params.pop("CACertificateIdentifier", None)
    cluster_id = params.get("DBClusterIdentifier")
    with STATE.lock:
        backend = rds_backends[account][region]
        cluster = backend.clusters.get(cluster_id)
        if cluster is None:
            raise DBClusterNotFoundError(cluster_id)
        if ca_id is not None:
            cextra = _cluster_extra(cluster)
            if cextra is None:
                raise InvalidParameterCombination(
                    "The CACertificateIdentifier parameter applies only to Multi-AZ DB clusters. "
                    "Modify the CA of each DB instance of an Aurora DB cluster instead."
                )
            if cluster.status != "available":
                raise RDSClientError("InvalidDBClusterStateFault", f"DB cluster {cluster_id} is not in available state.")
            require_supported_ca(cluster.engine, cluster.engine_version, ca_id)
        other = {k: v for k, v in params.items() if k not in ("DBClusterIdentifier", "ApplyImmediately")}
        if other:
            _original["modify_db_cluster"](self)
        if ca_id is not None and ca_id != cextra.ca:
            if params.get("ApplyImmediately"):
                _apply_cluster_ca(cluster, cextra, ca_id)
            else:
                cextra.pending_ca = ca_id
        return ActionResult({"DBCluster": cluster})


def _describe_certificates(self: RDSResponse) -> ActionResult:
    account, region = _region_of(self)
    wanted = self.params.get("CertificateIdentifier")
    with STATE.lock:
        if wanted:
            require_known_ca(wanted)
            ids = [wanted]
        else:
            ids = list(CA_CERTIFICATES)
        certificates = [_certificate(account, region, ca_id) for ca_id in ids]
        default = STATE.default_ca(account, region)
    return paginated(self.params, "Certificates", certificates, DefaultCertificateForNewLaunches=default)


def _modify_certificates(self: RDSResponse) -> ActionResult:
    account, region = _region_of(self)
    ca_id = self.params.get("CertificateIdentifier")
    remove = bool(self.params.get("RemoveCustomerOverride", False))
    if remove and ca_id:
        raise InvalidParameterCombination("Specify either CertificateIdentifier or RemoveCustomerOverride, not both.")
    if not remove and not ca_id:
        raise InvalidParameterCombination("Specify CertificateIdentifier or RemoveCustomerOverride.")
    with STATE.lock:
        certs = STATE.certs(account, region)
        if remove:
            previous = certs.customer_override
            certs.customer_override = None
            if previous is None:
                return ActionResult({})
            return ActionResult({"Certificate": _certificate(account, region, previous)})
        require_known_ca(ca_id)
        if ca_certificate(region, ca_id).valid_till <= utcnow():
            raise InvalidParameterValue(f"Certificate {ca_id} has expired and can't be set as the default.")
        certs.customer_override = ca_id
        return ActionResult({"Certificate": _certificate(account, region, ca_id)})


def _engine_version_item(ev: EngineVersion) -> dict[str, Any]:
    return {
        "Engine": ev.engine,
        "EngineVersion": ev.version,
        "MajorEngineVersion": ev.major,
        "DBParameterGroupFamily": ev.family,
        "DBEngineDescription": ev.description or ev.engine,
        "DBEngineVersionDescription": f"{ev.description or ev.engine} {ev.version}",
        "Status": "available",
        "SupportsReadReplica": True,
        "SupportsLogExportsToCloudwatchLogs": True,
        "SupportsCertificateRotationWithoutRestart": ev.rotation_without_restart,
        "SupportedCACertificateIdentifiers": list(ev.supported_cas),
    }


def _describe_db_engine_versions(self: RDSResponse) -> ActionResult:
    params = self.params
    engine = params.get("Engine")
    version = params.get("EngineVersion")
    family = params.get("DBParameterGroupFamily")
    default_only = bool(params.get("DefaultOnly", False))
    filters = {f["Name"]: f["Values"] for f in params.get("Filters", []) or []}
    with STATE.lock:
        versions = sorted(STATE.engine_versions.values(), key=lambda e: (e.engine, _version_key(e.version)))
    selected = []
    for ev in versions:
        if engine and ev.engine != engine:
            continue
        if version and ev.version != version and not (ev.version.startswith(version + ".") and not default_only):
            continue
        if family and ev.family != family:
            continue
        if "engine" in filters and ev.engine not in filters["engine"]:
            continue
        if "engine-version" in filters and ev.version not in filters["engine-version"]:
            continue
        selected.append(ev)
    if default_only:
        by_engine: dict[str, EngineVersion] = {}
        for ev in selected:
            if ev.is_default or ev.engine not in by_engine:
                if ev.is_default or not by_engine.get(ev.engine, ev).is_default:
                    by_engine[ev.engine] = ev
        selected = list(by_engine.values()) if not version else selected[-1:]
    return paginated(params, "DBEngineVersions", [_engine_version_item(ev) for ev in selected])


def _version_key(version: str) -> tuple:
    return tuple(int(p) if p.isdigit() else 0 for p in version.replace("-", ".").split("."))


def _arn_index(account: str, region: str) -> dict[str, DBInstance]:
    backend = rds_backends[account][region]
    return {db.arn: db for db in backend.databases.values()}


def _pending_actions_item(db: DBInstance, action: MaintenanceAction) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "Action": ROTATION_ACTION,
        "AutoAppliedAfterDate": action.auto_applied_after,
        "ForcedApplyDate": action.forced_apply,
        "Description": "Certificate rotation",
    }
    if action.opt_in_status:
        detail["OptInStatus"] = action.opt_in_status
    if action.current_apply_date:
        detail["CurrentApplyDate"] = action.current_apply_date
    return {"ResourceIdentifier": db.arn, "PendingMaintenanceActionDetails": [detail]}


def _describe_pending_maintenance_actions(self: RDSResponse) -> ActionResult:
    account, region = _region_of(self)
    resource = self.params.get("ResourceIdentifier")
    filters = {f["Name"]: f["Values"] for f in self.params.get("Filters", []) or []}
    unknown = set(filters) - {"db-instance-id", "db-cluster-id"}
    if unknown:
        raise InvalidParameterValue(f"Unrecognized filter name: {sorted(unknown)[0]}")
    items = []
    with STATE.lock:
        for db in rds_backends[account][region].databases.values():
            if resource and db.arn != resource:
                continue
            if "db-instance-id" in filters and not {db.db_instance_identifier, db.arn} & set(filters["db-instance-id"]):
                continue
            if "db-cluster-id" in filters and db.db_cluster_identifier not in filters["db-cluster-id"]:
                continue
            action = maintenance_action(db)
            if action is not None:
                items.append(_pending_actions_item(db, action))
    return paginated(self.params, "PendingMaintenanceActions", items)


def _apply_pending_maintenance_action(self: RDSResponse) -> ActionResult:
    account, region = _region_of(self)
    arn = self.params.get("ResourceIdentifier")
    apply_action = self.params.get("ApplyAction")
    opt_in = self.params.get("OptInType")
    if opt_in not in ("immediate", "next-maintenance", "undo-opt-in"):
        raise InvalidParameterValue(f"Invalid value for OptInType: {opt_in}. Valid values: immediate, next-maintenance, undo-opt-in")
    with STATE.lock:
        db = _arn_index(account, region).get(arn)
        if db is None:
            raise RDSClientError("ResourceNotFoundFault", f"The specified resource ARN {arn} was not found.")
        action = maintenance_action(db)
        if action is None or apply_action != ROTATION_ACTION:
            raise InvalidParameterValue(f"No pending maintenance action {apply_action} for resource {arn}.")
        if opt_in == "immediate":
            if db.status != "available":
                raise RDSClientError("InvalidDBInstanceState", "Database instance is not in available state.")
            action.opt_in_status = "immediate"
            action.current_apply_date = utcnow()
            item = _pending_actions_item(db, action)
            STATE.extra(db).maintenance = None
            STATE.extra(db).maintenance_suppressed = True
            apply_ca_now(db, MAINTENANCE_ROTATION_TARGET, rotation_restarts(db, None))
        elif opt_in == "next-maintenance":
            action.opt_in_status = "next-maintenance"
            action.current_apply_date = next_maintenance_window(db.preferred_maintenance_window)
            item = _pending_actions_item(db, action)
        else:
            action.opt_in_status = None
            action.current_apply_date = None
            item = _pending_actions_item(db, action)
    return ActionResult({"ResourcePendingMaintenanceActions": item})


def _default_parameters(group_name: str) -> list[dict[str, Any]] | None:
    """Parameters of a default.<family> group; moto returns none at all."""
    if not group_name.startswith("default."):
        return None
    return _family_parameters(group_name[len("default."):])


def _custom_parameters(backend: Any, group_name: str, cluster: bool, source: str | None) -> list[dict[str, Any]] | None:
    """A custom group's parameters as RDS lists them: every parameter of its family (engine defaults, Source
    `engine-default`) with the group's own values over them (Source `user`), each with ApplyType, DataType and
    IsModifiable (DescribeDBParameters, RDS API Reference); moto lists only the values set, without those fields.
    None when the group or its family is unknown here (moto answers then)."""
    groups = backend.db_cluster_parameter_groups if cluster else backend.db_parameter_groups
    group = groups.get(group_name.lower())
    if group is None:
        return None
    family = group.db_parameter_group_family if cluster else group.family
    defaults = _family_parameters(family or "")
    if defaults is None:
        return None
    merged = {p["ParameterName"]: {**p, "Source": "engine-default"} for p in defaults}
    for name, value in group.parameters.items():
        base = merged.get(name) or {"ParameterName": name, "Description": name, "ApplyType": "dynamic",
                                    "DataType": "string", "IsModifiable": True, "ApplyMethod": "pending-reboot"}
        merged[name] = {**base, "ParameterValue": value.get("ParameterValue"), "Source": "user",
                        "ApplyMethod": value.get("ApplyMethod", base.get("ApplyMethod", "pending-reboot"))}
    items = [merged[name] for name in sorted(merged)]
    return [p for p in items if source is None or p["Source"] == source]


# DocumentDB and Neptune enforce TLS with a cluster parameter: DocumentDB's `tls` (DocumentDB Developer Guide,
# "Encrypting data in transit": enabled by default; disabled, enabled, fips-140-3, tls1.2+, tls1.3+), Neptune's
# `neptune_enforce_ssl` (Neptune User Guide, "Neptune DB cluster parameters": HTTPS only from engine 1.0.4.0).
_CLUSTER_TLS_PARAMETERS: dict[str, dict[str, Any]] = {
    "docdb": {"ParameterName": "tls", "ParameterValue": "enabled", "Description": "Config to enable/disable TLS",
              "Source": "system", "ApplyType": "static", "DataType": "string",
              "AllowedValues": "disabled,enabled,fips-140-3,tls1.2+,tls1.3+", "IsModifiable": True,
              "ApplyMethod": "pending-reboot"},
    "neptune": {"ParameterName": "neptune_enforce_ssl", "ParameterValue": "1",
                "Description": "Force all connections to Neptune to use SSL.", "Source": "system",
                "ApplyType": "static", "DataType": "boolean", "AllowedValues": "1", "IsModifiable": False,
                "ApplyMethod": "pending-reboot"},
}


def _family_parameters(family: str) -> list[dict[str, Any]] | None:
    """The TLS-enforcement parameter of a family with its engine default, or None for an unknown family."""
    engine = next((ev.engine for ev in STATE.engine_versions.values() if ev.family == family), None)
    if engine is None:
        return None
    if engine in _CLUSTER_TLS_PARAMETERS:
        return [dict(_CLUSTER_TLS_PARAMETERS[engine])]
    param = force_ssl_parameter(engine, family)
    if param is None:
        return []
    name, value = param
    params = [{
        "ParameterName": name,
        "ParameterValue": value,
        "Description": "Force SSL connections." if name == "rds.force_ssl" else "Require secure transport.",
        "Source": "system",
        "ApplyType": "dynamic",
        "DataType": "boolean",
        "AllowedValues": "0,1" if name == "rds.force_ssl" else "0, 1, ON, OFF",
        "IsModifiable": True,
        "ApplyMethod": "pending-reboot",
    }]
    if engine in ("postgres", "aurora-postgresql"):
        params += _postgres_log_parameters()
    return params


def _postgres_log_parameters() -> list[dict[str, Any]]:
    """The logging parameters of an RDS for PostgreSQL family (User Guide, "RDS for PostgreSQL database log
    files", "Turning on query logging"): log_connections has no value in a default group (PostgreSQL's own
    default, off), log_line_prefix RDS's fixed default, rds.log_retention_period three days in minutes."""
    common = {"Source": "system", "ApplyType": "dynamic", "IsModifiable": True, "ApplyMethod": "pending-reboot"}
    return [
        {**common, "ParameterName": "log_connections", "Description": "Logs each successful connection.",
         "Source": "engine-default", "DataType": "boolean", "AllowedValues": "0,1"},
        {**common, "ParameterName": "log_line_prefix", "ParameterValue": db_logs.RDS_LOG_LINE_PREFIX,
         "Description": "Controls information prefixed to each log line.", "DataType": "string"},
        {**common, "ParameterName": "rds.log_retention_period", "ParameterValue": str(db_logs.DEFAULT_RETENTION_MINUTES),
         "Description": "Amazon RDS for PostgreSQL will delete PostgreSQL logs that are older than N minutes.",
         "DataType": "integer", "AllowedValues": "1440-10080"},
    ]


def tls_enforced(db: DBInstance) -> bool:
    """The instance's rds.force_ssl / require_secure_transport: its parameter group, else the engine default."""
    ev = STATE.engine_version(db.engine, db.engine_version)
    param = force_ssl_parameter(db.engine, ev.family if ev else "")
    if param is None:
        return False
    name, value = param
    return str(parameter_value(db, name, value)).lower() in ("1", "on", "true")


def parameter_value(db: DBInstance, name: str, default: str | None) -> str | None:
    """A parameter's value in the instance's DB parameter group, else ``default`` (the engine default)."""
    group = db.db_parameter_group_name
    backend = rds_backends[db.account_id][db.region]
    if group and group in backend.db_parameter_groups:
        configured = backend.db_parameter_groups[group].parameters.get(name, {}).get("ParameterValue")
        if configured is not None:
            return configured
    return default


def log_settings(db: DBInstance) -> dict[str, Any]:
    """What a linked PostgreSQL server logs, from the instance's parameter group: log_connections (off unless
    set, PostgreSQL's default), log_line_prefix (RDS's default unless set), rds.log_retention_period (minutes)."""
    retention = parameter_value(db, "rds.log_retention_period", None)
    return {
        "log_connections": str(parameter_value(db, "log_connections", "0")).lower() in ("1", "on", "true"),
        "log_line_prefix": parameter_value(db, "log_line_prefix", db_logs.RDS_LOG_LINE_PREFIX),
        "retention_minutes": int(retention) if retention and retention.isdigit() else db_logs.DEFAULT_RETENTION_MINUTES,
    }


AUDIT_OPTION = "MARIADB_AUDIT_PLUGIN"


def audit_settings(db: DBInstance) -> dict[str, str] | None:
    """The MARIADB_AUDIT_PLUGIN option settings of the instance's option group, None without the option (RDS User
    Guide, "Options for MariaDB database engine" and "MariaDB Audit Plugin support for MySQL")."""
    backend = rds_backends[db.account_id][db.region]
    group = backend.option_groups.get(getattr(db, "option_group_name", None) or "")
    if group is None:
        return None
    for option in group.options:
        if option.get("OptionName") == AUDIT_OPTION:
            return {item["Name"]: str(item["Value"]) for item in option.get("OptionSettings") or []
                    if item.get("Name") and item.get("Value") is not None}
    return None


def _log_files(resp: RDSResponse) -> tuple[str, list[db_logs.LogFile]]:
    """The instance named in the request and its log files now (none for an instance without a linked server;
    a linked MariaDB's audit files when its option group has MARIADB_AUDIT_PLUGIN)."""
    account, region = _region_of(resp)
    db_id = resp.params.get("DBInstanceIdentifier") or ""
    backend = rds_backends[account][region]
    with STATE.lock:
        db = backend.databases.get(db_id)
        if db is None:
            raise DBInstanceNotFoundError(db_id)
        source = STATE.log_sources.get((account, region, db_id))
        audit_dir = STATE.audit_sources.get((account, region, db_id))
        retention = log_settings(db)["retention_minutes"]
    if audit_dir is not None:
        return db_id, db_logs.audit_files(audit_dir)
    if source is None:
        return db_id, []
    return db_id, db_logs.hourly_files(source, retention)


def _describe_db_log_files(self: RDSResponse) -> ActionResult:
    """DescribeDBLogFiles (API Reference): FilenameContains, FileLastWritten (ms since the epoch),
    FileSize (larger than), MaxRecords/Marker paging."""
    check_max_records(self.params)
    _db_id, files = _log_files(self)
    contains = self.params.get("FilenameContains") or ""
    since = int(self.params.get("FileLastWritten") or 0)
    larger = int(self.params.get("FileSize") or 0)
    items = [{"LogFileName": f.name, "LastWritten": f.last_written_ms, "Size": len(f.data)}
             for f in files if contains in f.name and f.last_written_ms >= since and len(f.data) >= larger]
    return paginated(self.params, "DescribeDBLogFiles", items)


class DBLogFileNotFoundFault(RDSClientError):
    code = "DBLogFileNotFoundFault"


def _download_db_log_file_portion(self: RDSResponse) -> ActionResult:
    """DownloadDBLogFilePortion (API Reference): see tests/simulator/db_logs.py for Marker, NumberOfLines,
    AdditionalDataPending and the 1 MB limit."""
    db_id, files = _log_files(self)
    try:
        log_file = db_logs.find(files, self.params.get("LogFileName") or "", db_id)
        return ActionResult(db_logs.portion(log_file, self.params.get("Marker"), self.params.get("NumberOfLines")))
    except db_logs.LogError as exc:
        if exc.code == "DBLogFileNotFoundFault":
            raise DBLogFileNotFoundFault(str(exc)) from exc
        raise InvalidParameterValue(str(exc)) from exc


_DEFAULT_OPTION_GROUP = re.compile(r"^default:([a-z0-9-]+?)-(\d+(?:-\d+)?)$")


def _describe_option_groups(self: RDSResponse) -> ActionResult:
    """DescribeOptionGroups (API Reference): a default option group (``default:mariadb-10-11``) exists for every
    engine and major version, without options (User Guide, "Working with option groups": "If you don't specify an
    option group, a default option group is used ... the default option group cannot be modified"); moto only knows
    the groups created through its API."""
    check_max_records(self.params)
    name = (self.params.get("OptionGroupName") or "").lower()
    match = _DEFAULT_OPTION_GROUP.match(name)
    if match:
        from moto.rds.models import OptionGroup  # pylint: disable=import-outside-toplevel

        account, region = _region_of(self)
        backend = rds_backends[account][region]
        with STATE.lock:
            if name not in backend.option_groups:
                backend.option_groups[name] = OptionGroup(
                    backend, option_group_name=name, engine_name=match.group(1),
                    major_engine_version=match.group(2).replace("-", "."),
                    option_group_description=f"Default option group for {match.group(1)} {match.group(2)}")
    return _original["describe_option_groups"](self)


def _describe_db_parameters(self: RDSResponse) -> ActionResult:
    group = self.params.get("DBParameterGroupName") or ""
    defaults = _default_parameters(group)
    if defaults is None:
        account, region = _region_of(self)
        with STATE.lock:
            defaults = _custom_parameters(rds_backends[account][region], group, False, self.params.get("Source"))
    if defaults is None:
        check_max_records(self.params)
        return _original["describe_db_parameters"](self)
    return paginated(self.params, "Parameters", defaults)


def _describe_db_cluster_parameters(self: RDSResponse) -> ActionResult:
    group = self.params.get("DBClusterParameterGroupName") or ""
    defaults = _default_parameters(group)
    if defaults is None:
        account, region = _region_of(self)
        with STATE.lock:
            defaults = _custom_parameters(rds_backends[account][region], group, True, self.params.get("Source"))
    if defaults is None:
        check_max_records(self.params)
        return _original["describe_db_cluster_parameters"](self)
    return paginated(self.params, "Parameters", defaults)


# -- RDS Proxy ------------------------------------------------------------------------------
# moto 5.2 keeps proxies and their targets but answers DescribeDBProxies without MaxRecords/Marker paging, gives
# an RDS_INSTANCE target no Endpoint, TargetArn, Role or real Port (5432 always), reports a target REGISTERING on
# the first call, fails with an internal error for an unknown proxy in DescribeDBProxyTargets, and lists no member
# instances for a TRACKED_CLUSTER. RDS API Reference: DescribeDBProxies, DescribeDBProxyTargets, DBProxyTarget,
# TargetHealth; RDS User Guide, "Using Amazon RDS Proxy" (a cluster target lists the cluster and each instance).

def proxy_endpoint(name: str, account: str, region: str) -> str:
    """``<name>.proxy-<label>.<region>.rds.amazonaws.com`` (RDS User Guide, "Connecting to a database through RDS
    Proxy"); moto's is ``.db-proxy-<random>``."""
    return f"{name}.proxy-{endpoint_label(account, region)}.{region}.rds.amazonaws.com"


def _describe_db_proxies(self: RDSResponse) -> ActionResult:
    check_max_records(self.params)
    account, region = _region_of(self)
    with STATE.lock:
        proxies = rds_backends[account][region].describe_db_proxies(self.params.get("DBProxyName"))
    return paginated(self.params, "DBProxies", proxies)


def _target_health(db: DBInstance | None) -> dict[str, str]:
    """AVAILABLE while the instance is available; UNAVAILABLE (UNREACHABLE) while it restarts or is stopped."""
    if db is not None and db.status == "available":
        return {"State": "AVAILABLE"}
    return {"State": "UNAVAILABLE", "Reason": "UNREACHABLE",
            "Description": "DBProxy Target unavailable due to an internal error"}


def _instance_target(db: DBInstance, tracked_cluster: str | None = None) -> dict[str, Any]:
    target = {"TargetArn": db.db_instance_arn, "Endpoint": db.address, "RdsResourceId": db.db_instance_identifier,
              "Port": db.port, "Type": "RDS_INSTANCE", "TargetHealth": _target_health(db),
              "Role": "READ_WRITE" if tracked_cluster is None or getattr(db, "is_cluster_writer", False)
              else "READ_ONLY"}
    if tracked_cluster:
        target["TrackedClusterId"] = tracked_cluster
    return target


def _describe_db_proxy_targets(self: RDSResponse) -> ActionResult:
    check_max_records(self.params)
    account, region = _region_of(self)
    name = self.params.get("DBProxyName") or ""
    backend = rds_backends[account][region]
    with STATE.lock:
        proxy = backend.db_proxies.get(name)
        if proxy is None:
            raise DBProxyNotFoundFault(name)
        group_name = self.params.get("TargetGroupName") or "default"
        group = proxy.proxy_target_groups.get(group_name)
        if group is None:
            raise RDSClientError("DBProxyTargetGroupNotFoundFault",
                                 f"The specified target group {group_name} of proxy {name} doesn't exist.")
        items: list[dict[str, Any]] = []
        for target in group.targets:
            if target.type == "TRACKED_CLUSTER":
                cluster = backend.clusters.get(target.rds_resource_id)
                if cluster is None:
                    continue
                items.append({"TargetArn": cluster.db_cluster_arn, "Endpoint": cluster.endpoint,
                              "TrackedClusterId": cluster.db_cluster_identifier,
                              "RdsResourceId": cluster.db_cluster_identifier, "Port": cluster.port,
                              "Type": "TRACKED_CLUSTER"})
                items += [_instance_target(db, cluster.db_cluster_identifier) for db in backend.databases.values()
                          if db.db_cluster_identifier == cluster.db_cluster_identifier]
            else:
                db = backend.databases.get(target.rds_resource_id)
                if db is not None:
                    items.append(_instance_target(db))
    return paginated(self.params, "Targets", items)


def _default_db_parameter_group_details(self: DBInstance) -> tuple[str, str]:
    """default.<family> as RDS names it (moto derives it from the version string)."""
    ev = STATE.engine_version(self.engine, self.engine_version)
    if ev is None:
        return _original["default_db_parameter_group_details"](self)
    return ev.family, f"default.{ev.family}"


_EXTRA_EVENTS = {
    "DB_INSTANCE_CA_ROTATED": {"Categories": ["configuration change"], "Message": "CA certificate rotated"},
    "DB_INSTANCE_RESTARTED": {"Categories": ["availability"], "Message": "DB instance restarted"},
}

# moto's Describe* actions that get RDS's MaxRecords bounds (the simulator's own ones use `paginated`).
BOUNDED_DESCRIBES = ("describe_db_instances", "describe_db_clusters", "describe_events", "describe_db_subnet_groups",
                     "describe_db_parameter_groups", "describe_db_cluster_parameter_groups")

_installed = False


def install() -> None:
    """Graft the extensions onto moto's classes (idempotent)."""
    global _installed  # pylint: disable=global-statement
    if _installed:
        return
    _install_engines()
    rds_models.Event.EVENT_MAP.update(_EXTRA_EVENTS)
    DBInstance.certificate_details = property(_instance_certificate_details)
    DBInstance.pending_modified_values = property(_instance_pending_modified_values)
    DBInstance.publicly_accessible = property(_get_publicly_accessible, _set_publicly_accessible)
    DBInstance.endpoint = property(_instance_endpoint)
    DBCluster.certificate_details = property(_cluster_certificate_details)
    DBCluster.pending_modified_values = property(_cluster_pending_modified_values)
    _original["default_db_parameter_group_details"] = DBInstance.default_db_parameter_group_details
    DBInstance.default_db_parameter_group_details = _default_db_parameter_group_details
    wrapped = {
        "create_db_instance": _create_db_instance,
        "modify_db_instance": _modify_db_instance,
        "reboot_db_instance": _reboot_db_instance,
        "modify_db_cluster": _modify_db_cluster,
        "describe_db_parameters": _describe_db_parameters,
        "describe_db_cluster_parameters": _describe_db_cluster_parameters,
        "describe_option_groups": _describe_option_groups,
        "modify_db_parameter_group": _modify_db_parameter_group,
    }
    for name in BOUNDED_DESCRIBES:
        wrapped[name] = _bounded(name)
    for name, func in wrapped.items():
        _original[name] = getattr(RDSResponse, name)
        setattr(RDSResponse, name, func)
    added = {
        "describe_certificates": _describe_certificates,
        "modify_certificates": _modify_certificates,
        "describe_db_engine_versions": _describe_db_engine_versions,
        "describe_pending_maintenance_actions": _describe_pending_maintenance_actions,
        "apply_pending_maintenance_action": _apply_pending_maintenance_action,
        "describe_db_log_files": _describe_db_log_files,
        "download_db_log_file_portion": _download_db_log_file_portion,
        "describe_db_proxies": _describe_db_proxies,
        "describe_db_proxy_targets": _describe_db_proxy_targets,
    }
    for name, func in added.items():
        setattr(RDSResponse, name, func)
    STATE.start_ticker()
    _installed = True
