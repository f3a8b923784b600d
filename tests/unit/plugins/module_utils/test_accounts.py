"""module_utils.accounts: the accounts/organization options, their checks and their resolution (issue 17)."""

from __future__ import annotations

import pytest

from ansible_collections.rdsca.rotation.plugins.module_utils import accounts as lib
from ansible_collections.rdsca.rotation.plugins.module_utils import families
from ansible_collections.rdsca.rotation.plugins.module_utils import rds_domain
from ansible_collections.rdsca.rotation.plugins.module_utils import rotation

A, B, C = "111111111111", "222222222222", "333333333333"


def params(accounts=None, role_name=None, organization=None):
    return {"accounts": accounts, "role_name": role_name, "organization": organization}


class TestCheck:
    def test_good(self):
        good = [{"account_id": A},
                {"role_arn": "arn:aws:iam::%s:role/path/audit" % B, "external_id": "ext-123", "session_name": "ci-run"}]
        assert lib.check_accounts(params(good, role_name="rdsca-audit")) == []
        assert lib.check_accounts(params()) == []

    @pytest.mark.parametrize("accounts, role_name, text", [
        ([{"account_id": "1234"}], "r", "accounts[1]: account_id must be 12 digits, got '1234'"),
        ([{"account_id": "12345678901a"}], "r", "must be 12 digits"),
        ([{"role_arn": "arn:aws:iam::1111:role/x"}], None, "accounts[1]: role_arn 'arn:aws:iam::1111:role/x' is not an IAM role ARN"),
        ([{"role_arn": "arn:aws:iam::%s:user/x" % A}], None, "is not an IAM role ARN"),
        # An IAM path is /segment/.../: no empty segment (IAM User Guide, "IAM identifiers").
        ([{"role_arn": "arn:aws:iam::%s:role//x" % A}], None, "is not an IAM role ARN"),
        ([{"role_arn": "arn:aws:iam::%s:role/a//x" % A}], None, "is not an IAM role ARN"),
        ([{"account_id": A}], None, "accounts[1]: account %s has no role_arn: set role_arn, or the top-level role_name" % A),
        ([{"alias": "x"}], "r", "accounts[1]: give account_id (with the top-level role_name) or role_arn"),
        ([{"account_id": A}, {"account_id": A}], "r", "accounts[2]: account %s is listed twice (also accounts[1])" % A),
        ([{"account_id": A}, {"role_arn": "arn:aws:iam::%s:role/x" % A}], "r", "listed twice"),
        ([{"account_id": B, "role_arn": "arn:aws:iam::%s:role/x" % A}], None, "is in account %s, not account_id %s" % (A, B)),
        ([{"account_id": A, "session_name": "a b"}], "r", "session_name 'a b' must be"),
        ([{"account_id": A}], "bad role!", "role_name 'bad role!' is not an IAM role name"),
    ])
    def test_bad(self, accounts, role_name, text):
        problems = lib.check_accounts(params(accounts, role_name))
        assert any(text in p for p in problems), problems

    def test_a_bad_external_id_is_not_echoed(self):
        problems = lib.check_accounts(params([{"account_id": A, "external_id": "x y secret"}], "r"))
        assert problems and not any("secret" in p for p in problems)

    def test_organization_needs_a_role(self):
        assert any("organization.role_name" in p for p in lib.check_accounts(params(organization={"enabled": True})))
        assert lib.check_accounts(params(organization={"enabled": True, "role_name": "audit"})) == []
        assert lib.check_accounts(params(organization={"enabled": False})) == []
        assert any("empty patterns" in p for p in lib.check_accounts(
            params(role_name="r", organization={"enabled": True, "include": [""]})))

    def test_external_id_is_no_log(self):
        spec = lib.accounts_argument_spec()
        assert spec["accounts"]["options"]["external_id"]["no_log"] is True
        assert spec["organization"]["options"]["external_id"]["no_log"] is True


