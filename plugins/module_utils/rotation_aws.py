# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The AWS side of ``rds_ca_rotate``: discovery, the calls a plan makes, polling, TLS probes.

:func:`discover` reads each region once (module_utils.inventory.gather_regions:
DescribeDBInstances, DescribeDBClusters, DescribePendingMaintenanceActions,
DescribeCertificates, and DescribeDBEngineVersions once per engine) and turns
the responses into what module_utils.rotation plans with. :class:`RdsApi` is
the ``api`` object module_utils.rotation_runner drives. Every AWS call goes
through the adapter, module_utils.rds_api (one function per call).
"""

from __future__ import annotations

from typing import Any, Optional

from ansible_collections.rdsca.rotation.plugins.module_utils import inventory
from ansible_collections.rdsca.rotation.plugins.module_utils import rds_api
from ansible_collections.rdsca.rotation.plugins.module_utils import rotation as plan_lib
from ansible_collections.rdsca.rotation.plugins.module_utils.aws import AWS_ERRORS
from ansible_collections.rdsca.rotation.plugins.module_utils.aws import error_info
from ansible_collections.rdsca.rotation.plugins.module_utils.aws import outcome_unknown
from ansible_collections.rdsca.rotation.plugins.module_utils.rds_domain import OPERATIONS
from ansible_collections.rdsca.rotation.plugins.module_utils.rotation_runner import ApiError

# DescribeDBInstances filter values per call (the adapter's; kept for older imports).
FILTER_CHUNK = rds_api.FILTER_CHUNK


def _api_error(exc: BaseException, operation: str, change: bool = False) -> ApiError:
    info = error_info(exc)
    return ApiError(info["error_code"], info["message"], operation, ambiguous=change and outcome_unknown(exc))


def discover(clients: Any, regions: list[Any], requests: list[dict], target_ca: str, now: Any,
             concurrency: int = 16, aliases: Optional[dict] = None) -> tuple[dict[str, dict], list[str]]:
    """``({place: region data}, problems)`` - everything planning needs, read once per region.

    ``regions``: region names, or ``rds_api.Scope`` items (named accounts); the place is the scope label
    (``region`` or ``account/region``). ``aliases``: ``{account: alias}`` of the named accounts.
    """
    identifiers = sorted(set(r["identifier"] for r in requests))
    options = inventory.filter_options({"target_ca": target_ca, "identifiers": identifiers})
    where = [r if isinstance(r, rds_api.Scope) else rds_api.Scope(r) for r in regions]
    states = inventory.gather_scopes(clients, where, options, concurrency=concurrency)
    data = {}
    problems = []
    for scope in where:
        region = scope.label
        state = states[scope]
        if state["error"] is not None:
            err = state["error"]
            problems.append("could not read region %s (%s: %s: %s); nothing was changed" % (
                region, err.get("operation"), err.get("error_code"), err.get("message")))
            continue
        raw = state["raw"]
        certs = inventory.region_certificates(raw.get("certificates"), now, target_ca)
        data[region] = {
            "view": plan_lib.region_view(raw.get("instances"), raw.get("clusters"),
                                         inventory.maintenance_by_resource(raw.get("maintenance"))),
            "capabilities": inventory.engine_capabilities(raw.get("engine_versions")),
            "certificates": dict((c["identifier"], c) for c in certs["certificates"]),
            "default_ca_for_new_launches": certs["default_ca_for_new_launches"],
            "customer_override": certs["customer_override"],
        }
        if scope.account is not None:
            data[region]["view"].update(account=scope.account, account_alias=(aliases or {}).get(scope.account))
    return data, problems


class RdsApi:
    """What module_utils.rotation_runner needs from AWS (and the TLS probe)."""

    def __init__(self, clients: Any, ca_bundle: Optional[str] = None, connect_host: Optional[str] = None,
                 probe_timeout: float = 10) -> None:
        self.clients = clients
        self.ca_bundle = ca_bundle
        self.connect_host = connect_host
        self.probe_timeout = probe_timeout

    def _rds(self, region: str, single_attempt: bool = False) -> Any:
        """``region``: a region, or a scope label ``account/region`` (a named account, issue 17)."""
        return rds_api.client(self.clients, rds_api.Scope.from_label(region), single_attempt=single_attempt)

    def describe(self, region: str, instance_ids: list[str]) -> dict[Any, dict]:
        """``{instance id: DescribeDBInstances item}``: the adapter's by-identifier read (100 ids per call)."""
        try:
            items = rds_api.describe_db_instances(self._rds(region), instance_ids)
        except AWS_ERRORS as e:  # pylint: disable=catching-non-exception
            raise _api_error(e, "DescribeDBInstances")
        return dict((item.get("DBInstanceIdentifier"), item) for item in items)

    def call(self, call: dict) -> dict:
        # One attempt per request (throttling aside): after a timeout or a 5xx the runner looks at the
        # database before it sends anything again (ApiError.ambiguous).
        client = self._rds(call.get("place") or call["region"], single_attempt=True)
        operation = OPERATIONS[call["op"]]
        try:
            if call["op"] == "modify_instance":
                return rds_api.modify_db_instance(client, call["identifier"], call["ca"], call["apply_immediately"],
                                                  restart=call.get("restart"))
            if call["op"] == "modify_cluster":
                return rds_api.modify_db_cluster(client, call["identifier"], call["ca"], call["apply_immediately"])
            return rds_api.apply_pending_maintenance_action(client, call["arn"], plan_lib.ROTATION_ACTION,
                                                            call["opt_in"])
        except AWS_ERRORS as e:  # pylint: disable=catching-non-exception
            raise _api_error(e, operation, change=True)

    def probe(self, unit: dict, endpoint: dict) -> dict:
        # Imported on first use: only verify_endpoint needs the probe.
        from ansible_collections.rdsca.rotation.plugins.module_utils.tls_probe import probe_endpoint

        if not endpoint.get("address") or not endpoint.get("port"):
            return {"ca_id": None, "verified": False, "error": "%s has no endpoint address" % endpoint.get("identifier")}
        result = probe_endpoint(endpoint["address"], endpoint["port"], unit.get("engine"),
                                connect_host=unit.get("connect_host") or self.connect_host,
                                connect_port=unit.get("connect_port"), ca_bundle=self.ca_bundle,
                                timeout=self.probe_timeout)
        summary = plan_lib.probe_summary(result)
        summary["identifier"] = endpoint.get("identifier")
        summary["engine"] = unit.get("engine")
        if plan_lib.acm_endpoint(summary):
            summary["endpoint_certificate"] = plan_lib.ACM
        return summary

    def set_default_ca(self, region: str, ca: str) -> dict:
        # ModifyCertificates only sets a default (sending it twice changes nothing): the retrying client.
        try:
            return rds_api.modify_certificates(self._rds(region), ca)
        except AWS_ERRORS as e:  # pylint: disable=catching-non-exception
            raise _api_error(e, "ModifyCertificates")
