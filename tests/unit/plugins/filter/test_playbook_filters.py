"""The decisions of the rotate and rollback playbooks (issue 16): the filter plugins the playbooks call, and the
logic behind them in plugin_utils/rotate_playbook.py, tested on the shapes the modules return."""

from __future__ import annotations

import copy
import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.rdsca.rotation.plugins.filter.batch_title import batch_title
from ansible_collections.rdsca.rotation.plugins.filter.client_endpoints import client_endpoints
from ansible_collections.rdsca.rotation.plugins.filter.client_trust_gaps import client_trust_gaps
from ansible_collections.rdsca.rotation.plugins.filter.endpoint_probes import endpoint_probes
from ansible_collections.rdsca.rotation.plugins.filter.preflight_checks import preflight_checks
from ansible_collections.rdsca.rotation.plugins.filter.reachable_endpoints import reachable_endpoints
from ansible_collections.rdsca.rotation.plugins.filter.rollback_checks import rollback_checks
from ansible_collections.rdsca.rotation.plugins.filter.rollback_entries import rollback_entries
from ansible_collections.rdsca.rotation.plugins.filter.rotation_phases import rotation_phases
from ansible_collections.rdsca.rotation.plugins.filter.rotation_record import rotation_record
from ansible_collections.rdsca.rotation.plugins.filter.rotation_summary import rotation_summary
from ansible_collections.rdsca.rotation.plugins.filter.staging_gate import staging_gate
from ansible_collections.rdsca.rotation.plugins.filter.usage_chunks import usage_chunks
from ansible_collections.rdsca.rotation.plugins.filter.verify_targets import verify_targets
from ansible_collections.rdsca.rotation.plugins.module_utils import inventory_records
from ansible_collections.rdsca.rotation.plugins.module_utils import rotation_records
from ansible_collections.rdsca.rotation.plugins.plugin_utils import report as report_lib
from ansible_collections.rdsca.rotation.tests.unit.plugins.plugin_utils.fleet_results import rotate_input

TARGET = "rds-ca-rsa2048-g1"
OLD = "rds-ca-rsa4096-g1"
CFG = {"target_ca": TARGET, "staging_environments": ["staging", "stage"], "production_environments": ["production"],
       "database_environments": {}, "verify": "auto", "client_verify": True, "require_verified_staging": True,
       "client_trust_update": True, "clients": "rds_clients", "phase": "all", "set_account_default": True,
       "replace_account_override": False}


def db(identifier, region="us-east-1", **extra):
    out = {"identifier": identifier, "region": region, "engine": "postgres", "engine_version": "16.3",
           "engine_supported": True, "current_ca": OLD, "pending_ca": None, "cluster_id": None,
           "endpoint_address": identifier + ".example", "endpoint_port": 5432, "environment": None}
    out.update(extra)
    return out


def probe(identifier, presented=TARGET, verified=True, reachable=True, tls=True, region="us-east-1", error=None):
    return {"identifier": identifier, "region": region, "error": error,
            "probe": {"reachable": reachable, "tls_supported": tls, "presented_ca": presented, "verified": verified,
                      "verify_error": None if verified else "certificate verify failed"}}


class Hosts(dict):
    """hostvars as the filters see them: host -> mapping with .get."""


# -- discovery ------------------------------------------------------------------------------------

def test_phases_come_from_the_tag_or_the_overrides_and_unsupported_engines_are_never_rotated():
    dbs = [db("a", environment="Staging"), db("b", environment="production"), db("c", environment="dev"),
           db("d", environment=None), db("e", environment="production", engine_supported=False),
           db("f", environment="dev"), db("g", region="eu-west-1", environment="dev")]
    cfg = dict(CFG, database_environments={"us-east-1/f": "production", "g": "stage"})
    out = rotation_phases(dbs, cfg)
    assert [(x["label"], x["phase"]) for x in out] == [
        ("us-east-1/a", "staging"), ("us-east-1/b", "production"), ("us-east-1/c", "other"), ("us-east-1/d", "other"),
        ("us-east-1/e", "unsupported"), ("us-east-1/f", "production"), ("eu-west-1/g", "staging")]
    assert out[5]["environment"] == "production" and out[0]["environment"] == "Staging"
    assert all(x["family"] == x["label"] for x in out)
    assert "label" not in dbs[0], "the input is not changed"


