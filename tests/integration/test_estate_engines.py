"""The issue-17 estate (tests/fleets/estate.yml): DocumentDB, Neptune and the RDS Proxy of each account, seen by
rds_ca_facts. The production account is reached here with the credentials of an AssumeRole made by the test (the
accounts option of the modules is another change's); the module needs nothing account-specific for these engines."""

from __future__ import annotations

import os

import pytest

from conftest import REPO
from tests.simulator.linked import tools_available

ESTATE = os.path.join(REPO, "tests", "fleets", "estate.yml")
PROD = "222222222222"


@pytest.fixture(scope="module")
def estate(simulator):
    ok, reason = tools_available("postgres")
    if not ok:
        pytest.skip(reason)
    return simulator.load(ESTATE)


def facts(sim, **connection):
    plays = [{"hosts": "localhost", "gather_facts": False,
              "tasks": [{"name": "r", "register": "r", "ignore_errors": True, "rdsca.rotation.rds_ca_facts": dict(
                  endpoint_url="{{ sim_endpoint_url }}", region="us-east-1", regions=["us-east-1", "eu-west-1"],
                  set_facts=False, proxies=True, **connection)}],
              "save": ["r"]}]
    result = sim.run_playbook(plays).task("r")
    assert not result.get("failed"), result.get("msg")
    return result, dict((d["identifier"], d) for d in result["databases"])


def test_staging_account_docdb_and_neptune(estate):
    result, dbs = facts(estate)
    assert (dbs["catalog-docs-staging-1"]["engine"], dbs["graph-staging-1"]["engine"]) == ("docdb", "neptune")
    for ident in ("catalog-docs-staging-1", "graph-staging-1"):
        assert (dbs[ident]["needs_rotation"], dbs[ident]["would_restart"], dbs[ident]["proxied_by"]) == (True, True, [])
    assert dbs["graph-staging-1"]["region"] == "eu-west-1" and dbs["graph-staging-1"]["endpoint_certificate"] == "acm"
    assert result["proxies"] == []


def test_production_account_docdb_neptune_and_the_proxy_in_front_of_orders_prod(estate):
    creds = estate.client("sts").assume_role(RoleArn="arn:aws:iam::%s:role/rdsca-audit" % PROD,
                                             RoleSessionName="rdsca-test")["Credentials"]
    result, dbs = facts(estate, access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"],
                        session_token=creds["SessionToken"])
    assert sorted(i for i, d in dbs.items() if d["engine"] in ("docdb", "neptune")) == [
        "catalog-docs-prod-1", "catalog-docs-prod-2", "graph-prod-1"]
    assert all(dbs[i]["engine_supported"] and dbs[i]["would_restart"] is True
               for i in ("catalog-docs-prod-1", "catalog-docs-prod-2", "graph-prod-1"))
    (proxy,) = result["proxies"]
    expected = ("orders-proxy", ["orders-prod"], "Amazon Trust Services")
    assert (proxy["name"], proxy["instances"], proxy["client_trust"]) == expected
    assert dbs["orders-prod"]["proxied_by"] == ["orders-proxy"] and dbs["orders-staging"]["proxied_by"] == []
    assert dbs["orders-prod"]["arn"].split(":")[4] == PROD


def test_proxies_of_every_named_account_with_the_accounts_option(estate):
    """With the accounts option, the proxies are read in every account's regions (not only the caller's own)."""
    result = facts(estate, role_name="rdsca-audit", accounts=[{"account_id": "111111111111"}, {"account_id": PROD}])[0]
    by_label = dict((d["label"], d) for d in result["databases"])
    assert by_label["%s/us-east-1/orders-prod" % PROD]["proxied_by"] == ["orders-proxy"]
    assert by_label["111111111111/us-east-1/orders-staging"]["proxied_by"] == []
    assert [(p["name"], p["account"]) for p in result["proxies"]] == [("orders-proxy", PROD)]
    assert result["proxy_errors"] == []
    calls = result["api_calls"]
    assert sorted(k for k in calls if calls[k].get("DescribeDBProxies")) == sorted(
        "%s/%s" % (account, region) for account in ("111111111111", PROD) for region in ("us-east-1", "eu-west-1"))
