"""Several accounts in the playbooks' decisions and the report (issue 17): account labels, the staging gate across
accounts (and its check-mode prediction), failed accounts in the pre-flight, rollback entries naming accounts, and the
report's per-account summary."""

from __future__ import annotations

from ansible_collections.rdsca.rotation.plugins.filter.endpoint_probes import endpoint_probes
from ansible_collections.rdsca.rotation.plugins.filter.preflight_checks import preflight_checks
from ansible_collections.rdsca.rotation.plugins.filter.reachable_endpoints import reachable_endpoints
from ansible_collections.rdsca.rotation.plugins.filter.rollback_checks import rollback_checks
from ansible_collections.rdsca.rotation.plugins.filter.rollback_entries import rollback_entries
from ansible_collections.rdsca.rotation.plugins.filter.rotation_phases import rotation_phases
from ansible_collections.rdsca.rotation.plugins.filter.rotation_record import rotation_record
from ansible_collections.rdsca.rotation.plugins.filter.staging_gate import staging_gate
from ansible_collections.rdsca.rotation.plugins.filter.verify_targets import verify_targets
from ansible_collections.rdsca.rotation.plugins.module_utils.rds_domain import db_label
from ansible_collections.rdsca.rotation.plugins.plugin_utils import report as report_lib
from ansible_collections.rdsca.rotation.plugins.plugin_utils import report_render

TARGET = "rds-ca-rsa2048-g1"
OLD = "rds-ca-rsa4096-g1"
STAGE = "111111111111"
PROD = "222222222222"
DENIED = "333333333333"
ACCOUNTS = [{"account_id": STAGE, "alias": "shop-staging"}, {"account_id": PROD, "alias": "shop-prod", "external_id": "s3cr3t-x"}]
CFG = {"target_ca": TARGET, "staging_environments": ["staging"], "production_environments": ["production"],
       "database_environments": {}, "verify": "auto", "client_verify": False, "require_verified_staging": True,
       "client_trust_update": True, "clients": "rds_clients", "phase": "all", "set_account_default": False,
       "replace_account_override": False, "accounts": ACCOUNTS, "organization": {}, "strict": False}
SINGLE = dict(CFG, accounts=[], organization={})


def db(identifier, account, environment, **extra):
    out = {"identifier": identifier, "region": "us-east-1", "account": account, "engine": "postgres", "engine_version": "16.3",
           "engine_supported": True, "current_ca": OLD, "pending_ca": None, "cluster_id": None, "needs_rotation": True,
           "endpoint_address": "%s.%s.example" % (identifier, account), "endpoint_port": 5432, "environment": environment}
    out.update(extra)
    return out


def usage(identifier, account, presented=TARGET):
    return {"identifier": identifier, "region": "us-east-1", "account": account, "error": None,
            "probe": {"reachable": True, "tls_supported": True, "presented_ca": presented, "verified": presented == TARGET}}


def rotate_result(*items):
    """rds_ca_rotate's result for (identifier, account, status) items, labelled with the account as the module does."""
    return {"databases": [{"label": db_label("us-east-1", i, a), "identifier": i, "region": "us-east-1", "account": a,
                           "members": [i], "status": s, "reason": "r"} for i, a, s in items],
            "failures": [], "regions": {}}


# The same identifier in both accounts: a staging database in the staging account, and another in production.
ESTATE = [db("orders", STAGE, "staging"), db("orders", PROD, "production"), db("billing", PROD, "production")]


def test_labels_carry_the_account_only_in_a_run_over_several_accounts():
    assert db_label("us-east-1", "orders", STAGE) == STAGE + "/us-east-1/orders"
    assert db_label("us-east-1", "orders") == "us-east-1/orders"
    many = rotation_phases(ESTATE, CFG)
    assert [(d["label"], d["phase"]) for d in many] == [
        (STAGE + "/us-east-1/orders", "staging"), (PROD + "/us-east-1/orders", "production"), (PROD + "/us-east-1/billing", "production")]
    # Two databases with one identifier are two families: never batched or gated together.
    assert len(set(d["family"] for d in many)) == 3
    assert [d["label"] for d in rotation_phases(ESTATE[:1], SINGLE)] == ["us-east-1/orders"]
    assert rotation_phases(ESTATE, dict(CFG, accounts=[], organization={"enabled": True}))[0]["label"].startswith(STAGE)
    # An environment override may name the database with or without its account.
    cfg = dict(CFG, database_environments={PROD + "/us-east-1/billing": "staging"})
    assert [d["phase"] for d in rotation_phases(ESTATE, cfg)] == ["staging", "production", "staging"]


