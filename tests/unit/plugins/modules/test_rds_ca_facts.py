# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Unit tests for the rds_ca_facts module's glue: validation, result assembly, strict mode (AWS mocked out)."""

from __future__ import annotations

import os

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.rdsca.rotation.plugins.module_utils import inventory_records
from ansible_collections.rdsca.rotation.plugins.modules import rds_ca_facts

CERTIFICATES = {"Certificates": [
    {"CertificateIdentifier": "rds-ca-2019", "CertificateType": "CA", "ValidTill": "2024-08-22T17:08:50+00:00"},
    {"CertificateIdentifier": "rds-ca-rsa2048-g1", "CertificateType": "CA", "ValidTill": "2061-05-24T22:59:00+00:00"},
], "DefaultCertificateForNewLaunches": "rds-ca-rsa2048-g1"}


def raw(region, *instances):
    return {"raw": {
        "instances": [{"DBInstanceIdentifier": ident, "DBInstanceArn": "arn:aws:rds:%s:1:db:%s" % (region, ident),
                       "Engine": "postgres", "EngineVersion": "16.3", "CACertificateIdentifier": ca,
                       "TagList": [{"Key": "Environment", "Value": "staging"}]} for ident, ca in instances],
        "clusters": [], "maintenance": [], "certificates": CERTIFICATES,
        "engine_versions": [{"Engine": "postgres", "EngineVersion": "16.3",
                             "SupportsCertificateRotationWithoutRestart": True,
                             "SupportedCACertificateIdentifiers": ["rds-ca-2019", "rds-ca-rsa2048-g1"]}],
    }, "error": None}


class Exit(Exception):
    def __init__(self, kind, result):
        super().__init__(kind)
        self.kind = kind
        self.result = result


@pytest.fixture
def aws(monkeypatch):
    """No AWS: regions resolve to the list given, gather_regions returns canned states."""
    calls = {"gather": 0, "clients": 0}
    states = {}

    class Clients:
        def __init__(self, module, counter):
            calls["clients"] += 1
            self.counter = counter

        def prepare(self, service, regions, account=None):
            assert service == "rds"

    def gather(clients, scopes, options, **kwargs):
        calls["gather"] += 1
        calls["options"] = options
        calls["concurrency"] = kwargs["concurrency"]
        calls["scopes"] = list(scopes)
        clients.counter.add(scopes[0].label, "DescribeDBInstances")
        return dict((s, states[s.label]) for s in scopes)

    monkeypatch.setattr(rds_ca_facts, "RegionClients", Clients)
    monkeypatch.setattr(rds_ca_facts, "resolve_regions", lambda module, clients, regions: list(regions or ["us-east-1"]))
    monkeypatch.setattr(rds_ca_facts, "gather_scopes", gather)

    def exit_json(self, **kwargs):
        raise Exit("exit", kwargs)

    def fail_json(self, **kwargs):
        raise Exit("fail", kwargs)

    monkeypatch.setattr(rds_ca_facts.AnsibleAWSModule, "exit_json", exit_json)
    monkeypatch.setattr(rds_ca_facts.AnsibleAWSModule, "fail_json", fail_json)
    calls["states"] = states
    return calls


def run(args):
    params = {"access_key": "AKIAFAKE", "secret_key": "fake", "region": "us-east-1"}
    params.update(args)
    with patch_module_args(params):
        with pytest.raises(Exit) as caught:
            rds_ca_facts.main()
    return caught.value


