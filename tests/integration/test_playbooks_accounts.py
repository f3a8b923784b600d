"""The shipped playbooks across several accounts (issue 17): the simulator's two-account estate, audited and rotated
with staging in one account and production in the other; the report's per-account totals; the third account, whose
role refuses the caller, reported as unknown and untouched.

Fleet: tests/fleets/estate.yml without its linked servers (no endpoint is probed: rdsca_verify=none, no TLS usage),
so that no database server is needed. The playbooks run as users run them: ansible-playbook rdsca.rotation.<name>.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import boto3
import pytest
import yaml

from conftest import REPO

A, B, C = "111111111111", "222222222222", "333333333333"
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]
TARGET = "rds-ca-rsa2048-g1"
OLD = "rds-ca-2019"
ESTATE = os.path.join(REPO, "tests", "fleets", "estate.yml")
MODIFY_OPERATIONS = ("ModifyDBInstance", "ModifyDBCluster", "ApplyPendingMaintenanceAction", "ModifyCertificates",
                     "RebootDBInstance")


def _unlinked(node):
    if isinstance(node, dict):
        return dict((k, _unlinked(v)) for k, v in node.items() if k != "linked")
    if isinstance(node, list):
        return [_unlinked(v) for v in node]
    return node


def explain(result) -> str:
    return (result.stdout[-6000:] + result.stderr[-2000:]) if result is not None else ""


class Estate:
    """The two-account estate loaded, and runs of the collection's playbooks over its three accounts."""

    def __init__(self, simulator, tmp, fleet: dict[str, Any] | None = None) -> None:
        if fleet is None:
            with open(ESTATE, encoding="utf-8") as handle:
                fleet = _unlinked(yaml.safe_load(handle))
        self.simulator = simulator.load(fleet)
        self.report_dir = str(tmp / "reports")
        self.inventory = str(tmp / "inventory.yml")
        with open(self.inventory, "w", encoding="utf-8") as handle:
            handle.write("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
                         "      ansible_python_interpreter: %s\n  children:\n    rds_clients:\n      hosts: {}\n"
                         % sys.executable)
        # The caller's own account is listed too (with its role): only the accounts listed are read.
        self.vars = {"rdsca_regions": REGIONS, "rdsca_target_ca": TARGET, "rdsca_report_dir": self.report_dir,
                     "rdsca_accounts": [{"account_id": A}, {"account_id": B, "alias": "shop-prod"}, {"account_id": C}],
                     "rdsca_account_role_name": "rdsca-rotation",
                     "rdsca_verify": "none", "rdsca_ssl_usage": False, "rdsca_client_verify": False,
                     "rdsca_require_verified_staging": False, "rdsca_allow_restart": True, "rdsca_poll_interval": 0.5}

    def run(self, playbook: str, check: bool = False, **extra: Any):
        return self.simulator.run_playbook("rdsca.rotation." + playbook, extra_vars=dict(self.vars, **extra), check=check,
                                           extra_args=["-i", self.inventory])

    def latest(self, kind: str) -> dict[str, Any]:
        names = sorted(n for n in os.listdir(self.report_dir) if n.startswith(kind + "-") and n.endswith(".json"))
        assert names, "no %s report in %s" % (kind, self.report_dir)
        with open(os.path.join(self.report_dir, names[-1]), encoding="utf-8") as handle:
            return json.load(handle)

    def markdown(self, report: dict[str, Any]) -> str:
        with open(os.path.join(self.report_dir, "%s-%s.md" % (report["kind"], report["run_id"])), encoding="utf-8") as handle:
            return handle.read()

    def ca_of(self, account: str, region: str, ident: str) -> tuple[str, str | None]:
        """The CA RDS shows for an instance of an account (read with that account's role, or the caller's own)."""
        if account == A:
            rds = self.simulator.client("rds", region)
        else:
            creds = self.simulator.client("sts").assume_role(RoleArn="arn:aws:iam::%s:role/rdsca-rotation" % account,
                                                             RoleSessionName="test")["Credentials"]
            rds = boto3.client("rds", region_name=region, endpoint_url=self.simulator.url,
                               aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                               aws_session_token=creds["SessionToken"])
        db = rds.describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"][0]
        return db["CACertificateIdentifier"], (db.get("PendingModifiedValues") or {}).get("CACertificateIdentifier")

    def modifications(self) -> dict[str, int]:
        found = {}
        calls = self.simulator.calls()
        for where, ops in (calls.get("by_region") or {}).items():
            for op, count in ops.items():
                if op.split(":", 1)[-1] in MODIFY_OPERATIONS:
                    found["%s %s" % (where, op)] = count
        return found

    def calls_in(self, account: str) -> int:
        """The calls the simulator served in ``account`` (with that account's credentials)."""
        return (self.simulator.calls().get("by_account") or {}).get(account, 0)


