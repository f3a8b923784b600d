"""The RDS simulator: moto's server, the RDS extensions, a fleet, and linked real databases."""

from __future__ import annotations

import os
import queue
import secrets
import shutil
import sys
import tempfile
import threading
from dataclasses import dataclass
from typing import Any

from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.rds.models import DBInstance, rds_backends
from werkzeug.serving import BaseWSGIServer, make_server

from . import accounts, cw_logs, rds_ext
from .control import ControlMiddleware
from .fleet import Fleet, FleetError, InstanceSpec, ProxySpec, load_fleet, parse_fleet, parse_maintenance, replica_source
from .linked import free_port
from .catalog import TRANSITIONAL_STATUSES
from .rds_ext import STATE, ClusterExtra, MaintenanceAction, RegionCertificates

# Credentials the simulator accepts; they are not secrets (moto ignores them unless IAM is enforced).
SIM_ACCESS_KEY = "AKIASIMULATOR0000000"
SIM_SECRET_KEY = "simulator-secret-key-not-a-real-one"


# moto snapshots every new instance and stops at 100 snapshots; benchmark fleets hold thousands.
os.environ.setdefault("MOTO_RDS_SNAPSHOT_LIMIT", "1000000")


def _endpoint_address(self: DBInstance) -> str:
    # RDS endpoints carry a per-account, per-region random label; a hash keeps it stable across runs.
    return (f"{self.db_instance_identifier}.{rds_ext.endpoint_label(self.account_id, self.region)}.{self.region}."
            f"{rds_ext.endpoint_domain(self.engine)}")


@dataclass
class LinkedDatabase:
    account: str
    region: str
    db_id: str
    engine: str
    address: str
    port: int
    server: Any
    ca: str
    # The last certificate swap that failed, if any (GET /_sim/linked shows it).
    error: str | None = None


# presented_ca of an endpoint whose ACM certificate no CA change replaces.
ACM = "acm"


