# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The AWS adapter of rdsca.rotation: every RDS call the modules make, and the one describe path.

module -> domain (inventory, rotation, ssl_usage) -> **adapter (this file)** -> AWS. Databases,
clusters, parameter groups, engine versions and CAs are read here and only here, and the CA changes
are sent from here. (The PostgreSQL log reads of module_utils.pg_connection_log use the same paging
and retry primitives of module_utils.aws; ``generate_db_auth_token`` signs locally, no call.)

* :class:`Scope` says where a call goes: a region and an account. Today ``account`` is always None
  (the module's own credentials); issue #17 registers assumed-role sessions per account in
  :class:`~.aws.RegionClients` (``add_account``) and callers keep passing scopes.
* :func:`client` is the client of a scope, from :class:`~.aws.RegionClients`: one boto3 session
  shared by every region and worker thread, one client per (account, region, single attempt or not),
  every request counted per scope label and operation (``api_calls``).
* One small function per AWS call (the model of amazon.aws ``module_utils/rds.py``): each returns
  what the caller needs and raises botocore's errors (:data:`AWS_ERRORS`); the caller decides what
  a failure means. Reads walk ``Marker`` pages of 100 (module_utils.aws ``PAGE_SIZE``, the API maximum), retrying
  each page with its own backoff; by-identifier reads filter on at most :data:`FILTER_CHUNK`
  identifiers per call. Calls that change something go out once (see :func:`modify_db_instance`).
* :func:`scan_regions` is the one region read (facts, and the plan of ``rds_ca_rotate``);
  :func:`describe_db_instances` with identifiers is the one by-identifier read (``rds_ca_rotate``'s
  polls, ``rds_ssl_usage``).

What is reused from amazon.aws, and what is not (and why):

* Reused: ``AWSRetry`` (throttling codes, jittered backoff), ``RetryingBotoClientWrapper``
  (``aws_retry=True`` per call) and ``get_aws_connection_info`` (every connection option), through
  module_utils.aws.
* Not reused: ``paginated_query_with_retries`` and the paginator-based functions of amazon.aws
  ``rds.py`` put the retry around the *whole* walk, so a throttled page 7 re-reads pages 1 to 6
  (on an estate throttled at every page, the walk never ends); here each page is retried alone.
  Their ``list_error_handler`` fails the module on the first error, while one failed region must
  not stop the others here. ``AnsibleAWSModule.client()`` makes a new boto3 session per client, so
  each region would resolve the credentials again (one STS call per region with an AssumeRole
  profile), and a session is not thread-safe; here one session serves every region and thread.
  A ``jittered_backoff`` decorator keeps its delay in one iterator shared by every call it wraps,
  so concurrent calls would reset and stretch each other's backoff; here every call gets its own
  (module_utils.aws ``retry_decorator``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterator, Optional, Sequence

from ansible_collections.rdsca.rotation.plugins.module_utils.aws import AWS_ERRORS
from ansible_collections.rdsca.rotation.plugins.module_utils.aws import call as _call
from ansible_collections.rdsca.rotation.plugins.module_utils.aws import error_info
from ansible_collections.rdsca.rotation.plugins.module_utils.aws import paginate
from ansible_collections.rdsca.rotation.plugins.module_utils.aws import scope_label

# Identifiers per DescribeDBInstances/DescribeDBClusters filter (the API's limit on filter values).
FILTER_CHUNK = 100

Item = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Scope:
    """Where calls go: ``region`` in ``account`` (None: the account of the module's own credentials)."""

    region: str
    account: Optional[str] = None

    @property
    def label(self) -> str:
        """``region``, or ``account/region`` for another account (the key of ``api_calls``)."""
        return scope_label(self.region, self.account)

    @classmethod
    def from_label(cls, label: str) -> "Scope":
        """The scope of a :attr:`label` (``region`` or ``account/region``)."""
        account, _sep, region = label.rpartition("/")
        return cls(region, account or None)


def scopes(regions: Sequence[str], account: Optional[str] = None) -> list[Scope]:
    """One :class:`Scope` per region name, in the order given."""
    return [Scope(region, account) for region in regions]


def client(clients: Any, scope: Scope, single_attempt: bool = False) -> Any:
    """The RDS client of ``scope`` (``clients``: module_utils.aws.RegionClients; created in the main thread first)."""
    options: Item = {}
    if single_attempt:
        options["single_attempt"] = True
    if scope.account is not None:
        options["account"] = scope.account
    return clients.get("rds", scope.region, **options)


def _chunks(items: Sequence[str], size: int = FILTER_CHUNK) -> Iterator[list[str]]:
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


# -- reads: one function per call ------------------------------------------------------------------

def describe_db_instances(rds: Any, identifiers: Optional[Sequence[str]] = None) -> list[Item]:
    """DescribeDBInstances: every instance of the region, or those named (filter of 100 ids per call)."""
    if identifiers is None:
        return paginate(rds, "describe_db_instances", "DBInstances")[0]
    found = []
    for chunk in _chunks(sorted(set(identifiers))):
        found.extend(paginate(rds, "describe_db_instances", "DBInstances",
                              Filters=[{"Name": "db-instance-id", "Values": chunk}])[0])
    return found


def describe_db_clusters(rds: Any, identifiers: Optional[Sequence[str]] = None) -> list[Item]:
    """DescribeDBClusters: every cluster of the region, or those named (filter of 100 ids per call)."""
    if identifiers is None:
        return paginate(rds, "describe_db_clusters", "DBClusters")[0]
    found = []
    for chunk in _chunks(sorted(set(identifiers))):
        found.extend(paginate(rds, "describe_db_clusters", "DBClusters",
                              Filters=[{"Name": "db-cluster-id", "Values": chunk}])[0])
    return found


def describe_pending_maintenance_actions(rds: Any) -> list[Item]:
    """DescribePendingMaintenanceActions of the region."""
    return paginate(rds, "describe_pending_maintenance_actions", "PendingMaintenanceActions")[0]


def describe_certificates(rds: Any) -> Item:
    """DescribeCertificates: ``{"Certificates": [...], "DefaultCertificateForNewLaunches": ...}``."""
    items, first = paginate(rds, "describe_certificates", "Certificates")
    return {"Certificates": items, "DefaultCertificateForNewLaunches": first.get("DefaultCertificateForNewLaunches")}


def describe_db_engine_versions(rds: Any, engine: str, versions: Sequence[str]) -> list[Item]:
    """DescribeDBEngineVersions for the exact ``versions`` of one engine, deprecated ones included (one lookup)."""
    return paginate(rds, "describe_db_engine_versions", "DBEngineVersions", Engine=engine, IncludeAll=True,
                    Filters=[{"Name": "engine-version", "Values": list(versions)}])[0]


def describe_db_parameters(rds: Any, group: str) -> list[Item]:
    """DescribeDBParameters of one DB parameter group."""
    return paginate(rds, "describe_db_parameters", "Parameters", DBParameterGroupName=group)[0]


def describe_db_cluster_parameters(rds: Any, group: str) -> list[Item]:
    """DescribeDBClusterParameters of one DB cluster parameter group."""
    return paginate(rds, "describe_db_cluster_parameters", "Parameters", DBClusterParameterGroupName=group)[0]


def describe_db_proxies(rds: Any) -> list[Item]:
    """DescribeDBProxies: every RDS Proxy of the region."""
    return paginate(rds, "describe_db_proxies", "DBProxies")[0]


def describe_db_proxy_targets(rds: Any, proxy_name: str) -> list[Item]:
    """DescribeDBProxyTargets of one proxy (its default target group): the instances and clusters behind it."""
    return paginate(rds, "describe_db_proxy_targets", "Targets", DBProxyName=proxy_name)[0]


def describe_option_groups(rds: Any, group: str) -> list[Item]:
    """DescribeOptionGroups of one option group (its Options and their OptionSettings)."""
    return paginate(rds, "describe_option_groups", "OptionGroupsList", OptionGroupName=group)[0]


# -- changes: one function per call ----------------------------------------------------------------
# Give them the single-attempt client (client(..., single_attempt=True)): each request goes out once and
# only throttling is retried (aws.ThrottlingOnlyRetry). After a timeout or a server error the change may
# have been made: the caller decides from what RDS then shows (rotation_runner, ApiError.ambiguous).

def modify_db_instance(rds: Any, identifier: str, ca: str, apply_immediately: bool,
                       restart: Optional[bool] = None) -> Item:
    """ModifyDBInstance to ``ca`` (``restart``: CertificateRotationRestart, omitted when None); the DBInstance."""
    params: Item = dict(DBInstanceIdentifier=identifier, CACertificateIdentifier=ca,
                        ApplyImmediately=bool(apply_immediately))
    if restart is not None:
        params["CertificateRotationRestart"] = bool(restart)
    return _call(rds, "modify_db_instance", **params).get("DBInstance") or {}


def modify_db_cluster(rds: Any, identifier: str, ca: str, apply_immediately: bool) -> Item:
    """ModifyDBCluster to ``ca`` (Multi-AZ DB clusters); the DBCluster."""
    return _call(rds, "modify_db_cluster", DBClusterIdentifier=identifier, CACertificateIdentifier=ca,
                 ApplyImmediately=bool(apply_immediately)).get("DBCluster") or {}


def apply_pending_maintenance_action(rds: Any, arn: str, action: str, opt_in: str) -> Item:
    """ApplyPendingMaintenanceAction ``action`` on ``arn``; the ResourcePendingMaintenanceActions."""
    return _call(rds, "apply_pending_maintenance_action", ResourceIdentifier=arn, ApplyAction=action,
                 OptInType=opt_in).get("ResourcePendingMaintenanceActions") or {}


def modify_certificates(rds: Any, ca: str) -> Item:
    """ModifyCertificates: ``ca`` becomes the region's default for new launches (idempotent); the Certificate."""
    return _call(rds, "modify_certificates", CertificateIdentifier=ca).get("Certificate") or {}


# -- the region read -----------------------------------------------------------------------------

# What scan_regions reads once per scope: (kind, function, operation).
REGION_READS = (
    ("instances", describe_db_instances, "DescribeDBInstances"),
    ("clusters", describe_db_clusters, "DescribeDBClusters"),
    ("maintenance", describe_pending_maintenance_actions, "DescribePendingMaintenanceActions"),
    ("certificates", describe_certificates, "DescribeCertificates"),
)
ENGINE_VERSIONS = "DescribeDBEngineVersions"

VersionsNeeded = Callable[[list, list], dict]


def scan_regions(clients: Any, where: Sequence[Scope], versions_needed: Optional[VersionsNeeded] = None,
                 concurrency: int = 64) -> dict[Scope, Item]:
    """Read every scope in parallel: ``{scope: {"raw": {...}, "error": None | {...}}}``.

    Per scope: DescribeDBInstances, DescribeDBClusters, DescribePendingMaintenanceActions and
    DescribeCertificates (each paginated, 100 per page), then, once instances and clusters are in,
    one DescribeDBEngineVersions per engine that ``versions_needed(instances, clusters)``
    (``{engine: [versions]}``) names, for exactly those versions: each distinct (engine, version) is
    looked up once. ``raw`` holds ``instances``, ``clusters``, ``maintenance``, ``certificates``
    (:func:`describe_certificates`) and ``engine_versions``.

    Every call is a leaf task on one pool and the main thread orchestrates, so no worker waits on
    another. The first failing call of a scope marks the scope failed (``error``: region, operation,
    error_code, message; account too for another account), cancels its queued calls, and leaves the
    other scopes alone. Errors other than AWS ones propagate.
    """
    # Imported here: the per-call functions above need no threads.
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    states: dict[Scope, Item] = dict((scope, {"raw": {"engine_versions": []}, "error": None}) for scope in where)
    if not where:
        return states
    operations = dict((kind, operation) for kind, _read, operation in REGION_READS)
    operations["engine_versions"] = ENGINE_VERSIONS
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, 4 * len(where)))) as pool:
        futures: dict[Any, tuple[Scope, str]] = {}

        def submit(scope: Scope, kind: str, read: Callable[..., Any], *args: Any) -> None:
            futures[pool.submit(read, client(clients, scope), *args)] = (scope, kind)

        for scope in where:
            for kind, read, _operation in REGION_READS:
                submit(scope, kind, read)
        while futures:
            done, _pending = wait(list(futures), return_when=FIRST_COMPLETED)
            for future in done:
                scope, kind = futures.pop(future)
                state = states[scope]
                try:
                    result = future.result()
                except AWS_ERRORS as e:  # pylint: disable=catching-non-exception
                    if state["error"] is None:
                        state["error"] = scope_error(scope, operations[kind], e)
                        for other, (other_scope, _kind) in list(futures.items()):
                            if other_scope == scope and other.cancel():
                                del futures[other]
                    continue
                if state["error"] is not None:
                    continue
                raw = state["raw"]
                if kind == "engine_versions":
                    raw["engine_versions"].extend(result)
                    continue
                raw[kind] = result
                if kind in ("instances", "clusters") and "instances" in raw and "clusters" in raw and versions_needed:
                    for engine, versions in sorted(versions_needed(raw["instances"], raw["clusters"]).items()):
                        submit(scope, "engine_versions", describe_db_engine_versions, engine, versions)
    return states


def scope_error(scope: Scope, operation: str, exc: BaseException) -> Item:
    """A failed read of ``scope``: region, operation, error_code, message, and the account for another account."""
    error: Item = dict(region=scope.region, operation=operation, **error_info(exc))
    if scope.account is not None:
        error["account"] = scope.account
    return error
