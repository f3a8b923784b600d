"""Several AWS accounts (issue 17): AssumeRole into another account lands there; a refused AssumeRole is AccessDenied.

moto keeps backends per account and serves assumed-role credentials from the role's account; the simulator adds
the caller's own account, the roles that exist, trust policies that refuse, and external IDs
(tests/simulator/accounts.py names the AWS documentation).
"""

from __future__ import annotations

import os

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.simulator.fleet import FleetError, parse_fleet
from tests.simulator.linked import tools_available

A, B, C = "111111111111", "222222222222", "333333333333"
FLEET = {
    "account_id": A,
    "regions": {"us-east-1": {"instances": [
        {"id": "orders-staging", "engine": "postgres", "engine_version": "16.3", "ca": "rds-ca-2019"}]}},
    "accounts": {
        B: {"alias": "shop-prod", "roles": ["rdsca-rotation", "rdsca-audit"], "deny_assume_role": ["rdsca-audit"],
            "regions": {
                "us-east-1": {"instances": [
                    {"id": "orders-prod", "engine": "postgres", "engine_version": "16.3", "ca": "rds-ca-2019"},
                    # The same identifier as in account A: a different database.
                    {"id": "orders-staging", "engine": "mysql", "engine_version": "8.0.36"}]},
                "eu-west-1": {"default_ca": "rds-ca-ecc384-g1",
                              "instances": [{"id": "orders-eu", "engine": "postgres", "engine_version": "16.3"}]}}},
        C: {"roles": ["rdsca-rotation"], "external_id": "rdsca-2024",
            "regions": {"us-east-1": {"instances": [{"id": "ledger", "engine": "postgres", "engine_version": "16.3"}]}}},
    },
}


@pytest.fixture()
def sim(simulator):
    simulator.load(FLEET)
    yield simulator
    simulator.control("DELETE", "/_sim/accounts/deny", {})


def _assume(sim, role_arn, **kwargs):
    return sim.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="rdsca-test", **kwargs)["Credentials"]


def _client(sim, creds, service="rds", region="us-east-1", **kwargs):
    return boto3.client(service, region_name=region, endpoint_url=sim.url, aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"],
                        **kwargs)


def _ids(client):
    return sorted((d["DBInstanceIdentifier"], d["Engine"], d["DBInstanceArn"].split(":")[4])
                  for d in client.describe_db_instances()["DBInstances"])


def _denied(sim, role_arn, **kwargs):
    with pytest.raises(ClientError) as caught:
        _assume(sim, role_arn, **kwargs)
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Error"]["Code"] == "AccessDenied"
    assert error["Error"]["Message"].endswith(f"is not authorized to perform: sts:AssumeRole on resource: {role_arn}")


def test_the_callers_own_credentials_land_in_the_fleets_account(sim):
    assert _ids(sim.client()) == [("orders-staging", "postgres", A)]
    assert sim.client("sts").get_caller_identity()["Account"] == A


def test_assume_role_into_account_b_sees_only_bs_databases(sim):
    creds = _assume(sim, f"arn:aws:iam::{B}:role/rdsca-rotation")
    assert _client(sim, creds, "sts").get_caller_identity()["Account"] == B
    assert _ids(_client(sim, creds)) == [("orders-prod", "postgres", B), ("orders-staging", "mysql", B)]
    assert _ids(_client(sim, creds, region="eu-west-1")) == [("orders-eu", "postgres", B)]
    # Per account and region: B's eu-west-1 default CA, and B's alias.
    assert _client(sim, creds, region="eu-west-1").describe_certificates()[
        "DefaultCertificateForNewLaunches"] == "rds-ca-ecc384-g1"
    assert _client(sim, creds, "iam").list_account_aliases()["AccountAliases"] == ["shop-prod"]
    # Account A is unaffected: still only its own database.
    assert _ids(sim.client()) == [("orders-staging", "postgres", A)]


