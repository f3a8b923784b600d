"""The AWS modules across several accounts (issue 17), against the simulator's two-account estate.

Fleet: tests/fleets/estate.yml (staging in 111111111111, the caller's own account; production in 222222222222;
333333333333 whose roles refuse the caller), without its linked servers (no TLS endpoint is probed here), so
that the tests need no database server. Every module runs through a real ansible-playbook.
"""

from __future__ import annotations

import os

import pytest
import yaml

from conftest import REPO

A, B, C = "111111111111", "222222222222", "333333333333"
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]
ESTATE = os.path.join(REPO, "tests", "fleets", "estate.yml")


def _unlinked(node):
    if isinstance(node, dict):
        return dict((k, _unlinked(v)) for k, v in node.items() if k != "linked")
    if isinstance(node, list):
        return [_unlinked(v) for v in node]
    return node


def estate() -> dict:
    with open(ESTATE, encoding="utf-8") as handle:
        return _unlinked(yaml.safe_load(handle))


@pytest.fixture()
def sim(simulator):
    simulator.load(estate())
    yield simulator


ACCOUNTS = [{"account_id": A}, {"account_id": B}, {"account_id": C}]


def play(tasks, save):
    return [{"hosts": "localhost", "gather_facts": False,
             "module_defaults": {"group/rdsca.rotation.rds_ca": {"endpoint_url": "{{ sim_endpoint_url }}",
                                                                 "region": "us-east-1"}},
             "tasks": tasks, "save": save}]


def facts_task(register="inv", **options):
    args = dict(regions=REGIONS, role_name="rdsca-audit", accounts=ACCOUNTS, set_facts=False)
    args.update(options)
    return {"name": register, "rdsca.rotation.rds_ca_facts": args, "register": register, "ignore_errors": True}


def rds_of(sim, account, region):
    """An RDS client of an account (the caller's own credentials in A, that account's assumed role otherwise)."""
    import boto3

    if account == A:
        return sim.client("rds", region)
    creds = sim.client("sts").assume_role(RoleArn="arn:aws:iam::%s:role/rdsca-rotation" % account,
                                          RoleSessionName="test")["Credentials"]
    return boto3.client("rds", region_name=region, endpoint_url=sim.url, aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])


def ca_of(sim, account, region, ident):
    """The CA RDS shows for an instance of an account (read with that account's assumed role)."""
    rds = rds_of(sim, account, region)
    db = rds.describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"][0]
    pending = (db.get("PendingModifiedValues") or {}).get("CACertificateIdentifier")
    return db["CACertificateIdentifier"], pending


def test_facts_over_two_accounts_tells_same_identifiers_apart_and_reports_the_refused_account(sim):
    result = sim.run_playbook(play([facts_task()], ["inv"]))
    inv = result.task("inv")
    assert not inv.get("failed"), inv.get("msg")
    labels = sorted(d["label"] for d in inv["databases"])
    # orders-staging exists in both accounts: two databases, told apart by the account.
    assert "%s/us-east-1/orders-staging" % A in labels and "%s/us-east-1/orders-staging" % B in labels
    twins = [d for d in inv["databases"] if d["identifier"] == "orders-staging"]
    assert sorted((d["account"], d["account_alias"], d["tags"]["App"]) for d in twins) == [
        (A, "shop-staging", "orders"), (B, "shop-prod", "orders-legacy")]
    for db in inv["databases"]:
        assert db["label"] == "%s/%s/%s" % (db["account"], db["region"], db["identifier"])
        assert db["arn"].split(":")[4] == db["account"]
    # Production lives in B only, across three regions.
    assert set(d["region"] for d in inv["databases"] if d["account"] == B) == set(REGIONS)
    assert not any(d["account"] == C for d in inv["databases"])
    # The refused account is reported, unknown rather than empty.
    assert inv["failed_accounts"] == [{
        "account": C, "role_arn": "arn:aws:iam::%s:role/rdsca-audit" % C, "error_code": "AccessDenied",
        "message": inv["failed_accounts"][0]["message"]}]
    assert "is not authorized to perform: sts:AssumeRole" in inv["failed_accounts"][0]["message"]
    assert [a["account"] for a in inv["accounts"]] == [A, B]
    assert inv["summary"]["accounts_queried"] == 3 and inv["summary"]["accounts_failed"] == 1
    assert set(inv["summary"]["by_account"]) == {A, B}
    assert sum(inv["summary"]["by_account"].values()) == inv["summary"]["databases"]
    assert inv["failed_regions"] == []
    assert sorted(inv["regions"]) == sorted("%s/%s" % (a, r) for a in (A, B) for r in REGIONS)
    # Calls per account and region; one AssumeRole per account, none for the refused account's RDS.
    assert set(inv["api_calls"]) >= set("%s/%s" % (a, r) for a in (A, B) for r in REGIONS)
    assert inv["api_calls"]["us-east-1"]["AssumeRole"] == 3
    assert not any(key.startswith(C) for key in inv["api_calls"])


