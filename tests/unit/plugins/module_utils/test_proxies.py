"""RDS Proxy facts (issue 17): the proxies of a region, their targets, and each database's proxied_by."""

from __future__ import annotations

import threading

import botocore.exceptions
import pytest

from ansible_collections.rdsca.rotation.plugins.module_utils import proxies as lib
from ansible_collections.rdsca.rotation.plugins.module_utils.rds_api import Scope


class FakeClient:
    """Records calls; serves pages of 2 items per Marker; raises botocore's ClientError for ``fail``."""

    def __init__(self, data, fail=None):
        self.data, self.fail, self.calls, self.lock = data, fail or {}, [], threading.Lock()

    def __getattr__(self, method):
        def call(**params):
            with self.lock:
                self.calls.append((method, dict(params)))
            if method in self.fail:
                code, message = self.fail[method]
                raise botocore.exceptions.ClientError({"Error": {"Code": code, "Message": message}}, method)
            return self.data[method](params)
        return call


class FakeClients:
    def __init__(self, clients):
        self.clients = clients

    def get(self, service, region):
        assert service == "rds"
        return self.clients[region]


def paged(key, items):
    def serve(params):
        start = int(params.get("Marker") or 0)
        page = {key: items[start:start + 2]}
        if start + 2 < len(items):
            page["Marker"] = str(start + 2)
        return page
    return serve


def _proxy(name):
    return {"DBProxyName": name, "DBProxyArn": "arn:aws:rds:us-east-1:111111111111:db-proxy:prx-" + name,
            "Status": "available", "EngineFamily": "POSTGRESQL", "RequireTLS": True, "VpcId": "vpc-1",
            "Endpoint": "%s.proxy-cabc.us-east-1.rds.amazonaws.com" % name}


TARGETS = {
    "orders-proxy": [{"Type": "RDS_INSTANCE", "RdsResourceId": "orders", "Endpoint": "orders.cabc", "Port": 5432,
                      "Role": "READ_WRITE", "TargetHealth": {"State": "AVAILABLE"}}],
    "inventory-proxy": [
        {"Type": "TRACKED_CLUSTER", "RdsResourceId": "inventory", "TrackedClusterId": "inventory",
         "Endpoint": "inventory.cluster-cabc", "Port": 5432},
        {"Type": "RDS_INSTANCE", "RdsResourceId": "inventory-1", "TrackedClusterId": "inventory", "Role": "READ_WRITE",
         "TargetHealth": {"State": "AVAILABLE"}},
        {"Type": "RDS_INSTANCE", "RdsResourceId": "inventory-2", "TrackedClusterId": "inventory", "Role": "READ_ONLY",
         "TargetHealth": {"State": "UNAVAILABLE"}}],
    "spare-proxy": [],
}


def _client(fail=None, names=("orders-proxy", "inventory-proxy", "spare-proxy")):
    return FakeClient({
        "describe_db_proxies": paged("DBProxies", [_proxy(n) for n in names]),
        "describe_db_proxy_targets": lambda params: {"Targets": TARGETS[params["DBProxyName"]]},
    }, fail)


def test_proxy_fact_names_instances_clusters_and_the_trust_of_its_clients():
    fact = lib.proxy_fact(_proxy("inventory-proxy"), TARGETS["inventory-proxy"], "us-east-1")
    assert (fact["instances"], fact["clusters"]) == (["inventory-1", "inventory-2"], ["inventory"])
    assert (fact["endpoint_certificate"], fact["client_trust"], fact["require_tls"]) == ("acm", "Amazon Trust Services", True)
    assert [t["health"] for t in fact["targets"]] == [None, "AVAILABLE", "UNAVAILABLE"]
    unread = lib.proxy_fact(_proxy("x"), None, "us-east-1")
    assert unread["targets"] is None and unread["instances"] == []


def test_gather_reads_proxies_once_and_targets_once_per_proxy():
    client = _client()
    found, errors, read = lib.gather_proxies(FakeClients({"us-east-1": client}), [Scope("us-east-1")])
    assert [p["name"] for p in found] == ["inventory-proxy", "orders-proxy", "spare-proxy"] and errors == []
    assert read == ["us-east-1"]
    methods = [m for m, _p in client.calls]
    # 3 proxies in pages of 2 (the fake's) -> 2 DescribeDBProxies pages, then one DescribeDBProxyTargets per proxy.
    assert methods.count("describe_db_proxies") == 2 and methods.count("describe_db_proxy_targets") == 3
    assert all(p["MaxRecords"] == 100 for _m, p in client.calls)


def test_a_region_whose_proxies_cannot_be_read_is_reported_and_its_databases_unknown():
    clients = FakeClients({"us-east-1": _client(fail={"describe_db_proxies": ("AccessDenied", "no")}),
                           "eu-west-1": _client(names=("orders-proxy",))})
    found, errors, read = lib.gather_proxies(clients, [Scope("us-east-1"), Scope("eu-west-1")])
    assert [(e["region"], e["operation"], e["error_code"]) for e in errors] == [
        ("us-east-1", "DescribeDBProxies", "AccessDenied")]
    assert read == ["eu-west-1"] and [p["region"] for p in found] == ["eu-west-1"]
    databases = [{"identifier": "orders", "region": "us-east-1"}, {"identifier": "orders", "region": "eu-west-1"}]
    lib.attach_proxied_by(databases, found, read)
    assert [d["proxied_by"] for d in databases] == [None, ["orders-proxy"]]


def test_a_proxy_whose_targets_cannot_be_read_keeps_targets_none():
    client = _client(fail={"describe_db_proxy_targets": ("DBProxyNotFoundFault", "gone")}, names=("orders-proxy",))
    found, errors, _read = lib.gather_proxies(FakeClients({"us-east-1": client}), [Scope("us-east-1")])
    assert found[0]["targets"] is None
    assert (errors[0]["operation"], errors[0]["proxy"]) == ("DescribeDBProxyTargets", "orders-proxy")


@pytest.mark.parametrize("db, expected", [
    ({"identifier": "orders", "region": "us-east-1"}, ["orders-proxy"]),
    ({"identifier": "inventory-2", "region": "us-east-1", "cluster_id": "inventory"}, ["inventory-proxy"]),
    ({"identifier": "inventory-3", "region": "us-east-1", "cluster_id": "inventory"}, ["inventory-proxy"]),
    ({"identifier": "orders", "region": "eu-west-1"}, []),
    ({"identifier": "docs-1", "region": "us-east-1", "cluster_id": "docs"}, []),
    # The account of a database (from its ARN) does not hide a proxy read with the module's own credentials.
    ({"identifier": "orders", "region": "us-east-1", "account": "111111111111"}, ["orders-proxy"]),
])
def test_proxied_by(db, expected):
    found = [lib.proxy_fact(_proxy(n), TARGETS[n], "us-east-1") for n in ("orders-proxy", "inventory-proxy")]
    lib.attach_proxied_by([db], found)
    assert db["proxied_by"] == expected


def test_proxied_by_keeps_accounts_apart():
    mine = dict(lib.proxy_fact(_proxy("orders-proxy"), TARGETS["orders-proxy"], "us-east-1"), account="222222222222")
    dbs = [{"identifier": "orders", "region": "us-east-1", "account": "111111111111"},
           {"identifier": "orders", "region": "us-east-1", "account": "222222222222"}]
    lib.attach_proxied_by(dbs, [mine], ["111111111111/us-east-1", "222222222222/us-east-1"])
    assert [d["proxied_by"] for d in dbs] == [[], ["orders-proxy"]]
