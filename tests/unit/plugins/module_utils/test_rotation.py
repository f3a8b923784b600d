# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Unit tests for plugins/module_utils/rotation.py (planning) and rotation_runner.py (execution).

The runner is driven against a fake RDS with a fake clock: statuses advance with
time as the simulator's do, so ordering, the concurrency bound, batched polling,
retries, timeouts, verification and rollback are checked without sleeping.
"""

from __future__ import annotations

import copy
import threading
from concurrent.futures import Future

import pytest

from ansible_collections.rdsca.rotation.plugins.module_utils import rotation
from ansible_collections.rdsca.rotation.plugins.module_utils.rotation import (
    CLUSTER,
    FAIL,
    INSTANCE,
    NONE,
    ROTATE,
    SCHEDULE,
    SKIP,
    Scheduler,
    check_options,
    check_target_ca,
    dependencies,
    normalize_entries,
    observe,
    parse_ssl_evidence,
    plan_unit,
    region_view,
    resolve_units,
    status_category,
    verdict,
)
from ansible_collections.rdsca.rotation.plugins.module_utils.rotation_runner import ApiError, Job, Runner

OLD = "rds-ca-2019"
RSA2048 = "rds-ca-rsa2048-g1"
RSA4096 = "rds-ca-rsa4096-g1"
ECC384 = "rds-ca-ecc384-g1"
ALL_CAS = [OLD, RSA2048, RSA4096, ECC384]
REGION = "us-east-1"

CAPABILITIES = {
    ("postgres", "16.3"): {"rotation_without_restart": True, "supported_cas": ALL_CAS},
    ("postgres", "14.10"): {"rotation_without_restart": False, "supported_cas": ALL_CAS},
    ("postgres", "11.99"): {"rotation_without_restart": False, "supported_cas": [OLD, RSA2048]},
    ("aurora-postgresql", "15.4"): {"rotation_without_restart": True, "supported_cas": ALL_CAS},
    ("mysql", "8.0.32"): {"rotation_without_restart": "unknown", "supported_cas": ALL_CAS},
}
CERTIFICATES = {
    OLD: {"identifier": OLD, "valid_till": "2024-08-22T17:08:50+00:00", "expired": True},
    RSA2048: {"identifier": RSA2048, "valid_till": "2061-05-24T22:59:00+00:00", "expired": False},
    RSA4096: {"identifier": RSA4096, "valid_till": "2121-05-24T23:03:20+00:00", "expired": False},
    ECC384: {"identifier": ECC384, "valid_till": "2121-05-24T23:06:59+00:00", "expired": False},
}


def raw_instance(ident, version="16.3", ca=OLD, engine="postgres", status="available", pending=None, cluster=None,
                 replica_of=None, port=5432):
    item = {
        "DBInstanceIdentifier": ident,
        "DBInstanceArn": "arn:aws:rds:%s:123456789012:db:%s" % (REGION, ident),
        "Engine": engine,
        "EngineVersion": version,
        "DBInstanceStatus": status,
        "CACertificateIdentifier": ca,
        "PreferredMaintenanceWindow": "sun:05:00-sun:05:30",
        "Endpoint": {"Address": "%s.cabc.%s.rds.amazonaws.com" % (ident, REGION), "Port": port},
    }
    if pending:
        item["PendingModifiedValues"] = {"CACertificateIdentifier": pending}
    if cluster:
        item["DBClusterIdentifier"] = cluster
    if replica_of:
        item["ReadReplicaSourceDBInstanceIdentifier"] = replica_of
    return item


def raw_cluster(ident, members, engine="aurora-postgresql", version="15.4", writer=None, ca=None):
    item = {
        "DBClusterIdentifier": ident,
        "DBClusterArn": "arn:aws:rds:%s:123456789012:cluster:%s" % (REGION, ident),
        "Engine": engine,
        "EngineVersion": version,
        "Status": "available",
        "DBClusterMembers": [{"DBInstanceIdentifier": m, "IsClusterWriter": m == writer} for m in members],
    }
    if ca:
        item["CertificateDetails"] = {"CAIdentifier": ca}
    return item


def fleet_view():
    instances = [
        raw_instance("app-hot"),
        raw_instance("app-restart", version="14.10"),
        raw_instance("app-legacy", version="11.99"),
        raw_instance("app-done", ca=RSA2048),
        raw_instance("app-pending", version="14.10", pending=RSA2048),
        raw_instance("app-stopped", status="stopped"),
        raw_instance("app-full", status="storage-full"),
        raw_instance("app-backup", status="backing-up"),
        raw_instance("app-mysql", engine="mysql", version="8.0.32"),
        raw_instance("app-unknown", version="9.9"),
        raw_instance("app-4096", ca=RSA4096),
        raw_instance("orders-primary"),
        raw_instance("orders-replica", replica_of="orders-primary"),
        raw_instance("orders-replica-2", replica_of="orders-replica"),
        raw_instance("aurora-1", engine="aurora-postgresql", version="15.4", cluster="aurora"),
        raw_instance("aurora-2", engine="aurora-postgresql", version="15.4", cluster="aurora"),
        raw_instance("aurora-3", engine="aurora-postgresql", version="15.4", cluster="aurora"),
        raw_instance("maz-1", cluster="maz"),
        raw_instance("maz-2", cluster="maz"),
        raw_instance("maz-3", cluster="maz"),
        raw_instance("docs", engine="custom-oracle-ee", version="19.c.ee.002"),
    ]
    clusters = [
        raw_cluster("aurora", ["aurora-1", "aurora-2", "aurora-3"], writer="aurora-1"),
        raw_cluster("maz", ["maz-1", "maz-2", "maz-3"], engine="postgres", version="16.3", writer="maz-1", ca=OLD),
    ]
    maintenance = {
        "arn:aws:rds:us-east-1:123456789012:db:app-hot": {"action": "ca-certificate-rotation", "opt_in_status": None},
        "arn:aws:rds:us-east-1:123456789012:db:app-restart": {
            "action": "ca-certificate-rotation", "opt_in_status": "next-maintenance"},
    }
    return {REGION: region_view(instances, clusters, maintenance)}


def units_for(*names):
    requests, problems = normalize_entries(list(names), REGION)
    assert problems == []
    units, _notes, problems = resolve_units(requests, fleet_view())
    assert problems == []
    return units


def opts(**overrides):
    base = {"target_ca": RSA2048, "apply": "immediately", "opt_in_type": None, "allow_restart": False,
            "on_restart_required": "skip", "certificate_rotation_restart": None, "wait": True}
    base.update(overrides)
    return base


def context(evidence=None):
    return {"capabilities": CAPABILITIES, "certificates": CERTIFICATES, "evidence": evidence or {}}


def plan_of(name, evidence=None, **overrides):
    (unit,) = units_for(name)
    return plan_unit(unit, opts(**overrides), context(evidence))


# -- the databases option -----------------------------------------------------------------------

def test_normalize_entries_accepts_every_shape_and_merges_duplicates():
    requests, problems = normalize_entries([
        "App-Hot",
        "eu-west-1/web-eu",
        "arn:aws:rds:ap-southeast-2:123456789012:db:syd-db",
        "arn:aws:rds:us-east-1:123456789012:cluster:aurora",
        {"identifier": "orders-primary", "region": "us-east-1", "connect_host": "127.0.0.1", "connect_port": "6432"},
        {"id": "maz", "type": "cluster"},
        # an rds_ca_facts entry: everything but identifier/region is ignored
        {"identifier": "app-hot", "region": "us-east-1", "engine": "postgres", "needs_rotation": True},
    ], REGION)
    assert problems == []
    assert [(r["region"], r["identifier"], r["type"]) for r in requests] == [
        (REGION, "app-hot", "auto"),
        ("eu-west-1", "web-eu", "auto"),
        ("ap-southeast-2", "syd-db", INSTANCE),
        (REGION, "aurora", CLUSTER),
        (REGION, "orders-primary", "auto"),
        (REGION, "maz", CLUSTER),
    ]
    assert requests[4]["connect_host"] == "127.0.0.1" and requests[4]["connect_port"] == 6432


@pytest.mark.parametrize("entry, message", [
    ({"engine": "postgres"}, "needs an identifier"),
    (42, "must be a string or a mapping"),
    ("1bad", "is not an RDS identifier"),
    ({"identifier": "x1", "type": "table"}, "type must be one of"),
    ({"identifier": "x1", "connect_port": "http"}, "connect_port must be a port number"),
])
def test_normalize_entries_reports_bad_entries(entry, message):
    _requests, problems = normalize_entries([entry], REGION)
    assert len(problems) == 1 and message in problems[0]


def test_normalize_entries_needs_a_region():
    _requests, problems = normalize_entries(["app-hot"], None)
    assert "has no region" in problems[0]


def test_ssl_evidence_from_a_registered_result_or_a_list():
    evidence, problems = parse_ssl_evidence({"databases": [
        {"identifier": "a", "region": REGION, "ssl_in_use": False},
        {"identifier": "b", "ssl_connections": 3},
        {"id": "c", "tls_connections": 0},
        {"identifier": "d", "engine": "postgres"},
    ]})
    assert problems == []
    assert evidence[(REGION, "a")]["ssl_in_use"] is False
    assert evidence[(None, "b")]["ssl_in_use"] is True
    assert evidence[(None, "c")]["ssl_in_use"] is False
    assert evidence[(None, "d")]["ssl_in_use"] is None
    # rds_ssl_usage says yes/no/unknown, and vetoes with safe_without_restart: false
    evidence, problems = parse_ssl_evidence({"databases": [
        {"identifier": "e", "region": REGION, "ssl_in_use": "no", "safe_without_restart": True},
        {"identifier": "f", "region": REGION, "ssl_in_use": "yes", "safe_without_restart": False},
        {"identifier": "g", "region": REGION, "ssl_in_use": "unknown", "safe_without_restart": False,
         "safe_without_restart_reason": "no credentials"},
    ]})
    assert problems == []
    assert (evidence[(REGION, "e")]["ssl_in_use"], evidence[(REGION, "e")]["safe"]) == (False, True)
    assert evidence[(REGION, "f")]["ssl_in_use"] is True
    assert (evidence[(REGION, "g")]["ssl_in_use"], evidence[(REGION, "g")]["safe"]) == (None, False)
    assert parse_ssl_evidence(None) == ({}, [])
    assert parse_ssl_evidence("yes")[1]
    assert parse_ssl_evidence([{"ssl_in_use": False}])[1]


# -- resolving identifiers ----------------------------------------------------------------------

def test_aurora_cluster_expands_to_members_readers_first():
    units = units_for("aurora")
    assert [(u["identifier"], u["cluster_role"]) for u in units] == [
        ("aurora-2", "reader"), ("aurora-3", "reader"), ("aurora-1", "writer")]
    assert all(u["kind"] == INSTANCE for u in units)


def test_multi_az_cluster_and_its_members_become_one_cluster_unit():
    requests, _problems = normalize_entries(["maz", "maz-2"], REGION)
    units, notes, problems = resolve_units(requests, fleet_view())
    assert problems == []
    assert len(units) == 1
    unit = units[0]
    assert (unit["kind"], unit["identifier"], unit["members"], unit["current_ca"]) == (
        CLUSTER, "maz", ["maz-1", "maz-2", "maz-3"], OLD)
    assert "member of the Multi-AZ DB cluster maz" in notes[0]


def test_resolve_reports_missing_and_mismatched_types():
    entries = [{"identifier": "aurora", "type": "instance"}, {"id": "app-hot", "type": "cluster"}, "app-hto",
               "eu-west-1/x1"]
    requests, _problems = normalize_entries(entries, REGION)
    _units, _notes, problems = resolve_units(requests, fleet_view())
    assert "is a DB cluster identifier, but the entry says type: instance" in problems[0]
    assert "aurora-1, aurora-2, aurora-3" in problems[0]
    assert "is a DB instance identifier, but the entry says type: cluster" in problems[1]
    assert "no DB instance or DB cluster" in problems[2] and "similar: app-" in problems[2]
    assert "region eu-west-1 could not be read" in problems[3]


# -- planning ------------------------------------------------------------------------------------

def test_hot_swap_engine_rotates_now_without_restart():
    plan = plan_of("app-hot")
    assert (plan["action"], plan["status"], plan["would_restart"], plan["problems"]) == (ROTATE, "rotated", False, [])
    assert plan["call"] == {"op": "modify_instance", "region": REGION, "identifier": "app-hot", "ca": RSA2048,
                            "apply_immediately": True, "restart": None}
    assert plan["previous_ca"] == OLD


def test_restart_engine_is_skipped_scheduled_or_rotated_as_the_policy_says():
    skipped = plan_of("app-restart")
    assert (skipped["action"], skipped["would_restart"], skipped["call"]) == (SKIP, True, None)
    assert "cannot rotate its certificate without a restart and allow_restart is false" in skipped["reason"]
    scheduled = plan_of("app-restart", on_restart_required="schedule")
    assert scheduled["action"] == SCHEDULE and scheduled["call"]["apply_immediately"] is False
    assert "sun:05:00-sun:05:30" in scheduled["reason"]
    allowed = plan_of("app-restart", allow_restart=True)
    assert (allowed["action"], allowed["would_restart"], allowed["call"]["apply_immediately"]) == (ROTATE, True, True)


def test_unknown_restart_behaviour_counts_as_a_restart():
    plan = plan_of("app-mysql")
    assert plan["action"] == SKIP and plan["would_restart"] == "unknown"
    assert "is not known" in plan["reason"]


def test_idempotence_on_target_and_pending():
    assert plan_of("app-done")["action"] == NONE
    assert plan_of("app-pending", apply="maintenance_window")["action"] == NONE
    assert plan_of("app-pending", on_restart_required="schedule")["action"] == NONE
    # asked to apply now: the pending change is applied immediately
    assert plan_of("app-pending", allow_restart=True)["action"] == ROTATE


def test_maintenance_window_schedules_whatever_the_restart_policy():
    plan = plan_of("app-restart", apply="maintenance_window")
    assert plan["action"] == SCHEDULE and plan["would_restart"] is True
    assert plan["call"]["apply_immediately"] is False


def test_unsupported_target_ca_is_a_problem_and_unknown_version_a_skip():
    plan = plan_of("app-legacy", target_ca=RSA4096)
    assert plan["problems"] and "does not support rds-ca-rsa4096-g1" in plan["problems"][0]
    unknown = plan_of("app-unknown")
    assert unknown["action"] == SKIP and "not reported by DescribeDBEngineVersions" in unknown["reason"]


def test_target_ca_checked_once_per_region():
    assert check_target_ca(REGION, RSA2048, CERTIFICATES) == []
    assert "is not a CA of us-east-1" in check_target_ca(REGION, "rds-ca-bogus", CERTIFICATES)[0]
    assert "expired" in check_target_ca(REGION, OLD, CERTIFICATES)[0]


@pytest.mark.parametrize("name, action, words", [
    ("app-stopped", SKIP, "stopped"),
    ("app-full", FAIL, "storage-full"),
    ("docs", SKIP, "out of scope"),
])
def test_statuses_and_engines_that_cannot_be_rotated(name, action, words):
    plan = plan_of(name)
    assert plan["action"] == action and words in plan["reason"]


def test_transitional_status_is_waited_for_unless_wait_is_false():
    plan = plan_of("app-backup")
    assert plan["action"] == ROTATE and "waiting for available" in plan["notes"][0]
    assert plan_of("app-backup", wait=False)["action"] == SKIP


def test_certificate_rotation_restart_false_needs_evidence():
    refused = plan_of("app-restart", certificate_rotation_restart=False)
    assert "refused without evidence" in refused["problems"][0]
    in_use = plan_of("app-restart", evidence={(None, "app-restart"): {"ssl_in_use": True, "evidence": {}}},
                     certificate_rotation_restart=False)
    assert "shows SSL/TLS in use" in in_use["problems"][0]
    veto = {(None, "app-restart"): {"ssl_in_use": False, "safe": False, "evidence": {}}}
    unsafe = plan_of("app-restart", evidence=veto, certificate_rotation_restart=False)
    assert "not safe" in unsafe["problems"][0]
    unknown = plan_of("app-restart", evidence={(None, "app-restart"): {"ssl_in_use": None, "evidence": {}}},
                      certificate_rotation_restart=False)
    assert "does not say whether SSL/TLS is used" in unknown["problems"][0]
    proven = plan_of("app-restart", evidence={(REGION, "app-restart"): {"ssl_in_use": False, "evidence": {}}},
                     certificate_rotation_restart=False)
    assert proven["problems"] == [] and proven["action"] == ROTATE
    assert proven["would_restart"] is False and proven["call"]["restart"] is False
    # engines that rotate without a restart never need it, nor get the parameter
    hot = plan_of("app-hot", certificate_rotation_restart=False)
    assert hot["problems"] == [] and hot["call"]["restart"] is None


def test_pending_action_plans():
    assert plan_of("app-hot", apply="pending_action")["call"]["opt_in"] == "next-maintenance"
    now = plan_of("app-hot", apply="pending_action", opt_in_type="immediate")
    assert now["action"] == ROTATE and now["call"]["op"] == "apply_pending_action"
    assert plan_of("app-restart", apply="pending_action")["action"] == NONE  # already opted in
    assert plan_of("app-restart", apply="pending_action", opt_in_type="immediate")["action"] == SKIP
    scheduled = plan_of("app-restart", apply="pending_action", opt_in_type="immediate", on_restart_required="schedule")
    assert scheduled["action"] == NONE  # falls back to next-maintenance, already opted in
    assert "no pending ca-certificate-rotation" in plan_of("app-4096", apply="pending_action")["reason"]
    (maz,) = units_for("maz")
    assert plan_unit(maz, opts(apply="pending_action"), context())["action"] == SKIP


def test_multi_az_cluster_plan_uses_modify_db_cluster():
    (maz,) = units_for("maz")
    plan = plan_unit(maz, opts(), context())
    assert plan["action"] == ROTATE and plan["would_restart"] is False
    assert plan["call"] == {"op": "modify_cluster", "region": REGION, "identifier": "maz", "ca": RSA2048,
                            "apply_immediately": True}


def test_rollback_possible_only_to_a_valid_supported_ca():
    assert plan_of("app-hot")["rollback"]["possible"] is False  # rds-ca-2019 expired
    assert "expired" in plan_of("app-hot")["rollback"]["reason"]
    assert plan_of("app-4096")["rollback"] == {"possible": True, "reason": None}


@pytest.mark.parametrize("params, message", [
    ({"max_concurrent": 0}, "max_concurrent must be 1 or more"),
    ({"wait_timeout": 0}, "wait_timeout must be more than 0"),
    ({"poll_interval": -1}, "poll_interval must be more than 0"),
    ({"opt_in_type": "immediate"}, "opt_in_type applies to apply=pending_action only"),
    ({"apply": "pending_action", "target_ca": RSA4096}, "moves databases to rds-ca-rsa2048-g1 only"),
    ({"apply": "pending_action", "certificate_rotation_restart": True}, "cannot be used with apply=pending_action"),
    ({"certificate_rotation_restart": False}, "refused without evidence"),
    ({"verify_endpoint": True, "verify_ca_bundle": "/b.pem", "apply": "maintenance_window"}, "needs a change applied now"),
    ({"verify_endpoint": True, "verify_ca_bundle": "/b.pem", "wait": False}, "needs wait=true"),
    ({"verify_endpoint": True}, "needs ca_cert"),
    ({"rollback_on_failure": True}, "rollback_on_failure needs verify_endpoint"),
    ({"target_ca": "RDS CA"}, "is not a CA identifier"),
])
def test_option_conflicts(params, message):
    base = {"target_ca": RSA2048, "apply": "immediately", "max_concurrent": 5, "wait": True, "wait_timeout": 60,
            "poll_interval": 1, "verify_timeout": 5, "verify_grace_period": 10}
    base.update(params)
    problems = check_options(base)
    assert any(message in p for p in problems), problems


def test_valid_options_have_no_problems():
    assert check_options({"target_ca": RSA2048, "apply": "pending_action", "opt_in_type": "immediate",
                          "verify_endpoint": True, "verify_ca_bundle": "/b.pem", "rollback_on_failure": True,
                          "max_concurrent": 1, "wait": True, "wait_timeout": 1, "poll_interval": 0.1}) == []


# -- order and concurrency -------------------------------------------------------------------------

def test_dependencies_readers_before_writer_and_replicas_before_source():
    units = units_for("aurora", "orders-primary", "orders-replica", "orders-replica-2")
    keys = dict((u["identifier"], u["key"]) for u in units)
    deps = dependencies(units, "safe")
    assert deps[keys["aurora-1"]] == {keys["aurora-2"], keys["aurora-3"]}
    assert deps[keys["orders-primary"]] == {keys["orders-replica"]}
    assert deps[keys["orders-replica"]] == {keys["orders-replica-2"]}
    assert not deps[keys["aurora-2"]]
    assert all(not d for d in dependencies(units, "as_given").values())


def test_scheduler_respects_limit_and_dependencies():
    sched = Scheduler(["a", "b", "c", "w"], {"w": {"a", "b"}}, 2)
    assert sched.ready() == ["a", "b"]
    for key in sched.ready():
        sched.start(key)
    assert sched.ready() == []
    sched.finish("a", True)
    assert sched.ready() == ["c"]  # w still waits for b
    sched.start("c")
    sched.finish("b", False)
    assert sched.blocked() == [("w", ["b"])]
    sched.finish("w", False)
    sched.finish("c", True)
    assert sched.idle and sched.max_in_flight == 2


def test_status_categories():
    assert status_category("available") == "available"
    assert status_category("modifying") == "wait"
    assert status_category("some-new-status") == "wait"
    assert status_category("stopped") == "skip"
    assert status_category("storage-full") == "fail"


def test_observe_and_verdict():
    (unit,) = units_for("app-hot")
    assert observe(unit, {"app-hot": raw_instance("app-hot", ca=RSA2048)}, RSA2048)[0] == "done"
    assert observe(unit, {"app-hot": raw_instance("app-hot", ca=RSA2048, status="rebooting")}, RSA2048)[0] == "wait"
    assert observe(unit, {"app-hot": raw_instance("app-hot", ca=OLD, pending=RSA2048)}, RSA2048)[0] == "wait"
    assert observe(unit, {"app-hot": raw_instance("app-hot", status="storage-full")}, RSA2048)[0] == "fail"
    assert observe(unit, {}, RSA2048)[0] == "fail"
    assert verdict({"ca_id": RSA2048, "verified": True}, RSA2048) == ("ok", None)
    assert verdict({"ca_id": OLD, "verified": True}, RSA2048)[0] == "retry"
    assert verdict({"ca_id": None, "error": "refused"}, RSA2048)[0] == "retry"
    assert verdict({"ca_id": RSA2048, "verified": False, "error": "no issuer"}, RSA2048)[0] == "fail"


# -- the runner, against a fake RDS ---------------------------------------------------------------

class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        assert seconds >= 0
        self.now += seconds


class SyncExecutor:
    def submit(self, fn, *args):
        future = Future()
        try:
            future.set_result(fn(*args))
        except Exception as e:  # pylint: disable=broad-except
            future.set_exception(e)
        return future


class FakeRds:
    """Statuses advance with the fake clock like the simulator's: modifying, then rebooting for restart engines."""

    def __init__(self, clock, raws, modify=3.0, reboot=3.0, restart_free=None):
        self.clock = clock
        self.db = dict((r["DBInstanceIdentifier"], copy.deepcopy(r)) for r in raws)
        self.modify = modify
        self.reboot = reboot
        self.restart_free = restart_free or {}
        self.timeline = {}  # id -> [(start, end)] of transitions
        self.transitions = {}  # id -> (ends_at_modify, ends_at_reboot, ca)
        self.calls = []
        self.describe_calls = []
        self.describe_errors = 0
        self.call_errors = {}
        self.presented = {}
        self.probe_results = None

    def _settle(self):
        now = self.clock()
        for ident, (modify_end, reboot_end, ca) in list(self.transitions.items()):
            raw = self.db[ident]
            if now >= modify_end:
                raw["CACertificateIdentifier"] = ca
                raw.pop("PendingModifiedValues", None)
                self.presented[ident] = ca
            if now >= reboot_end:
                raw["DBInstanceStatus"] = "available"
                del self.transitions[ident]
            elif now >= modify_end:
                raw["DBInstanceStatus"] = "rebooting"

    def describe(self, region, ids):
        self.describe_calls.append((self.clock(), region, tuple(ids)))
        if self.describe_errors:
            self.describe_errors -= 1
            raise ApiError("Throttling", "Rate exceeded", "DescribeDBInstances")
        self._settle()
        return dict((i, copy.deepcopy(self.db[i])) for i in ids if i in self.db)

    def call(self, call):
        self._settle()
        self.calls.append((self.clock(), call))
        error = self.call_errors.get(call["identifier"])
        if error:
            self.call_errors[call["identifier"]] = error[1:]
            raise ApiError(error[0], "injected", "ModifyDBInstance")
        raw = self.db[call["identifier"]]
        if raw["DBInstanceStatus"] != "available":
            raise ApiError("InvalidDBInstanceState", "not available", "ModifyDBInstance")
        ca = call.get("ca", RSA2048)
        if not call.get("apply_immediately", True) and call["op"] != "apply_pending_action":
            raw["PendingModifiedValues"] = {"CACertificateIdentifier": ca}
            return copy.deepcopy(raw)
        if call["op"] == "apply_pending_action" and call["opt_in"] != "immediate":
            return {}
        restart = not self.restart_free.get(call["identifier"], True) and call.get("restart") is not False
        start = self.clock()
        modify_end = start + self.modify
        reboot_end = modify_end + (self.reboot if restart else 0)
        self.transitions[call["identifier"]] = (modify_end, reboot_end, ca)
        self.timeline.setdefault(call["identifier"], []).append((start, reboot_end))
        raw["DBInstanceStatus"] = "modifying"
        return copy.deepcopy(raw)

    def probe(self, unit, endpoint):
        if self.probe_results is not None:
            return self.probe_results(unit, endpoint)
        ca = self.presented.get(endpoint["identifier"], self.db[endpoint["identifier"]]["CACertificateIdentifier"])
        return {"identifier": endpoint["identifier"], "ca_id": ca, "verified": True, "error": None}

    def max_overlap(self):
        events = []
        for spans in self.timeline.values():
            for start, end in spans:
                events += [(start, 1), (end, -1)]
        level = peak = 0
        for _time, delta in sorted(events, key=lambda e: (e[0], e[1])):
            level += delta
            peak = max(peak, level)
        return peak