def test_probes_and_verification_targets_keep_the_accounts_apart():
    probes = [usage("orders", STAGE), usage("orders", PROD, presented=OLD)]
    assert reachable_endpoints(probes, accounts=True) == [STAGE + "/us-east-1/orders", PROD + "/us-east-1/orders"]
    assert reachable_endpoints(probes) == ["us-east-1/orders", "us-east-1/orders"]
    verdicts = endpoint_probes(probes, [PROD + "/us-east-1/orders"], TARGET, accounts=True)
    assert [(v["label"], v["verified"]) for v in verdicts] == [(PROD + "/us-east-1/orders", False)]
    after = [db("orders", STAGE, "staging", current_ca=TARGET), db("orders", PROD, "production")]
    targets = verify_targets(after, [STAGE + "/us-east-1/orders", PROD + "/us-east-1/orders"], TARGET, accounts=True)
    assert [t["label"] for t in targets] == [STAGE + "/us-east-1/orders"]


def test_the_staging_gate_works_across_accounts_and_check_mode_predicts_the_same_outcome():
    scope = [d for d in rotation_phases(ESTATE, CFG) if d["phase"] in ("staging", "production")]
    staging = [d for d in scope if d["phase"] == "staging"]
    reachable = [STAGE + "/us-east-1/orders"]
    # Check mode: the plan rotates the staging account's orders; discovery probed it on the old CA.
    plan = rotation_record(None, [rotate_result(("orders", STAGE, "rotated"))], staging, staging, 1, 1)
    predicted = staging_gate(scope, CFG, check_mode=True, rotation=plan, reachable=reachable,
                             usage=[usage("orders", STAGE, presented=OLD)])
    assert predicted["passed"] is True, predicted["lines"]
    # The real run: the staging account's orders is on the target and verifies; production's orders (same name,
    # still on the old CA) is not staging and does not count.
    done = rotation_record(None, [rotate_result(("orders", STAGE, "rotated"))], staging, staging, 1, 1)
    real = staging_gate(scope, CFG, rotation=done, databases_after=[db("orders", STAGE, "staging", current_ca=TARGET), ESTATE[1]],
                        probes=[{"label": STAGE + "/us-east-1/orders", "verified": True, "error": None}], reachable=reachable)
    assert real["passed"] is True, real["lines"]
    assert [c["ok"] for c in real["checks"]] == [c["ok"] for c in predicted["checks"]]
    # The staging database that did not move is found by its account: the production one on the target does not hide it.
    wrong = staging_gate(scope, CFG, rotation=done, databases_after=[ESTATE[0], db("orders", PROD, "production", current_ca=TARGET)],
                         probes=[], reachable=reachable)
    assert wrong["passed"] is False
    assert STAGE + "/us-east-1/orders is on " + OLD in wrong["reason"]
    # A database skipped in the other account does not excuse the staging one.
    skipped = rotation_record(None, [rotate_result(("orders", PROD, "skipped"))], staging, staging, 1, 1)
    assert staging_gate(scope, CFG, rotation=skipped, databases_after=[ESTATE[0]], reachable=reachable)["passed"] is False


FACTS = {"regions_queried": ["us-east-1"], "regions": {}, "failed_regions": [],
         "failed_accounts": [{"account": DENIED, "role_arn": "arn:aws:iam::%s:role/rdsca-rotation" % DENIED,
                              "error_code": "AccessDenied", "message": "not authorized to perform sts:AssumeRole"}]}


def test_a_failed_account_is_a_warning_and_with_strict_stops_before_any_change():
    dbs = rotation_phases(ESTATE, CFG)
    lenient = preflight_checks(dbs, FACTS, CFG)
    assert lenient["problems"] == []
    assert lenient["warnings"][0].startswith("account %s could not be read (AccessDenied: not authorized" % DENIED)
    assert "unknown, not inventoried" in lenient["warnings"][0]
    strict = preflight_checks(dbs, FACTS, dict(CFG, strict=True))
    assert len(strict["problems"]) == 1 and strict["problems"][0].startswith("account %s could not be read" % DENIED)
    assert "rdsca_strict stops the run before any change" in strict["problems"][0]
    assert not any(w.startswith("account ") for w in strict["warnings"])


