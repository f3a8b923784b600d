"""RDS Proxy (issue 17): DescribeDBProxies and DescribeDBProxyTargets as RDS answers them, and a proxy endpoint whose
certificate comes from ACM (Amazon Trust Services), not from the database's RDS CA."""

from __future__ import annotations

import hashlib
import socket
import ssl
import struct
import time

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.simulator.fleet import FleetError, parse_fleet

FLEET = {
    "timing": {"modify_seconds": 1.5, "reboot_seconds": 2},
    "regions": {"us-east-1": {
        "instances": [{"id": "orders", "engine": "postgres", "engine_version": "11.22", "ca": "rds-ca-rsa2048-g1"},
                      {"id": "shop", "engine": "mysql", "engine_version": "8.0.36"}],
        "clusters": [{"id": "inventory", "engine": "aurora-postgresql", "engine_version": "15.4",
                      "members": [{"id": "inventory-1", "writer": True}, {"id": "inventory-2"}]}],
        "proxies": [{"name": "orders-proxy", "targets": ["orders"], "linked": True},
                    {"name": "inventory-proxy", "targets": ["inventory"], "require_tls": False}],
    }},
}


@pytest.fixture(scope="module")
def sim(simulator):
    simulator.load(FLEET)
    return simulator


def _targets(sim, name):
    return sim.client().describe_db_proxy_targets(DBProxyName=name)["Targets"]


def _proxy_leaf(sim, cafile):
    """SHA-256 of the leaf the proxy endpoint presents after PostgreSQL's SSLRequest, verified with cafile."""
    info = sim.control("GET", "/_sim/proxies")["us-east-1/orders-proxy"]
    with socket.create_connection((info["host"], info["port"]), timeout=10) as raw:
        raw.sendall(struct.pack("!ii", 8, 80877103))
        assert raw.recv(1) == b"S"
        context = ssl.create_default_context(cafile=cafile)
        with context.wrap_socket(raw, server_hostname=info["address"]) as tls:
            issuer = dict(item[0] for item in tls.getpeercert()["issuer"])
            return hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest(), issuer


def test_describe_db_proxies(sim):
    rds = sim.client()
    proxies = {p["DBProxyName"]: p for p in rds.describe_db_proxies()["DBProxies"]}
    assert set(proxies) == {"orders-proxy", "inventory-proxy"}
    orders = proxies["orders-proxy"]
    address = sim.client().describe_db_instances(DBInstanceIdentifier="orders")["DBInstances"][0]["Endpoint"]["Address"]
    label = address.split(".")[1]
    assert orders["Endpoint"] == f"orders-proxy.proxy-{label}.us-east-1.rds.amazonaws.com"
    assert (orders["EngineFamily"], orders["RequireTLS"], orders["Status"]) == ("POSTGRESQL", True, "available")
    assert proxies["inventory-proxy"]["RequireTLS"] is False
    page = rds.describe_db_proxies(MaxRecords=20)
    assert len(page["DBProxies"]) == 2 and "Marker" not in page
    unchecked = sim.client(config=Config(parameter_validation=False))
    with pytest.raises(ClientError, match="InvalidParameterValue"):
        unchecked.describe_db_proxies(MaxRecords=10)
    with pytest.raises(ClientError, match="DBProxyNotFoundFault"):
        rds.describe_db_proxies(DBProxyName="nope")


def test_describe_db_proxy_targets_of_an_instance(sim):
    db = sim.client().describe_db_instances(DBInstanceIdentifier="orders")["DBInstances"][0]
    # Available on the first call (moto alone: REGISTERING, no Endpoint, no TargetArn, no Role).
    assert _targets(sim, "orders-proxy") == [{
        "TargetArn": db["DBInstanceArn"], "Endpoint": db["Endpoint"]["Address"], "RdsResourceId": "orders",
        "Port": db["Endpoint"]["Port"], "Type": "RDS_INSTANCE", "Role": "READ_WRITE",
        "TargetHealth": {"State": "AVAILABLE"}}]


def test_describe_db_proxy_targets_of_a_cluster_lists_cluster_and_members(sim):
    targets = _targets(sim, "inventory-proxy")
    assert [(t["Type"], t["RdsResourceId"], t.get("Role"), t["TrackedClusterId"]) for t in targets] == [
        ("TRACKED_CLUSTER", "inventory", None, "inventory"), ("RDS_INSTANCE", "inventory-1", "READ_WRITE", "inventory"),
        ("RDS_INSTANCE", "inventory-2", "READ_ONLY", "inventory")]
    assert targets[0]["Endpoint"].startswith("inventory.cluster-")


def test_unknown_proxy_or_target_group(sim):
    with pytest.raises(ClientError, match="DBProxyNotFoundFault"):
        _targets(sim, "nope")
    with pytest.raises(ClientError, match="DBProxyTargetGroupNotFoundFault"):
        sim.client().describe_db_proxy_targets(DBProxyName="orders-proxy", TargetGroupName="other")


def test_proxy_endpoint_is_verified_with_amazon_trust_services_not_the_rds_bundle(sim):
    ats = sim.control("GET", "/_sim/ats-bundle")["path"]
    rds_bundle = sim.control("GET", "/_sim/bundle")["path"]
    _fingerprint, issuer = _proxy_leaf(sim, ats)
    assert issuer == {"countryName": "US", "organizationName": "Amazon", "commonName": "Amazon RSA 2048 M02"}
    with pytest.raises(ssl.SSLCertVerificationError):
        _proxy_leaf(sim, rds_bundle)


def test_rotating_the_database_behind_the_proxy_does_not_change_the_proxy_certificate(sim):
    ats = sim.control("GET", "/_sim/ats-bundle")["path"]
    before = _proxy_leaf(sim, ats)[0]
    rds = sim.client()
    rds.modify_db_instance(DBInstanceIdentifier="orders", CACertificateIdentifier="rds-ca-rsa4096-g1",
                           ApplyImmediately=True)
    health = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        db = rds.describe_db_instances(DBInstanceIdentifier="orders")["DBInstances"][0]
        state = _targets(sim, "orders-proxy")[0]["TargetHealth"]["State"]
        if not health or health[-1] != (db["DBInstanceStatus"], state):
            health.append((db["DBInstanceStatus"], state))
        if db["DBInstanceStatus"] == "available" and len(health) > 1:
            break
        time.sleep(0.05)
    # PostgreSQL 11.22 restarts for a new certificate: the proxy's target is unavailable meanwhile.
    assert ("rebooting", "UNAVAILABLE") in health and health[-1] == ("available", "AVAILABLE")
    assert db["CACertificateIdentifier"] == "rds-ca-rsa4096-g1"
    assert _proxy_leaf(sim, ats)[0] == before


def test_fleet_proxies_are_validated():
    base = {"instances": [{"id": "shop", "engine": "mysql", "engine_version": "8.0.36"}]}
    with pytest.raises(FleetError, match="proxy p targets unknown 'nope'"):
        parse_fleet({"regions": {"us-east-1": {**base, "proxies": [{"name": "p", "targets": ["nope"]}]}}})
    with pytest.raises(FleetError, match=r"proxy p \(POSTGRESQL\) cannot front shop \(mysql\)"):
        parse_fleet({"regions": {"us-east-1": {**base, "proxies": [{"name": "p", "targets": ["shop"]}]}}})