def test_a_replica_is_in_its_sources_family():
    out = rotation_phases([db("src", environment="production", read_replicas=["arn:aws:rds:eu-west-1:1:db:rep"]),
                           db("rep", region="eu-west-1", environment="production")], CFG)
    assert [x["family"] for x in out] == ["us-east-1/src", "us-east-1/src"]


def test_reachable_means_reached_with_tls():
    usage = [probe("a"), probe("b", reachable=False), probe("c", tls=False), {"identifier": "d", "region": "us-east-1",
                                                                              "probe": None},
             probe("e", reachable="yes")]
    assert reachable_endpoints(usage) == ["us-east-1/a"]
    with pytest.raises(AnsibleFilterError):
        reachable_endpoints({"databases": []})


# -- pre-flight -----------------------------------------------------------------------------------

def facts(**regions):
    queried = list(regions)
    out = {"regions_queried": queried, "failed_regions": [], "regions": {}}
    for region, spec in regions.items():
        out["regions"][region] = dict({"target_ca_available": True, "target_ca_problem": None, "customer_override": None,
                                       "certificates": [{"identifier": TARGET, "expired": False, "valid_till": "2061"},
                                                        {"identifier": OLD, "expired": False, "valid_till": "2121"},
                                                        {"identifier": "rds-ca-2019", "expired": True,
                                                         "valid_till": "2024-08-22"}]}, **spec)
    return out


def test_preflight_stops_on_what_cannot_work_and_warns_about_the_rest():
    dbs = rotation_phases([db("a", environment="staging", target_ca_supported=False, supported_cas=[OLD]),
                           db("b", environment="production", target_ca_supported="unknown"),
                           db("c", environment="dev"), db("d", environment="production", engine_supported=False)], CFG)
    read = facts(**{"us-east-1": {}, "eu-west-1": {"target_ca_available": False},
                    "ap-south-1": {"target_ca_problem": "rds-ca-rsa2048-g1 expired"}})
    read["failed_regions"] = [{"region": "sa-east-1", "error_code": "AccessDenied", "message": "no"}]
    out = preflight_checks(dbs, read, CFG, reachable=["us-east-1/a"])
    assert [x["label"] for x in out["in_scope"]] == ["us-east-1/a", "us-east-1/b"]
    assert out["problems"] == [
        "region sa-east-1 could not be read (AccessDenied: no), so the scope is unknown there",
        "%s is not a CA of eu-west-1 (DescribeCertificates)" % TARGET,
        "ap-south-1: rds-ca-rsa2048-g1 expired",
        "us-east-1/a: postgres 16.3 does not support %s (supported: %s)" % (TARGET, OLD)]
    warnings = " | ".join(out["warnings"])
    assert "us-east-1/b: postgres 16.3 is not reported by DescribeDBEngineVersions" in warnings
    assert "left alone: us-east-1/c" in warnings and "RDS Custom): us-east-1/d" in warnings
    assert "1 database(s) are rotated without endpoint verification" in warnings and "us-east-1/b" in warnings
    audit = preflight_checks(dbs, read, CFG, reachable=["us-east-1/a"], audit=True)
    assert "1 database(s) would be rotated without endpoint verification" in " | ".join(audit["warnings"])
    # Without the account default, only the regions of the databases in scope must offer the target.
    out = preflight_checks(dbs, read, dict(CFG, set_account_default=False), reachable=["us-east-1/a"])
    assert [p for p in out["problems"] if "eu-west-1" in p or "ap-south-1" in p] == []