def test_facts_strict_fails_after_listing_the_refused_account(sim):
    result = sim.run_playbook(play([facts_task(strict=True)], ["inv"]))
    inv = result.task("inv")
    assert inv["failed"]
    assert "Could not assume the role of 1 account(s)" in inv["msg"] and C in inv["msg"]
    assert [f["account"] for f in inv["failed_accounts"]] == [C]
    # Listed first: what the other accounts gave is still returned.
    assert any(d["account"] == B for d in inv["databases"])


def test_facts_without_accounts_keeps_region_labels_and_names_the_arn_account(sim):
    result = sim.run_playbook(play([facts_task(accounts=None, role_name=None)], ["inv"]))
    inv = result.task("inv")
    assert not inv.get("failed"), inv.get("msg")
    assert sorted(d["label"] for d in inv["databases"]) == [
        "eu-west-1/graph-staging-1", "us-east-1/billing-staging", "us-east-1/catalog-docs-staging-1",
        "us-east-1/orders-staging"]
    assert set(d["account"] for d in inv["databases"]) == {A}
    assert inv["failed_accounts"] == [] and "accounts" not in inv
    assert sorted(inv["regions"]) == sorted(REGIONS)


@pytest.mark.parametrize("accounts, role_name, expected", [
    ([{"account_id": "12345"}], "r", "accounts[1]: account_id must be 12 digits"),
    ([{"role_arn": "arn:aws:iam::12:role/x"}], None, "is not an IAM role ARN"),
    ([{"account_id": A}], None, "accounts[1]: account %s has no role_arn" % A),
    ([{"account_id": A}, {"role_arn": "arn:aws:iam::%s:role/rdsca-audit" % A}], "r", "listed twice"),
    ([{"account_id": B, "role_arn": "arn:aws:iam::%s:role/rdsca-audit" % A}], None, "is in account %s, not" % A),
])
def test_bad_accounts_are_refused_before_any_call(sim, accounts, role_name, expected):
    sim.reset_calls()
    result = sim.run_playbook(play([facts_task(accounts=accounts, role_name=role_name)], ["inv"]))
    inv = result.task("inv")
    assert inv["failed"] and expected in inv["msg"], inv["msg"]
    assert sim.calls()["total"] == 0


def test_external_id_is_never_shown(sim):
    secret = "s3cr3t-external-id"
    result = sim.run_playbook(play([facts_task(accounts=[{"account_id": B, "external_id": secret},
                                                         {"account_id": B}])], ["inv"]), extra_args=["-v"])
    assert result.task("inv")["failed"]
    assert secret not in result.stdout + result.stderr


def rotate_task(register, databases, **options):
    args = dict(databases=databases, role_name="rdsca-rotation", accounts=ACCOUNTS, target_ca="rds-ca-rsa2048-g1",
                allow_restart=True, poll_interval=0.5, wait_timeout=120)
    args.update(options)
    return {"name": register, "rdsca.rotation.rds_ca_rotate": args, "register": register, "ignore_errors": True}


ORDERS_PROD_B = "%s/us-east-1/orders-prod" % B