class TestResolve:
    def test_requested_accounts_build_role_arns(self):
        got = lib.requested_accounts(params([{"account_id": A, "alias": "staging"},
                                             {"role_arn": "arn:aws:iam::%s:role/ops/audit" % B, "external_id": "e-1"}],
                                            role_name="rdsca-audit"))
        assert got == [
            dict(account=A, role_arn="arn:aws:iam::%s:role/rdsca-audit" % A, external_id=None,
                 session_name="rdsca-rotation", alias="staging"),
            dict(account=B, role_arn="arn:aws:iam::%s:role/ops/audit" % B, external_id="e-1",
                 session_name="rdsca-rotation", alias=None)]

    def test_organization_keeps_active_matching_accounts(self):
        listed = [{"Id": A, "Name": "shop-staging", "Status": "ACTIVE"},
                  {"Id": B, "Name": "shop-prod", "Status": "ACTIVE"},
                  {"Id": C, "Name": "shop-old", "Status": "SUSPENDED"},
                  {"Id": "444444444444", "Name": "sandbox", "Status": "ACTIVE"}]
        got = lib.organization_accounts(params(organization={"include": ["shop-*"], "exclude": [A],
                                                             "role_name": "audit"}), listed)
        assert [(a["account"], a["role_arn"]) for a in got] == [(B, "arn:aws:iam::%s:role/audit" % B)]
        given = lib.requested_accounts(params([{"account_id": B, "alias": "mine"}], role_name="other"))
        merged = lib.merge_accounts(given, lib.organization_accounts(params(organization={"role_name": "audit"}), listed))
        assert [(a["account"], a["alias"]) for a in merged] == [(B, "mine"), (A, None), ("444444444444", None)]

    def test_list_accounts_walks_every_page(self):
        pages = {None: {"Accounts": [{"Id": A}], "NextToken": "t1"}, "t1": {"Accounts": [{"Id": B}]}}
        sent = []

        class Org:
            def list_accounts(self, **kwargs):
                sent.append(kwargs)
                return pages[kwargs.get("NextToken")]

        assert [a["Id"] for a in lib.list_accounts(Org())] == [A, B]
        assert sent == [{"MaxResults": 20}, {"MaxResults": 20, "NextToken": "t1"}]

    def test_account_of_arn(self):
        assert lib.account_of_arn("arn:aws:rds:us-east-1:%s:db:x" % B) == B
        assert lib.account_of_arn("arn:aws:rds:us-east-1::cert:x") is None
        assert lib.account_of_arn(None) is None


class TestLabels:
    def test_db_label(self):
        assert rds_domain.db_label("us-east-1", "orders") == "us-east-1/orders"
        assert rds_domain.db_label("us-east-1", "orders", B) == "%s/us-east-1/orders" % B
        assert rotation.label("us-east-1", "orders", B) == "%s/us-east-1/orders" % B
        assert rds_domain.split_label("%s/us-east-1/orders" % B) == (B, "us-east-1", "orders")
        assert rds_domain.split_label("us-east-1/orders") == (None, "us-east-1", "orders")

    def test_families_stay_in_their_account(self):
        # The same identifiers in two accounts: two families, not one.
        dbs = []
        for account in (A, B):
            dbs.append({"identifier": "orders", "region": "us-east-1", "account": account,
                        "label": rds_domain.db_label("us-east-1", "orders", account), "read_replicas": ["orders-r"]})
            dbs.append({"identifier": "orders-r", "region": "us-east-1", "account": account,
                        "label": rds_domain.db_label("us-east-1", "orders-r", account),
                        "read_replica_source": "orders"})
        out = families.assign_families(dbs)
        assert [d["family"] for d in out] == ["%s/us-east-1/orders" % A] * 2 + ["%s/us-east-1/orders" % B] * 2
        assert families.label_of("arn:aws:rds:eu-west-1:%s:db:src" % B, "us-east-1", B) == "%s/eu-west-1/src" % B
        assert families.label_of("arn:aws:rds:eu-west-1:%s:db:src" % B, "us-east-1") == "eu-west-1/src"