def test_a_change_made_in_account_b_stays_in_account_b(sim):
    rds_b = _client(sim, _assume(sim, f"arn:aws:iam::{B}:role/rdsca-rotation"))
    rds_b.modify_db_instance(DBInstanceIdentifier="orders-prod", CACertificateIdentifier="rds-ca-rsa2048-g1",
                             ApplyImmediately=False)
    pending = rds_b.describe_db_instances(DBInstanceIdentifier="orders-prod")["DBInstances"][0]
    assert pending["PendingModifiedValues"] == {"CACertificateIdentifier": "rds-ca-rsa2048-g1"}
    with pytest.raises(ClientError, match="DBInstanceNotFound"):
        sim.client().describe_db_instances(DBInstanceIdentifier="orders-prod")
    mine = sim.client().describe_db_instances(DBInstanceIdentifier="orders-staging")["DBInstances"][0]
    assert mine["PendingModifiedValues"] == {} and mine["Engine"] == "postgres"


def test_a_role_whose_trust_policy_refuses_the_caller_is_access_denied(sim):
    _denied(sim, f"arn:aws:iam::{B}:role/rdsca-audit")
    assert _ids(sim.client()) == [("orders-staging", "postgres", A)]


def test_a_role_that_does_not_exist_or_an_account_outside_the_estate_is_access_denied(sim):
    _denied(sim, f"arn:aws:iam::{B}:role/no-such-role")
    _denied(sim, "arn:aws:iam::444444444444:role/rdsca-rotation")


def test_an_external_id_the_trust_policy_requires(sim):
    role = f"arn:aws:iam::{C}:role/rdsca-rotation"
    _denied(sim, role)
    _denied(sim, role, ExternalId="wrong-id")
    assert _ids(_client(sim, _assume(sim, role, ExternalId="rdsca-2024"))) == [("ledger", "postgres", C)]


def test_control_api_refuses_a_role_at_run_time_and_leaves_the_others(sim):
    role = f"arn:aws:iam::{B}:role/rdsca-rotation"
    issued = _assume(sim, role)
    state = sim.control("POST", "/_sim/accounts/deny", {"account": B, "role": "rdsca-rotation"})
    assert state["accounts"][B]["denied"] == ["rdsca-audit", "rdsca-rotation"]
    _denied(sim, role)
    # Credentials issued before keep working until they expire, as on AWS.
    assert _ids(_client(sim, issued))[0][0] == "orders-prod"
    assert _ids(_client(sim, _assume(sim, f"arn:aws:iam::{C}:role/rdsca-rotation", ExternalId="rdsca-2024")))
    sim.control("DELETE", "/_sim/accounts/deny", {})
    assert _assume(sim, role)["AccessKeyId"]


def test_fleet_accounts_are_validated():
    with pytest.raises(FleetError, match=r"fleet.accounts.12345: an AWS account ID is 12 digits"):
        parse_fleet({"regions": {"us-east-1": {}}, "accounts": {"12345": {}}})
    with pytest.raises(FleetError, match=r"deny_assume_role: \['ghost'\] not among its roles"):
        parse_fleet({"regions": {"us-east-1": {}}, "accounts": {B: {"roles": ["a"], "deny_assume_role": ["ghost"]}}})
    with pytest.raises(FleetError, match="the caller's account's estate is the top-level 'regions'"):
        parse_fleet({"account_id": A, "regions": {"us-east-1": {}},
                     "accounts": {A: {"regions": {"eu-west-1": {}}}}})
    fleet = parse_fleet(FLEET)
    assert fleet.regions == ["us-east-1", "eu-west-1"]
    seeded = {(s.account, s.region, s.id) for s in fleet.instances}
    assert seeded >= {(A, "us-east-1", "orders-staging"), (B, "us-east-1", "orders-staging")}


ESTATE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fleets", "estate.yml")