class DatabaseLinker:
    """Keeps real local servers' certificates in step with the simulated CA changes."""

    def __init__(self, state_dir: str, main_account: str = "123456789012") -> None:
        from .pki import LocalPKI  # imported lazily: only fleets with linked databases need it

        self.state_dir = state_dir
        # Keys of GET /_sim/linked: "region/id" in the caller's account, "account/region/id" in the others.
        self.main_account = main_account
        self.pki = LocalPKI(os.path.join(state_dir, "pki"))
        self.admin_password = secrets.token_urlsafe(18)
        self.databases: dict[tuple[str, str, str], LinkedDatabase] = {}
        # RDS Proxy endpoints: TLS servers presenting ACM (Amazon Trust Services) certificates, never swapped by a
        # database's CA rotation.
        self.proxies: dict[tuple[str, str, str], LinkedDatabase] = {}
        self._acm_certs: dict[str, Any] = {}
        self._queue: queue.Queue = queue.Queue()
        self._worker = threading.Thread(target=self._work, name="rds-sim-linker", daemon=True)
        self._worker.start()

    def start(self, db: DBInstance, linked_engine: str, port: int, acm: Any = None) -> LinkedDatabase:
        """Start db's server on its current CA's certificate, or (``acm``: an Amazon Trust Services PKI) on one ACM
        wildcard certificate for the account's endpoints in the region that no CA change replaces."""
        from .linked import LinkedMariaDB, LinkedPostgres
        from .tls_endpoint import TLSEndpoint, engine_protocol, neptune_tls13

        cls = LinkedPostgres if linked_engine == "postgres" else LinkedMariaDB
        base_dir = os.path.join(self.state_dir, "db", f"{db.account_id}-{db.region}-{db.db_instance_identifier}")
        shutil.rmtree(base_dir, ignore_errors=True)
        os.makedirs(base_dir, exist_ok=True)
        if linked_engine == "tls":
            # DocumentDB (direct TLS) and Neptune (HTTPS): a plain TLS server presents the instance's certificate.
            server = TLSEndpoint(base_dir, port, db.address, engine_protocol(db.engine),
                                 tls13=db.engine != "neptune" or neptune_tls13(db.engine_version),
                                 status={"role": "writer" if getattr(db, "is_cluster_writer", False) else "reader",
                                         "dbEngineVersion": db.engine_version})
        elif linked_engine == "postgres":
            settings = rds_ext.log_settings(db)
            server = cls(base_dir, port, db.address, self.admin_password, force_ssl=rds_ext.tls_enforced(db),
                         log_connections=settings["log_connections"], log_line_prefix=settings["log_line_prefix"])
        else:
            server = cls(base_dir, port, db.address, self.admin_password, force_ssl=rds_ext.tls_enforced(db),
                         audit=rds_ext.audit_settings(db))
        if acm is not None:
            # Neptune User Guide, SSL/HTTPS: *.cluster-<label>, *.cluster-ro-<label> and *.<label> of the region.
            domain = db.address.split(".", 1)[1]
            if domain not in self._acm_certs:  # one per account and region
                self._acm_certs[domain] = acm.issue([f"*.{domain}", f"*.cluster-{domain}", f"*.cluster-ro-{domain}"])
            cert = self._acm_certs[domain]
        else:
            cert = self.pki.issue_server_cert(db.region, db.ca_certificate_identifier, [db.address])
        server.start(cert.cert_pem, cert.key_pem, cert.chain_pem)
        linked = LinkedDatabase(db.account_id, db.region, db.db_instance_identifier, linked_engine, db.address,
                                port, server, ACM if acm is not None else db.ca_certificate_identifier)
        self.databases[(db.account_id, db.region, db.db_instance_identifier)] = linked
        if linked_engine == "postgres":
            with rds_ext.STATE.lock:
                rds_ext.STATE.log_sources[(db.account_id, db.region, db.db_instance_identifier)] = server.log_path
        elif linked_engine == "mariadb" and server.audit is not None:
            with rds_ext.STATE.lock:
                rds_ext.STATE.audit_sources[(db.account_id, db.region, db.db_instance_identifier)] = server.audit_dir
        return linked

    def start_proxy(self, proxy: ProxySpec, ats: Any, port: int) -> LinkedDatabase:
        from .tls_endpoint import TLSEndpoint

        address = rds_ext.proxy_endpoint(proxy.name, proxy.account, proxy.region)
        base_dir = os.path.join(self.state_dir, "proxy", f"{proxy.account}-{proxy.region}-{proxy.name}")
        shutil.rmtree(base_dir, ignore_errors=True)
        cert = ats.issue([address])
        server = TLSEndpoint(base_dir, port, address, "postgres")
        server.start(cert.cert_pem, cert.key_pem, cert.chain_pem)
        linked = LinkedDatabase(proxy.account, proxy.region, proxy.name, "proxy", address, port, server, "ats")
        self.proxies[(proxy.account, proxy.region, proxy.name)] = linked
        return linked

    def describe_proxies(self) -> dict[str, Any]:
        return {
            (f"{region}/{name}" if account == self.main_account else f"{account}/{region}/{name}"): {
                "account": account, "region": region, "name": name, "address": linked.address, "host": "127.0.0.1",
                "port": linked.port, "presented_ca": "Amazon Root CA 1 (Amazon Trust Services)",
                "running": linked.server.is_running()}
            for (account, region, name), linked in self.proxies.items()
        }

    # CertificateListener: called from the ticker thread; the work is queued so
    # that a slow server restart never stalls other instances' transitions.
    def certificate_changed(self, account: str, region: str, db_id: str, ca_id: str, restart: bool) -> None:
        if (account, region, db_id) in self.databases:
            self._queue.put((account, region, db_id, ca_id, restart))

    def restarted(self, account: str, region: str, db_id: str, ca_id: str) -> None:
        if (account, region, db_id) in self.databases:
            self._queue.put((account, region, db_id, ca_id, True))

    def parameters_changed(self, account: str, region: str, db_id: str, settings: dict[str, Any]) -> None:
        """A linked PostgreSQL takes log_connections of its parameter group, applied now (a reload)."""
        linked = self.databases.get((account, region, db_id))
        if linked is not None and hasattr(linked.server, "set_log_connections"):
            linked.server.set_log_connections(settings["log_connections"])

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            account, region, db_id, ca_id, restart = item
            linked = self.databases.get((account, region, db_id))
            try:
                if linked is not None:
                    self._apply(linked, region, ca_id, restart)
            except Exception as exc:  # pylint: disable=broad-except
                # One server that cannot take its new certificate (stopped by a test, broken) must not end the
                # thread that serves every other instance's swaps; it is reported by GET /_sim/linked.
                linked.error = f"{type(exc).__name__}: {exc}"
                print(f"rds-sim-linker: {region}/{db_id}: {linked.error}", file=sys.stderr, flush=True)
            finally:
                self._queue.task_done()

    def _apply(self, linked: LinkedDatabase, region: str, ca_id: str, restart: bool) -> None:
        """Put ca_id's certificate on linked's server: a live reload, or files then a restart (a stopped server
        gets the files and is started again, as an instance starts with its current certificate)."""
        linked.error = None
        running = linked.server.is_running()
        if ca_id != linked.ca and linked.ca != ACM:
            cert = self.pki.issue_server_cert(region, ca_id, [linked.address])
            if running and not restart:
                linked.server.rotate(cert.cert_pem, cert.key_pem, cert.chain_pem)
            else:
                linked.server.install_tls(cert.cert_pem, cert.key_pem, cert.chain_pem)
            linked.ca = ca_id
        if restart or not running:
            linked.server.restart()

    def wait_idle(self) -> None:
        self._queue.join()

    def describe(self) -> dict[str, Any]:
        return {
            (f"{region}/{db_id}" if account == self.main_account else f"{account}/{region}/{db_id}"): {
                "account": account, "region": region, "id": db_id, "engine": linked.engine, "address": linked.address,
                "host": "127.0.0.1", "port": linked.port, "presented_ca": linked.ca,
                "admin_user": "admin", "admin_password": self.admin_password,
                "running": linked.server.is_running(), "error": linked.error}
            for (account, region, db_id), linked in self.databases.items()
        }

    def stop(self) -> None:
        self._queue.put(None)
        self._worker.join(timeout=10)
        for linked in [*self.databases.values(), *self.proxies.values()]:
            linked.server.stop()
        self.databases.clear()
        self.proxies.clear()