def make_runner(names, raws=None, restart_free=None, clock=None, plan_overrides=None, evidence=None, **options):
    clock = clock or Clock()
    view = fleet_view()
    if raws is not None:
        view = {REGION: region_view(raws, [], {})}
    requests, _problems = normalize_entries(names, REGION)
    units, _notes, problems = resolve_units(requests, view)
    assert problems == []
    plan_opts = opts(**(plan_overrides or {}))
    caps = dict(CAPABILITIES)
    jobs = [Job(u, plan_unit(u, plan_opts, {"capabilities": caps, "certificates": CERTIFICATES,
                                            "evidence": evidence or {}})) for u in units]
    fake = FakeRds(clock, list(view[REGION]["instances"].values()), restart_free=restart_free)
    run_opts = {"max_concurrent": 5, "order": "safe", "wait": True, "wait_timeout": 600, "poll_interval": 5,
                "verify": False, "verify_grace_period": 30, "rollback_on_failure": False, "apply": plan_opts["apply"]}
    run_opts.update(options)
    warnings = []
    runner = Runner(fake, jobs, run_opts, clock=clock, sleep=clock.sleep, executor=SyncExecutor(),
                    warn=warnings.append)
    return runner, fake, clock, warnings


def by_id(results):
    return dict((r["identifier"], r) for r in results)


