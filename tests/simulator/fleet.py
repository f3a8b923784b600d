"""Fleet files: the YAML that describes what the simulated estate holds.

Format (every key but ``regions`` is optional; see docs/simulator.md)::

    account_id: "123456789012"      # the caller's account: the simulator's own credentials land in it
    accounts:                       # more AWS accounts, reached with sts:AssumeRole (docs/simulator.md)
      "210987654321":
        alias: shop-prod                   # iam:ListAccountAliases
        roles: [rdsca-audit, rdsca-rotation]   # roles that exist there; AssumeRole into another: AccessDenied
        deny_assume_role: [rdsca-rotation] # these refuse the caller (true: every role): AccessDenied
        external_id: "rdsca-2024"          # the roles' trust policy requires this sts:ExternalId
        regions: {...}                     # that account's estate, the same format as `regions:` below
    organization:                   # AWS Organizations (ListAccounts): the caller's account is the management
                                    # account, every account of `accounts:` a member (`organization: true`: defaults)
      names: {"210987654321": shop-prod}   # each account's Name (default: its alias, else its ID)
      suspended: ["210987654321"]          # members listed with Status SUSPENDED
    timing: {modify_seconds: 1, reboot_seconds: 1, maintenance_notice_days: 395,
             time_compression: 0.01, seed: 0}   # with time_compression: durations drawn from RDS's
                                                 # minutes (catalog.REALISTIC_MINUTES) times the factor
    engine_versions:            # added to / overriding the built-in catalog
      - {engine: postgres, version: "11.22", rotation_without_restart: false,
         supported_cas: [rds-ca-2019, rds-ca-rsa2048-g1], family: postgres11, default: false}
    regions:
      us-east-1:
        default_ca: rds-ca-rsa2048-g1      # DefaultCertificateForNewLaunches
        customer_override: null            # as set by ModifyCertificates
        parameter_groups:
          - {name: pg16-no-ssl, family: postgres16, parameters: {rds.force_ssl: "0"}}
        option_groups:                     # DescribeOptionGroups; a linked MariaDB applies them at start
          - {name: maria-audit, engine: mariadb, major_engine_version: "10.11",
             options: {MARIADB_AUDIT_PLUGIN: {SERVER_AUDIT_EVENTS: CONNECT}}}   # the real server_audit plugin
        instances:
          - id: orders-staging
            engine: postgres
            engine_version: "16.3"
            class: db.t3.micro
            ca: rds-ca-2019                # default: the region's default CA
            tags: {Environment: staging}
            multi_az: false
            parameter_group: pg16-no-ssl
            replica_of: orders-primary     # read replica of another instance (eu-west-1/orders-eu:
                                           # cross-region, on this region's CA)
            pending_ca: rds-ca-rsa2048-g1  # PendingModifiedValues.CACertificateIdentifier
            maintenance: {auto_applied_after: 2026-12-01, forced_apply: 2027-01-15,
                          opt_in: next-maintenance}   # or `maintenance: none`
            maintenance_window: "sun:05:00-sun:05:30"
            status: available              # or stopped, storage-full ...; a transitional status
                                           # (backing-up, modifying, rebooting...) ends on its own
            pinned: false                  # true: a transitional status stays until changed
            schedule:                      # instead of status: statuses in turn, each for `seconds`
              - {status: available, seconds: 2}
              - {status: backing-up, seconds: 3}
              - {status: available}        # no seconds: the last one stays (default: available)
            linked: postgres               # backed by a real local TLS server
            cloudwatch_logs_exports: [postgresql]   # EnabledCloudwatchLogsExports: the linked server's log
                                           # is served by CloudWatch Logs (Aurora: on the cluster)
            count: 3                       # expand to orders-staging-1..3
            option_group: maria-audit      # OptionGroupName (an option group of the same engine and region;
                                           # default: default:<engine>-<major>, without options)
        proxies:                           # RDS Proxy (DescribeDBProxies, DescribeDBProxyTargets)
          - {name: orders-proxy, engine_family: POSTGRESQL, targets: [orders-staging], require_tls: true,
             linked: true}                 # a TLS server on the proxy endpoint with its ACM (ATS) certificate
        clusters:
          - id: inventory-aurora           # Aurora: members carry their own CA
            engine: aurora-postgresql
            engine_version: "15.4"
            tags: {Environment: production}
            members:
              - {id: inventory-aurora-1, writer: true, ca: rds-ca-2019}
              - {id: inventory-aurora-2, ca: rds-ca-2019}
          - id: graph                      # Neptune (or docdb): members carry their own CA, as Aurora's
            engine: neptune
            engine_version: "1.3.2.1"
            endpoint_certificate: rds-ca   # acm: linked endpoints present an ACM wildcard (ATS) certificate
            members: [{id: graph-1, linked: tls}]   # a TLS stand-in (DocumentDB: direct TLS, Neptune: HTTPS)
          - id: ledger-maz                 # Multi-AZ DB cluster: one cluster-level CA
            engine: postgres
            engine_version: "16.3"
            multi_az_cluster: true
            ca: rds-ca-rsa2048-g1
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from .catalog import CA_CERTIFICATES, DEFAULT_PORTS, MEMBER_CA_CLUSTER_ENGINES, EngineVersion, Timing

DEFAULT_ACCOUNT = "123456789012"
TOP_KEYS = {"account_id", "accounts", "organization", "timing", "engine_versions", "regions", "description"}
ORGANIZATION_KEYS = {"names", "suspended", "description"}
ACCOUNT_KEYS = {"alias", "roles", "deny_assume_role", "external_id", "regions", "description"}
_ACCOUNT_ID = re.compile(r"^\d{12}$")
# IAM role names (IAM User Guide, "IAM object quotas": up to 64 of these characters).
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
REGION_KEYS = {"default_ca", "customer_override", "instances", "clusters", "parameter_groups", "proxies",
               "option_groups"}
PROXY_KEYS = {"name", "engine_family", "targets", "require_tls", "linked", "port"}
# RDS Proxy engine families (RDS API Reference, CreateDBProxy EngineFamily) and the engines behind each.
PROXY_ENGINE_FAMILIES = {"POSTGRESQL": ("postgres", "aurora-postgresql"), "MYSQL": ("mysql", "mariadb", "aurora-mysql"),
                         "SQLSERVER": ("sqlserver-se", "sqlserver-ee", "sqlserver-ex", "sqlserver-web")}
INSTANCE_KEYS = {
    "id", "engine", "engine_version", "class", "ca", "tags", "multi_az", "parameter_group", "replica_of",
    "pending_ca", "maintenance", "maintenance_window", "status", "linked", "count", "port", "pinned", "schedule",
    "cloudwatch_logs_exports", "option_group",
}
CLUSTER_KEYS = {"id", "engine", "engine_version", "tags", "members", "multi_az_cluster", "ca", "class",
                "maintenance_window", "pending_ca", "endpoint_certificate", "cloudwatch_logs_exports"}
# What a linked Neptune endpoint presents: the instance's RDS CA chain (issue 17), or one ACM wildcard certificate
# per account and region chained to Amazon Trust Services, as the Neptune User Guide describes (docs/simulator.md).
ENDPOINT_CERTIFICATES = ("rds-ca", "acm")
MEMBER_KEYS = {"id", "writer", "ca", "class", "linked", "tags", "pending_ca", "maintenance", "status", "pinned",
               "schedule", "port"}
LINKABLE = {"postgres": "postgres", "aurora-postgresql": "postgres", "mysql": "mariadb", "mariadb": "mariadb",
            "aurora-mysql": "mariadb",
            # A plain TLS server stands in (tests/simulator/tls_endpoint.py): DocumentDB direct TLS, Neptune HTTPS.
            "docdb": "tls", "neptune": "tls"}


class FleetError(ValueError):
    """A fleet file that does not describe a valid estate; the message says where."""


@dataclass
class InstanceSpec:
    region: str
    id: str
    engine: str
    engine_version: str
    instance_class: str = "db.t3.micro"
    ca: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    multi_az: bool = False
    parameter_group: str | None = None
    replica_of: str | None = None
    pending_ca: str | None = None
    maintenance: dict[str, Any] | str | None = None
    maintenance_window: str = "sun:05:00-sun:05:30"
    status: str = "available"
    linked: str | None = None
    cluster_id: str | None = None
    writer: bool = False
    port: int | None = None
    pinned: bool = False
    # (status, seconds) steps, then final_status (see the module docstring).
    schedule: list[tuple[str, float]] = field(default_factory=list)
    final_status: str = "available"
    account: str = DEFAULT_ACCOUNT
    endpoint_certificate: str = "rds-ca"
    # EnabledCloudwatchLogsExports (RDS API Reference, CreateDBInstance EnableCloudwatchLogsExports).
    cloudwatch_logs_exports: list[str] = field(default_factory=list)
    # OptionGroupName (RDS API Reference, CreateDBInstance), one of the region's option_groups.
    option_group: str | None = None


@dataclass
class ClusterSpec:
    region: str
    id: str
    engine: str
    engine_version: str
    tags: dict[str, str] = field(default_factory=dict)
    multi_az_cluster: bool = False
    ca: str | None = None
    pending_ca: str | None = None
    instance_class: str = "db.r6g.large"
    maintenance_window: str = "sun:06:00-sun:06:30"
    account: str = DEFAULT_ACCOUNT
    # Aurora exports its members' logs at the cluster level (RDS API Reference, CreateDBCluster).
    cloudwatch_logs_exports: list[str] = field(default_factory=list)


@dataclass
class ProxySpec:
    """An RDS Proxy in front of DB instances or clusters of its region (and account)."""
    region: str
    name: str
    engine_family: str
    targets: list[str]
    require_tls: bool = True
    # A TLS server on the proxy endpoint presenting its ACM (Amazon Trust Services) certificate.
    linked: bool = False
    port: int | None = None
    account: str = DEFAULT_ACCOUNT


@dataclass
class AccountSpec:
    """An account of the estate other than the caller's (or the caller's own roles): what sts:AssumeRole finds."""
    account_id: str
    alias: str | None = None
    roles: tuple[str, ...] = ()
    # Role names whose trust policy refuses the caller; "*" refuses every role.
    denied_roles: frozenset[str] = frozenset()
    external_id: str | None = None
    region_defaults: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)


@dataclass
class OrganizationSpec:
    """AWS Organizations: the management account (the caller's) and its members, as ListAccounts lists them."""
    management: str
    members: tuple[str, ...] = ()
    names: dict[str, str] = field(default_factory=dict)
    suspended: frozenset[str] = frozenset()


@dataclass
class Fleet:
    account_id: str = DEFAULT_ACCOUNT
    timing: Timing = field(default_factory=Timing)
    engine_versions: list[EngineVersion] = field(default_factory=list)
    region_defaults: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    parameter_groups: list[dict[str, Any]] = field(default_factory=list)
    # {region, account, name, engine, major_engine_version, options: {OptionName: {setting: value}}}
    option_groups: list[dict[str, Any]] = field(default_factory=list)
    instances: list[InstanceSpec] = field(default_factory=list)
    clusters: list[ClusterSpec] = field(default_factory=list)
    accounts: dict[str, AccountSpec] = field(default_factory=dict)
    proxies: list[ProxySpec] = field(default_factory=list)
    organization: OrganizationSpec | None = None

    @property
    def regions(self) -> list[str]:
        """Every region of the estate, the caller's account's first."""
        regions = list(self.region_defaults)
        for account in self.accounts.values():
            regions += [r for r in account.region_defaults if r not in regions]
        return regions

    def account_region_defaults(self) -> list[tuple[str, str, tuple[str | None, str | None]]]:
        """(account, region, (default_ca, customer_override)) for every account and region of the estate."""
        items = [(self.account_id, region, defaults) for region, defaults in self.region_defaults.items()]
        for account in self.accounts.values():
            items += [(account.account_id, region, defaults) for region, defaults in account.region_defaults.items()]
        return items


def _check_keys(where: str, data: Any, allowed: set[str]) -> None:
    if not isinstance(data, dict):
        raise FleetError(f"{where}: expected a mapping, got {type(data).__name__}")
    unknown = set(data) - allowed
    if unknown:
        raise FleetError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")


def _check_ca(where: str, ca: str | None) -> None:
    if ca is not None and ca not in CA_CERTIFICATES:
        raise FleetError(f"{where}: unknown CA {ca!r}; known: {sorted(CA_CERTIFICATES)}")


def _tags(where: str, tags: Any) -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, dict):
        raise FleetError(f"{where}.tags: expected a mapping of tag keys to values")
    return {str(k): str(v) for k, v in tags.items()}