def test_verify_all_refuses_an_endpoint_the_controller_cannot_reach_and_says_why():
    dbs = rotation_phases([db("a", environment="staging"), db("b", environment="staging")], CFG)
    usage = [probe("a"), dict(probe("b", reachable=False), error="connection refused")]
    out = preflight_checks(dbs, facts(**{"us-east-1": {}}), dict(CFG, verify="all"), reachable=["us-east-1/a"], usage=usage)
    assert out["problems"] == ["us-east-1/b: rdsca_verify=all but the controller cannot reach its endpoint with TLS "
                               "(connection refused); set rdsca_connect_host, or rdsca_verify=auto"]


def test_a_deliberate_override_to_a_valid_ca_is_kept_unless_replaced():
    read = facts(**{"us-east-1": {"customer_override": OLD}, "eu-west-1": {"customer_override": "rds-ca-2019"},
                    "ap-south-1": {"customer_override": TARGET}})
    out = preflight_checks([], read, CFG)
    assert out["account_overrides"] == {"us-east-1": {"customer_override": OLD, "valid_till": "2121"}}
    assert any("us-east-1: new launches use %s" % OLD in w and "rdsca_replace_account_override" in w for w in out["warnings"])
    assert preflight_checks([], read, dict(CFG, replace_account_override=True))["account_overrides"] == {}


# -- clients --------------------------------------------------------------------------------------

def test_clients_lacking_the_target_ca_and_whether_this_run_fixes_them():
    hv = Hosts({"ok": {"rdsca_client_state": {"audit": {"ok": True, "missing": {}}}},
                "lacks": {"rdsca_client_state": {"audit": {"ok": True, "missing": {"system": [TARGET, OLD],
                                                                                   "java": [TARGET]}}}},
                "unmanaged": {"rdsca_client_manage_trust": "false",
                              "rdsca_client_state": {"audit": {"ok": True, "missing": {"system": [TARGET]}}}},
                "broken": {"rdsca_client_state": {"audit": {"ok": False, "error": "unreachable"}}},
                "never": {}})
    out = client_trust_gaps(["ok", "lacks", "unmanaged", "broken", "never"], hv, "audit", CFG)
    assert out == [
        {"host": "lacks", "why": "lacks %s, %s in system, java" % (TARGET, OLD), "fixed_by_this_run": True},
        {"host": "unmanaged", "why": "lacks %s in system" % TARGET, "fixed_by_this_run": False},
        {"host": "broken", "why": "unreachable", "fixed_by_this_run": True},
        {"host": "never", "why": "not audited", "fixed_by_this_run": True}]
    assert [g["fixed_by_this_run"] for g in client_trust_gaps(["lacks"], hv, "audit", dict(CFG, client_trust_update=False))] == [False]


def test_clients_the_trust_update_did_not_update():
    hv = Hosts({"done": {"rdsca_client_state": {"install": {"ok": True}}},
                "failed": {"rdsca_client_state": {"install": {"ok": False, "error": "read-only"}}},
                "missed": {}, "unmanaged": {"rdsca_client_manage_trust": False}})
    hosts = ["done", "failed", "missed", "unmanaged"]
    assert client_trust_gaps(hosts, hv, "install", CFG) == [{"host": "failed", "why": "read-only"},
                                                            {"host": "missed", "why": "not updated"}]
    assert client_trust_gaps(hosts, hv, "install", dict(CFG, client_trust_update=False)) == []
    with pytest.raises(AnsibleFilterError):
        client_trust_gaps(hosts, hv, "verify", CFG)


def test_a_client_verifies_the_targets_its_patterns_name():
    targets = [{"label": "us-east-1/orders", "identifier": "orders", "cluster_id": None, "server_name": "orders.x",
                "port": 5432, "protocol": "postgres"},
               {"label": "us-east-1/web-1", "identifier": "web-1", "cluster_id": "web", "server_name": "web.x",
                "port": 3306, "protocol": "mysql"}]
    assert client_endpoints(targets, "web") == [{"name": "us-east-1/web-1", "server_name": "web.x", "port": 3306,
                                                 "protocol": "mysql"}]
    out = client_endpoints(targets, ["*"], connect_host="127.0.0.1", ca_cert="/etc/rds.pem")
    assert [e["name"] for e in out] == ["us-east-1/orders", "us-east-1/web-1"]
    assert all(e["connect_host"] == "127.0.0.1" and e["ca_cert"] == "/etc/rds.pem" for e in out)
    assert "connect_host" not in client_endpoints(targets, ["orders"], connect_host="")[0]
    with pytest.raises(AnsibleFilterError):
        client_endpoints(targets, 5)