def test_runner_twenty_databases_never_more_than_five_in_flight_one_describe_per_poll():
    raws = [raw_instance("db-%02d" % n) for n in range(20)]
    runner, fake, _clock, _w = make_runner(["db-%02d" % n for n in range(20)], raws=raws)
    results = runner.run()
    assert [r["status"] for r in results] == ["rotated"] * 20
    assert fake.max_overlap() == 5
    assert runner.scheduler.max_in_flight == 5
    # Every poll is exactly one DescribeDBInstances for the region, listing only what is in flight.
    assert len(fake.describe_calls) == runner.polls == runner.describe_calls[REGION]
    assert max(len(ids) for _t, _r, ids in fake.describe_calls) == 5
    # 20 databases, 5 at a time, 3 s each, polled every 5 s: 4 waves of one poll each.
    assert runner.polls == 4
    assert all(r["current_ca"] == RSA2048 and r["confirmed"] is True and r["changed"] for r in results)


def test_runner_order_readers_before_writer_and_replicas_before_source():
    names = ["aurora", "orders-primary", "orders-replica", "orders-replica-2"]
    runner, fake, _clock, _w = make_runner(names, max_concurrent=10)
    results = by_id(runner.run())
    started = dict((call["identifier"], t) for t, call in fake.calls)
    assert started["aurora-1"] >= max(fake.timeline["aurora-2"][0][1], fake.timeline["aurora-3"][0][1])
    assert started["orders-replica"] >= fake.timeline["orders-replica-2"][0][1]
    assert started["orders-primary"] >= fake.timeline["orders-replica"][0][1]
    assert all(r["status"] == "rotated" for r in results.values())
    # as_given: all at once
    runner, fake, _clock, _w = make_runner(names, max_concurrent=10, order="as_given")
    runner.run()
    assert len(set(t for t, _call in fake.calls)) == 1