def test_rollback_entries_name_their_account_and_an_ambiguous_entry_is_refused():
    given = [PROD + "/us-east-1/orders", "us-east-1/orders", {"identifier": "billing", "region": "us-east-1", "account": PROD},
             "arn:aws:rds:us-east-1:%s:db:orders" % STAGE, "12345/us-east-1/x",
             {"identifier": "y", "region": "us-east-1", "account": "nope"}]
    listed = rollback_entries(None, given, to_ca=OLD, accounts=True)
    assert [(e["label"], e["account"]) for e in listed["entries"]] == [
        (PROD + "/us-east-1/orders", PROD), ("us-east-1/orders", None), (PROD + "/us-east-1/billing", PROD),
        (STAGE + "/us-east-1/orders", STAGE)]
    # Parsed by rds_ca_rotate's one parser (rotation.normalize_entries), account included: its words.
    assert listed["problems"] == ["databases entry '12345/us-east-1/x': the account of account/region/identifier must be 12 digits",
                                  "databases entry y: account must be 12 digits, got 'nope'"]
    # A mapping may name its account as account_id (the accounts option's key), as rds_ca_rotate's entries do not.
    named = rollback_entries(None, [{"identifier": "billing", "region": "us-east-1", "account_id": PROD}], to_ca=OLD, accounts=True)
    assert [(e["label"], e["account"]) for e in named["entries"]] == [(PROD + "/us-east-1/billing", PROD)]
    facts = {"databases": ESTATE, "regions": {"us-east-1": {"certificates": [{"identifier": OLD, "expired": False}]}}}
    checked = rollback_checks(listed["entries"], facts, accounts=True)
    assert [(e["label"], e["refused"]) for e in checked["entries"]] == [
        (PROD + "/us-east-1/orders", None),
        ("us-east-1/orders", "in several accounts (%s, %s): name the account, account/region/identifier" % (STAGE, PROD)),
        (PROD + "/us-east-1/billing", None), (STAGE + "/us-east-1/orders", None)]
    assert [r["account"] for r in checked["refused"]] == [None]
    assert checked["problems"] == ["us-east-1/orders: in several accounts (%s, %s): name the account, account/region/identifier"
                                   % (STAGE, PROD)]
    # A single-account run keeps region/identifier labels, whatever account the ARN names.
    single = rollback_entries(None, ["arn:aws:rds:us-east-1:%s:db:orders" % STAGE], to_ca=OLD)
    assert [e["label"] for e in single["entries"]] == ["us-east-1/orders"]


def report_input(check=False):
    dbs = [dict(d, account_alias={STAGE: "shop-staging", PROD: "shop-prod"}[d["account"]]) for d in rotation_phases(ESTATE, CFG)]
    return {"kind": "rotate", "check_mode": check, "settings": dict(CFG, run_id="r1", started_at="2026-12-01T21:00:00Z"),
            "databases": dbs, "facts_before": dict(FACTS, databases=dbs),
            "facts_after": {"databases": [dict(dbs[0], current_ca=TARGET), dbs[1], dict(dbs[2], current_ca=TARGET)]},
            "rotations": {"staging": rotate_result(("orders", STAGE, "rotated")),
                          "production": rotate_result(("orders", PROD, "failed"), ("billing", PROD, "rotated"))}}


def test_the_report_leads_with_per_account_totals_and_the_account_it_could_not_read():
    report = report_lib.build_report(report_input())
    rows = dict((row["label"], row) for row in report["databases"])
    # Rows are matched to the rotation results by account: the two 'orders' keep their own outcome.
    assert rows[STAGE + "/us-east-1/orders"]["status"] == "rotated"
    assert rows[PROD + "/us-east-1/orders"]["status"] == "failed"
    assert rows[PROD + "/us-east-1/orders"]["account_alias"] == "shop-prod"
    accounts = report["summary"]["accounts"]
    assert [(a["account"], a["account_alias"], a["status"], a["databases"], a["on_target_after"]) for a in accounts] == [
        (STAGE, "shop-staging", "inventoried", 1, 1), (PROD, "shop-prod", "inventoried", 2, 1),
        (DENIED, None, "unknown, not inventoried", None, None)]
    assert accounts[1]["by_status"] == {"failed": 1, "rotated": 1}
    assert report["failed_accounts"][0]["account"] == DENIED
    assert {"what": "account", "label": DENIED,
            "reason": "unknown, not inventoried: AccessDenied: not authorized to perform sts:AssumeRole"} in report["failures"]
    assert report["outcome"] == "completed_with_failures"
    # The external ID is a secret of the account's trust policy: never in the report.
    assert report["settings"]["accounts"][1]["external_id"] == "********"
    assert "s3cr3t-x" not in str(report)
    markdown = report_render.render_markdown(report)
    assert markdown.index("## Accounts") < markdown.index("## Summary")
    assert "| %s (shop-prod) | 2 databases, 2 in scope, 2 need rotation, 1 on %s after; failed 1, rotated 1 |" % (PROD, TARGET) in markdown
    assert "| %s | **UNKNOWN, NOT INVENTORIED: AccessDenied: not authorized to perform sts:AssumeRole** |" % DENIED in markdown
    page = report_render.render_html(report)
    assert page.index('id="accounts"') < page.index('class="cards"')
    assert "UNKNOWN, NOT INVENTORIED" in page and "s3cr3t-x" not in page
    lines = report_render.summary_lines(report, "/tmp/r")
    assert "account %s: UNKNOWN, NOT INVENTORIED: AccessDenied: not authorized to perform sts:AssumeRole" % DENIED in lines