def test_result_and_facts(aws):
    aws["states"]["us-east-1"] = raw("us-east-1", ("a", "rds-ca-2019"), ("b", "rds-ca-rsa2048-g1"))
    aws["states"]["eu-west-1"] = raw("eu-west-1", ("c", "rds-ca-2019"))
    outcome = run({"regions": ["us-east-1", "eu-west-1"], "_ansible_check_mode": True, "concurrency": 3,
                   "tags": {"Environment": "staging"}, "set_facts": True})
    assert outcome.kind == "exit"
    result = outcome.result
    assert result["changed"] is False
    assert result["regions_queried"] == ["eu-west-1", "us-east-1"]
    assert [(d["region"], d["identifier"], d["reason"]) for d in result["databases"]] == [
        ("eu-west-1", "c", "ca_expired"), ("us-east-1", "a", "ca_expired"), ("us-east-1", "b", "already_on_target")]
    assert result["summary"]["needs_rotation"] == 2
    assert result["failed_regions"] == []
    assert result["api_calls"] == {"eu-west-1": {"DescribeDBInstances": 1}}
    assert result["target_ca"] == "rds-ca-rsa2048-g1"
    facts = result["ansible_facts"]["rds_ca"]
    assert facts["databases"] == result["databases"] and facts["summary"] == result["summary"]
    assert aws["concurrency"] == 3 and aws["options"]["tags"] == {"Environment": ["staging"]}


def test_set_facts_false_returns_the_inventory_once(aws):
    aws["states"]["us-east-1"] = raw("us-east-1", ("a", "rds-ca-2019"))
    outcome = run({"regions": ["us-east-1"], "set_facts": False})
    assert outcome.kind == "exit"
    assert "ansible_facts" not in outcome.result
    assert [d["identifier"] for d in outcome.result["databases"]] == ["a"]


def test_by_default_the_inventory_is_returned_once(aws):
    """Issue 20: set_facts defaults to false, so the records are not sent twice."""
    aws["states"]["us-east-1"] = raw("us-east-1", ("a", "rds-ca-2019"))
    outcome = run({"regions": ["us-east-1"]})
    assert outcome.kind == "exit" and "ansible_facts" not in outcome.result
    assert outcome.result["detail"] == "full" and "output_file" not in outcome.result
    assert outcome.result["databases"][0]["cluster_id"] is None  # full records by default


def test_detail_compact_leaves_out_defaults_only(aws):
    aws["states"]["us-east-1"] = raw("us-east-1", ("a", "rds-ca-2019"), ("b", "rds-ca-rsa2048-g1"))
    full = run({"regions": ["us-east-1"]}).result
    compact = run({"regions": ["us-east-1"], "detail": "compact"}).result
    assert compact["detail"] == "compact" and compact["summary"] == full["summary"]
    assert [inventory_records.expand_database(d) for d in compact["databases"]] == full["databases"]
    assert "cluster_id" not in compact["databases"][0] and compact["databases"][0]["environment"] == "staging"


def test_summary_mode_writes_every_record_to_the_file(aws, tmp_path):
    aws["states"]["us-east-1"] = raw("us-east-1", ("a", "rds-ca-2019"), ("b", "rds-ca-rsa2048-g1"))
    aws["states"]["eu-west-1"] = raw("eu-west-1", ("c", "rds-ca-2019"))
    full = run({"regions": ["us-east-1", "eu-west-1"]}).result
    path = str(tmp_path / "reports" / "inventory.jsonl")
    outcome = run({"regions": ["us-east-1", "eu-west-1"], "detail": "summary", "output_file": path,
                   "_ansible_check_mode": True})
    result = outcome.result
    assert outcome.kind == "exit" and result["changed"] is False
    assert result["databases"] == [] and result["output_file"] == path
    assert result["summary"] == full["summary"] and result["regions"] == full["regions"]
    assert result["output_file_bytes"] == os.path.getsize(path)
    assert inventory_records.inventory_databases(result) == full["databases"]


@pytest.mark.parametrize("output_file, message", [
    ("relative.jsonl", "output_file must be an absolute path"),
    ("/proc/self/inventory.jsonl", "output_file: cannot write in /proc/"),
])
def test_bad_output_file_fails_before_any_call(aws, output_file, message):
    outcome = run({"regions": ["us-east-1"], "detail": "summary", "output_file": output_file})
    assert outcome.kind == "fail" and message in outcome.result["msg"]
    assert aws["gather"] == 0 and aws["clients"] == 0


