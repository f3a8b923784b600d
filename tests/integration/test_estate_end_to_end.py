"""Issue 17's "Done means", end to end: the shipped playbooks audit and rotate the two-account, three-region estate
(tests/fleets/estate.yml) with endpoint verification on, against its linked servers.

Staging lives in 111111111111 (the caller's own account), production in 222222222222, and 333333333333's role
refuses the caller. The estate has Aurora, a Multi-AZ DB cluster, DocumentDB (direct TLS, like 27017), Neptune
(HTTPS, like 8182; production's endpoint presents its ACM certificate, as the Neptune User Guide documents) and an
RDS Proxy. Real TLS servers stand in for the linked endpoints; the controller probes them on 127.0.0.1.

Everything asserted about the databases is read back from the simulator (DescribeDBInstances, DescribeDBClusters,
DescribeEvents, the call log), not from the playbooks' output; the reports are checked for what they must show.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import boto3
import pytest
import yaml
from moto.rds.models import rds_backends

from test_playbooks_accounts import A, B, C, ESTATE, MODIFY_OPERATIONS, OLD, REGIONS, TARGET, Estate
from tests.simulator.linked import tools_available
from tests.simulator.rds_ext import STATE

CHANGES = MODIFY_OPERATIONS
# The engines of the estate whose engine versions rotate without a restart (SupportsCertificateRotationWithoutRestart:
# postgres 16.3, aurora-postgresql 15.4, mysql 8.0.36, the Multi-AZ DB cluster's postgres 16.3), and those that
# restart (postgres 11.22, DocumentDB, Neptune): tests/simulator/catalog.py.
RESTARTING = {(A, "us-east-1", "billing-staging"), (A, "us-east-1", "catalog-docs-staging-1"),
              (A, "eu-west-1", "graph-staging-1"), (B, "us-east-1", "catalog-docs-prod-1"),
              (B, "us-east-1", "catalog-docs-prod-2"), (B, "eu-west-1", "graph-prod-1")}


def _estate() -> dict[str, Any]:
    """estate.yml, with production's Neptune linked too: its endpoint presents Neptune's ACM certificate."""
    with open(ESTATE, encoding="utf-8") as handle:
        fleet = yaml.safe_load(handle)
    fleet = copy.deepcopy(fleet)
    graph = next(c for c in fleet["accounts"][B]["regions"]["eu-west-1"]["clusters"] if c["id"] == "graph-prod")
    graph["endpoint_certificate"] = "acm"
    graph["members"][0]["linked"] = "tls"
    fleet["timing"] = {"modify_seconds": 0.3, "reboot_seconds": 0.3}
    return fleet


class Run(Estate):
    """The estate loaded with its linked servers, and the shipped playbooks run over its three accounts."""

    def __init__(self, simulator, tmp) -> None:
        super().__init__(simulator, tmp, fleet=_estate())
        self.vars = {
            "rdsca_regions": REGIONS, "rdsca_target_ca": TARGET, "rdsca_report_dir": self.report_dir,
            "rdsca_accounts": [{"account_id": A}, {"account_id": B, "alias": "shop-prod"}, {"account_id": C}],
            "rdsca_account_role_name": "rdsca-rotation", "rdsca_proxies": True,
            # Verification on: the simulator's bundle stands for AWS's, its TLS servers listen on 127.0.0.1.
            "rdsca_verify": "auto", "rdsca_ca_bundle": simulator.control("GET", "/_sim/bundle")["path"],
            "rdsca_connect_host": "127.0.0.1", "rdsca_verify_timeout": 5, "rdsca_verify_grace_period": 30,
            "rdsca_client_verify": False, "rdsca_allow_restart": True, "rdsca_poll_interval": 0.5,
            "rdsca_max_concurrent": 10}

    def client(self, service: str, account: str, region: str):
        """A client of an account: the caller's own credentials in A, that account's assumed role otherwise."""
        if account == A:
            return self.simulator.client(service, region)
        creds = self.simulator.client("sts").assume_role(RoleArn="arn:aws:iam::%s:role/rdsca-audit" % account,
                                                         RoleSessionName="e2e-check")["Credentials"]
        return boto3.client(service, region_name=region, endpoint_url=self.simulator.url,
                            aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                            aws_session_token=creds["SessionToken"])

    def instances(self, account: str) -> dict[tuple[str, str, str], dict[str, Any]]:
        """(account, region, identifier) -> DescribeDBInstances' record, in every region of the estate."""
        out = {}
        for region in REGIONS:
            for db in self.client("rds", account, region).describe_db_instances()["DBInstances"]:
                out[(account, region, db["DBInstanceIdentifier"])] = db
        return out

    def restarts(self, account: str) -> set[tuple[str, str, str]]:
        """The instances RDS restarted (their events; a poll can miss a short `rebooting`)."""
        out = set()
        for region in REGIONS:
            events = self.client("rds", account, region).describe_events(SourceType="db-instance", Duration=60)["Events"]
            out.update((account, region, e["SourceIdentifier"]) for e in events if e.get("Message") == "DB instance restarted")
        return out

    def changes(self) -> dict[str, int]:
        """The changing calls the simulator served, `region service:operation` -> count (every account's)."""
        found = {}
        for where, ops in (self.simulator.calls().get("by_region") or {}).items():
            for op, count in ops.items():
                if op.split(":", 1)[-1] in CHANGES:
                    found["%s %s" % (where, op)] = count
        return found