# -- batches --------------------------------------------------------------------------------------

def result(*items, failed=False, msg=None):
    out = {"databases": [dict(label="us-east-1/" + i, identifier=i, region="us-east-1", status=s, reason="r-" + i)
                         for i, s in items],
           "failures": [dict(label="us-east-1/" + i, status=s, reason="r-" + i) for i, s in items
                        if s in ("failed", "rolled_back", "blocked", "unverified")],
           "regions": {"us-east-1": {"changed": False}}}
    if failed:
        out.update(failed=True, msg=msg)
    return out


def labelled(*ids):
    return [{"label": "us-east-1/" + i, "identifier": i} for i in ids]


def test_a_batch_with_an_unverified_database_halts_production():
    first = rotation_record(None, [result(("a", "rotated"), ("b", "unverified"), failed=True, msg="1 failed")],
                            labelled("a", "b"), labelled("a", "b"), 1, 3, halt=True)
    assert first["halted_after_batch"] == 1 and first["batches"] == 1
    assert [(d["identifier"], d["batch"]) for d in first["databases"]] == [("a", 1), ("b", 1)]
    assert first["failures"] == [{"label": "us-east-1/b", "status": "unverified", "reason": "r-b"}]
    assert first["errors"] == [], "a failed call that returned its databases is not an error"
    assert first["verified"] == ["us-east-1/a", "us-east-1/b"] and first["unverified"] == []
    lines = rotation_summary(first, "production", 3, batch=1)
    assert lines == ["batch 1 of 3 finished: rotated 1, unverified 1 (us-east-1/b unverified); HALTED: the later "
                     "batches are not started (rdsca_halt_on_failure)"]
    assert "HALTED after batch 1 of 3" in rotation_summary(first, "production", 3)[-1]


@pytest.mark.parametrize("status", ["failed", "rolled_back", "blocked", "unverified"])
def test_every_failure_status_halts_and_a_good_batch_does_not(status):
    assert rotation_record(None, [result(("a", status))], labelled("a"), [], 1, 2, halt=True)["halted_after_batch"] == 1
    for good in ("rotated", "scheduled", "skipped", "unchanged"):
        assert rotation_record(None, [result(("a", good))], labelled("a"), [], 1, 2, halt=True)["halted_after_batch"] is None


def test_compact_rotation_results_make_the_same_record_and_report():
    """Issue 20: rds_ca_rotate detail=compact leaves out the keys at their default; rotation_record puts them back,
    so the phase record (and the report built from it) is the one full results make; the compact result is smaller."""
    data = rotate_input(300)
    units = [dict(item) for item in data["rotations"]["production"]["databases"]]
    for item in units:
        item.pop("batch")
    full = {"databases": units, "failures": [], "regions": {}}
    compact = dict(full, databases=rotation_records.shape_units(units, "compact"))
    assert len(json.dumps(compact)) < 0.85 * len(json.dumps(full))
    assert any(set(unit) - set(small) for unit, small in zip(units, compact["databases"]))
    batch = [{"label": u["label"], "identifier": u["identifier"]} for u in units]
    from_full = rotation_record(None, [full], batch, [], 1, 1, halt=False)
    from_compact = rotation_record(None, [compact], batch, [], 1, 1, halt=False)
    assert from_compact == from_full
    rotations = dict(data["rotations"], production=from_compact)
    now = report_lib.datetime(2026, 12, 1, 13, 0, tzinfo=report_lib.timezone.utc)
    assert report_lib.build_report(dict(data, rotations=rotations), now=now) == report_lib.build_report(
        dict(data, rotations=dict(data["rotations"], production=from_full)), now=now)