class FakeError(Exception):
    """Stands in for botocore's ClientError (error_info reads ``response``)."""

    def __init__(self, code, message):
        super().__init__(message)
        self.response = {"Error": {"Code": code, "Message": message}}


class FakeClients:
    """module_utils.aws.RegionClients as resolve_accounts uses it: STS and Organizations of the module's own
    credentials, IAM of each added account."""

    def __init__(self, refused=(), listed=(), aliases=None):
        self.refused = set(refused)
        self.listed = list(listed)
        self.aliases = aliases or {}
        self.assumed = []
        self.added = {}
        self.alias_calls = []
        self.counter = type("Counter", (), {"snapshot": lambda self: {}})()

    def get(self, service, region, account=None):
        fake = self

        class Client:
            def assume_role(self, **kwargs):
                fake.assumed.append(kwargs)
                if kwargs["RoleArn"].split(":")[4] in fake.refused:
                    raise FakeError("AccessDenied", "not authorized to perform: sts:AssumeRole")
                return {"Credentials": {"AccessKeyId": "ASIA" + kwargs["RoleArn"].split(":")[4],
                                        "SecretAccessKey": "s", "SessionToken": "t"}}

            def list_accounts(self, **kwargs):
                return {"Accounts": fake.listed}

            def list_account_aliases(self):
                fake.alias_calls.append(account)
                if account not in fake.aliases:
                    raise FakeError("AccessDenied", "no iam:ListAccountAliases")
                return {"AccountAliases": [fake.aliases[account]]}

        return Client()

    def add_account(self, account, session):
        self.added[account] = session.get_credentials().access_key


@pytest.fixture()
def fake_errors(monkeypatch):
    from ansible_collections.rdsca.rotation.plugins.module_utils import aws

    monkeypatch.setattr(aws, "AWS_ERRORS", (FakeError,))


def test_resolve_assumes_each_role_once_and_reports_a_refused_account(fake_errors):
    clients = FakeClients(refused=[C], aliases={B: "shop-prod"})
    accounts, failed = lib.resolve_accounts(None, clients, params(
        [{"account_id": A, "alias": "mine"}, {"account_id": B, "external_id": "ext-1"}, {"account_id": C}],
        role_name="audit"), "us-east-1")
    assert [(a["account"], a["alias"]) for a in accounts] == [(A, "mine"), (B, "shop-prod")]
    assert failed == [{"account": C, "role_arn": "arn:aws:iam::%s:role/audit" % C, "error_code": "AccessDenied",
                       "message": "not authorized to perform: sts:AssumeRole"}]
    assert sorted((c["RoleArn"], c.get("ExternalId"), c["RoleSessionName"]) for c in clients.assumed) == [
        ("arn:aws:iam::%s:role/audit" % a, "ext-1" if a == B else None, "rdsca-rotation") for a in (A, B, C)]
    # Each resolved account's own credentials are registered; the refused one gets no session.
    assert clients.added == {A: "ASIA" + A, B: "ASIA" + B}
    # The alias is read only where none was given.
    assert clients.alias_calls == [B]


def test_resolve_organization_only_the_selected_accounts(fake_errors):
    clients = FakeClients(listed=[{"Id": A, "Name": "shop-staging", "Status": "ACTIVE"},
                                  {"Id": B, "Name": "shop-prod", "Status": "ACTIVE"},
                                  {"Id": C, "Name": "gone", "Status": "SUSPENDED"}])
    accounts, failed = lib.resolve_accounts(None, clients, params(organization={"role_name": "audit", "exclude": ["*-staging"]}),
                                            "us-east-1")
    assert [(a["account"], a["alias"]) for a in accounts] == [(B, None)] and failed == []
    accounts, failed = lib.resolve_accounts(None, FakeClients(), params([{"account_id": A}, {"account_id": B}], "audit"),
                                            "us-east-1", only={B})
    assert [a["account"] for a in accounts] == [B]


