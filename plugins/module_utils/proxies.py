# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""RDS Proxy: which proxies sit in front of which databases, and what their clients trust.

* :func:`gather_proxies` reads, per scope (region, account), DescribeDBProxies (pages of 100) and then one
  DescribeDBProxyTargets per proxy (through module_utils.rds_api), nothing more.
* :func:`proxy_fact` and :func:`attach_proxied_by` are pure: the facts of one proxy, and each database's
  ``proxied_by``.

What a proxy's clients trust (Amazon RDS User Guide, "Using TLS/SSL with RDS Proxy", and "Rotating your
SSL/TLS certificate", Considerations: "RDS Proxy uses certificates from the AWS Certificate Manager (ACM)";
ACM User Guide, "Trusted certificate authorities"): a proxy endpoint presents the proxy's own ACM
certificate, chained to Amazon Trust Services (Amazon Root CA 1-4, Starfield Services Root CA - G2), not the
database's RDS CA. Rotating the database's CA does not change what clients connecting through the proxy must
trust; clients that connect to the database directly must trust the new RDS CA.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from ansible_collections.rdsca.rotation.plugins.module_utils import rds_api
from ansible_collections.rdsca.rotation.plugins.module_utils.aws import AWS_ERRORS
from ansible_collections.rdsca.rotation.plugins.module_utils.rds_domain import ACM
from ansible_collections.rdsca.rotation.plugins.module_utils.rds_domain import scope_label

Item = dict[str, Any]

PROXY_TRUST = "Amazon Trust Services"


def target_fact(target: Item) -> Item:
    """One DescribeDBProxyTargets item, in this collection's words."""
    health = target.get("TargetHealth") or {}
    return {
        "type": target.get("Type"),
        "identifier": target.get("RdsResourceId"),
        "arn": target.get("TargetArn"),
        "endpoint": target.get("Endpoint"),
        "port": target.get("Port"),
        "role": target.get("Role"),
        "tracked_cluster": target.get("TrackedClusterId"),
        "health": health.get("State"),
    }


def proxy_fact(proxy: Item, targets: Optional[Sequence[Item]], region: str) -> Item:
    """The facts of one proxy (DescribeDBProxies item) and its targets (None when they could not be read)."""
    facts = [target_fact(t) for t in targets or []]
    return {
        "name": proxy.get("DBProxyName"),
        "arn": proxy.get("DBProxyArn"),
        "region": region,
        "status": proxy.get("Status"),
        "engine_family": proxy.get("EngineFamily"),
        "endpoint": proxy.get("Endpoint"),
        "require_tls": proxy.get("RequireTLS"),
        "vpc_id": proxy.get("VpcId"),
        "endpoint_certificate": ACM,
        "client_trust": PROXY_TRUST,
        "targets": facts if targets is not None else None,
        "instances": sorted(set(t["identifier"] for t in facts if t["type"] == "RDS_INSTANCE" and t["identifier"])),
        "clusters": sorted(set(t["identifier"] for t in facts if t["type"] == "TRACKED_CLUSTER" and t["identifier"])
                           | set(t["tracked_cluster"] for t in facts if t["tracked_cluster"])),
    }


def attach_proxied_by(databases: Sequence[Item], proxies: Sequence[Item], read: Optional[Sequence[str]] = None) -> None:
    """Set each database's ``proxied_by`` (names of the proxies in front of it, sorted).

    A database is behind a proxy that lists it (RDS_INSTANCE) or its cluster (TRACKED_CLUSTER, or a member's
    TrackedClusterId), in the same region (and account, when the facts carry one). ``read``: the scope keys
    (rds_domain.scope_label) whose proxies were read; a database elsewhere gets None (not known).
    """
    behind: dict[tuple, set] = {}
    for proxy in proxies:
        key = (proxy.get("account"), proxy["region"])
        for ident in proxy["instances"]:
            behind.setdefault(key + ("db", ident), set()).add(proxy["name"])
        for ident in proxy["clusters"]:
            behind.setdefault(key + ("cluster", ident), set()).add(proxy["name"])
    for db in databases:
        region, account = db.get("region"), db.get("account")
        if read is not None and scope_label(region, account) not in read and scope_label(region) not in read:
            db["proxied_by"] = None
            continue
        names: set = set()
        # Proxies read without an account (the module's own credentials) match by region alone.
        for key in set([(account, region), (None, region)]):
            names |= behind.get(key + ("db", db.get("identifier")), set())
            if db.get("cluster_id"):
                names |= behind.get(key + ("cluster", db["cluster_id"]), set())
        db["proxied_by"] = sorted(names)


def gather_proxies(clients: Any, where: Sequence[Any], concurrency: int = 16) -> tuple[list[Item], list[Item], list[str]]:
    """``(proxies, errors, read)`` for every scope (rds_api.Scope): DescribeDBProxies, then DescribeDBProxyTargets per proxy.

    A scope whose DescribeDBProxies fails is listed in ``errors`` ({region, operation, error_code, message},
    and account) and left out of ``read``; a proxy whose targets cannot be read keeps ``targets: None`` and
    adds an error. Errors other than AWS ones propagate.
    """
    from concurrent.futures import ThreadPoolExecutor

    def one(scope: Any) -> tuple[list[Item], list[Item], bool]:
        rds = rds_api.client(clients, scope)
        try:
            raw = rds_api.describe_db_proxies(rds)
        except AWS_ERRORS as e:  # pylint: disable=catching-non-exception
            return [], [rds_api.scope_error(scope, "DescribeDBProxies", e)], False
        found, errors = [], []
        for proxy in sorted(raw, key=lambda p: p.get("DBProxyName") or ""):
            try:
                targets = rds_api.describe_db_proxy_targets(rds, proxy.get("DBProxyName"))
            except AWS_ERRORS as e:  # pylint: disable=catching-non-exception
                targets = None
                error = rds_api.scope_error(scope, "DescribeDBProxyTargets", e)
                error["proxy"] = proxy.get("DBProxyName")
                errors.append(error)
            fact = proxy_fact(proxy, targets, scope.region)
            if scope.account is not None:
                fact["account"] = scope.account
            found.append(fact)
        return found, errors, True

    proxies: list[Item] = []
    errors: list[Item] = []
    read: list[str] = []
    if not where:
        return proxies, errors, read
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(where)))) as pool:
        for scope, (found, errs, ok) in zip(where, pool.map(one, where)):
            proxies.extend(found)
            errors.extend(errs)
            if ok:
                read.append(scope_label(scope.region, scope.account))
    return proxies, errors, read