def test_rotate_in_account_b_leaves_account_a_untouched_and_check_mode_predicts_it(sim):
    wanted = [ORDERS_PROD_B, {"identifier": "orders-staging", "region": "us-east-1", "account": B}]
    preview = sim.run_playbook(play([rotate_task("preview", wanted)], ["preview"]), check=True).task("preview")
    assert not preview.get("failed"), preview.get("msg")
    assert ca_of(sim, B, "us-east-1", "orders-prod") == ("rds-ca-2019", None)
    result = sim.run_playbook(play([rotate_task("run", wanted)], ["run"])).task("run")
    assert not result.get("failed"), result.get("msg")
    outcome = [(d["label"], d["account"], d["account_alias"], d["status"]) for d in result["databases"]]
    assert outcome == [(ORDERS_PROD_B, B, "shop-prod", "rotated"),
                       ("%s/us-east-1/orders-staging" % B, B, "shop-prod", "unchanged")]
    # Check mode predicted the same statuses.
    assert [(d["label"], d["status"]) for d in preview["databases"]] == [(d[0], d[3]) for d in outcome]
    assert ca_of(sim, B, "us-east-1", "orders-prod") == ("rds-ca-rsa2048-g1", None)
    # Account A's orders-staging (the same identifier) is untouched, and no call was sent in account A.
    assert ca_of(sim, A, "us-east-1", "orders-staging") == ("rds-ca-2019", None)
    assert set(result["api_calls"]) == {"us-east-1", "%s/us-east-1" % B}
    assert set(result["api_calls"]["us-east-1"]) == {"AssumeRole"} and result["api_calls"]["us-east-1"]["AssumeRole"] == 1
    assert result["regions"] == {"%s/us-east-1" % B: result["regions"]["%s/us-east-1" % B]}
    # The results (and their labels) are the rollback input as they are, in account B only. (rds-ca-2019, the
    # previous CA here, has expired and cannot be rotated to: another CA stands in for it.)
    back = sim.run_playbook(play([rotate_task("back", [d for d in result["databases"] if d["status"] == "rotated"],
                                              target_ca="rds-ca-rsa4096-g1")], ["back"])).task("back")
    assert [(d["label"], d["status"]) for d in back["databases"]] == [(ORDERS_PROD_B, "rotated")], back.get("msg")
    labels = sim.run_playbook(play([rotate_task("labels", [ORDERS_PROD_B], target_ca="rds-ca-rsa2048-g1")],
                                   ["labels"])).task("labels")
    assert [(d["label"], d["status"]) for d in labels["databases"]] == [(ORDERS_PROD_B, "rotated")], labels.get("msg")
    assert ca_of(sim, A, "us-east-1", "orders-staging") == ("rds-ca-2019", None)


def test_rotate_with_a_refused_account_goes_on_for_the_others_or_stops_when_strict(sim):
    wanted = ["%s/us-east-1/acquired-db" % C, ORDERS_PROD_B]
    strict = sim.run_playbook(play([rotate_task("strict", wanted, strict=True)], ["strict"])).task("strict")
    assert strict["failed"] and strict["msg"].startswith("Nothing was changed: could not assume the role of 1 account")
    assert [f["account"] for f in strict["failed_accounts"]] == [C]
    assert ca_of(sim, B, "us-east-1", "orders-prod") == ("rds-ca-2019", None)

    preview = sim.run_playbook(play([rotate_task("preview", wanted)], ["preview"]), check=True).task("preview")
    sim.reset_calls()
    result = sim.run_playbook(play([rotate_task("run", wanted)], ["run"])).task("run")
    assert result["failed"]  # the refused account's database is a failure: unknown, not done
    # Check mode predicted the same outcome.
    assert preview["failed"] and [(d["label"], d["status"]) for d in preview["databases"]] == [(ORDERS_PROD_B, "rotated")]
    assert [(f["label"], f["status"]) for f in preview["failures"]] == [(f["label"], f["status"]) for f in result["failures"]]
    assert [(d["label"], d["status"]) for d in result["databases"]] == [(ORDERS_PROD_B, "rotated")]
    assert [f["label"] for f in result["failures"]] == ["%s/us-east-1/acquired-db" % C]
    by_account = result["summary"]["by_account"]
    assert (by_account[B]["rotated"], by_account[B]["total"], by_account[C]["failed"], by_account[C]["total"]) == (1, 1, 1, 1)
    assert "could not be assumed" in result["failures"][0]["reason"]
    assert [(f["account"], f["error_code"]) for f in result["failed_accounts"]] == [(C, "AccessDenied")]
    assert ca_of(sim, B, "us-east-1", "orders-prod") == ("rds-ca-rsa2048-g1", None)
    # Nothing reached account C.
    assert C not in sim.calls().get("by_account", {})