def test_no_halt_after_the_last_batch_staging_or_without_halt_on_failure():
    bad = [result(("a", "failed"))]
    assert rotation_record(None, bad, labelled("a"), [], 2, 2, halt=True)["halted_after_batch"] is None
    assert rotation_record(None, bad, labelled("a"), [], 1, 2, halt=False)["halted_after_batch"] is None


def test_a_call_that_failed_without_results_is_an_error_and_halts():
    previous = rotation_record(None, [result(("a", "rotated"))], labelled("a"), [], 1, 3, halt=True)
    before = copy.deepcopy(previous)
    out = rotation_record(previous, [result(("b", "rotated")), {"failed": True, "msg": "throttled"}],
                          labelled("b", "c"), labelled("b"), 2, 3, halt=True)
    assert out["errors"] == ["throttled"] and out["halted_after_batch"] == 2 and out["batches"] == 2
    assert out["verified"] == ["us-east-1/b"] and out["unverified"] == ["us-east-1/a", "us-east-1/c"]
    assert previous == before, "the previous record is not changed"
    assert "error: throttled" in rotation_summary(out, "production", 3)


def test_the_phase_summary_lists_what_was_not_rotated():
    record = rotation_record(None, [result(("a", "rotated"), ("b", "scheduled"), ("c", "unchanged"))],
                             labelled("a", "b", "c"), [], 1, 1)
    assert rotation_summary(record, "staging", 1, check_mode=True) == [
        "staging (check mode, planned): rotated 1, scheduled 1, unchanged 1", "us-east-1/b scheduled: r-b"]
    assert rotation_summary(rotation_record(None, [], [], [], 1, 1), "staging", 1) == ["staging: no database"]


def test_the_batch_title_names_the_first_databases():
    assert batch_title(labelled("a", "b"), 2, 5) == "batch 2 of 5: a, b"
    assert batch_title(labelled("a", "b", "c", "d", "e"), 1, 1) == "batch 1 of 1: a, b, c (+2)"


# -- rds_ssl_usage in chunks (issue 19: a progress line per chunk) --------------------------------------------------

def test_usage_chunks_cover_every_endpoint_once_in_order_and_name_each_chunk():
    dbs = labelled(*"abcdefg")
    chunks = usage_chunks(dbs, 3)
    assert [c["databases"] for c in chunks] == [dbs[0:3], dbs[3:6], dbs[6:7]]
    assert [(c["number"], c["count"]) for c in chunks] == [(1, 3), (2, 3), (3, 3)]
    assert [c["title"] for c in chunks] == ["chunk 1 of 3: a, b, c", "chunk 2 of 3: d, e, f", "chunk 3 of 3: g"]
    assert usage_chunks(dbs, "200")[0]["title"] == "chunk 1 of 1: a, b, c (+4)"
    assert usage_chunks([], 200) == []


@pytest.mark.parametrize("size", [0, -1, "0", "", None, True, 2.5, "ten", [3]])
def test_usage_chunks_refuse_a_size_that_cannot_cut(size):
    with pytest.raises(AnsibleFilterError, match="chunk size of at least 1"):
        usage_chunks(labelled("a"), size)


def test_usage_chunks_need_a_list():
    with pytest.raises(AnsibleFilterError, match="needs the databases"):
        usage_chunks({"databases": []}, 2)


# -- verification ---------------------------------------------------------------------------------