def _date(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    return dt.datetime.fromisoformat(str(value)).replace(tzinfo=dt.timezone.utc)


def parse_fleet(data: dict[str, Any]) -> Fleet:
    """Validate a fleet mapping and turn it into specs (raises FleetError with the path of the problem)."""
    _check_keys("fleet", data, TOP_KEYS)
    if not data.get("regions"):
        raise FleetError("fleet: 'regions' is required and must name at least one region")
    fleet = Fleet(account_id=str(data.get("account_id", DEFAULT_ACCOUNT)))
    if not _ACCOUNT_ID.match(fleet.account_id):
        raise FleetError("fleet.account_id: an AWS account ID is 12 digits (quote it in YAML)")
    timing = data.get("timing") or {}
    _check_keys("fleet.timing", timing, {"modify_seconds", "reboot_seconds", "maintenance_notice_days",
                                         "time_compression", "seed"})
    try:
        fleet.timing = Timing(**timing)
    except ValueError as exc:
        raise FleetError(f"fleet.timing: {exc}") from exc
    known_versions: dict[tuple[str, str], bool] = {}
    for i, ev in enumerate(data.get("engine_versions") or []):
        where = f"fleet.engine_versions[{i}]"
        _check_keys(where, ev, {"engine", "version", "rotation_without_restart", "supported_cas", "family",
                                "default", "description"})
        for ca in ev.get("supported_cas", []):
            _check_ca(where, ca)
        major = str(ev["version"]).split(".", 1)[0]
        fleet.engine_versions.append(EngineVersion(
            engine=ev["engine"], version=str(ev["version"]),
            family=ev.get("family") or f"{ev['engine']}{major}",
            rotation_without_restart=bool(ev.get("rotation_without_restart", False)),
            supported_cas=tuple(ev.get("supported_cas") or CA_CERTIFICATES),
            description=ev.get("description", ""), is_default=bool(ev.get("default", False)),
        ))
        known_versions[(ev["engine"], str(ev["version"]))] = True
    for region, rdata in data["regions"].items():
        _region(f"fleet.regions.{region}", fleet.account_id, region, rdata, fleet, fleet.region_defaults)
    _accounts(data.get("accounts"), fleet)
    _organization(data.get("organization"), fleet)
    _check_references(fleet)
    return fleet


def _region(where: str, account: str, region: str, rdata: Any, fleet: Fleet,
            defaults: dict[str, tuple[str | None, str | None]]) -> None:
    rdata = rdata or {}
    _check_keys(where, rdata, REGION_KEYS)
    _check_ca(f"{where}.default_ca", rdata.get("default_ca"))
    _check_ca(f"{where}.customer_override", rdata.get("customer_override"))
    defaults[region] = (rdata.get("default_ca"), rdata.get("customer_override"))
    for j, group in enumerate(rdata.get("parameter_groups") or []):
        _check_keys(f"{where}.parameter_groups[{j}]", group, {"name", "family", "parameters", "cluster"})
        fleet.parameter_groups.append({"region": region, "account": account, **group})
    for j, group in enumerate(rdata.get("option_groups") or []):
        gwhere = f"{where}.option_groups[{j}]"
        _check_keys(gwhere, group, {"name", "engine", "major_engine_version", "options"})
        if not group.get("name") or not group.get("engine") or not group.get("major_engine_version"):
            raise FleetError(f"{gwhere}: 'name', 'engine' and 'major_engine_version' are required")
        options = group.get("options") or {}
        if not isinstance(options, dict) or any(not isinstance(v, (dict, type(None))) for v in options.values()):
            raise FleetError(f"{gwhere}.options: a mapping of option name to its settings (a mapping)")
        fleet.option_groups.append({"region": region, "account": account, **group, "options": options})
    for j, inst in enumerate(rdata.get("instances") or []):
        fleet.instances.extend(_instances(f"{where}.instances[{j}]", region, inst, account))
    for j, cluster in enumerate(rdata.get("clusters") or []):
        _cluster(f"{where}.clusters[{j}]", region, cluster, fleet, account)
    for j, proxy in enumerate(rdata.get("proxies") or []):
        pwhere = f"{where}.proxies[{j}]"
        _check_keys(pwhere, proxy, PROXY_KEYS)
        if not proxy.get("name") or not proxy.get("targets") or not isinstance(proxy["targets"], list):
            raise FleetError(f"{pwhere}: 'name' and a list of 'targets' (DB instance or cluster ids) are required")
        family = proxy.get("engine_family", "POSTGRESQL")
        if family not in PROXY_ENGINE_FAMILIES:
            raise FleetError(f"{pwhere}.engine_family: one of {sorted(PROXY_ENGINE_FAMILIES)}")
        if proxy.get("linked") and family != "POSTGRESQL":
            raise FleetError(f"{pwhere}: only a POSTGRESQL proxy can be linked to a TLS endpoint")
        fleet.proxies.append(ProxySpec(region=region, name=str(proxy["name"]), engine_family=family,
                                       targets=[str(t) for t in proxy["targets"]],
                                       require_tls=bool(proxy.get("require_tls", True)),
                                       linked=bool(proxy.get("linked", False)), port=proxy.get("port"),
                                       account=account))


def _accounts(raw: Any, fleet: Fleet) -> None:
    """`accounts:`: more accounts with their estates, and who may assume which role (sts:AssumeRole)."""
    if raw is None:
        return
    if not isinstance(raw, dict):
        raise FleetError("fleet.accounts: a mapping of 12-digit account IDs to accounts")
    for account_id, adata in raw.items():
        account_id = str(account_id)
        where = f"fleet.accounts.{account_id}"
        if not _ACCOUNT_ID.match(account_id):
            raise FleetError(f"{where}: an AWS account ID is 12 digits (quote it in YAML)")
        adata = adata or {}
        _check_keys(where, adata, ACCOUNT_KEYS)
        roles = adata.get("roles") or []
        if not isinstance(roles, list) or any(not isinstance(r, str) or not _ROLE_NAME.match(r) for r in roles):
            raise FleetError(f"{where}.roles: a list of IAM role names")
        deny = adata.get("deny_assume_role", [])
        if deny is True:
            denied = frozenset({"*"})
        elif isinstance(deny, list) and all(isinstance(r, str) for r in deny):
            unknown = set(deny) - set(roles)
            if unknown:
                raise FleetError(f"{where}.deny_assume_role: {sorted(unknown)} not among its roles {roles}")
            denied = frozenset(deny)
        else:
            raise FleetError(f"{where}.deny_assume_role: true or a list of role names")
        spec = AccountSpec(account_id=account_id, alias=adata.get("alias"), roles=tuple(roles), denied_roles=denied,
                           external_id=adata.get("external_id"))
        if account_id == fleet.account_id:
            if adata.get("regions"):
                raise FleetError(f"{where}: the caller's account's estate is the top-level 'regions'")
        for region, rdata in (adata.get("regions") or {}).items():
            _region(f"{where}.regions.{region}", account_id, region, rdata, fleet, spec.region_defaults)
        fleet.accounts[account_id] = spec


def _organization(raw: Any, fleet: Fleet) -> None:
    """`organization:`: the caller's account manages an organization whose members are the fleet's accounts."""
    if raw is None or raw is False:
        return
    raw = {} if raw is True else raw
    _check_keys("fleet.organization", raw, ORGANIZATION_KEYS)
    members = tuple(a for a in fleet.accounts if a != fleet.account_id)
    known = {fleet.account_id, *members}
    names = raw.get("names") or {}
    if not isinstance(names, dict) or any(not isinstance(v, str) or not v for v in names.values()):
        raise FleetError("fleet.organization.names: a mapping of account IDs to account names")
    names = dict((str(k), v) for k, v in names.items())
    suspended = [str(a) for a in raw.get("suspended") or []]
    for key, ids, allowed in (("names", names, known), ("suspended", suspended, set(members))):
        unknown = sorted(set(ids) - allowed)
        if unknown:
            raise FleetError(f"fleet.organization.{key}: {unknown} are not "
                             f"{'accounts of the fleet' if key == 'names' else 'member accounts (fleet.accounts)'}")
    for account_id in known:
        spec = fleet.accounts.get(account_id)
        names.setdefault(account_id, (spec.alias if spec else None) or account_id)
    fleet.organization = OrganizationSpec(management=fleet.account_id, members=members, names=names,
                                          suspended=frozenset(suspended))


def _instances(where: str, region: str, inst: dict[str, Any], account: str = DEFAULT_ACCOUNT) -> list[InstanceSpec]:
    _check_keys(where, inst, INSTANCE_KEYS)
    for key in ("id", "engine", "engine_version"):
        if key not in inst:
            raise FleetError(f"{where}: '{key}' is required")
    for key in ("ca", "pending_ca"):
        _check_ca(f"{where}.{key}", inst.get(key))
    linked = inst.get("linked")
    if linked is not None and LINKABLE.get(inst["engine"]) != linked:
        raise FleetError(f"{where}: engine {inst['engine']} cannot be linked to a real {linked!r} server")
    count = int(inst.get("count", 1))
    if count < 1:
        raise FleetError(f"{where}.count: must be at least 1")
    schedule, final_status = _schedule(where, inst)
    specs = []
    for n in range(count):
        ident = inst["id"] if count == 1 else f"{inst['id']}-{n + 1}"
        specs.append(InstanceSpec(
            region=region, id=ident, engine=inst["engine"], engine_version=str(inst["engine_version"]),
            instance_class=inst.get("class", "db.t3.micro"), ca=inst.get("ca"), tags=_tags(where, inst.get("tags")),
            multi_az=bool(inst.get("multi_az", False)), parameter_group=inst.get("parameter_group"),
            replica_of=inst.get("replica_of"), pending_ca=inst.get("pending_ca"),
            maintenance=inst.get("maintenance"),
            maintenance_window=inst.get("maintenance_window", "sun:05:00-sun:05:30"),
            status=inst.get("status", "available"), linked=linked, port=inst.get("port"),
            pinned=bool(inst.get("pinned", False)), schedule=schedule, final_status=final_status, account=account,
            cloudwatch_logs_exports=_log_exports(where, inst), option_group=inst.get("option_group"),
        ))
    return specs


def _schedule(where: str, inst: dict[str, Any]) -> tuple[list[tuple[str, float]], str]:
    """`schedule:` as (status, seconds) steps and the status that stays after them."""
    raw = inst.get("schedule")
    if raw is None:
        return [], "available"
    if "status" in inst:
        raise FleetError(f"{where}: give either 'status' or 'schedule', not both")
    if not isinstance(raw, list) or not raw:
        raise FleetError(f"{where}.schedule: a non-empty list of {{status, seconds}}")
    steps: list[tuple[str, float]] = []
    final = "available"
    for k, item in enumerate(raw):
        iwhere = f"{where}.schedule[{k}]"
        _check_keys(iwhere, item, {"status", "seconds"})
        if not isinstance(item.get("status"), str) or not item["status"]:
            raise FleetError(f"{iwhere}: 'status' is required")
        if "seconds" not in item:
            if k != len(raw) - 1:
                raise FleetError(f"{iwhere}: only the last entry may omit 'seconds' (it stays)")
            final = item["status"]
            continue
        seconds = item["seconds"]
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= 86400:
            raise FleetError(f"{iwhere}.seconds: a number of seconds from 0 to 86400, got {seconds!r}")
        steps.append((item["status"], float(seconds)))
    if not steps:
        raise FleetError(f"{where}.schedule: at least one entry needs 'seconds'")
    return steps, final


# Log types RDS can export to CloudWatch Logs (RDS API Reference, CloudwatchLogsExportConfiguration).
LOG_EXPORTS = {"postgres": ("postgresql", "upgrade", "iam-db-auth-error"),
               "aurora-postgresql": ("postgresql", "instance", "iam-db-auth-error"),
               "mysql": ("error", "general", "slowquery", "iam-db-auth-error"),
               "mariadb": ("audit", "error", "general", "slowquery", "iam-db-auth-error"),
               "aurora-mysql": ("audit", "error", "general", "instance", "slowquery", "iam-db-auth-error")}


def _log_exports(where: str, item: dict[str, Any], engine: str | None = None) -> list[str]:
    exports = item.get("cloudwatch_logs_exports") or []
    engine = engine or item["engine"]
    if not isinstance(exports, list) or any(e not in LOG_EXPORTS.get(engine, ()) for e in exports):
        raise FleetError(f"{where}.cloudwatch_logs_exports: a list of {list(LOG_EXPORTS.get(engine, ()))} for {engine}")
    return [str(e) for e in exports]


def _cluster(where: str, region: str, cluster: dict[str, Any], fleet: Fleet, account: str = DEFAULT_ACCOUNT) -> None:
    _check_keys(where, cluster, CLUSTER_KEYS)
    for key in ("id", "engine", "engine_version"):
        if key not in cluster:
            raise FleetError(f"{where}: '{key}' is required")
    _check_ca(f"{where}.ca", cluster.get("ca"))
    multi_az = bool(cluster.get("multi_az_cluster", False))
    if multi_az and cluster["engine"] not in ("postgres", "mysql"):
        raise FleetError(f"{where}: Multi-AZ DB clusters are postgres or mysql, not {cluster['engine']}")
    if not multi_az and not (cluster["engine"].startswith("aurora") or cluster["engine"] in MEMBER_CA_CLUSTER_ENGINES):
        raise FleetError(f"{where}: a cluster of engine {cluster['engine']} must set multi_az_cluster: true")
    if multi_az and cluster.get("members"):
        raise FleetError(f"{where}: a Multi-AZ DB cluster gets its three members automatically; drop 'members'")
    endpoint_certificate = cluster.get("endpoint_certificate", "rds-ca")
    if endpoint_certificate not in ENDPOINT_CERTIFICATES or (endpoint_certificate == "acm"
                                                             and cluster["engine"] != "neptune"):
        raise FleetError(f"{where}.endpoint_certificate: 'rds-ca', or 'acm' for a Neptune cluster")
    tags = _tags(where, cluster.get("tags"))
    spec = ClusterSpec(region=region, id=cluster["id"], engine=cluster["engine"],
                       engine_version=str(cluster["engine_version"]), tags=tags, multi_az_cluster=multi_az,
                       ca=cluster.get("ca"), pending_ca=cluster.get("pending_ca"),
                       instance_class=cluster.get("class", "db.r6g.large"),
                       maintenance_window=cluster.get("maintenance_window", "sun:06:00-sun:06:30"), account=account,
                       cloudwatch_logs_exports=_log_exports(where, cluster))
    fleet.clusters.append(spec)
    members = cluster.get("members") or []
    if multi_az:
        members = [{"id": f"{spec.id}-instance-{n}", "writer": n == 1} for n in (1, 2, 3)]
    if not members:
        raise FleetError(f"{where}: an Aurora cluster needs at least one member")
    if sum(1 for m in members if m.get("writer")) > 1:
        raise FleetError(f"{where}: only one member may be the writer")
    for k, member in enumerate(members):
        mwhere = f"{where}.members[{k}]"
        _check_keys(mwhere, member, MEMBER_KEYS)
        if "id" not in member:
            raise FleetError(f"{mwhere}: 'id' is required")
        _check_ca(f"{mwhere}.ca", member.get("ca"))
        linked = member.get("linked")
        if linked is not None and LINKABLE.get(spec.engine) != linked:
            raise FleetError(f"{mwhere}: engine {spec.engine} cannot be linked to a real {linked!r} server")
        schedule, final_status = _schedule(mwhere, member)
        fleet.instances.append(InstanceSpec(
            region=region, id=member["id"], engine=spec.engine, engine_version=spec.engine_version,
            instance_class=member.get("class", spec.instance_class),
            ca=spec.ca if multi_az else member.get("ca", cluster.get("ca")),
            tags={**tags, **_tags(mwhere, member.get("tags"))}, cluster_id=spec.id,
            writer=bool(member.get("writer", k == 0 and not any(m.get("writer") for m in members))),
            pending_ca=member.get("pending_ca"), maintenance=member.get("maintenance"),
            status=member.get("status", "available"), linked=linked,
            maintenance_window=spec.maintenance_window, port=member.get("port"),
            pinned=bool(member.get("pinned", False)), schedule=schedule, final_status=final_status, account=account,
            endpoint_certificate=endpoint_certificate,
        ))


def _check_references(fleet: Fleet) -> None:
    ids: dict[tuple[str, str, str], InstanceSpec] = {}
    for spec in fleet.instances:
        key = (spec.account, spec.region, spec.id)
        if key in ids:
            raise FleetError(f"fleet.regions.{spec.region}: instance id {spec.id!r} is used twice")
        ids[key] = spec
    clusters = {(c.account, c.region, c.id): c for c in fleet.clusters}
    for proxy in fleet.proxies:
        for target in proxy.targets:
            behind = ids.get((proxy.account, proxy.region, target)) or clusters.get((proxy.account, proxy.region, target))
            if behind is None:
                raise FleetError(f"fleet.regions.{proxy.region}: proxy {proxy.name} targets unknown {target!r}")
            if behind.engine not in PROXY_ENGINE_FAMILIES[proxy.engine_family]:
                raise FleetError(f"fleet.regions.{proxy.region}: proxy {proxy.name} ({proxy.engine_family}) cannot "
                                 f"front {target} ({behind.engine})")
    option_groups = {(g["account"], g["region"], g["name"]): g for g in fleet.option_groups}
    for spec in fleet.instances:
        group = option_groups.get((spec.account, spec.region, spec.option_group)) if spec.option_group else None
        if spec.option_group and (group is None or group["engine"] != spec.engine):
            raise FleetError(f"fleet.regions.{spec.region}: {spec.id} uses option group {spec.option_group!r}, which "
                             f"is not an option group of engine {spec.engine} in that region")
        if spec.replica_of and (spec.account, *replica_source(spec)) not in ids:
            raise FleetError(f"fleet.regions.{spec.region}: {spec.id} is a replica of unknown {spec.replica_of!r}")
        if isinstance(spec.maintenance, dict):
            unknown = set(spec.maintenance) - {"auto_applied_after", "forced_apply", "opt_in"}
            if unknown:
                raise FleetError(f"{spec.id}.maintenance: unknown key(s) {sorted(unknown)}")
        elif spec.maintenance not in (None, "none"):
            raise FleetError(f"{spec.id}.maintenance: a mapping or 'none'")


def replica_source(spec: InstanceSpec) -> tuple[str, str]:
    """(region, id) of a replica's source: `replica_of: id` (same region) or `region/id` (cross-region)."""
    assert spec.replica_of is not None
    if "/" in spec.replica_of:
        region, ident = spec.replica_of.split("/", 1)
        return region, ident
    return spec.region, spec.replica_of


def load_fleet(path: str) -> Fleet:
    with open(path, encoding="utf-8") as handle:
        try:
            data = yaml.safe_load(handle)
        except yaml.YAMLError as exc:
            raise FleetError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return parse_fleet(data or {})
    except FleetError as exc:
        raise FleetError(f"{path}: {exc}") from exc


def default_port(engine: str) -> int:
    return DEFAULT_PORTS.get(engine, 5432)


def parse_maintenance(spec: InstanceSpec) -> dict[str, Any] | None:
    if not isinstance(spec.maintenance, dict):
        return None
    result = {}
    if "auto_applied_after" in spec.maintenance:
        result["auto_applied_after"] = _date(spec.maintenance["auto_applied_after"])
    if "forced_apply" in spec.maintenance:
        result["forced_apply"] = _date(spec.maintenance["forced_apply"])
    if "opt_in" in spec.maintenance:
        result["opt_in"] = spec.maintenance["opt_in"]
    return result