def test_a_single_account_report_has_no_account_section():
    data = report_input()
    data.update(settings=dict(SINGLE, run_id="r1"), databases=[dict(d, label="us-east-1/" + d["identifier"]) for d in data["databases"][:1]],
                facts_before={"databases": []}, facts_after={}, rotations={})
    report = report_lib.build_report(data)
    assert [a["account"] for a in report["summary"]["accounts"]] == [STAGE]
    assert "## Accounts" not in report_render.render_markdown(report)
    assert report["failed_accounts"] == []


# -- rdsca_accounts, rdsca_organization, rdsca_strict ------------------------------------------------------------------

def test_account_settings_accept_the_modules_shapes_and_awx_text():
    from ansible_collections.rdsca.rotation.plugins.filter.account_settings import account_settings  # pylint: disable=import-outside-toplevel
    none = account_settings(None)
    assert none == {"accounts": [], "accounts_shown": [], "organization": {}, "organization_shown": {}, "role_name": "",
                    "strict": False, "multi_account": False, "problems": []}
    assert account_settings("")["multi_account"] is False
    # A survey's default role name without accounts: one account, as before.
    assert account_settings("", None, "rdsca-rotation", "false")["role_name"] == ""
    given = account_settings([{"account_id": STAGE, "alias": "shop-staging"},
                              {"role_arn": "arn:aws:iam::%s:role/rdsca-rotation" % PROD, "external_id": "s3cr3t-x",
                               "session_name": "rdsca-run"}], None, "rdsca-rotation", "true")
    assert given["problems"] == []
    assert given["accounts"] == [{"account_id": STAGE, "alias": "shop-staging"},
                                 {"account_id": PROD, "role_arn": "arn:aws:iam::%s:role/rdsca-rotation" % PROD,
                                  "external_id": "s3cr3t-x", "session_name": "rdsca-run"}]
    assert given["accounts_shown"][1]["external_id"] == "********" and given["strict"] is True and given["multi_account"] is True
    # An AWX text survey: IDs separated by commas, blanks or new lines, one role name for all.
    text = account_settings("%s, %s\n%s" % (STAGE, PROD, DENIED), None, "rdsca-rotation")
    assert [a["account_id"] for a in text["accounts"]] == [STAGE, PROD, DENIED] and text["role_name"] == "rdsca-rotation"
    org = account_settings(None, {"include": "1111*, 2222*", "role_name": "rdsca-audit", "external_id": "org-s3cr3t"})
    assert org["organization"] == {"enabled": True, "include": ["1111*", "2222*"], "exclude": [], "role_name": "rdsca-audit",
                                   "external_id": "org-s3cr3t"}
    assert org["organization_shown"]["external_id"] == "********"
    assert org["multi_account"] is True
    assert account_settings(None, {"enabled": False, "include": ["x"]})["organization"] == {}
    assert account_settings(None, "yes", "rdsca-audit")["organization"]["enabled"] is True
    # As the modules refuse them: an organization without a role to assume, an account without a role.
    assert account_settings(None, "yes")["problems"] == [
        "rdsca_organization: set its role_name (or rdsca_account_role_name): the role assumed in each discovered account"]
    assert account_settings([PROD])["problems"] == [
        "rdsca_accounts: account(s) %s have no role_arn: set rdsca_account_role_name (the role assumed in each) "
        "or a role_arn per account" % PROD]