def test_verify_targets_are_the_phases_databases_on_the_target_with_a_verifiable_endpoint():
    after = [db("a", current_ca=TARGET), db("b", current_ca=OLD), db("c", current_ca=TARGET, engine="aurora-mysql",
                                                                     cluster_id="c-cluster", endpoint_port=3306),
             db("d", current_ca=TARGET, engine="sqlserver-se"), db("e", current_ca=TARGET, endpoint_address=None),
             db("f", current_ca=TARGET)]
    labels = ["us-east-1/" + i for i in "abcde"]
    out = verify_targets(after, labels, TARGET)
    assert out == [{"label": "us-east-1/a", "identifier": "a", "region": "us-east-1", "cluster_id": None,
                    "server_name": "a.example", "port": 5432, "protocol": "postgres"},
                   {"label": "us-east-1/c", "identifier": "c", "region": "us-east-1", "cluster_id": "c-cluster",
                    "server_name": "c.example", "port": 3306, "protocol": "mysql"}]


def test_a_probe_verifies_only_with_the_target_ca_and_a_verified_chain():
    usage = [probe("a"), probe("b", presented=OLD), probe("c", verified=False),
             {"identifier": "d", "region": "us-east-1", "probe": None, "error": "timed out"}, probe("z")]
    out = endpoint_probes(usage, ["us-east-1/" + i for i in "abcd"], TARGET)
    assert [(p["label"], p["verified"], p["error"]) for p in out] == [
        ("us-east-1/a", True, None), ("us-east-1/b", False, "presents %s" % OLD),
        ("us-east-1/c", False, "certificate verify failed"), ("us-east-1/d", False, "timed out")]


# -- the staging gate -----------------------------------------------------------------------------

def staging_scope(*ids, **extra):
    return rotation_phases([db(i, environment="staging", **extra) for i in ids], CFG)


def failed_checks(gate):
    return [c["check"] for c in gate["checks"] if not c["ok"]]


def test_the_gate_passes_when_staging_is_rotated_probed_and_verified_by_the_clients():
    scope = staging_scope("a", "b")
    rotation = rotation_record(None, [result(("a", "rotated"), ("b", "rotated"))], scope, scope, 1, 1)
    hv = Hosts({"app": {"rdsca_client_state": {"verify_staging": {
        "ok": True, "endpoints": [{"name": "us-east-1/b", "verified": True}], "failed": []}}}})
    gate = staging_gate(scope, CFG, rotation=rotation, databases_after=[db("a", current_ca=TARGET), db("b", current_ca=TARGET)],
                        probes=[{"label": "us-east-1/a", "verified": True, "error": None}], client_hosts=["app"], hostvars=hv)
    assert gate["passed"] is True and gate["reason"] is None
    assert gate["lines"][0] == "STAGING GATE PASSED: production may start"
    assert [c["detail"] for c in gate["checks"]] == [
        "2 staging database(s): rotated 2", "2 on %s" % TARGET, "1 endpoint(s) present %s and verify: us-east-1/a" % TARGET,
        "1 client(s) verified 1 staging endpoint(s)", "us-east-1/a, us-east-1/b"]


def test_the_gate_fails_on_a_failed_probe_and_a_client_that_did_not_verify():
    scope = staging_scope("a")
    rotation = rotation_record(None, [result(("a", "rotated"))], scope, scope, 1, 1)
    hv = Hosts({"app": {"rdsca_client_state": {"verify_staging": {"ok": False, "failed": ["us-east-1/a"], "error": None}}},
                "gone": {}})
    gate = staging_gate(scope, CFG, rotation=rotation, databases_after=[db("a", current_ca=TARGET)],
                        probes=[{"label": "us-east-1/a", "verified": False, "error": "presents " + OLD}],
                        client_hosts=["app", "gone"], hostvars=hv)
    assert gate["passed"] is False
    assert failed_checks(gate) == ["staging endpoints verified from the controller", "clients verified the staging databases",
                                   "at least one staging database verified on the target CA"]
    assert "app: us-east-1/a did not verify; gone: no verification result" in gate["reason"]
    assert gate["lines"][0] == "STAGING GATE FAILED: production does not start"
    assert "[FAIL] staging endpoints verified from the controller: us-east-1/a: presents " + OLD in gate["lines"]