def test_runner_failure_blocks_dependents_but_not_the_others():
    runner, fake, _clock, _w = make_runner(["aurora", "app-hot"])
    fake.call_errors["aurora-2"] = ["AccessDenied"]
    results = by_id(runner.run())
    assert results["aurora-2"]["status"] == "failed"
    assert results["aurora-2"]["error"]["error_code"] == "AccessDenied"
    assert results["aurora-3"]["status"] == "rotated"
    assert results["aurora-1"]["status"] == "blocked"
    assert results["aurora-1"]["blocked_by"] == ["us-east-1/aurora-2"]
    assert "blocked by us-east-1/aurora-2 (failed: ModifyDBInstance failed: injected)" in results["aurora-1"]["reason"]
    assert results["app-hot"]["status"] == "rotated"


def test_runner_restart_engine_shows_rebooting_and_scheduled_changes_do_not_wait():
    runner, fake, _clock, _w = make_runner(["app-restart", "app-pending"], restart_free={"app-restart": False},
                                           plan_overrides={"allow_restart": True, "apply": "immediately"})
    results = by_id(runner.run())
    assert results["app-restart"]["statuses_seen"][-2:] == ["rebooting", "available"]
    runner, fake, _clock, _w = make_runner(["app-restart"], plan_overrides={"on_restart_required": "schedule"})
    (result,) = runner.run()
    assert (result["status"], result["pending_ca"], result["current_ca"]) == ("scheduled", RSA2048, OLD)
    assert fake.describe_calls == []


