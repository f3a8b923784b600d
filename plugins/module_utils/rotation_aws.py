# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The AWS side of ``rds_ca_rotate``: discovery, the calls a plan makes, polling, TLS probes.

:func:`discover` reads each region once (module_utils.inventory.gather_regions:
DescribeDBInstances, DescribeDBClusters, DescribePendingMaintenanceActions,
DescribeCertificates, and DescribeDBEngineVersions once per engine) and turns
the responses into what module_utils.rotation plans with. :class:`RdsApi` is
the ``api`` object module_utils.rotation_runner drives.
"""

from ansible_collections.rdsca.rotation.plugins.module_utils import inventory
from ansible_collections.rdsca.rotation.plugins.module_utils import rotation as plan_lib
from ansible_collections.rdsca.rotation.plugins.module_utils.aws import AWS_ERRORS
from ansible_collections.rdsca.rotation.plugins.module_utils.aws import error_info
from ansible_collections.rdsca.rotation.plugins.module_utils.aws import outcome_unknown
from ansible_collections.rdsca.rotation.plugins.module_utils.aws import paginate
from ansible_collections.rdsca.rotation.plugins.module_utils.rds_domain import OPERATIONS
from ansible_collections.rdsca.rotation.plugins.module_utils.rotation_runner import ApiError

# DescribeDBInstances filter values per call.
FILTER_CHUNK = 100


def _api_error(exc, operation, change=False):
    info = error_info(exc)
    return ApiError(info["error_code"], info["message"], operation, ambiguous=change and outcome_unknown(exc))


def discover(clients, regions, requests, target_ca, now, concurrency=16):
    """``({region: region data}, problems)`` - everything planning needs, read once per region."""
    identifiers = sorted(set(r["identifier"] for r in requests))
    options = inventory.filter_options({"target_ca": target_ca, "identifiers": identifiers})
    states = inventory.gather_regions(clients, regions, options, concurrency=concurrency, paginate=paginate,
                                      aws_errors=AWS_ERRORS, error_info=error_info)
    data = {}
    problems = []
    for region in regions:
        state = states[region]
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
    return data, problems


def probe_summary(probe):
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


class RdsApi:
    """What module_utils.rotation_runner needs from AWS (and the TLS probe)."""

    def __init__(self, clients, ca_bundle=None, connect_host=None, probe_timeout=10):
        self.clients = clients
        self.ca_bundle = ca_bundle
        self.connect_host = connect_host
        self.probe_timeout = probe_timeout

    def _rds(self, region):
        return self.clients.get("rds", region)

    def describe(self, region, instance_ids):
        found = {}
        ids = sorted(set(instance_ids))
        for start in range(0, len(ids), FILTER_CHUNK):
            chunk = ids[start:start + FILTER_CHUNK]
            try:
                items, _first = paginate(self._rds(region), "describe_db_instances", "DBInstances",
                                         Filters=[{"Name": "db-instance-id", "Values": chunk}])
            except AWS_ERRORS as e:  # pylint: disable=catching-non-exception
                raise _api_error(e, "DescribeDBInstances")
            for item in items:
                found[item.get("DBInstanceIdentifier")] = item
        return found

    def call(self, call):
        # One attempt per request (throttling aside): after a timeout or a 5xx the runner looks at the
        # database before it sends anything again (ApiError.ambiguous).
        client = self.clients.get("rds", call["region"], single_attempt=True)
        operation = OPERATIONS[call["op"]]
        try:
            if call["op"] == "modify_instance":
                params = dict(DBInstanceIdentifier=call["identifier"], CACertificateIdentifier=call["ca"],
                              ApplyImmediately=bool(call["apply_immediately"]))
                if call.get("restart") is not None:
                    params["CertificateRotationRestart"] = bool(call["restart"])
                return client.modify_db_instance(aws_retry=True, **params).get("DBInstance") or {}
            if call["op"] == "modify_cluster":
                return client.modify_db_cluster(aws_retry=True, DBClusterIdentifier=call["identifier"],
                                                CACertificateIdentifier=call["ca"],
                                                ApplyImmediately=bool(call["apply_immediately"])).get("DBCluster") or {}
            response = client.apply_pending_maintenance_action(aws_retry=True, ResourceIdentifier=call["arn"],
                                                               ApplyAction=plan_lib.ROTATION_ACTION,
                                                               OptInType=call["opt_in"])
            return response.get("ResourcePendingMaintenanceActions") or {}
        except AWS_ERRORS as e:  # pylint: disable=catching-non-exception
            raise _api_error(e, operation, change=True)

    def probe(self, unit, endpoint):
        # Imported on first use: only verify_endpoint needs the probe.
        from ansible_collections.rdsca.rotation.plugins.module_utils.tls_probe import probe_endpoint

        if not endpoint.get("address") or not endpoint.get("port"):
            return {"ca_id": None, "verified": False, "error": "%s has no endpoint address" % endpoint.get("identifier")}
        result = probe_endpoint(endpoint["address"], endpoint["port"], unit.get("engine"),
                                connect_host=unit.get("connect_host") or self.connect_host,
                                connect_port=unit.get("connect_port"), ca_bundle=self.ca_bundle,
                                timeout=self.probe_timeout)
        summary = probe_summary(result)
        summary["identifier"] = endpoint.get("identifier")
        return summary

    def set_default_ca(self, region, ca):
        try:
            response = self._rds(region).modify_certificates(aws_retry=True, CertificateIdentifier=ca)
        except AWS_ERRORS as e:  # pylint: disable=catching-non-exception
            raise _api_error(e, "ModifyCertificates")
        return response.get("Certificate") or {}