def test_the_gate_fails_on_a_rotation_failure_and_a_database_left_on_the_old_ca():
    scope = staging_scope("a", "b", "c")
    rotation = rotation_record(None, [result(("a", "rolled_back"), ("b", "skipped"), ("c", "scheduled"))],
                               scope, scope, 1, 1)
    rotation["databases"][1]["members"] = ["b"]
    after = [db("a"), db("b"), db("c", pending_ca=TARGET)]
    gate = staging_gate(scope, dict(CFG, client_verify=False, require_verified_staging=False), rotation=rotation,
                        databases_after=after, probes=[])
    assert failed_checks(gate) == ["staging rotation succeeded", "staging databases on the target CA"]
    assert gate["checks"][0]["detail"] == "us-east-1/a rolled_back r-a"
    assert gate["checks"][1]["detail"] == "us-east-1/a is on %s" % OLD, "b was skipped with a reason, c is scheduled"


def test_production_before_staging_says_to_run_staging_first():
    gate = staging_gate(staging_scope("a"), dict(CFG, phase="production", client_verify=False), databases_after=[db("a")])
    assert gate["checks"][0]["check"] == "staging databases on the target CA"
    assert gate["checks"][0]["detail"].endswith("run the staging phase first")


def test_check_mode_predicts_from_the_plan_discovery_probes_and_the_clients_audit():
    scope = staging_scope("a", "b", "c") + staging_scope("d", current_ca=TARGET) + staging_scope("e", current_ca=TARGET)
    plan = rotation_record(None, [result(("a", "rotated"), ("b", "scheduled"), ("c", "rotated"))], scope, scope, 1, 1)
    usage = [probe("d", presented=OLD), probe("e")]
    hv = Hosts({"app": {"rdsca_client_state": {"audit": {"ok": True}}, "rdsca_client_databases": "c, e"},
                "down": {"rdsca_client_state": {"audit": {"ok": False, "error": "unreachable"}}}})
    gate = staging_gate(scope, CFG, check_mode=True, rotation=plan, reachable=["us-east-1/a", "us-east-1/d", "us-east-1/e"],
                        usage=usage, client_hosts=["app", "down"], hostvars=hv)
    assert gate["checks"][0]["check"] == "staging rotation succeeded (planned)"
    by_check = dict((c["check"], c) for c in gate["checks"])
    assert by_check["staging databases on the target CA"]["detail"] == (
        "4 on %s (predicted), scheduled for the maintenance window: us-east-1/b" % TARGET)
    # a is rotated by this run (expected to verify); d presents the old CA at discovery; e verifies.
    assert by_check["staging endpoints verified from the controller"]["detail"] == "us-east-1/d: presents " + OLD
    assert by_check["clients verified the staging databases"]["detail"] == "down: unreachable (it cannot verify staging)"
    assert by_check["at least one staging database verified on the target CA"]["detail"] == \
        "us-east-1/a, us-east-1/e, us-east-1/c (predicted)"
    # Nothing is predicted to verify: the dry run stops where the real run would.
    gate = staging_gate(staging_scope("a"), dict(CFG, client_verify=False), check_mode=True,
                        rotation=rotation_record(None, [result(("a", "rotated"))], [], [], 1, 1), reachable=[], usage=[])
    assert failed_checks(gate) == ["at least one staging database verified on the target CA"]
    assert staging_gate(staging_scope("a"), dict(CFG, verify="none", client_verify=False), check_mode=True,
                        reachable=["us-east-1/a"], usage=[probe("a")])["checks"][1]["detail"].startswith("0 endpoint(s)")


# -- the rollback ---------------------------------------------------------------------------------

REPORT = {"run_id": "20261128T154000Z", "databases": [
    {"region": "us-east-1", "identifier": "orders", "status": "rotated", "before": {"ca": OLD}},
    {"region": "us-east-1", "identifier": "planned", "status": "rotated", "planned": True, "before": {"ca": OLD}},
    {"region": "us-east-1", "identifier": "same", "status": "unchanged", "before": {"ca": TARGET}}]}