def test_account_settings_refuse_what_sts_or_iam_would_refuse_without_repeating_the_external_id():
    from ansible_collections.rdsca.rotation.plugins.filter.account_settings import account_settings  # pylint: disable=import-outside-toplevel
    bad = account_settings([{"account_id": "12345"}, {"account_id": STAGE, "role_arn": "arn:aws:iam::%s:role/r" % PROD},
                            {"role_arn": "arn:aws:iam::role/x"}, {"account_id": PROD, "external_id": "x"},
                            {"account_id": PROD, "session_name": "a b"}, {"account_id": PROD, "region": "us-east-1"},
                            {"alias": "nothing"}, STAGE, STAGE, True],
                           {"enabled": "maybe"}, "bad role!", "sometimes")
    problems = bad["problems"]
    assert problems == [
        "rdsca_accounts[0]: account_id must be 12 digits (quote it in YAML: a leading 0 is lost), got '12345'",
        "rdsca_accounts[1]: role_arn arn:aws:iam::%s:role/r is a role of account %s, not of account_id %s" % (PROD, PROD, STAGE),
        "rdsca_accounts[2]: role_arn must be an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>), got 'arn:aws:iam::role/x'",
        "rdsca_accounts[3]: external_id must be 2-1224 characters of letters, digits and +=,.@:/-",
        "rdsca_accounts[4]: session_name must be 2-64 characters of letters, digits and +=,.@-, got 'a b'",
        "rdsca_accounts[5]: unknown key(s) region (known: account_id, role_arn, external_id, session_name, alias)",
        "rdsca_accounts[6] needs account_id (12 digits) or role_arn",
        "rdsca_accounts: account %s is listed twice" % STAGE,
        "rdsca_accounts[9] must be an account ID or a mapping with account_id or role_arn, got bool",
        "rdsca_account_role_name must be an IAM role name (1-64 characters of letters, digits and +=,.@-), got 'bad role!'",
        "rdsca_organization.enabled must be a boolean, got 'maybe'",
        "rdsca_accounts: account(s) %s have no role_arn: set rdsca_account_role_name (the role assumed in each) "
        "or a role_arn per account" % STAGE,
        "rdsca_strict must be a boolean, got 'sometimes'"]
    assert account_settings({"a": 1})["problems"] == [
        "rdsca_accounts must be a list of accounts (or account IDs separated by commas), got dict"]
    assert account_settings(None, {"include": "x", "exclude": [{"a": 1}], "role": "r"})["problems"] == [
        "rdsca_organization: unknown key(s) role (known: enabled, include, exclude, role_name, external_id)"]


def test_the_preflight_reads_the_regions_of_each_account():
    """rds_ca_facts keys its regions account/region with accounts: a target CA missing in one account's region stops
    the run, and a deliberate override is kept per account and region."""
    dbs = rotation_phases(ESTATE, CFG)
    certs = [{"identifier": TARGET, "expired": False}, {"identifier": OLD, "expired": False}]
    facts = {"regions_queried": ["us-east-1"], "failed_regions": [], "regions": {
        STAGE + "/us-east-1": {"target_ca_available": True, "certificates": certs},
        PROD + "/us-east-1": {"target_ca_available": False, "certificates": certs[1:], "customer_override": OLD}}}
    checked = preflight_checks(dbs, facts, CFG)
    assert checked["problems"] == ["%s is not a CA of %s/us-east-1 (DescribeCertificates)" % (TARGET, PROD)]
    assert checked["account_overrides"] == {PROD + "/us-east-1": {"customer_override": OLD, "valid_till": None}}


def test_the_account_default_across_accounts_needs_the_target_in_every_account_region():
    """rotate.yml sets the default CA for new launches in every account and region read (rds_ca_rotate account_default
    over the accounts): the target must be a CA there too, even where no database is in scope."""
    dbs = rotation_phases([db("orders", STAGE, "staging")], CFG)
    certs = [{"identifier": TARGET, "expired": False}]
    facts = {"regions_queried": ["us-east-1", "eu-west-1"], "failed_regions": [], "regions": {
        STAGE + "/us-east-1": {"target_ca_available": True, "certificates": certs},
        PROD + "/eu-west-1": {"target_ca_available": False, "certificates": []}}}
    assert preflight_checks(dbs, facts, CFG)["problems"] == []  # without the account default: the databases' regions
    checked = preflight_checks(dbs, facts, dict(CFG, set_account_default=True))
    assert checked["problems"] == ["%s is not a CA of %s/eu-west-1 (DescribeCertificates)" % (TARGET, PROD)]