def test_rotate_entries_need_their_account_with_several_accounts(sim):
    sim.reset_calls()
    result = sim.run_playbook(play([rotate_task("run", ["us-east-1/orders-prod"])], ["run"])).task("run")
    assert result["failed"] and "names no account" in result["msg"]
    assert sim.calls()["total"] == 0
    # Without the accounts option, an entry of another account (rds_ca_facts output of B) is refused.
    entry = {"identifier": "orders-staging", "region": "us-east-1", "account": B}
    result = sim.run_playbook(play([rotate_task("run", [entry], accounts=None, role_name=None)], ["run"])).task("run")
    assert result["failed"] and "names account %s, but the database found is in account %s" % (B, A) in result["msg"]
    assert ca_of(sim, A, "us-east-1", "orders-staging") == ("rds-ca-2019", None)


def test_ssl_usage_describes_each_database_in_its_own_account(sim):
    twins = [{"identifier": "orders-staging", "region": "us-east-1", "account": a} for a in (A, B, C)]
    args = dict(databases=twins, role_name="rdsca-audit", accounts=ACCOUNTS, probe=False)
    task = {"name": "usage", "rdsca.rotation.rds_ssl_usage": args, "register": "usage", "ignore_errors": True}
    usage = sim.run_playbook(play([task], ["usage"])).task("usage")
    assert not usage.get("failed"), usage.get("msg")
    got = [(d["label"], d["account"], d["account_alias"], d["current_ca"], d["ssl_enforced"]) for d in usage["databases"]]
    # The parameter groups read in each account: PostgreSQL 16 enforces TLS by default (rds.force_ssl=1).
    assert got == [("%s/us-east-1/orders-staging" % A, A, "shop-staging", "rds-ca-2019", True),
                   ("%s/us-east-1/orders-staging" % B, B, "shop-prod", "rds-ca-rsa2048-g1", True)]
    assert [(f["account"], f["error_code"]) for f in usage["failed_accounts"]] == [(C, "AccessDenied")]
    # Per account, the summary's totals; the refused account is not counted (not inspected).
    by_account = usage["summary"]["by_account"]
    assert sorted(by_account) == [A, B]
    assert [(by_account[a]["databases"], by_account[a]["ssl_enforced"]["enforced"]) for a in (A, B)] == [(1, 1), (1, 1)]
    assert set(usage["api_calls"]) == {"us-east-1", "%s/us-east-1" % A, "%s/us-east-1" % B}
    strict = sim.run_playbook(play([dict(task, **{"rdsca.rotation.rds_ssl_usage": dict(args, strict=True)})],
                                   ["usage"])).task("usage")
    assert strict["failed"] and "Could not assume the role of 1 account(s): %s" % C in strict["msg"]


def default_of(sim, account, region):
    """The default CA for new launches of an account's region (DescribeCertificates)."""
    return rds_of(sim, account, region).describe_certificates()["DefaultCertificateForNewLaunches"]


def test_account_default_is_set_in_every_named_account_and_region(sim):
    """databases: [] with account_default - every named account's region (eu-west-1 is on rds-ca-2019 in A and B)."""
    target = "rds-ca-rsa2048-g1"
    ours = ["%s/eu-west-1" % a for a in (A, B)]
    task = rotate_task("defaults", [], region="eu-west-1", account_default=True)
    preview = sim.run_playbook(play([task], ["defaults"]), check=True).task("defaults")
    assert [default_of(sim, a, "eu-west-1") for a in (A, B)] == ["rds-ca-2019", "rds-ca-2019"]
    result = sim.run_playbook(play([task], ["defaults"])).task("defaults")
    for outcome in (preview, result):
        assert sorted(outcome["regions"]) == ours, outcome.get("msg")
        for label in ours:
            entry = outcome["regions"][label]
            assert (entry["previous_default_ca"], entry["default_ca_for_new_launches"], entry["changed"],
                    entry["drift"]) == ("rds-ca-2019", target, True, False), (label, entry)
        # The refused account's default is unknown: a failure, and the task fails at the end.
        assert outcome["failed"] and outcome["changed"]
        assert [(f["label"], f["status"]) for f in outcome["failures"]] == [("%s/eu-west-1" % C, "failed")]
        assert "could not be assumed" in outcome["failures"][0]["reason"]
        assert outcome["msg"].startswith("1 failed (of 0 databases and 3 region default(s), target %s)" % target)
        assert [f["account"] for f in outcome["failed_accounts"]] == [C]
        assert [a["account"] for a in outcome["accounts"]] == [A, B]
    assert [default_of(sim, a, "eu-west-1") for a in (A, B)] == [target, target]
    # Idempotent: nothing left to change in either account.
    again = sim.run_playbook(play([task], ["defaults"])).task("defaults")
    assert not again["changed"] and [again["regions"][label]["changed"] for label in ours] == [False, False]
    # Strict: the refused account stops the task before any change.
    sim.load(estate())
    task = rotate_task("defaults", [], region="eu-west-1", account_default=True, strict=True)
    strict = sim.run_playbook(play([task], ["defaults"])).task("defaults")
    assert strict["failed"] and strict["msg"].startswith("Nothing was changed: could not assume the role of 1 account")
    assert [default_of(sim, a, "eu-west-1") for a in (A, B)] == ["rds-ca-2019", "rds-ca-2019"]