def test_rollback_entries_from_a_report_and_from_the_list_parsed_as_rds_ca_rotate_parses_databases():
    out = rollback_entries(REPORT, ["eu-west-1/Web", "billing", {"id": "pay", "region": "ap-south-1", "to_ca": "rds-ca-ecc384-g1"},
                                    "arn:aws:rds:sa-east-1:123456789012:db:legacy"],
                           to_ca=OLD, default_region="us-west-2")
    assert out["problems"] == []
    assert [(e["label"], e["to_ca"], e["from"]) for e in out["entries"]] == [
        ("us-east-1/orders", OLD, "report 20261128T154000Z"),
        ("eu-west-1/web", OLD, "rdsca_rollback_databases"),
        ("us-west-2/billing", OLD, "rdsca_rollback_databases"),
        ("ap-south-1/pay", "rds-ca-ecc384-g1", "rdsca_rollback_databases"),
        ("sa-east-1/legacy", OLD, "rdsca_rollback_databases")]


def test_rollback_entries_refuse_what_is_not_a_database_and_narrow_by_pattern():
    out = rollback_entries(None, ["billing", "us-east-1/Not An Id!", {"region": "us-east-1"}, 5])
    assert len(out["problems"]) == 4, out["problems"]
    assert "has no region" in out["problems"][0] and "not an RDS identifier" in out["problems"][1]
    assert out["entries"] == []
    out = rollback_entries(REPORT, ["us-east-1/billing", "eu-west-1/orders"], to_ca=OLD, identifiers=["orders", "us-east-1/b*"])
    assert [e["label"] for e in out["entries"]] == ["us-east-1/orders", "us-east-1/billing", "eu-west-1/orders"]
    with pytest.raises(AnsibleFilterError):
        rollback_entries("report.json", [])


def test_rollback_checks_refuse_expired_foreign_unsupported_and_missing_cas():
    entries = rollback_entries(None, ["us-east-1/" + i for i in ("ok", "old", "foreign", "unsupported", "gone", "noca")],
                               to_ca=OLD)["entries"]
    for entry, ca in zip(entries, [OLD, "rds-ca-2019", "rds-ca-other", OLD, OLD, None]):
        entry["to_ca"] = ca
    read = facts(**{"us-east-1": {}})
    read["databases"] = [db("ok"), db("old"), db("foreign"), db("unsupported", supported_cas=[TARGET]), db("noca")]
    out = rollback_checks(entries, read)
    assert [(e["label"], e["refused"]) for e in out["entries"]] == [
        ("us-east-1/ok", None),
        ("us-east-1/old", "rds-ca-2019 expired on 2024-08-22: a database cannot go back to it"),
        ("us-east-1/foreign", "rds-ca-other is not a CA of us-east-1"),
        ("us-east-1/unsupported", "postgres 16.3 does not support %s" % OLD),
        ("us-east-1/gone", "not found in us-east-1"),
        ("us-east-1/noca", "no CA to go back to (rdsca_rollback_to_ca, or to_ca per database)")]
    assert out["problems"] == ["us-east-1/gone: not found"]
    assert [(r["label"], r["status"], r["members"]) for r in out["refused"]][:1] == [("us-east-1/old", "not_possible", ["old"])]
    assert len(out["refused"]) == 5


def test_rollback_checks_read_a_summary_mode_inventory(tmp_path):
    """Issue 20: rds_ca_facts with detail=summary returns no databases; rollback_checks reads its output_file."""
    entries = rollback_entries(None, ["us-east-1/ok", "us-east-1/gone"], to_ca=OLD)["entries"]
    path = str(tmp_path / "inventory.jsonl")
    inventory_records.write_records(path, inventory_records.shape_databases([db("ok")], "compact"))
    read = dict(facts(**{"us-east-1": {}}), detail="summary", databases=[], output_file=path, summary={"databases": 1})
    out = rollback_checks(entries, read)
    assert [(e["label"], e["refused"]) for e in out["entries"]] == [("us-east-1/ok", None),
                                                                    ("us-east-1/gone", "not found in us-east-1")]