def test_runner_throttled_polls_still_converge():
    runner, fake, _clock, warnings = make_runner(["app-hot", "orders-replica-2"])
    fake.describe_errors = 3
    results = runner.run()
    assert [r["status"] for r in results] == ["rotated", "rotated"]
    assert len(runner.poll_errors) == 3 and len(warnings) == 1


def test_runner_waits_for_available_then_retries_invalid_state():
    raws = [raw_instance("busy", status="backing-up")]
    runner, fake, clock, _w = make_runner(["busy"], raws=raws)
    original = fake.describe

    def describe(region, ids):
        if clock() > 1012:
            fake.db["busy"]["DBInstanceStatus"] = "available"
        return original(region, ids)

    fake.describe = describe
    (result,) = runner.run()
    assert result["status"] == "rotated"
    assert result["statuses_seen"][0] == "backing-up"
    assert fake.calls[0][0] > 1012

    runner, fake, clock, _w = make_runner(["app-hot"])
    fake.call_errors["app-hot"] = ["InvalidDBInstanceState"]
    (result,) = runner.run()
    assert result["status"] == "rotated" and len(fake.calls) == 2


def test_runner_times_out_with_the_last_status():
    raws = [raw_instance("busy", status="backing-up")]
    runner, _fake, _clock, _w = make_runner(["busy"], raws=raws, wait_timeout=30)
    (result,) = runner.run()
    assert result["status"] == "failed"
    assert "timed out after 30s waiting to become available (busy backing-up on rds-ca-2019)" in result["reason"]


def test_runner_storage_full_during_wait_fails_with_reason():
    runner, fake, clock, _w = make_runner(["app-hot"])
    original = fake.describe

    def describe(region, ids):
        result = original(region, ids)
        result["app-hot"]["DBInstanceStatus"] = "storage-full"
        return result

    fake.describe = describe
    (result,) = runner.run()
    assert result["status"] == "failed" and "storage-full" in result["reason"]


def test_runner_verification_ok_retry_then_fail_and_rollback():
    runner, fake, clock, _w = make_runner(["app-4096"], verify=True, rollback_on_failure=True)
    (result,) = runner.run()
    assert result["status"] == "rotated" and result["verification"]["verified"] is True

    # The endpoint lags: still the old CA for a while, then the new one.
    runner, fake, clock, _w = make_runner(["app-4096"], verify=True)
    start = clock()

    def lagging(unit, endpoint):
        ca = RSA4096 if clock() < start + 15 else RSA2048
        return {"identifier": endpoint["identifier"], "ca_id": ca, "verified": True, "error": None}

    fake.probe_results = lagging
    (result,) = runner.run()
    assert result["status"] == "rotated"

    # The new chain does not verify: rolled back at once to the previous (valid) CA.
    runner, fake, clock, _w = make_runner(["app-4096"], verify=True, rollback_on_failure=True)
    fake.probe_results = lambda unit, endpoint: {"ca_id": RSA2048, "verified": False, "error": "unknown issuer"}
    (result,) = runner.run()
    assert result["status"] == "rolled_back"
    assert result["current_ca"] == RSA4096 and result["previous_ca"] == RSA4096
    assert result["rollback"] == {"attempted": True, "to_ca": RSA4096, "completed": True}
    assert [c["ca"] for _t, c in fake.calls] == [RSA2048, RSA4096]

    # Without rollback, or when the previous CA has expired: failed, and why.
    runner, fake, clock, _w = make_runner(["app-hot"], verify=True, rollback_on_failure=True)
    fake.probe_results = lambda unit, endpoint: {"ca_id": RSA2048, "verified": False, "error": "unknown issuer"}
    (result,) = runner.run()
    assert result["status"] == "failed" and "not rolled back: rds-ca-2019 expired" in result["reason"]