def explain(result) -> str:
    return "rc=%s\n%s\n%s" % (result.rc, result.stdout[-8000:], result.stderr[-3000:])


@pytest.fixture
def estate(simulator, tmp_path):
    for engine in ("postgres",):
        ok, why = tools_available(engine)
        if not ok:
            pytest.skip("linked %s servers unavailable: %s" % (engine, why))
    return Run(simulator, tmp_path)


def test_the_estate_is_audited_then_rotated_by_the_shipped_playbooks_with_verification(estate):
    before = {**estate.instances(A), **estate.instances(B)}
    before_default_c = STATE.default_ca(C, "us-east-1")

    # -- audit: everything read in A and B, C reported as not inventoried; nothing changed --------------------
    started = time.monotonic()
    audited = estate.run("audit")
    print("audit: %.1fs" % (time.monotonic() - started))
    audit = estate.latest("audit")
    assert audit["outcome"] == "completed_with_failures" and audited.rc != 0, explain(audited)
    assert estate.changes() == {}
    totals = dict((a["account"], a) for a in audit["summary"]["accounts"])
    assert list(totals) == [A, B, C]
    assert [(totals[a]["databases"], totals[a]["needs_rotation"]) for a in (A, B)] == [
        (sum(1 for key in before if key[0] == a),
         sum(1 for key, db in before.items() if key[0] == a and db["CACertificateIdentifier"] == OLD)) for a in (A, B)]
    assert (totals[C]["status"], totals[C]["databases"], totals[C]["error_code"]) == (
        "unknown, not inventoried", None, "AccessDenied")
    rows = dict((row["label"], row) for row in audit["databases"])
    proxied = rows["%s/us-east-1/orders-prod" % B]["client_trust"]
    assert (proxied["proxies"], proxied["through_proxies"]) == (["orders-proxy"], "Amazon Trust Services")
    # Neptune: staging's endpoint was seen presenting an RDS CA chain (its clients must trust the new CA), production's
    # presents its ACM certificate (Amazon Trust Services, unchanged by the rotation).
    neptune = [rows["%s/eu-west-1/graph-staging-1" % A]["client_trust"], rows["%s/eu-west-1/graph-prod-1" % B]["client_trust"]]
    assert [(t["direct"], t["changes_with_rotation"]) for t in neptune] == [(TARGET, True), ("Amazon Trust Services", False)]
    audit_md = estate.markdown(audit)
    assert "Neptune (%s/eu-west-1/graph-prod-1)" % B in audit_md
    assert "RDS Proxy (orders-proxy)" in audit_md and "Amazon Trust Services" in audit_md

    # -- rotate: staging (A) first, its gate, then production (B) -----------------------------------------
    estate.simulator.reset_calls()
    started = time.monotonic()
    rotated = estate.run("rotate")
    print("rotate: %.1fs" % (time.monotonic() - started))
    report = estate.latest("rotate")
    # The refused account is the run's one failure (unknown, not done); every database of A and B is done.
    assert report["outcome"] == "completed_with_failures" and rotated.rc != 0, explain(rotated)
    assert [f["label"] for f in report["failures"]] == [C], report["failures"]
    assert report["gate"]["passed"] is True, report["gate"]

    # Read back from the simulator: every database of A and B on the target CA, nothing pending.
    after = {**estate.instances(A), **estate.instances(B)}
    assert sorted(after) == sorted(before)
    assert dict((key, (db["CACertificateIdentifier"], (db.get("PendingModifiedValues") or {}).get("CACertificateIdentifier")))
                for key, db in after.items()) == dict((key, (TARGET, None)) for key in after)
    # DocumentDB, Neptune, Aurora and the Multi-AZ DB cluster among them (the cluster's own CA too).
    engines = dict((key, db["Engine"]) for key, db in after.items())
    assert {"docdb", "neptune", "aurora-postgresql", "mysql", "postgres"} <= set(engines.values())
    (maz,) = estate.client("rds", B, "eu-west-1").describe_db_clusters(DBClusterIdentifier="ledger-maz")["DBClusters"]
    assert (maz["CertificateDetails"]["CAIdentifier"], maz.get("PendingModifiedValues")) == (TARGET, None), maz
    assert [key for key in after if key[:2] == (B, "eu-west-1") and key[2].startswith("ledger-maz")]
    assert estate.changes().get("eu-west-1 rds:ModifyDBCluster") == 1, estate.changes()  # ledger-maz, B's only one
    # The default CA for new launches, read back: the target in every region of A and B.
    assert dict(((account, region), estate.client("rds", account, region).describe_certificates()[
        "DefaultCertificateForNewLaunches"]) for account in (A, B) for region in REGIONS) == dict(
        ((account, region), TARGET) for account in (A, B) for region in REGIONS)

    # Restarts: only the engines that cannot rotate without one; none of the hot-swap engines restarted.
    assert estate.restarts(A) | estate.restarts(B) == RESTARTING

    # Nothing at all reached the refused account: the call log counts no call made with its credentials (its role
    # was never assumed; the refused AssumeRole itself is a call of the caller's account), so no Modify* either.
    by_account = estate.simulator.calls().get("by_account") or {}
    assert by_account.get(C, 0) == 0 and by_account.get(A) and by_account.get(B), by_account
    # Its database, read in the simulator's own backend (no credentials reach it): on the old CA, nothing pending.
    acquired = rds_backends[C]["us-east-1"].databases["acquired-db"]
    assert (acquired.ca_certificate_identifier, STATE.extra(acquired).pending_ca) == (OLD, None)
    assert STATE.default_ca(C, "us-east-1") == before_default_c

    # The report: per-account totals match what the simulator shows, the proxy with its Amazon Trust Services note.
    totals = dict((a["account"], a) for a in report["summary"]["accounts"])
    assert list(totals) == [A, B, C]
    for account in (A, B):
        mine = [key for key in after if key[0] == account]
        assert totals[account]["databases"] == len(mine), totals[account]
        assert totals[account]["in_scope"] == len(mine)
        assert totals[account]["on_target_after"] == len(mine)
        assert totals[account]["failures"] == 0
        assert sum(totals[account]["by_status"].values()) == len(mine)
    assert (totals[C]["status"], totals[C]["error_code"], totals[C]["failures"]) == ("unknown, not inventoried",
                                                                                     "AccessDenied", 1)
    rows = dict((row["label"], row) for row in report["databases"])
    # Phases come from the Environment tag, whatever the account: staging in A (and B's legacy orders-staging).
    for key, db in after.items():
        row = rows["%s/%s/%s" % key]
        environment = dict((t["Key"], t["Value"]) for t in db.get("TagList") or [])["Environment"]
        assert (row["phase"], row["account"]) == (environment, key[0]), row
    assert {row["phase"] for row in rows.values() if row["account"] == A} == {"staging"}
    assert {row["status"] for row in rows.values() if row["account"] == B and row["phase"] == "production"} == {"rotated"}
    assert rows["%s/us-east-1/orders-prod" % B]["client_trust"]["through_proxies"] == "Amazon Trust Services"
    markdown = estate.markdown(report)
    assert markdown.index("## Accounts") < markdown.index("## Summary")
    assert "| %s | **UNKNOWN, NOT INVENTORIED: AccessDenied" % C in markdown
    assert "RDS Proxy (orders-proxy)" in markdown
    # The per-account table of the Markdown report: the same totals, in words.
    for account, alias in ((A, "shop-staging"), (B, "shop-prod")):
        mine = [key for key in after if key[0] == account]
        needed = sum(1 for key in mine if before[key]["CACertificateIdentifier"] == OLD)
        assert "| %s (%s) | %d databases, %d in scope, %d need rotation, %d on %s after; " % (
            account, alias, len(mine), len(mine), needed, len(mine), TARGET) in markdown, markdown[:3000]

    # Verification on: the linked endpoints were probed and verified - DocumentDB's direct TLS, Neptune's HTTPS
    # (production's presenting its ACM certificate, accepted as unchanged), PostgreSQL's.
    verified = dict((label, row["verification"]) for label, row in rows.items())
    for label in ("%s/us-east-1/orders-staging" % A, "%s/us-east-1/catalog-docs-staging-1" % A,
                  "%s/eu-west-1/graph-staging-1" % A, "%s/us-east-1/orders-prod" % B,
                  "%s/us-east-1/catalog-docs-prod-1" % B, "%s/eu-west-1/graph-prod-1" % B):
        assert verified[label]["endpoint"] == "verified", (label, verified[label])
    linked = estate.simulator.control("GET", "/_sim/linked")
    presented = dict((key, info["presented_ca"]) for key, info in linked.items())
    assert presented["%s/eu-west-1/graph-prod-1" % B] == "acm", presented
    assert set(v for k, v in presented.items() if not k.endswith("graph-prod-1")) == {TARGET}, presented