def test_facts_discovers_the_accounts_through_the_organization(sim):
    """organization: ListAccounts from the caller (the management account of the estate's organization), include and
    exclude on account names and IDs, the refused member reported in failed_accounts."""
    everything = facts_task("everything", accounts=None, organization={"enabled": True})
    named = facts_task("named", accounts=None, organization={"include": ["shop-*"], "exclude": ["*acquired"]})
    by_id = facts_task("by_id", accounts=None, organization={"include": [B, C], "exclude": [C]})
    result = sim.run_playbook(play([everything, named, by_id], ["everything", "named", "by_id"]))
    inv = result.task("everything")
    assert not inv.get("failed"), inv.get("msg")
    assert [(a["account"], a["alias"]) for a in inv["accounts"]] == [(A, "shop-staging"), (B, "shop-prod")]
    assert [(f["account"], f["role_arn"], f["error_code"]) for f in inv["failed_accounts"]] == [
        (C, "arn:aws:iam::%s:role/rdsca-audit" % C, "AccessDenied")]
    assert set(d["account"] for d in inv["databases"]) == {A, B}
    assert all(d["label"] == "%s/%s/%s" % (d["account"], d["region"], d["identifier"]) for d in inv["databases"])
    assert inv["summary"]["accounts_queried"] == 3 and inv["summary"]["accounts_failed"] == 1
    assert inv["api_calls"]["us-east-1"]["ListAccounts"] == 1
    named = result.task("named")
    assert not named.get("failed"), named.get("msg")
    assert [a["account"] for a in named["accounts"]] == [A, B] and named["failed_accounts"] == []
    assert named["summary"]["by_account"] == inv["summary"]["by_account"]
    by_id = result.task("by_id")
    assert [a["account"] for a in by_id["accounts"]] == [B] and by_id["failed_accounts"] == []
    assert set(d["account"] for d in by_id["databases"]) == {B}
    # A suspended member is not listed as ACTIVE: not discovered, not failed.
    sim.load(dict(estate(), organization={"suspended": [C]}))
    suspended = sim.run_playbook(play([everything], ["everything"])).task("everything")
    assert [a["account"] for a in suspended["accounts"]] == [A, B] and suspended["failed_accounts"] == []
    # A filter that selects no account is refused, never an empty estate.
    nothing = sim.run_playbook(play([facts_task("nothing", accounts=None, organization={"include": ["shop-prd*"]})],
                                    ["nothing"])).task("nothing")
    assert nothing["failed"] and "none of the 3 account(s) organizations:ListAccounts returned" in nothing["msg"]


def test_account_default_across_the_organization_in_check_mode(sim):
    """rds_ca_rotate account_default with organization: every member's region (its role assumed), the refused member a
    failure; check mode changes nothing."""
    task = rotate_task("defaults", [], region="eu-west-1", account_default=True, accounts=None,
                       organization={"exclude": [C]})
    preview = sim.run_playbook(play([task], ["defaults"]), check=True).task("defaults")
    assert not preview.get("failed"), preview.get("msg")
    assert sorted(preview["regions"]) == ["%s/eu-west-1" % a for a in (A, B)]
    assert all(r["changed"] and r["previous_default_ca"] == "rds-ca-2019" for r in preview["regions"].values())
    assert preview["api_calls"]["us-east-1"]["ListAccounts"] == 1
    assert [default_of(sim, a, "eu-west-1") for a in (A, B)] == ["rds-ca-2019", "rds-ca-2019"]