def test_runner_verification_failure_must_be_seen_twice():
    # One probe straddled the certificate swap (verified handshake on the old chain, diagnostic read of the
    # new one): the next round sees the new chain verify, so the database is rotated, not failed.
    runner, fake, _clock, _w = make_runner(["app-4096"], verify=True, rollback_on_failure=True)
    rounds = []

    def straddling(unit, endpoint):
        rounds.append(endpoint["identifier"])
        verified = len(rounds) > 1
        return {"identifier": endpoint["identifier"], "ca_id": RSA2048, "verified": verified,
                "error": None if verified else "certificate has expired"}

    fake.probe_results = straddling
    (result,) = runner.run()
    assert result["status"] == "rotated" and len(rounds) == 2
    assert [c["ca"] for _t, c in fake.calls] == [RSA2048]


def test_runner_verification_gives_up_after_the_grace_period():
    runner, fake, _clock, _w = make_runner(["app-4096"], verify=True, verify_grace_period=20)
    fake.probe_results = lambda unit, endpoint: {"ca_id": None, "verified": None, "error": "connection refused"}
    (result,) = runner.run()
    assert result["status"] == "unverified" and "connection refused" in result["reason"]


def test_runner_no_restart_rotation_is_not_probed():
    evidence = {(None, "app-restart"): {"ssl_in_use": False, "evidence": {}}}
    runner, fake, _clock, _w = make_runner(["app-restart"], restart_free={"app-restart": False}, evidence=evidence,
                                           plan_overrides={"certificate_rotation_restart": False}, verify=True)
    (result,) = runner.run()
    assert result["status"] == "rotated" and result["verification"]["skipped"] is True
    assert "rebooting" not in result["statuses_seen"]
    assert fake.calls[0][1]["restart"] is False


def test_runner_wait_false_and_preview():
    runner, fake, _clock, _w = make_runner(["app-hot", "app-restart", "app-done"], wait=False,
                                           plan_overrides={"wait": False})
    results = by_id(runner.run())
    assert results["app-hot"]["status"] == "rotated" and results["app-hot"]["confirmed"] is False
    assert fake.describe_calls == []
    runner, fake, _clock, _w = make_runner(["app-hot", "app-restart", "app-done"])
    preview = by_id(runner.preview())
    assert fake.calls == [] and fake.describe_calls == []
    assert (preview["app-hot"]["status"], preview["app-hot"]["changed"], preview["app-hot"]["current_ca"]) == (
        "rotated", True, RSA2048)
    assert preview["app-hot"]["confirmed"] is None
    assert (preview["app-restart"]["status"], preview["app-restart"]["changed"]) == ("skipped", False)
    assert preview["app-done"]["status"] == "unchanged"
    diff = rotation.build_diff(list(preview.values()))
    assert diff == {"before": {"us-east-1/app-hot": {"ca": OLD, "pending_ca": None}},
                    "after": {"us-east-1/app-hot": {"ca": RSA2048, "pending_ca": None}}}
    assert rotation.summarize(list(preview.values()))["total"] == 3


def test_runner_unexpected_error_fails_that_database_only():
    runner, fake, _clock, _w = make_runner(["app-hot", "orders-replica-2"])
    original = fake.call

    def call(request):
        if request["identifier"] == "app-hot":
            raise KeyError("DBInstance")
        return original(request)

    fake.call = call
    results = by_id(runner.run())
    assert results["app-hot"]["status"] == "failed" and "internal error" in results["app-hot"]["reason"]
    assert results["orders-replica-2"]["status"] == "rotated"


def test_runner_timeout_mentions_the_last_poll_error():
    runner, fake, _clock, _w = make_runner(["app-hot"], wait_timeout=20)
    fake.describe_errors = 1000
    (result,) = runner.run()
    assert result["status"] == "failed"
    assert "the last poll of us-east-1 failed: Throttling: Rate exceeded" in result["reason"]


def test_runner_never_spins_on_a_dependency_cycle():
    runner, _fake, _clock, _w = make_runner(["orders-primary", "orders-replica"])
    keys = list(runner.scheduler.order)
    runner.scheduler.deps = {keys[0]: {keys[1]}, keys[1]: {keys[0]}}
    results = runner.run()
    assert [r["status"] for r in results] == ["failed", "failed"]
    assert "dependency cycle" in results[0]["reason"]


class BarrierRds:
    """describe() only returns once every region's describe is in flight at the same time."""

    def __init__(self, regions, failing=()):
        self.barrier = threading.Barrier(len(regions), timeout=10)
        self.failing = set(failing)
        self.threads = set()

    def describe(self, region, ids):
        self.threads.add(threading.current_thread().name)
        self.barrier.wait()
        if region in self.failing:
            raise ApiError("Throttling", "Rate exceeded", "DescribeDBInstances")
        return dict((i, {"DBInstanceIdentifier": i, "region": region}) for i in ids)


def test_runner_polls_regions_in_parallel_and_keeps_each_regions_error_apart():
    from concurrent.futures import ThreadPoolExecutor
    regions = ["ap-southeast-2", "eu-west-1", "us-east-1"]
    fake = BarrierRds(regions, failing=["eu-west-1"])
    with ThreadPoolExecutor(max_workers=len(regions)) as pool:
        runner = Runner(fake, [], {"max_concurrent": 5, "order": "safe"}, poll_executor=pool)
        outcomes = runner._describe_regions(dict((r, {"db-" + r}) for r in regions))
    # A serial poll would leave the barrier waiting for the other regions and break it.
    assert not fake.barrier.broken and len(fake.threads) == 3
    assert outcomes["us-east-1"] == ({"db-us-east-1": {"DBInstanceIdentifier": "db-us-east-1", "region": "us-east-1"}},
                                     None)
    assert outcomes["eu-west-1"][0] is None and outcomes["eu-west-1"][1].code == "Throttling"
    assert outcomes["ap-southeast-2"][1] is None


def test_runner_without_poll_executor_polls_in_the_calling_thread():
    fake = BarrierRds(["us-east-1"])
    runner = Runner(fake, [], {"max_concurrent": 5, "order": "safe"})
    outcomes = runner._describe_regions({"us-east-1": {"a"}})
    assert fake.threads == {threading.current_thread().name}
    assert outcomes["us-east-1"][0] == {"a": {"DBInstanceIdentifier": "a", "region": "us-east-1"}}


# -- issue 13 item 1: a member that is not confirmed on the target blocks what comes after it ------------

EU = "eu-west-1"