class QuietRequestHandler(MotoRequestHandler):
    """Per-request access lines would drown the test and demo output."""

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        return None


class Simulator:
    """One per process (moto's backends are process-global)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, state_dir: str | None = None) -> None:
        rds_ext.install()
        accounts.install()
        cw_logs.install()
        DBInstance.address = property(_endpoint_address)
        self.host = host
        self.port = port
        self._own_state_dir = state_dir is None
        if state_dir is not None:
            # --state-dir may name a directory that does not exist yet.
            os.makedirs(state_dir, mode=0o755, exist_ok=True)
        self.state_dir = state_dir or tempfile.mkdtemp(prefix="rds-sim-")
        os.chmod(self.state_dir, 0o755)
        self.fleet: Fleet | None = None
        self._schedules: list[tuple[DBInstance, list, str]] = []
        self.linker: DatabaseLinker | None = None
        self._ats: Any = None
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.middleware = ControlMiddleware(DomainDispatcherApplication(create_backend_app), {})
        self.middleware.handlers = self._handlers()
        self.middleware.request_account = accounts.request_account

    # -- lifecycle ------------------------------------------------------------
    def start(self) -> str:
        self._server = make_server(self.host, self.port, self.middleware, threaded=True,
                                   request_handler=QuietRequestHandler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="rds-sim-http", daemon=True)
        self._thread.start()
        return self.endpoint_url

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self.linker is not None:
            self.linker.stop()
            self.linker = None
        if self._own_state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    # -- fleet -----------------------------------------------------------------
    def load(self, fleet: Fleet | dict | str) -> Fleet:
        """Reset every backend and seed the fleet (a Fleet, a mapping, or a YAML path)."""
        if isinstance(fleet, str):
            fleet = load_fleet(fleet)
        elif isinstance(fleet, dict):
            fleet = parse_fleet(fleet)
        if self.linker is not None:
            self.linker.stop()
            self.linker = None
        moto_api_backend.reset()
        STATE.reset()
        cw_logs.reset()
        STATE.listeners.clear()
        STATE.timing = fleet.timing
        for ev in fleet.engine_versions:
            STATE.engine_versions[(ev.engine, ev.version)] = ev
        self._seed(fleet)
        self.fleet = fleet
        return fleet

    def _seed(self, fleet: Fleet) -> None:
        accounts.seed(fleet)
        for spec in fleet.instances:
            if STATE.engine_version(spec.engine, spec.engine_version) is None:
                raise FleetError(f"{spec.region}/{spec.id}: engine version {spec.engine} {spec.engine_version} is "
                                 "neither built in nor declared under engine_versions")
        for account, region, (default_ca, override) in fleet.account_region_defaults():
            certs = STATE.region_certs[(account, region)] = RegionCertificates()
            if default_ca:
                certs.default_ca = default_ca
            certs.customer_override = override
        for group in fleet.parameter_groups:
            self._seed_parameter_group(group.get("account", fleet.account_id), group)
        for group in fleet.option_groups:
            self._seed_option_group(group)
        for cluster in fleet.clusters:
            account = cluster.account
            backend = rds_backends[account][cluster.region]
            kwargs: dict[str, Any] = {
                "db_cluster_identifier": cluster.id, "engine": cluster.engine,
                "engine_version": cluster.engine_version, "master_username": "admin",
                "master_user_password": "not-used-by-the-simulator", "tags": _tag_list(cluster.tags),
                "preferred_maintenance_window": cluster.maintenance_window,
                "enable_cloudwatch_logs_exports": list(cluster.cloudwatch_logs_exports),
            }
            if cluster.multi_az_cluster:
                kwargs.update(db_cluster_instance_class=cluster.instance_class, storage_type="io1",
                              allocated_storage=100, iops=1000)
            created = backend.create_db_cluster(kwargs)
            created.status = "available"
            family = STATE.engine_version(cluster.engine, cluster.engine_version)
            if family is not None:
                created.parameter_group = f"default.{family.family}"
            if cluster.multi_az_cluster:
                STATE.clusters[(account, cluster.region, cluster.id)] = ClusterExtra(
                    ca=cluster.ca or STATE.default_ca(account, cluster.region), pending_ca=cluster.pending_ca)
        self._schedules: list[tuple[DBInstance, list, str]] = []
        ordered = sorted(fleet.instances, key=lambda s: (s.replica_of is not None, not s.writer))
        link_requests: list[tuple[DBInstance, InstanceSpec]] = []
        for spec in ordered:
            db = self._seed_instance(spec.account, spec)
            if spec.linked:
                link_requests.append((db, spec))
        for proxy in fleet.proxies:
            self._seed_proxy(proxy)
        linked_proxies = [proxy for proxy in fleet.proxies if proxy.linked]
        if link_requests or linked_proxies:
            self.linker = DatabaseLinker(self.state_dir, fleet.account_id)
            STATE.listeners.append(self.linker)
            for db, spec in link_requests:
                port = spec.port or free_port()
                db.port = port
                self.linker.start(db, spec.linked, port, acm=self.ats if spec.endpoint_certificate == "acm" else None)
            for proxy in linked_proxies:
                self.linker.start_proxy(proxy, self.ats, proxy.port or free_port())
        # Scheduled and seeded transitional statuses run from when the fleet is served (linked servers take a while).
        with STATE.lock:
            for db, steps, final in self._schedules:
                STATE.schedule(db, steps, final=final, counted=False)
        self._schedules = []

    @property
    def ats(self) -> Any:
        """The Amazon Trust Services stand-in that issues RDS Proxy certificates (tests/simulator/ats.py)."""
        if self._ats is None:
            from .ats import AmazonTrustServicesPKI

            self._ats = AmazonTrustServicesPKI(os.path.join(self.state_dir, "ats"))
        return self._ats

    @staticmethod
    def _seed_proxy(proxy: ProxySpec) -> None:
        """An RDS Proxy with a Secrets Manager login and its targets registered in the default target group."""
        account, region = proxy.account, proxy.region
        backend = rds_backends[account][region]
        rds_ext.default_subnet_group(account, region)
        subnets = [subnet.id for subnet in backend.subnet_groups["default"]._subnets]  # pylint: disable=protected-access
        created = backend.create_db_proxy(
            db_proxy_name=proxy.name, engine_family=proxy.engine_family,
            auth=[{"AuthScheme": "SECRETS", "IAMAuth": "DISABLED",
                   "SecretArn": f"arn:aws:secretsmanager:{region}:{account}:secret:{proxy.name}-login"}],
            role_arn=f"arn:aws:iam::{account}:role/{proxy.name}-secrets", vpc_subnet_ids=subnets,
            vpc_security_group_ids=None, require_tls=proxy.require_tls, idle_client_timeout=1800,
            debug_logging=False, tags=[])
        created.endpoint = rds_ext.proxy_endpoint(proxy.name, account, region)
        clusters = [t for t in proxy.targets if t in backend.clusters]
        backend.register_db_proxy_targets(proxy.name, "default", clusters,
                                          [t for t in proxy.targets if t not in clusters])

    def _seed_parameter_group(self, account: str, group: dict[str, Any]) -> None:
        backend = rds_backends[account][group["region"]]
        params = [{"ParameterName": k, "ParameterValue": str(v), "ApplyMethod": "immediate"}
                  for k, v in (group.get("parameters") or {}).items()]
        if group.get("cluster"):
            backend.create_db_cluster_parameter_group(group["name"], group["family"], "fleet", [])
            backend.modify_db_cluster_parameter_group(group["name"], params)
        else:
            backend.create_db_parameter_group({"db_parameter_group_name": group["name"],
                                               "db_parameter_group_family": group["family"],
                                               "description": "fleet", "tags": []})
            backend.modify_db_parameter_group(group["name"], params)

    def _seed_option_group(self, group: dict[str, Any]) -> None:
        """An option group (RDS User Guide, "Working with option groups") with its options and settings. Built
        directly: moto's CreateOptionGroup knows no MariaDB major version after 10.6."""
        from moto.rds.models import OptionGroup  # pylint: disable=import-outside-toplevel

        backend = rds_backends[group["account"]][group["region"]]
        created = OptionGroup(backend, option_group_name=group["name"], engine_name=group["engine"],
                              major_engine_version=str(group["major_engine_version"]),
                              option_group_description="fleet")
        created.add_options([{"OptionName": name, "OptionSettings": [{"Name": k, "Value": str(v)}
                                                                     for k, v in (settings or {}).items()]}
                             for name, settings in (group.get("options") or {}).items()])
        backend.option_groups[group["name"]] = created

    def _seed_instance(self, account: str, spec: InstanceSpec) -> DBInstance:
        backend = rds_backends[account][spec.region]
        ca = spec.ca
        if spec.cluster_id and (account, spec.region, spec.cluster_id) in STATE.clusters:
            ca = STATE.clusters[(account, spec.region, spec.cluster_id)].ca
        ca = ca or STATE.default_ca(account, spec.region)
        rds_ext.require_supported_ca(spec.engine, spec.engine_version, ca)
        if spec.replica_of:
            source_region, source_id = replica_source(spec)
            source: str = source_id
            if source_region != spec.region:
                # Cross-region read replica: created from the source's ARN, in its own region, on its own region's CA.
                source = rds_backends[account][source_region].databases[source_id].db_instance_arn
            db = backend.create_db_instance_read_replica({
                "db_instance_identifier": spec.id, "source_db_instance_identifier": source,
                "db_instance_class": spec.instance_class,
            })
            db.availability_zone = f"{spec.region}a"
            db.tags = _tag_list(spec.tags)
            db.ca_certificate_identifier = ca
        else:
            kwargs: dict[str, Any] = {
                "db_instance_identifier": spec.id, "db_instance_class": spec.instance_class,
                "engine": spec.engine, "engine_version": spec.engine_version, "multi_az": spec.multi_az,
                "tags": _tag_list(spec.tags), "ca_certificate_identifier": ca,
                "preferred_maintenance_window": spec.maintenance_window, "master_username": "admin",
                "master_user_password": "not-used-by-the-simulator",
            }
            if spec.parameter_group:
                kwargs["db_parameter_group_name"] = spec.parameter_group
            if spec.option_group:
                kwargs["option_group_name"] = spec.option_group
            if spec.cloudwatch_logs_exports:
                kwargs["enable_cloudwatch_logs_exports"] = list(spec.cloudwatch_logs_exports)
            if spec.cluster_id:
                kwargs["db_cluster_identifier"] = spec.cluster_id
            db = backend.create_db_instance(kwargs)
        if getattr(db, "db_subnet_group", None) is None:
            db.db_subnet_group_name = rds_ext.default_subnet_group(account, spec.region)
        if spec.port:
            db.port = spec.port
        db.status = spec.status
        extra = STATE.extra(db)
        if spec.schedule:
            self._schedules.append((db, [(status, seconds, None) for status, seconds in spec.schedule],
                                    spec.final_status))
        elif spec.status in TRANSITIONAL_STATUSES and not spec.pinned:
            # A seeded transitional status ends on its own, as it would on RDS.
            self._schedules.append((db, [(spec.status, STATE.timing.duration(spec.status), None)],
                                    TRANSITIONAL_STATUSES[spec.status]))
        extra.presented_ca = ca
        if spec.pending_ca:
            extra.pending_ca = spec.pending_ca
        if spec.maintenance == "none":
            extra.maintenance_suppressed = True
        maintenance = parse_maintenance(spec)
        if maintenance is not None:
            computed = rds_ext.maintenance_action(db)
            extra.maintenance = MaintenanceAction(
                auto_applied_after=maintenance.get("auto_applied_after") or (
                    computed.auto_applied_after if computed else rds_ext.utcnow()),
                forced_apply=maintenance.get("forced_apply") or (
                    computed.forced_apply if computed else rds_ext.utcnow()),
                opt_in_status=maintenance.get("opt_in"),
            )
            if extra.maintenance.opt_in_status == "next-maintenance":
                extra.maintenance.current_apply_date = rds_ext.next_maintenance_window(spec.maintenance_window)
        return db

    # -- control API -----------------------------------------------------------
    def _handlers(self) -> dict:
        return {
            ("GET", "/_sim/health"): lambda _b: {"ok": True, "regions": self.fleet.regions if self.fleet else []},
            ("GET", "/_sim/calls"): lambda _b: self.middleware.calls.snapshot(),
            ("POST", "/_sim/calls/reset"): lambda _b: (self.middleware.calls.reset(), {"reset": True})[1],
            ("POST", "/_sim/faults"): self.middleware.set_faults,
            ("DELETE", "/_sim/faults"): self.middleware.clear_faults,
            ("POST", "/_sim/maintenance"): self._control_maintenance,
            ("GET", "/_sim/linked"): lambda _b: self.linker.describe() if self.linker else {},
            ("POST", "/_sim/linked/wait"): lambda _b: (self.linker.wait_idle() if self.linker else None,
                                                       {"idle": True})[1],
            ("POST", "/_sim/fleet"): self._control_fleet,
            ("GET", "/_sim/bundle"): self._control_bundle,
            ("GET", "/_sim/stats"): lambda _b: STATE.stats(),
            ("GET", "/_sim/accounts"): lambda _b: accounts.ACCOUNTS.describe(),
            ("GET", "/_sim/proxies"): lambda _b: self.linker.describe_proxies() if self.linker else {},
            ("GET", "/_sim/ats-bundle"): lambda _b: {"path": str(self.ats.root_path)},
            ("POST", "/_sim/accounts/deny"): accounts.deny,
            ("DELETE", "/_sim/accounts/deny"): accounts.allow_all,
        }

    def _control_maintenance(self, body: dict[str, Any]) -> dict[str, Any]:
        account = body.get("account", self.fleet.account_id if self.fleet else "123456789012")
        return {"applied": rds_ext.run_maintenance(account, body["region"], body.get("identifiers"))}

    def _control_fleet(self, body: dict[str, Any]) -> dict[str, Any]:
        fleet = self.load(body["path"] if "path" in body else body["fleet"])
        return {"regions": fleet.regions, "instances": len(fleet.instances), "clusters": len(fleet.clusters)}

    def _control_bundle(self, _body: dict[str, Any]) -> dict[str, Any]:
        if self.linker is None:
            raise ValueError("this fleet has no linked databases, so no local CA bundle")
        path = os.path.join(self.state_dir, "sim-bundle.pem")
        # Every CA of every fleet region, not only those generated so far: clients get the new CAs before rotating.
        self.linker.pki.write_bundle(path, regions=self.fleet.regions if self.fleet else None)
        return {"path": path}


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]