@pytest.fixture
def estate(simulator, tmp_path):
    return Estate(simulator, tmp_path)


def accounts_of(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict((a["account"], a) for a in report["summary"]["accounts"])


def test_the_audit_reports_per_account_totals_and_the_account_it_could_not_read(estate):
    result = estate.run("audit")
    report = estate.latest("audit")
    # The audit is incomplete (an account could not be read): it fails at its end, after the report.
    assert result.rc != 0 and report["outcome"] == "completed_with_failures", explain(result)
    labels = [row["label"] for row in report["databases"]]
    assert "%s/us-east-1/orders-staging" % A in labels and "%s/us-east-1/orders-staging" % B in labels
    assert all(label.split("/")[0] in (A, B) for label in labels)
    accounts = accounts_of(report)
    assert list(accounts) == [A, B, C]
    assert (accounts[A]["account_alias"], accounts[B]["account_alias"]) == ("shop-staging", "shop-prod")
    for account in (A, B):
        assert accounts[account]["status"] == "inventoried"
        assert accounts[account]["databases"] == sum(1 for row in report["databases"] if row["account"] == account)
    assert accounts[C]["status"] == "unknown, not inventoried" and accounts[C]["databases"] is None
    assert accounts[C]["error_code"] == "AccessDenied"
    assert [f["label"] for f in report["failures"] if f["what"] == "account"] == [C]
    markdown = estate.markdown(report)
    assert markdown.index("## Accounts") < markdown.index("## Summary")
    assert "| %s | **UNKNOWN, NOT INVENTORIED: AccessDenied" % C in markdown


def test_strict_stops_before_any_change_when_an_account_cannot_be_read(estate):
    estate.simulator.reset_calls()
    result = estate.run("rotate", rdsca_strict=True)
    report = estate.latest("rotate")
    assert result.rc != 0 and report["outcome"] == "stopped", explain(result)
    assert report["stop"]["step"] == "pre-flight" and "account %s could not be read" % C in report["stop"]["reason"]
    assert estate.modifications() == {} and estate.calls_in(C) == 0
    assert estate.ca_of(B, "us-east-1", "orders-prod") == (OLD, None)
    assert estate.ca_of(A, "us-east-1", "orders-staging") == (OLD, None)


def test_rotate_staging_in_one_account_production_in_the_other_and_check_mode_predicts_the_gate(estate):
    planned = estate.run("rotate", check=True)
    plan = estate.latest("rotate")
    assert plan["gate"] is not None and plan["gate"]["passed"] is True, explain(planned)
    assert estate.modifications() == {}
    assert estate.ca_of(A, "us-east-1", "orders-staging") == (OLD, None)

    estate.simulator.reset_calls()
    result = estate.run("rotate")
    report = estate.latest("rotate")
    # The refused account is a failure of the run (unknown, not done); everything else is done.
    assert report["outcome"] == "completed_with_failures" and result.rc != 0, explain(result)
    assert [f["label"] for f in report["failures"]] == [C], report["failures"]
    # The staging gate passed as --check predicted, across the accounts.
    assert report["gate"]["passed"] is True
    assert [c["ok"] for c in report["gate"]["checks"]] == [c["ok"] for c in plan["gate"]["checks"]]
    rows = dict((row["label"], row) for row in report["databases"])
    assert rows["%s/us-east-1/orders-staging" % A]["phase"] == "staging"
    assert rows["%s/us-east-1/orders-staging" % A]["status"] == "rotated"
    assert rows["%s/us-east-1/orders-prod" % B]["phase"] == "production"
    assert rows["%s/us-east-1/orders-prod" % B]["status"] == "rotated"
    assert estate.ca_of(A, "us-east-1", "orders-staging") == (TARGET, None)
    assert estate.ca_of(B, "us-east-1", "orders-prod") == (TARGET, None)
    # Per-account totals: staging's account and production's, and the one that could not be read.
    accounts = accounts_of(report)
    assert accounts[A]["by_status"].get("rotated") and accounts[B]["by_status"].get("rotated")
    assert accounts[B]["on_target_after"] >= 2
    assert accounts[C]["status"] == "unknown, not inventoried"
    # The default CA for new launches, set in every account read (eu-west-1 was on rds-ca-2019 in both).
    regions = dict((r["region"], r) for r in report["regions"])
    assert [(regions["%s/eu-west-1" % a]["default_before"], regions["%s/eu-west-1" % a]["default_after"],
             regions["%s/eu-west-1" % a]["changed"]) for a in (A, B)] == [(OLD, TARGET, True)] * 2
    step = [s for s in report["steps"] if s["name"] == "default CA for new launches"]
    assert [s["status"] for s in step] == ["ok"] and "of every account" in step[0]["note"], step
    planned_regions = dict((r["region"], r) for r in plan["regions"])
    assert planned_regions["%s/eu-west-1" % B]["default_after"] == TARGET  # check mode predicted it
    # Nothing reached the refused account (its role was never assumed).
    assert estate.calls_in(C) == 0


def test_rollback_takes_account_labels_and_refuses_an_identifier_found_in_two_accounts(estate):
    # rds-ca-2019 has expired: the "previous" CA here is another current one, as an operator would choose.
    result = estate.run("rollback", rdsca_rollback_databases=["%s/us-east-1/orders-prod" % B, "us-east-1/orders-staging"],
                        rdsca_rollback_to_ca="rds-ca-rsa4096-g1")
    report = estate.latest("rollback")
    rows = dict((row["label"], row) for row in report["databases"])
    assert rows["%s/us-east-1/orders-prod" % B]["status"] == "restored", explain(result)
    assert estate.ca_of(B, "us-east-1", "orders-prod") == ("rds-ca-rsa4096-g1", None)
    # orders-staging exists in both accounts: refused, naming them; neither is touched.
    refused = [f["reason"] for f in report["failures"] if "orders-staging" in f["reason"]]
    assert refused == ["us-east-1/orders-staging: in several accounts (%s, %s): name the account, account/region/identifier"
                       % (A, B)], report["failures"]
    assert estate.ca_of(A, "us-east-1", "orders-staging") == (OLD, None)
    assert estate.ca_of(B, "us-east-1", "orders-staging")[0] == TARGET
    assert result.rc != 0  # a refused database fails the rollback, after the report


def test_the_inventory_playbook_reads_every_account_and_names_the_one_it_could_not(estate):
    """The inventory playbook takes the accounts too; the refused account is in its report for people, not missing."""
    result = estate.run("inventory")
    assert result.rc == 0, explain(result)  # read-only: an account it could not read is listed, as a failed region is
    with open(os.path.join(estate.report_dir, "inventory.json"), encoding="utf-8") as handle:
        inventory = json.load(handle)
    assert sorted(set(db["account"] for db in inventory["databases"])) == [A, B]
    assert "%s/us-east-1/orders-staging" % A in [db["label"] for db in inventory["databases"]]
    assert [(f["account"], f["error_code"]) for f in inventory["failed_accounts"]] == [(C, "AccessDenied")]
    with open(os.path.join(estate.report_dir, "inventory.md"), encoding="utf-8") as handle:
        markdown = handle.read()
    assert "### Accounts that could not be read (their databases are unknown, not inventoried)" in markdown
    assert "- **%s**: AccessDenied" % C in markdown
    assert "accounts not inventoried (role refused): ['%s']" % C in result.stdout
    assert estate.modifications() == {} and estate.calls_in(C) == 0