def runner_for(names, views, clock=None, plan_overrides=None, restart_free=None, **options):
    """A runner over several regions' views (FakeRds keys instances by identifier: keep them unique)."""
    clock = clock or Clock()
    requests, problems = normalize_entries(names, REGION)
    assert problems == []
    units, _notes, problems = resolve_units(requests, views)
    assert problems == []
    plan_opts = opts(**(plan_overrides or {}))
    jobs = [Job(u, plan_unit(u, plan_opts, {"capabilities": CAPABILITIES, "certificates": CERTIFICATES,
                                            "evidence": {}})) for u in units]
    raws = [raw for view in views.values() for raw in view["instances"].values()]
    fake = FakeRds(clock, raws, restart_free=restart_free)
    run_opts = {"max_concurrent": 5, "order": "safe", "wait": True, "wait_timeout": 600, "poll_interval": 5,
                "verify": False, "verify_grace_period": 30, "rollback_on_failure": False, "apply": plan_opts["apply"]}
    run_opts.update(options)
    runner = Runner(fake, jobs, run_opts, clock=clock, sleep=clock.sleep, executor=SyncExecutor(), warn=lambda m: None)
    return runner, fake


def aurora_view(reader_status="available"):
    instances = [
        raw_instance("au-w", engine="aurora-postgresql", version="15.4", cluster="au"),
        raw_instance("au-r1", engine="aurora-postgresql", version="15.4", cluster="au", status=reader_status),
        raw_instance("au-r2", engine="aurora-postgresql", version="15.4", cluster="au"),
    ]
    clusters = [raw_cluster("au", ["au-w", "au-r1", "au-r2"], writer="au-w")]
    return {REGION: region_view(instances, clusters, {})}


def replica_views(replica_status="available", cross_region=False):
    source = raw_instance("src")
    replica_region = EU if cross_region else REGION
    replica = raw_instance("rep", status=replica_status,
                           replica_of="arn:aws:rds:%s:123456789012:db:src" % REGION if cross_region else "src")
    replica["DBInstanceArn"] = "arn:aws:rds:%s:123456789012:db:rep" % replica_region
    if cross_region:
        return {REGION: region_view([source], [], {}), EU: region_view([replica], [], {})}
    return {REGION: region_view([source, replica], [], {})}


@pytest.mark.parametrize("status", ["incompatible-parameters", "stopped"])
def test_aurora_writer_is_blocked_by_a_reader_that_cannot_be_rotated(status):
    runner, fake = runner_for(["au"], aurora_view(reader_status=status))
    results = by_id(runner.run())
    assert results["au-r1"]["status"] in ("failed", "skipped")
    assert results["au-r2"]["status"] == "rotated"
    writer = results["au-w"]
    assert writer["status"] == "blocked" and writer["changed"] is False
    assert writer["blocked_by"] == ["us-east-1/au-r1"]
    assert "us-east-1/au-r1" in writer["reason"] and status in writer["reason"]
    assert writer["current_ca"] == OLD
    assert "au-w" not in [c["identifier"] for _t, c in fake.calls]
    # check mode predicts the same
    runner, fake = runner_for(["au"], aurora_view(reader_status=status))
    preview = by_id(runner.preview())
    assert preview["au-w"]["status"] == "blocked" and preview["au-w"]["changed"] is False
    assert preview["au-w"]["blocked_by"] == ["us-east-1/au-r1"]
    # the reader fixed, the same run again proceeds: the writer goes last
    runner, fake = runner_for(["au"], aurora_view())
    results = by_id(runner.run())
    assert [r["status"] for r in results.values()] == ["rotated"] * 3
    assert [c["identifier"] for _t, c in fake.calls][-1] == "au-w"


@pytest.mark.parametrize("cross_region", [False, True])
def test_source_is_blocked_by_a_storage_full_replica_in_any_region(cross_region):
    runner, fake = runner_for(["src", "%s/rep" % (EU if cross_region else REGION)],
                              replica_views("storage-full", cross_region))
    results = by_id(runner.run())
    assert results["rep"]["status"] == "failed" and "storage-full" in results["rep"]["reason"]
    assert results["src"]["status"] == "blocked"
    assert results["src"]["blocked_by"] == ["%s/rep" % (EU if cross_region else REGION)]
    assert fake.calls == []
    runner, fake = runner_for(["src", "%s/rep" % (EU if cross_region else REGION)], replica_views("available", cross_region))
    results = by_id(runner.run())
    assert results["src"]["status"] == results["rep"]["status"] == "rotated"
    assert [c["identifier"] for _t, c in fake.calls] == ["rep", "src"]


def test_blocking_is_transitive_and_a_failed_change_blocks_too():
    runner, fake, _clock, _w = make_runner(["orders-primary", "orders-replica", "orders-replica-2"])
    fake.call_errors["orders-replica-2"] = ["AccessDenied"]
    results = by_id(runner.run())
    assert results["orders-replica-2"]["status"] == "failed"
    assert results["orders-replica"]["status"] == "blocked"
    assert results["orders-replica"]["blocked_by"] == ["us-east-1/orders-replica-2"]
    assert results["orders-primary"]["status"] == "blocked"
    assert results["orders-primary"]["blocked_by"] == ["us-east-1/orders-replica"]
    assert [c["identifier"] for _t, c in fake.calls] == ["orders-replica-2"]
    assert rotation.summarize(list(results.values()))["blocked"] == 2


def test_a_member_left_on_the_old_ca_blocks_a_change_made_now_but_not_a_scheduled_one():
    # the reader restarts to rotate (skipped with allow_restart=false), the writer would hot-swap
    instances = [
        raw_instance("mix-w", engine="aurora-postgresql", version="15.4", cluster="mix"),
        raw_instance("mix-r", engine="postgres", version="14.10", cluster="mix"),
    ]
    views = {REGION: region_view(instances, [raw_cluster("mix", ["mix-w", "mix-r"], writer="mix-w")], {})}
    runner, fake = runner_for(["mix"], views)
    results = by_id(runner.run())
    assert results["mix-r"]["status"] == "skipped"
    assert results["mix-w"]["status"] == "blocked"
    # both left for the maintenance window: pending on the reader is enough for the writer's pending change
    runner, fake = runner_for(["mix"], views, plan_overrides={"apply": "maintenance_window"})
    results = by_id(runner.run())
    assert [results[i]["status"] for i in ("mix-r", "mix-w")] == ["scheduled", "scheduled"]


# -- issue 13 item 4: unreachable is not a failed verification -------------------------------------------

def test_unreachable_endpoint_ends_unverified_and_is_not_rolled_back():
    runner, fake, _clock, _w = make_runner(["app-4096"], verify=True, rollback_on_failure=True, verify_grace_period=20)
    fake.probe_results = lambda unit, endpoint: {"identifier": endpoint["identifier"], "ca_id": None,
                                                 "verified": False, "error": "cannot connect: Connection refused"}
    (result,) = runner.run()
    assert result["status"] == "unverified", result["reason"]
    assert "Connection refused" in result["reason"] and "not rolled back" in result["reason"]
    assert result["rollback"] is None and result["changed"] is True and result["confirmed"] is True
    assert result["current_ca"] == RSA2048
    assert result["verification"]["verified"] is False and result["verification"]["outcome"] == "unreachable"
    assert [c["ca"] for _t, c in fake.calls] == [RSA2048]  # one change, no second one
    # asked for explicitly: rolled back
    runner, fake, _clock, _w = make_runner(["app-4096"], verify=True, rollback_on_failure=True,
                                           rollback_on_unreachable=True, verify_grace_period=20)
    fake.probe_results = lambda unit, endpoint: {"identifier": endpoint["identifier"], "ca_id": None,
                                                 "verified": False, "error": "cannot connect: Connection refused"}
    (result,) = runner.run()
    assert result["status"] == "rolled_back" and [c["ca"] for _t, c in fake.calls] == [RSA2048, RSA4096]