def test_failed_region_tolerant_then_strict(aws):
    aws["states"]["us-east-1"] = raw("us-east-1", ("a", "rds-ca-2019"))
    aws["states"]["eu-west-1"] = {"raw": {}, "error": {"region": "eu-west-1", "operation": "DescribeDBInstances",
                                                       "error_code": "AccessDenied", "message": "denied"}}
    tolerant = run({"regions": ["us-east-1", "eu-west-1"]})
    assert tolerant.kind == "exit"
    assert tolerant.result["failed_regions"] == [aws["states"]["eu-west-1"]["error"]]
    assert list(tolerant.result["regions"]) == ["us-east-1"]
    assert tolerant.result["summary"]["regions_failed"] == 1
    strict = run({"regions": ["us-east-1", "eu-west-1"], "strict": True})
    assert strict.kind == "fail"
    assert strict.result["msg"] == "Could not query 1 region(s): eu-west-1 (AccessDenied: denied)"
    assert [d["identifier"] for d in strict.result["databases"]] == ["a"]


@pytest.mark.parametrize("args, message", [
    ({"regions": ["us-east-1", "mars-1"]}, "'mars-1' is not an AWS region name"),
    ({"expiring_within_days": -1}, "expiring_within_days must be 0 or more"),
    ({"engines": ["pg"]}, "'pg' matches no RDS engine"),
    ({"concurrency": 0}, "concurrency must be 1 or more"),
])
def test_bad_input_fails_before_any_client(aws, args, message):
    outcome = run(args)
    assert outcome.kind == "fail"
    assert message in outcome.result["msg"]
    assert aws["clients"] == 0 and aws["gather"] == 0


def test_accounts_label_every_database_and_a_refused_account_is_reported_then_strict(aws, monkeypatch):
    """Issue 17: two accounts resolved, one refused; labels carry the account; strict fails after listing it."""
    resolved = [{"account": "111111111111", "role_arn": "arn:aws:iam::111111111111:role/audit", "alias": "staging"},
                {"account": "222222222222", "role_arn": "arn:aws:iam::222222222222:role/audit", "alias": None}]
    refused = [{"account": "333333333333", "role_arn": "arn:aws:iam::333333333333:role/audit",
                "error_code": "AccessDenied", "message": "not authorized"}]
    monkeypatch.setattr(rds_ca_facts.accounts_lib, "resolve_accounts",
                        lambda module, clients, params, region, concurrency: (resolved, refused))
    aws["states"]["111111111111/us-east-1"] = raw("us-east-1", ("orders", "rds-ca-2019"))
    aws["states"]["222222222222/us-east-1"] = raw("us-east-1", ("orders", "rds-ca-2019"))
    args = {"regions": ["us-east-1"], "role_name": "audit",
            "accounts": [{"account_id": "111111111111", "alias": "staging"}, {"account_id": "222222222222"},
                         {"account_id": "333333333333"}]}
    outcome = run(args)
    assert outcome.kind == "exit"
    result = outcome.result
    assert [(d["label"], d["account"], d["account_alias"]) for d in result["databases"]] == [
        ("111111111111/us-east-1/orders", "111111111111", "staging"),
        ("222222222222/us-east-1/orders", "222222222222", None)]
    assert [s.account for s in aws["scopes"]] == ["111111111111", "222222222222"]
    assert result["failed_accounts"] == refused and result["accounts"] == resolved
    assert result["summary"]["by_account"] == {"111111111111": 1, "222222222222": 1}
    assert (result["summary"]["accounts_queried"], result["summary"]["accounts_failed"]) == (3, 1)
    assert sorted(result["regions"]) == ["111111111111/us-east-1", "222222222222/us-east-1"]
    strict = run(dict(args, strict=True))
    assert strict.kind == "fail" and "333333333333 (AccessDenied: not authorized)" in strict.result["msg"]
    assert strict.result["failed_accounts"] == refused and len(strict.result["databases"]) == 2


def test_bad_accounts_fail_before_any_client(aws):
    outcome = run({"regions": ["us-east-1"], "accounts": [{"account_id": "12"}]})
    assert outcome.kind == "fail" and "account_id must be 12 digits" in outcome.result["msg"]
    assert aws["clients"] == 0