class FailingModule:
    def fail_json(self, **kwargs):
        raise AssertionError(kwargs["msg"])


def test_resolve_organization_that_selects_no_account_fails(fake_errors):
    """An include that matches nothing (or an organization that lists nothing) is not an empty estate."""
    listed = [{"Id": A, "Name": "shop-staging", "Status": "ACTIVE"}, {"Id": C, "Name": "gone", "Status": "SUSPENDED"}]
    for organization in ({"role_name": "audit", "include": ["shop-prd*"]}, {"role_name": "audit", "include": [C]}):
        with pytest.raises(AssertionError, match="none of the 2 account"):
            lib.resolve_accounts(FailingModule(), FakeClients(listed=listed), params(organization=organization), "us-east-1")
    with pytest.raises(AssertionError, match="none of the 0 account"):
        lib.resolve_accounts(FailingModule(), FakeClients(), params(organization={"role_name": "audit"}), "us-east-1")


# -- rds_ca_rotate's plan across accounts ----------------------------------------------------------------

def _aurora_view(account):
    arn = "arn:aws:rds:us-east-1:%s:db:%%s" % account
    instances = [{"DBInstanceIdentifier": ident, "DBInstanceArn": arn % ident, "DBClusterIdentifier": "inv",
                  "Engine": "aurora-postgresql", "EngineVersion": "15.4", "CACertificateIdentifier": "rds-ca-2019",
                  "DBInstanceStatus": "available"} for ident in ("inv-1", "inv-2")]
    instances.append({"DBInstanceIdentifier": "orders", "DBInstanceArn": arn % "orders", "Engine": "postgres",
                      "EngineVersion": "16.3", "CACertificateIdentifier": "rds-ca-2019", "DBInstanceStatus": "available",
                      "ReadReplicaDBInstanceIdentifiers": ["orders-r"]})
    instances.append({"DBInstanceIdentifier": "orders-r", "DBInstanceArn": arn % "orders-r", "Engine": "postgres",
                      "EngineVersion": "16.3", "CACertificateIdentifier": "rds-ca-2019", "DBInstanceStatus": "available",
                      "ReadReplicaSourceDBInstanceIdentifier": "orders"})
    clusters = [{"DBClusterIdentifier": "inv", "Engine": "aurora-postgresql",
                 "DBClusterArn": "arn:aws:rds:us-east-1:%s:cluster:inv" % account,
                 "DBClusterMembers": [{"DBInstanceIdentifier": "inv-1", "IsClusterWriter": True},
                                      {"DBInstanceIdentifier": "inv-2", "IsClusterWriter": False}]}]
    view = rotation.region_view(instances, clusters, {})
    view.update(account=account, account_alias="alias-" + account[0])
    return view


def test_entries_take_the_account_of_their_label_arn_or_key():
    requests, problems = rotation.normalize_entries([
        "%s/us-east-1/orders" % A, "arn:aws:rds:eu-west-1:%s:db:orders" % B,
        {"identifier": "orders", "region": "us-east-1", "account": B}, "us-east-1/orders", "12/us-east-1/x"], None)
    assert [(r["account"], r["region"], r["identifier"]) for r in requests] == [
        (A, "us-east-1", "orders"), (B, "eu-west-1", "orders"), (B, "us-east-1", "orders"), (None, "us-east-1", "orders")]
    assert problems == ["databases entry '12/us-east-1/x': the account of account/region/identifier must be 12 digits"]