def test_the_two_account_estate_with_a_refusing_third_account(simulator):
    ok, reason = tools_available("postgres")
    if not ok:
        pytest.skip(reason)
    sim = simulator.load(ESTATE)
    prod = f"arn:aws:iam::{B}:role/rdsca-rotation"
    rds_b = {region: _client(sim, _assume(sim, prod), region=region)
             for region in ("us-east-1", "eu-west-1", "ap-southeast-2")}
    engines_b = sorted(d["Engine"] for client in rds_b.values() for d in client.describe_db_instances()["DBInstances"])
    assert engines_b == ["aurora-postgresql", "aurora-postgresql", "docdb", "docdb", "mysql", "neptune",
                         "postgres", "postgres", "postgres", "postgres", "postgres"]
    assert [p["DBProxyName"] for p in rds_b["us-east-1"].describe_db_proxies()["DBProxies"]] == ["orders-proxy"]
    assert {d["Engine"] for d in sim.client(region="eu-west-1").describe_db_instances()["DBInstances"]} == {"neptune"}
    _denied(sim, f"arn:aws:iam::{C}:role/rdsca-rotation")
    _denied(sim, f"arn:aws:iam::{C}:role/rdsca-audit")
    # Linked servers and the proxy endpoint of the production account are named with their account.
    linked = sim.control("GET", "/_sim/linked")
    assert {"us-east-1/orders-staging", f"{B}/us-east-1/orders-prod", f"{B}/us-east-1/catalog-docs-prod-1",
            "eu-west-1/graph-staging-1"} <= set(linked)
    assert linked[f"{B}/us-east-1/orders-prod"]["address"].startswith("orders-prod.")
    assert list(sim.control("GET", "/_sim/proxies")) == [f"{B}/us-east-1/orders-proxy"]
    assert sim.control("GET", "/_sim/accounts")["accounts"][C]["denied"] == ["*"]


def test_a_fault_rule_for_one_account_leaves_the_others_alone(sim):
    sim.reset_calls()
    rds_b = _client(sim, _assume(sim, f"arn:aws:iam::{B}:role/rdsca-rotation"),
                    config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
    sim.faults([{"operation": "DescribeDBInstances", "account": B, "error": "Throttling"}])
    try:
        with pytest.raises(ClientError, match="Throttling"):
            rds_b.describe_db_instances()
        assert _ids(sim.client()) == [("orders-staging", "postgres", A)]
    finally:
        sim.clear_faults()
    assert _ids(rds_b)[0][0] == "orders-prod"
    calls = sim.calls()
    assert calls["by_account"][B] == 2 and calls["by_account"][A] >= 2
    assert calls["errors"] == {"rds:us-east-1:DescribeDBInstances": 1}


def test_organization_lists_the_fleets_accounts_to_the_management_account_only(simulator):
    """fleet organization: moto's Organizations with the caller as management account and the fleet's accounts as
    members, by their IDs and names (AWS Organizations API Reference, ListAccounts)."""
    simulator.load(dict(FLEET, organization={"names": {C: "ledger"}, "suspended": [C]}))
    listed = simulator.client("organizations").list_accounts()["Accounts"]
    assert sorted((a["Id"], a["Name"], a["Status"]) for a in listed) == [
        (A, A, "ACTIVE"), (B, "shop-prod", "ACTIVE"), (C, "ledger", "SUSPENDED")]
    # A member account may not list the organization (moto alone answers it with an empty list).
    member = _client(simulator, _assume(simulator, "arn:aws:iam::%s:role/rdsca-rotation" % B), "organizations")
    with pytest.raises(ClientError) as denied:
        member.list_accounts()
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    # Without organization: the caller's account is in none.
    simulator.load(FLEET)
    with pytest.raises(ClientError) as none:
        simulator.client("organizations").list_accounts()
    assert none.value.response["Error"]["Code"] == "AWSOrganizationsNotInUseException"
    for bad, text in (({"suspended": [A]}, "not member accounts"), ({"names": {"444444444444": "x"}}, "not accounts of"),
                      ({"members": [B]}, "fleet.organization")):
        with pytest.raises(FleetError, match=text):
            parse_fleet(dict(FLEET, organization=bad))