def test_evidence_of_a_wrong_certificate_still_rolls_back():
    # the endpoint keeps presenting another CA after the grace period: the wrong certificate, evidence
    runner, fake, _clock, _w = make_runner(["app-4096"], verify=True, rollback_on_failure=True, verify_grace_period=20)
    fake.probe_results = lambda unit, endpoint: {"identifier": endpoint["identifier"], "ca_id": RSA4096,
                                                 "verified": True, "error": None}
    (result,) = runner.run()
    assert result["status"] == "rolled_back" and result["verification"]["outcome"] == "failed"
    # a reachable endpoint and an unreachable one (a cluster's members): unverified, not failed
    assert rotation.verification_outcome([("retry", "probe failed: refused", True), ("ok", None, False)]) == "unreachable"
    assert rotation.verification_outcome([("retry", "presents X", False), ("retry", "refused", True)]) == "failed"


def test_rollback_on_unreachable_needs_rollback_on_failure():
    assert "rollback_on_unreachable needs rollback_on_failure" in " ".join(check_options({
        "target_ca": RSA2048, "apply": "immediately", "verify_endpoint": True, "verify_ca_bundle": "/b.pem",
        "rollback_on_unreachable": True, "wait": True}))


# -- issue 13 item 3: a change whose answer is lost is decided from what RDS shows ------------------------

def lose_answers(fake, count, applied=True):
    """The next `count` calls get no answer (an ambiguous error); with `applied`, RDS made the change anyway."""
    original = fake.call
    lost = {"left": count}

    def call(request):
        if lost["left"]:
            lost["left"] -= 1
            if applied:
                try:
                    original(request)
                except ApiError:
                    pass
            else:
                fake.calls.append((fake.clock(), request))
            raise ApiError("ReadTimeoutError", "Read timeout on endpoint URL", "ModifyDBInstance", ambiguous=True)
        return original(request)

    fake.call = call


def test_lost_answer_to_an_applied_change_is_not_sent_again():
    runner, fake, _clock, _w = make_runner(["app-restart"], restart_free={"app-restart": False},
                                           plan_overrides={"allow_restart": True})
    lose_answers(fake, 1)
    (result,) = runner.run()
    assert (result["status"], result["changed"], result["current_ca"], result["confirmed"]) == (
        "rotated", True, RSA2048, True)
    assert len(fake.calls) == 1 and len(fake.timeline["app-restart"]) == 1  # one change, one restart
    assert "rebooting" in result["statuses_seen"]
    assert any("not sent again" in n and "ReadTimeoutError" in n for n in result["notes"])


def test_lost_answer_to_a_scheduled_change_shows_it_pending():
    runner, fake, _clock, _w = make_runner(["app-restart"], plan_overrides={"on_restart_required": "schedule"})
    lose_answers(fake, 1)
    (result,) = runner.run()
    assert (result["status"], result["changed"], result["pending_ca"], result["current_ca"]) == (
        "scheduled", True, RSA2048, OLD)
    assert len(fake.calls) == 1


def test_a_change_rds_did_not_take_is_sent_again_then_given_up():
    runner, fake, _clock, _w = make_runner(["app-hot"])
    lose_answers(fake, 1, applied=False)
    (result,) = runner.run()
    assert (result["status"], result["changed"]) == ("rotated", True)
    assert len(fake.calls) == 2 and any("sent again" in n for n in result["notes"])
    runner, fake, _clock, _w = make_runner(["app-hot"])
    lose_answers(fake, 100, applied=False)
    (result,) = runner.run()
    assert (result["status"], result["changed"], result["current_ca"]) == ("failed", False, OLD)
    assert "shows no change to %s" % RSA2048 in result["reason"]
    assert len(fake.calls) == 5


def test_a_lost_answer_on_a_database_that_stays_busy_times_out_saying_so():
    runner, fake, _clock, _w = make_runner(["app-hot"], wait_timeout=20)
    fake.modify = 1000.0  # modifying for longer than wait_timeout: whose change it is cannot be told
    lose_answers(fake, 1)
    (result,) = runner.run()
    assert result["status"] == "failed" and len(fake.calls) == 1
    assert "whether ModifyDBInstance (ReadTimeoutError: Read timeout on endpoint URL) was accepted is still unknown" in (
        result["reason"])


def test_wait_false_cannot_confirm_members_so_their_writer_is_blocked():
    runner, fake, _clock, _w = make_runner(["orders-primary", "orders-replica"], wait=False,
                                           plan_overrides={"wait": False})
    results = by_id(runner.run())
    assert results["orders-replica"]["status"] == "rotated" and results["orders-replica"]["confirmed"] is False
    assert results["orders-primary"]["status"] == "blocked"
    assert [c["identifier"] for _t, c in fake.calls] == ["orders-replica"]
    runner, fake, _clock, _w = make_runner(["orders-primary", "orders-replica"], wait=False, order="as_given",
                                           plan_overrides={"wait": False})
    assert [r["status"] for r in runner.run()] == ["rotated", "rotated"]


def test_a_rollback_whose_answer_is_lost_is_decided_from_rds():
    wrong = {"ca_id": RSA2048, "verified": False, "error": "unknown issuer"}
    # taken: rolled back, the rollback sent once
    runner, fake, _clock, _w = make_runner(["app-4096"], verify=True, rollback_on_failure=True)
    fake.probe_results = lambda unit, endpoint: wrong
    original = fake.call

    def lose_rollback_answer(request):
        result = original(request)
        if request["ca"] == RSA4096:
            raise ApiError("ReadTimeoutError", "Read timeout", "ModifyDBInstance", ambiguous=True)
        return result

    fake.call = lose_rollback_answer
    (result,) = runner.run()
    assert result["status"] == "rolled_back" and [c["ca"] for _t, c in fake.calls] == [RSA2048, RSA4096]
    assert result["rollback"]["completed"] is True and result["rollback"]["uncertain"]["error_code"] == "ReadTimeoutError"
    # not taken: failed, saying so, and not sent again blindly
    runner, fake, _clock, _w = make_runner(["app-4096"], verify=True, rollback_on_failure=True)
    fake.probe_results = lambda unit, endpoint: wrong
    original_not_taken = fake.call

    def drop_rollback(request):
        if request["ca"] == RSA4096:
            fake.calls.append((fake.clock(), request))
            raise ApiError("InternalFailure", "An internal error has occurred", "ModifyDBInstance", ambiguous=True)
        return original_not_taken(request)

    fake.call = drop_rollback
    (result,) = runner.run()
    assert result["status"] == "failed" and "shows it was not taken: still on %s" % RSA2048 in result["reason"]
    assert [c["ca"] for _t, c in fake.calls] == [RSA2048, RSA4096]