def test_plan_units_and_order_stay_within_their_account():
    views = {"%s/us-east-1" % A: _aurora_view(A), "%s/us-east-1" % B: _aurora_view(B)}
    requests = []
    for account in (A, B):
        for ident in ("inv", "orders", "orders-r"):
            requests.append({"identifier": ident, "region": "us-east-1", "type": "auto", "account": account,
                             "place": "%s/us-east-1" % account})
    units, _notes, problems = rotation.resolve_units(requests, views)
    assert problems == []
    assert [u["label"] for u in units] == ["%s/us-east-1/%s" % (a, i) for a in (A, B)
                                           for i in ("inv-2", "inv-1", "orders", "orders-r")]
    assert all(u["account"] == u["label"][:12] and u["account_alias"] == "alias-" + u["account"][0] for u in units)
    deps = rotation.dependencies(units)
    key = dict((u["label"], u["key"]) for u in units)
    for account in (A, B):
        other = B if account == A else A
        # The writer waits for its own reader, the source for its own replica: never for the other account's.
        assert deps[key["%s/us-east-1/inv-1" % account]] == {key["%s/us-east-1/inv-2" % account]}
        assert deps[key["%s/us-east-1/orders" % account]] == {key["%s/us-east-1/orders-r" % account]}
        assert not any(k.startswith(other) for k in deps[key["%s/us-east-1/inv-1" % account]])
    # The calls go to the unit's account.
    unit = units[0]
    assert rotation._modify_call(unit, "rds-ca-rsa2048-g1", True, None)["place"] == "%s/us-east-1" % A


def test_an_entry_of_another_account_than_the_database_found_is_refused():
    view = _aurora_view(A)
    del view["account"]  # the module's own credentials (no accounts option), which are in account A
    requests = [{"identifier": "orders", "region": "us-east-1", "type": "auto", "account": B}]
    units, _notes, problems = rotation.resolve_units(requests, {"us-east-1": view})
    assert units == [] and problems == [
        "us-east-1/orders: the entry names account %s, but the database found is in account %s (set the accounts "
        "option to reach another account)" % (B, A)]


def test_ssl_usage_evidence_of_one_account_does_not_apply_to_the_other():
    evidence, problems = rotation.parse_ssl_evidence([
        {"identifier": "orders", "region": "us-east-1", "account": A, "ssl_in_use": "no"},
        {"identifier": "orders", "region": "us-east-1", "account": B, "ssl_in_use": "yes"}])
    assert problems == []
    assert rotation.evidence_for(evidence, "us-east-1", "orders", A)["ssl_in_use"] is False
    assert rotation.evidence_for(evidence, "us-east-1", "orders", B)["ssl_in_use"] is True
    assert rotation.evidence_for(evidence, "us-east-1", "orders", C) is None


def test_entry_account_is_the_one_rule_of_rotate_and_ssl_usage():
    one = params([{"account_id": A}], "r")
    both = params([{"account_id": A}, {"account_id": B}], "r")
    assert lib.entry_account(one, None, "x") == (A, None)
    assert lib.entry_account(both, B, "x") == (B, None)
    assert lib.entry_account(both, None, "x")[1].startswith("x names no account")
    assert lib.entry_account(one, "999999999999", "x")[1] == "x is in account 999999999999, which the accounts option does not list"
    assert lib.entry_account(one, "12", "x")[1] == "x: account must be 12 digits, got '12'"
    discovered = params([{"account_id": A}], "r", organization={"enabled": True})
    assert lib.entry_account(discovered, None, "x")[1].startswith("x names no account")
    assert lib.entry_account(discovered, "999999999999", "x") == ("999999999999", None)


def test_by_account_summarizes_each_account_and_lists_accounts_without_items():
    items = [{"account": B, "status": "rotated"}, {"account": A, "status": "failed"}, {"account": B, "status": "unchanged"},
             {"status": "rotated"}]
    assert lib.by_account(items, rotation.summarize, [A, C]) == {
        A: rotation.summarize([items[1]]), B: rotation.summarize([items[0], items[2]]), C: rotation.summarize([]),
        "unknown": rotation.summarize([items[3]])}
    assert list(lib.by_account(items, len, [C])) == [A, B, C, "unknown"]
