"""Faults, injected through the simulator (and real database servers), and what the modules do about them.

* test_bursts_of_throttling_and_server_errors_on_every_operation - every AWS operation the modules
  use answers first with a throttling error (Throttling / RequestLimitExceeded) then with an HTTP
  500/503 (InternalFailure / ServiceUnavailable); botocore's own retries are off, so the
  collection's amazon.aws jittered backoff is what retries. Each module ends with the same result as
  without faults (read-only modules) or the expected changes (rotation), and counts the retried
  requests like the service saw them.
* test_each_call_backs_off_on_its_own - concurrent calls retrying at the same time each follow
  their own backoff (1, 2, 4 s ceilings), not a shared one.
* test_killed_rotation_converges_when_run_again - the run is killed (SIGKILL) while databases are
  modifying, pending and queued: the whole run (the controller died), or ansible-playbook alone
  (its worker and module live on in their own sessions and race the next run). The same playbook
  run again converges: every database ends on the target CA (or pending for its maintenance
  window), each got exactly one change accepted over both runs, and the second run's result
  accounts for every one.
* test_one_database_failing_does_not_stop_the_others - a database whose ModifyDBInstance keeps
  answering InvalidDBInstanceState, and a Multi-AZ DB cluster whose ModifyDBCluster is denied:
  both reported failed with their error, the other databases rotated.
* test_failed_verification_of_one_database_does_not_stop_the_others (real PostgreSQL servers).
* test_ssl_usage_server_down_or_dropping_the_connection_mid_query (real PostgreSQL and MariaDB):
  a server that is down, and connections cut while a query is in flight: a per-database error,
  the others complete.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any

import pytest
import yaml

from tests.integration.conftest import REPO, _ensure_collection_link, _with_save
from tests.simulator.linked import tools_available

REGION = "us-east-1"
OLD = "rds-ca-2019"
TARGET = "rds-ca-rsa2048-g1"
RSA4096 = "rds-ca-rsa4096-g1"
POLL = 0.2
NO_BOTOCORE_RETRIES = {"retries": {"max_attempts": 0}}

FLEET = {
    "description": "faults: instances, a Multi-AZ DB cluster, a maintenance action, two regions",
    "timing": {"modify_seconds": 0.3, "reboot_seconds": 0.3},
    "regions": {
        REGION: {
            "default_ca": TARGET,
            "customer_override": OLD,
            "instances": [
                {"id": "app-hot-1", "engine": "postgres", "engine_version": "16.3", "ca": OLD,
                 "tags": {"Environment": "production"}},
                {"id": "app-hot-2", "engine": "mysql", "engine_version": "8.0.36", "ca": OLD,
                 "tags": {"Environment": "staging"}},
                # postgres 14.10 restarts to rotate: opted in to RDS's maintenance action instead.
                {"id": "app-maint", "engine": "postgres", "engine_version": "14.10", "ca": OLD},
            ],
            "clusters": [
                {"id": "ledger-maz", "engine": "postgres", "engine_version": "16.3", "multi_az_cluster": True,
                 "ca": OLD, "tags": {"Environment": "production"}},
            ],
        },
        "eu-west-1": {
            "default_ca": TARGET,
            "instances": [{"id": "web-eu", "engine": "mariadb", "engine_version": "10.11.8", "ca": OLD}],
        },
    },
}

# The AWS operations each module uses (what docs/iam-policy.json lists for them).
FACTS_OPERATIONS = ["ec2:DescribeRegions", "rds:DescribeDBInstances", "rds:DescribeDBClusters",
                    "rds:DescribePendingMaintenanceActions", "rds:DescribeCertificates", "rds:DescribeDBEngineVersions"]
USAGE_OPERATIONS = ["rds:DescribeDBInstances", "rds:DescribeDBClusters", "rds:DescribeDBParameters",
                    "rds:DescribeDBClusterParameters"]
ROTATE_OPERATIONS = ["rds:DescribeDBInstances", "rds:DescribeDBClusters", "rds:DescribePendingMaintenanceActions",
                     "rds:DescribeCertificates", "rds:DescribeDBEngineVersions", "rds:ModifyDBInstance",
                     "rds:ModifyDBCluster", "rds:ModifyCertificates"]
PENDING_ACTION_OPERATIONS = ["rds:DescribeDBInstances", "rds:DescribeDBClusters",
                             "rds:DescribePendingMaintenanceActions", "rds:DescribeCertificates",
                             "rds:DescribeDBEngineVersions", "rds:ApplyPendingMaintenanceAction"]
THROTTLES = ("Throttling", "RequestLimitExceeded")
SERVER_ERRORS = ("InternalFailure", "ServiceUnavailable")


def burst(operations: list[str]) -> list[dict[str, Any]]:
    """For each operation: its first call throttled, its second an HTTP 500/503, the third served."""
    rules = []
    for index, qualified in enumerate(operations):
        service, operation = qualified.split(":")
        rules.append({"service": service, "operation": operation, "error": THROTTLES[index % 2], "count": 1})
        rules.append({"service": service, "operation": operation, "error": SERVER_ERRORS[index % 2], "count": 1})
    return rules


CONTROL_SCRIPT = """\
import json, sys, urllib.request
method, url, body = sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None
data = open(body, "rb").read() if body else None
request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
print(urllib.request.urlopen(request, timeout=60).read().decode())
"""


class Control:
    """Tasks that call the simulator's control API between two module tasks of the same run.

    A set_fact with a pipe lookup runs on the controller without a module round trip: the
    faults of the next module are set in a blink, not in the second a uri task takes.
    """

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.script = os.path.join(directory, "sim_control.py")
        with open(self.script, "w", encoding="utf-8") as handle:
            handle.write(CONTROL_SCRIPT)
        self.count = 0

    def task(self, path: str, method: str = "POST", body: Any = None, register: str | None = None) -> dict[str, Any]:
        self.count += 1
        args = [sys.executable, self.script, method, "{{ sim_endpoint_url }}" + path]
        if body is not None:
            body_file = os.path.join(self.directory, "body-%d.json" % self.count)
            with open(body_file, "w", encoding="utf-8") as handle:
                json.dump(body, handle)
            args.append(body_file)
        name = register or "control_%d" % self.count
        return {"name": "simulator %s %s" % (method, path),
                "ansible.builtin.set_fact": {name: "{{ lookup('ansible.builtin.pipe', '%s') | from_json }}" % " ".join(args)}}


def play(tasks: list[dict[str, Any]], save: list[str], **defaults: Any) -> dict[str, Any]:
    return {"hosts": "localhost", "gather_facts": False, "tasks": tasks, "save": save,
            "module_defaults": {"group/rdsca.rotation.rds_ca": {"endpoint_url": "{{ sim_endpoint_url }}",
                                                                "region": REGION, **defaults}}}


def by_id(registered: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict((d["identifier"], d) for d in registered["databases"])


def instance(simulator, ident: str, region: str = REGION) -> dict[str, Any]:
    return simulator.client(region=region).describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"][0]


def per_operation(calls: dict[str, Any], errors: bool = False) -> dict[str, int]:
    """The simulator's calls (or errors) summed over regions, keyed service:Operation."""
    totals: dict[str, int] = {}
    if errors:
        for key, n in calls["errors"].items():
            service, _region, operation = key.split(":")
            totals["%s:%s" % (service, operation)] = totals.get("%s:%s" % (service, operation), 0) + n
        return totals
    for ops in calls["by_region"].values():
        for op, n in ops.items():
            totals[op] = totals.get(op, 0) + n
    return totals


def module_calls(api_calls: dict[str, dict[str, int]]) -> dict[str, int]:
    """A module's api_calls summed over regions, keyed like the simulator's (service:Operation)."""
    totals: dict[str, int] = {}
    for ops in api_calls.values():
        for op, n in ops.items():
            key = ("ec2:" if op == "DescribeRegions" else "rds:") + op
            totals[key] = totals.get(key, 0) + n
    return totals


@pytest.fixture
def fleet(simulator):
    simulator.load(FLEET)
    yield simulator
    simulator.clear_faults()


# -- throttling and server errors ------------------------------------------------------------------

FACTS_KEYS = ("identifier", "region", "engine", "engine_version", "current_ca", "pending_ca", "status", "cluster_id",
              "needs_rotation", "reason", "rotation_without_restart", "supported_cas", "environment")


def facts_view(registered: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict((k, d.get(k)) for k in FACTS_KEYS) for d in registered["databases"]]


def usage_view(registered: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"identifier": d["identifier"], "enforcement": d["enforcement"], "error": d["error"],
             "current_ca": d["current_ca"], "endpoint_address": d["endpoint_address"]} for d in registered["databases"]]


def test_bursts_of_throttling_and_server_errors_on_every_operation(fleet, tmp_path):
    control = Control(str(tmp_path)).task
    usage_targets = [{"identifier": "app-hot-1"}, {"identifier": "ledger-maz-instance-1"},
                     {"identifier": "web-eu", "region": "eu-west-1"}]
    facts = {"rdsca.rotation.rds_ca_facts": {"regions": "all"}}
    usage = {"rdsca.rotation.rds_ssl_usage": {"databases": usage_targets, "probe": False}}
    tasks = [
        # Without faults first: what the read-only modules must return.
        dict(facts, name="facts baseline", register="facts_baseline"),
        dict(usage, name="usage baseline", register="usage_baseline"),
        # Then each module with a burst on every operation it uses.
        control("/_sim/faults", body={"rules": burst(FACTS_OPERATIONS)}),
        control("/_sim/calls/reset", body={}),
        dict(facts, name="facts faulted", register="facts"),
        control("/_sim/calls", "GET", register="facts_calls"),
        control("/_sim/faults", body={"rules": burst(USAGE_OPERATIONS)}),
        control("/_sim/calls/reset", body={}),
        dict(usage, name="usage faulted", register="usage"),
        control("/_sim/calls", "GET", register="usage_calls"),
        control("/_sim/faults", body={"rules": burst(ROTATE_OPERATIONS)}),
        control("/_sim/calls/reset", body={}),
        {"name": "rotate faulted", "register": "rotate", "rdsca.rotation.rds_ca_rotate": {
            "databases": ["app-hot-1", "app-hot-2", "ledger-maz", "eu-west-1/web-eu"], "account_default": True,
            "concurrency": 2, "poll_interval": POLL}},
        control("/_sim/calls", "GET", register="rotate_calls"),
        control("/_sim/faults", body={"rules": burst(PENDING_ACTION_OPERATIONS)}),
        control("/_sim/calls/reset", body={}),
        {"name": "opt in faulted", "register": "opt_in", "rdsca.rotation.rds_ca_rotate": {
            "databases": ["app-maint"], "apply": "pending_action", "opt_in_type": "next-maintenance",
            "poll_interval": POLL}},
        control("/_sim/calls", "GET", register="opt_in_calls"),
        control("/_sim/faults", "DELETE", body={}),
    ]
    names = ["facts_baseline", "usage_baseline", "facts", "facts_calls", "usage", "usage_calls", "rotate",
             "rotate_calls", "opt_in", "opt_in_calls"]
    started = time.monotonic()
    result = fleet.run_playbook([play(tasks, names, aws_config=NO_BOTOCORE_RETRIES)])
    elapsed = time.monotonic() - started
    assert result.rc == 0, result.stdout[-5000:] + result.stderr[-2000:]

    checks = [("facts", FACTS_OPERATIONS), ("usage", USAGE_OPERATIONS), ("rotate", ROTATE_OPERATIONS),
              ("opt_in", PENDING_ACTION_OPERATIONS)]
    for name, operations in checks:
        registered = result.task(name)
        assert not registered.get("failed"), (name, registered.get("msg"))
        calls = result.task(name + "_calls")
        # Every operation the module used got its throttling error and its server error, and nothing else failed.
        assert per_operation(calls, errors=True) == dict((op, 2) for op in operations), name
        # The module counted every request it sent, the retried ones included, as the service saw them.
        assert module_calls(registered["api_calls"]) == per_operation(calls), name
    # The same answers as without faults.
    assert facts_view(result.task("facts")) == facts_view(result.task("facts_baseline"))
    assert result.task("facts")["summary"] == result.task("facts_baseline")["summary"]
    assert result.task("facts")["failed_regions"] == []
    assert usage_view(result.task("usage")) == usage_view(result.task("usage_baseline"))
    assert all(d["error"] is None for d in result.task("usage")["databases"])
    # The changes were all made, once.
    rotate = result.task("rotate")
    assert rotate["summary"]["rotated"] == 4 and rotate["failures"] == [], rotate["databases"]
    assert rotate["regions"][REGION]["changed"] is True and rotate["regions"][REGION]["default_ca_for_new_launches"] == TARGET
    assert per_operation(result.task("rotate_calls"))["rds:ModifyDBInstance"] == 3 + 2  # 3 databases, 2 retries
    assert per_operation(result.task("rotate_calls"))["rds:ModifyDBCluster"] == 1 + 2
    for ident, region in (("app-hot-1", REGION), ("app-hot-2", REGION), ("web-eu", "eu-west-1")):
        assert instance(fleet, ident, region)["CACertificateIdentifier"] == TARGET
    cluster = fleet.client().describe_db_clusters(DBClusterIdentifier="ledger-maz")["DBClusters"][0]
    assert cluster["CertificateDetails"]["CAIdentifier"] == TARGET
    assert fleet.client().describe_certificates()["DefaultCertificateForNewLaunches"] == TARGET
    (opted,) = result.task("opt_in")["databases"]
    assert opted["status"] == "scheduled"
    actions = fleet.client().describe_pending_maintenance_actions(
        Filters=[{"Name": "db-instance-id", "Values": ["app-maint"]}])["PendingMaintenanceActions"]
    assert actions[0]["PendingMaintenanceActionDetails"][0]["OptInStatus"] == "next-maintenance"
    # Jittered backoff from 1 s: some waiting, never the minutes a fixed schedule of 10 retries could take.
    assert elapsed < 180


def test_each_call_backs_off_on_its_own(monkeypatch):
    """Concurrent calls retrying together each follow their own backoff (1, 2, 4 s ceilings, jittered below).

    amazon.aws keeps the current delay in the iterator its decorator holds: shared by the threads of
    a module, one call starting would restart another's backoff, one retrying would lengthen the others'.
    """
    _ensure_collection_link()
    sys.path.insert(0, os.path.join(REPO, ".build", "collections"))
    import random  # pylint: disable=import-outside-toplevel

    from botocore.exceptions import ClientError  # pylint: disable=import-outside-toplevel

    from ansible_collections.rdsca.rotation.plugins.module_utils.aws import retry_decorator  # pylint: disable=import-outside-toplevel

    threads = 3
    lockstep = threading.Barrier(threads, timeout=10)
    slept: dict[str, list[float]] = {}

    def fake_sleep(seconds: float) -> None:
        slept.setdefault(threading.current_thread().name, []).append(seconds)
        lockstep.wait()  # every call retries at the same moment

    monkeypatch.setattr(random, "uniform", lambda low, high: high)  # the jitter's ceiling: deterministic
    monkeypatch.setattr(time, "sleep", fake_sleep)
    retry = retry_decorator(retries=10, delay=1, backoff=2, max_delay=30)

    def call(failures: list[int]) -> str:
        if failures[0]:
            failures[0] -= 1
            raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "DescribeDBInstances")
        return "ok"

    results = []
    workers = [threading.Thread(target=lambda: results.append(retry(call)([3])), name="call-%d" % n)
               for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert results == ["ok"] * threads
    assert slept == dict(("call-%d" % n, [1.0, 2.0, 4.0]) for n in range(threads))


# -- a rotation killed mid-way ----------------------------------------------------------------------------

KILL_FLEET = {
    "description": "a rotation that is killed mid-way: three hot databases (one at a time, 5 s each) and two "
                   "that restart, left pending for their maintenance window",
    "timing": {"modify_seconds": 5, "reboot_seconds": 0.5},
    "regions": {REGION: {
        "default_ca": TARGET,
        "instances": [{"id": "hot-%d" % n, "engine": "postgres", "engine_version": "16.3", "ca": OLD}
                      for n in range(1, 4)]
        + [{"id": "restart-%d" % n, "engine": "postgres", "engine_version": "14.10", "ca": OLD} for n in (1, 2)],
    }},
}
HOT = ["hot-%d" % n for n in range(1, 4)]
RESTART = ["restart-1", "restart-2"]


def kill_plays() -> list[dict[str, Any]]:
    tasks = [
        {"name": "restart engines: pending for the maintenance window", "register": "pending",
         "rdsca.rotation.rds_ca_rotate": {"databases": RESTART, "on_restart_required": "schedule",
                                          "poll_interval": POLL}},
        {"name": "hot engines: now, one at a time", "register": "hot",
         "rdsca.rotation.rds_ca_rotate": {"databases": HOT, "concurrency": 1, "poll_interval": POLL}},
    ]
    return [play(tasks, ["pending", "hot"])]


def start_playbook(simulator, plays: list[dict[str, Any]], directory: str) -> subprocess.Popen:
    """ansible-playbook in its own process group (so that it can be killed with its module processes)."""
    _ensure_collection_link()
    path = os.path.join(directory, "killed.yml")
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(_with_save(plays), handle, sort_keys=False)
    variables = {"rdsca_test_results_file": os.path.join(directory, "killed.json"), "sim_endpoint_url": simulator.url}
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local", path,
           "-e", json.dumps(variables)]
    return subprocess.Popen(cmd, env=simulator.env(), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)


def modify_calls(simulator) -> int:
    return simulator.calls()["by_region"].get(REGION, {}).get("rds:ModifyDBInstance", 0)


def rotated_events(simulator) -> dict[str, int]:
    events = simulator.client().describe_events(SourceType="db-instance", Duration=60)["Events"]
    counts: dict[str, int] = {}
    for event in events:
        if "CA certificate rotated" in event.get("Message", ""):
            counts[event["SourceIdentifier"]] = counts.get(event["SourceIdentifier"], 0) + 1
    return counts


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (ansible's workers start their own sessions: a process group kill misses them)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, encoding="ascii", errors="replace") as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("what", ["whole_run", "playbook_only"])
def test_killed_rotation_converges_when_run_again(simulator, tmp_path, what):
    """Killed with SIGKILL: `whole_run` kills ansible-playbook and every process it started (the controller
    died); `playbook_only` kills the ansible-playbook process alone (kill -9 <pid>), whose worker and
    module live on in their own sessions and keep rotating while the second run starts."""
    simulator.load(KILL_FLEET)
    proc = start_playbook(simulator, kill_plays(), str(tmp_path))
    survivors: list[int] = []
    try:
        # Kill once the second hot database has been sent its change: the first rotated, the second
        # modifying, the third not started; the restart engines are pending.
        deadline = time.monotonic() + 120
        while modify_calls(simulator) < len(RESTART) + 2:
            assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
            assert time.monotonic() < deadline, "the rotation did not start"
            time.sleep(0.05)
        tree = descendants(proc.pid)
        assert tree, "no module process found under ansible-playbook"
        os.kill(proc.pid, signal.SIGKILL)
        if what == "whole_run":
            for pid in tree:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        else:
            survivors = tree
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        proc.stdout.close()
    at_kill = dict((i, instance(simulator, i)) for i in HOT + RESTART)
    statuses = dict((i, (r["DBInstanceStatus"], r["CACertificateIdentifier"])) for i, r in at_kill.items())
    assert any(s == "modifying" for s, _ca in statuses.values()), statuses
    assert all(at_kill[i]["PendingModifiedValues"]["CACertificateIdentifier"] == TARGET for i in RESTART)
    if what == "whole_run":
        assert sum(1 for i in HOT if statuses[i] == ("available", OLD)) >= 1, statuses  # not started, never will be
        assert not [pid for pid in tree if alive(pid)]
    else:
        assert [pid for pid in survivors if alive(pid)], "the module should outlive a kill of ansible-playbook alone"
    assert not os.path.exists(os.path.join(str(tmp_path), "killed.json"))  # it never got to its end

    # The same run again: it converges.
    again = simulator.run_playbook(kill_plays())
    assert again.rc == 0, again.stdout[-5000:]
    deadline = time.monotonic() + 60
    while [pid for pid in survivors if alive(pid)]:  # the orphaned module of the first run, if any, finishes too
        assert time.monotonic() < deadline
        time.sleep(0.2)
    pending, hot = again.task("pending"), again.task("hot")
    # Every database accounted for, each with a final status and its reason.
    assert sorted(d["identifier"] for d in pending["databases"] + hot["databases"]) == sorted(HOT + RESTART)
    assert [d["status"] for d in pending["databases"]] == ["unchanged", "unchanged"]
    assert all("already pending" in d["reason"] for d in pending["databases"])
    assert not hot.get("failed") and hot["failures"] == []
    for item in hot["databases"]:
        assert item["current_ca"] == TARGET and item["status"] in ("rotated", "unchanged"), item
        if item["status"] == "unchanged":
            # done before this run looked, or finished while it waited - in both cases nothing was sent
            assert item["reason"] == "already on %s" % TARGET or "nothing was sent" in item["reason"], item
    if what == "whole_run":
        for ident in HOT:
            if statuses[ident] == ("available", OLD):  # not started when killed: rotated by the second run
                assert by_id(hot)[ident]["status"] == "rotated"
    # Nothing rotated twice: one rotation event per database, and one change accepted per database over both
    # runs (with the orphan racing the second run, a change sent while another is in progress is refused with
    # InvalidDBInstanceState, then seen done: it is not sent again).
    assert rotated_events(simulator) == dict((i, 1) for i in HOT)
    calls = simulator.calls()
    refused = calls["errors"].get("rds:%s:ModifyDBInstance" % REGION, 0)
    assert modify_calls(simulator) - refused == len(HOT) + len(RESTART), calls
    if what == "whole_run":
        assert refused == 0
    for ident in HOT:
        raw = instance(simulator, ident)
        assert (raw["DBInstanceStatus"], raw["CACertificateIdentifier"]) == ("available", TARGET)
    # The restart engines are still pending for their maintenance window, as planned, not restarted now.
    for ident in RESTART:
        raw = instance(simulator, ident)
        assert (raw["CACertificateIdentifier"], raw["PendingModifiedValues"]["CACertificateIdentifier"]) == (OLD, TARGET)


# -- one failure among many ----------------------------------------------------------------------------

@contextlib.contextmanager
def modify_refused_for(identifier: str):
    """ModifyDBInstance answers InvalidDBInstanceState for one database (its status stays `available`)."""
    from moto.rds.exceptions import RDSClientError  # pylint: disable=import-outside-toplevel
    from moto.rds.responses import RDSResponse  # pylint: disable=import-outside-toplevel

    original = RDSResponse.modify_db_instance

    def refusing(self):
        if (self._get_param("DBInstanceIdentifier") or "").lower() == identifier:
            raise RDSClientError("InvalidDBInstanceState", "Database instance is not in available state.")
        return original(self)

    RDSResponse.modify_db_instance = refusing
    try:
        yield
    finally:
        RDSResponse.modify_db_instance = original


def test_one_database_failing_does_not_stop_the_others(fleet):
    fleet.faults([{"operation": "ModifyDBCluster", "error": "AccessDenied"}])
    with modify_refused_for("app-hot-2"):
        result = fleet.run_playbook([play([{
            "name": "rotate", "register": "rotate", "ignore_errors": True,
            "rdsca.rotation.rds_ca_rotate": {"databases": ["app-hot-1", "app-hot-2", "ledger-maz", "eu-west-1/web-eu"],
                                             "poll_interval": POLL}}], ["rotate"])])
    r = result.task("rotate")
    assert r["failed"] is True
    dbs = by_id(r)
    assert dbs["app-hot-1"]["status"] == "rotated" and dbs["web-eu"]["status"] == "rotated"
    refused = dbs["app-hot-2"]
    assert refused["status"] == "failed"
    assert refused["error"]["error_code"] == "InvalidDBInstanceState"
    assert refused["error"]["operation"] == "ModifyDBInstance"
    assert refused["reason"] == "ModifyDBInstance failed: Database instance is not in available state."
    denied = dbs["ledger-maz"]
    assert denied["status"] == "failed" and denied["error"]["error_code"] == "AccessDenied"
    assert "ModifyDBCluster failed" in denied["reason"]
    assert sorted(f["label"] for f in r["failures"]) == ["us-east-1/app-hot-2", "us-east-1/ledger-maz"]
    assert r["msg"].startswith("2 failed (of 4 databases, target %s)" % TARGET)
    assert "us-east-1/app-hot-2 failed (ModifyDBInstance failed" in r["msg"]
    # InvalidDBInstanceState is retried a few times (the database may just be busy), then given up.
    assert r["api_calls"][REGION]["ModifyDBInstance"] == 1 + 5
    assert instance(fleet, "app-hot-2")["CACertificateIdentifier"] == OLD
    assert instance(fleet, "app-hot-1")["CACertificateIdentifier"] == TARGET


# -- real servers: a verification that fails, a server down, a connection cut mid-query -------------------

LINKED_FLEET = {
    "description": "faults with real servers",
    "timing": {"modify_seconds": 0.3, "reboot_seconds": 0.3},
    "regions": {REGION: {
        "default_ca": TARGET,
        "instances": [
            {"id": "pg-a", "engine": "postgres", "engine_version": "16.3", "ca": RSA4096, "linked": "postgres"},
            {"id": "pg-b", "engine": "postgres", "engine_version": "16.3", "ca": RSA4096, "linked": "postgres"},
            {"id": "maria-a", "engine": "mariadb", "engine_version": "10.11.8", "ca": RSA4096, "linked": "mariadb"},
        ],
    }},
}


class Relay:
    """A TCP forward that can cut its connections while a query is in flight.

    Once armed, the next bytes a client sends on a connection open for more than `age` seconds are
    not forwarded: both sides are closed instead - the server never answers that query.
    """

    def __init__(self, target_port: int, age: float = 1.0) -> None:
        self.target_port = target_port
        self.age = age
        self.armed = threading.Event()
        self.dropped = 0
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _addr = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            opened = time.monotonic()
            threading.Thread(target=self._pipe, args=(client, upstream, opened, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, opened, False), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, opened: float, from_client: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if from_client and self.armed.is_set() and time.monotonic() - opened > self.age:
                    self.dropped += 1
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture(scope="module")
def linked(simulator):
    for engine in ("postgres", "mariadb"):
        ok, why = tools_available(engine)
        if not ok:
            pytest.skip("linked %s servers unavailable: %s" % (engine, why))
    simulator.load(LINKED_FLEET)
    servers = dict((v["id"], v) for v in simulator.control("GET", "/_sim/linked").values())
    bundle = simulator.control("GET", "/_sim/bundle")["path"]
    return simulator, servers, bundle


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_of(simulator, ident: str):
    account = simulator.sim.fleet.account_id
    return simulator.sim.linker.databases[(account, REGION, ident)].server


def test_ssl_usage_server_down_or_dropping_the_connection_mid_query(linked):
    simulator, servers, bundle = linked
    password = servers["pg-a"]["admin_password"]
    usage = {"connect_host": "127.0.0.1", "ca_cert": bundle, "login_user": "admin",
             "login_password": "{{ vault_db_password }}", "timeout": 5}
    # 1. A server that is down.
    down = server_of(simulator, "pg-b")
    down.stop()
    try:
        result = simulator.run_playbook([play([{
            "name": "down", "register": "down", "rdsca.rotation.rds_ssl_usage": dict(
                usage, databases=[{"identifier": "pg-a"}, {"identifier": "pg-b"}, {"identifier": "maria-a"}])}],
            ["down"])], extra_vars={"vault_db_password": password})
    finally:
        down.restart()
    assert result.rc == 0, result.stdout[-4000:]
    dbs = by_id(result.task("down"))
    assert dbs["pg-b"]["probe"]["reachable"] is False
    assert dbs["pg-b"]["error"].startswith("probe: cannot connect to 127.0.0.1:%d" % servers["pg-b"]["port"])
    assert dbs["pg-b"]["ssl_in_use"] == "unknown"
    for ident in ("pg-a", "maria-a"):
        assert dbs[ident]["error"] is None, dbs[ident]["error"]
        assert dbs[ident]["usage"]["available"] is True and dbs[ident]["probe"]["verified"] is True
    assert "1 of 3 database(s) could not be fully inspected: pg-b" in result.stdout + result.stderr

    # 2. Connections cut while a query is in flight (PostgreSQL and MariaDB), during the sampling window.
    # Armed from the start: the probe's handshake and the login take less than a second (the relay's
    # `age`); the first query sent after that never gets its answer.
    relays = {"pg-a": Relay(servers["pg-a"]["port"]), "maria-a": Relay(servers["maria-a"]["port"])}
    for relay in relays.values():
        relay.armed.set()
    try:
        result = simulator.run_playbook([play([{
            "name": "cut", "register": "cut", "rdsca.rotation.rds_ssl_usage": dict(
                usage, sample_seconds=4, sample_interval=0.3,
                databases=[{"identifier": "pg-a", "connect_port": relays["pg-a"].port}, {"identifier": "pg-b"},
                           {"identifier": "maria-a", "connect_port": relays["maria-a"].port}])}],
            ["cut"])], extra_vars={"vault_db_password": password})
    finally:
        for relay in relays.values():
            relay.close()
    assert result.rc == 0, result.stdout[-4000:]
    assert all(r.dropped >= 1 for r in relays.values()), dict((k, r.dropped) for k, r in relays.items())
    dbs = by_id(result.task("cut"))
    for ident in ("pg-a", "maria-a"):
        item = dbs[ident]
        assert item["probe"]["verified"] is True  # the probe came through before the cut
        assert item["error"].startswith("sampling stopped early: "), item["error"]
        assert item["usage"]["interrupted"] and item["window"]["samples"] >= 1
        assert item["safe_without_restart"] is False  # an interrupted window proves nothing
    assert dbs["pg-b"]["error"] is None and dbs["pg-b"]["window"]["samples"] >= 2
    everything = result.stdout + result.stderr + json.dumps(result.results)
    assert password not in everything


def test_failed_verification_of_one_database_does_not_stop_the_others(linked):
    """An endpoint that refuses the connection during verification is unverified, not failed: no rollback
    (no second CA change, no second restart) without evidence that the new certificate is wrong (issue 13)."""
    simulator, _servers, bundle = linked
    simulator.reset_calls()
    result = simulator.run_playbook([play([{
        "name": "rotate", "register": "rotate", "ignore_errors": True,
        "rdsca.rotation.rds_ca_rotate": {
            # pg-b's endpoint is unreachable from here (a closed port): it cannot be verified.
            "databases": ["pg-a", {"identifier": "pg-b", "connect_port": closed_port()}, "maria-a"],
            "verify_endpoint": True, "ca_cert": bundle, "connect_host": "127.0.0.1",
            "rollback_on_failure": True,
            "verify_grace_period": 2, "verify_timeout": 2, "poll_interval": POLL}}], ["rotate"])])
    r = result.task("rotate")
    assert r["failed"] is True
    dbs = by_id(r)
    for ident in ("pg-a", "maria-a"):
        assert dbs[ident]["status"] == "rotated" and dbs[ident]["verification"]["verified"] is True
    unverified = dbs["pg-b"]
    assert unverified["status"] == "unverified", unverified["reason"]
    assert unverified["verification"]["verified"] is False and unverified["verification"]["outcome"] == "unreachable"
    assert "not verified: probe failed: cannot connect to 127.0.0.1:" in unverified["reason"], unverified["reason"]
    assert "not rolled back" in unverified["reason"] and unverified["rollback"] is None
    assert unverified["current_ca"] == TARGET and unverified["changed"] is True  # rotated, not verified: reported
    assert instance(simulator, "pg-b")["CACertificateIdentifier"] == TARGET
    # one change per database: no rollback was sent
    assert simulator.calls()["by_region"][REGION]["rds:ModifyDBInstance"] == 3
    assert [f["label"] for f in r["failures"]] == ["us-east-1/pg-b"]
    assert r["msg"].startswith("1 failed (of 3 databases, target %s)" % TARGET)
    assert "us-east-1/pg-b unverified" in r["msg"]


# -- issue 13 item 3: a ModifyDBInstance whose response is lost -------------------------------------------

LOST_FLEET = {
    "description": "a lost ModifyDBInstance response: restart engines (rotated now, or scheduled)",
    "timing": {"modify_seconds": 0.5, "reboot_seconds": 0.5},
    "regions": {REGION: {
        "default_ca": TARGET,
        "instances": [
            {"id": "lost-now", "engine": "postgres", "engine_version": "14.10", "ca": OLD},
            {"id": "lost-later", "engine": "postgres", "engine_version": "14.10", "ca": OLD},
            {"id": "lost-hot", "engine": "postgres", "engine_version": "16.3", "ca": OLD},
        ],
    }},
}


def test_simulator_response_delay_serves_the_call_then_holds_the_answer_back(simulator):
    """boto3 against the simulator: the change is made although the client times out waiting for the answer."""
    import botocore.config  # pylint: disable=import-outside-toplevel
    import botocore.exceptions  # pylint: disable=import-outside-toplevel

    simulator.load(LOST_FLEET)
    simulator.faults([{"operation": "ModifyDBInstance", "response_delay_ms": 2000, "count": 1}])
    client = simulator.client(config=botocore.config.Config(read_timeout=0.5, retries={"total_max_attempts": 1}))
    started = time.monotonic()
    with pytest.raises(botocore.exceptions.ReadTimeoutError):
        client.modify_db_instance(DBInstanceIdentifier="lost-later", CACertificateIdentifier=TARGET,
                                  ApplyImmediately=False)
    assert time.monotonic() - started < 1.9  # the client gave up; the server still holds the answer
    # ... yet RDS made the change
    raw = instance(simulator, "lost-later")
    assert raw["PendingModifiedValues"]["CACertificateIdentifier"] == TARGET
    # count: 1 - the next call is answered at once
    answered = client.modify_db_instance(DBInstanceIdentifier="lost-later", CACertificateIdentifier=TARGET,
                                         ApplyImmediately=False)
    assert answered["DBInstance"]["PendingModifiedValues"]["CACertificateIdentifier"] == TARGET
    assert simulator.calls()["by_region"][REGION]["rds:ModifyDBInstance"] == 2
    with pytest.raises(Exception, match="400"):  # refused: a rule has an error or a response delay
        simulator.faults([{"operation": "ModifyDBInstance", "error": "Throttling", "response_delay_ms": 10}])
    simulator.clear_faults()


def restarts(simulator) -> dict[str, int]:
    events = simulator.client().describe_events(SourceType="db-instance", Duration=60)["Events"]
    counts: dict[str, int] = {}
    for event in events:
        if event.get("Message") == "DB instance restarted":
            counts[event["SourceIdentifier"]] = counts.get(event["SourceIdentifier"], 0) + 1
    return counts


def test_a_lost_modify_response_is_decided_from_what_rds_shows(simulator):
    """The response to ModifyDBInstance is lost (read timeout), and so is the answer to a retry: the module
    describes the instance and reports what RDS did - changed, on (or pending to) the target, restarted once."""
    simulator.load(LOST_FLEET)
    # every answer to ModifyDBInstance in the first 2 calls held back for longer than the client waits
    simulator.faults([{"operation": "ModifyDBInstance", "response_delay_ms": 2500, "count": 2}])
    aws_config = {"read_timeout": 1, "connect_timeout": 1, "retries": {"max_attempts": 1}}
    now = {"rdsca.rotation.rds_ca_rotate": {"databases": ["lost-now"], "allow_restart": True, "poll_interval": POLL}}
    result = simulator.run_playbook([play([dict(now, name="now", register="now", ignore_errors=True)], ["now"],
                                          aws_config=aws_config)])
    r = result.task("now")
    (item,) = r["databases"]
    assert not r.get("failed"), r.get("msg")
    assert (item["status"], item["changed"], item["current_ca"]) == ("rotated", True, TARGET), item
    assert item["confirmed"] is True and item["would_restart"] is True
    assert any("response" in note and "lost" in note for note in item["notes"]), item["notes"]
    assert instance(simulator, "lost-now")["CACertificateIdentifier"] == TARGET
    assert restarts(simulator) == {"lost-now": 1}  # restarted once: the change was not sent twice
    assert rotated_events(simulator) == {"lost-now": 1}

    # a change for the maintenance window whose response is lost: scheduled, pending, sent once
    simulator.reset_calls()
    simulator.faults([{"operation": "ModifyDBInstance", "response_delay_ms": 2500, "count": 2}])
    later = {"rdsca.rotation.rds_ca_rotate": {"databases": ["lost-later"], "apply": "maintenance_window",
                                              "poll_interval": POLL}}
    result = simulator.run_playbook([play([dict(later, name="later", register="later", ignore_errors=True)], ["later"],
                                          aws_config=aws_config)])
    r = result.task("later")
    (item,) = r["databases"]
    assert not r.get("failed"), r.get("msg")
    assert (item["status"], item["changed"], item["pending_ca"], item["current_ca"]) == ("scheduled", True, TARGET, OLD)
    assert instance(simulator, "lost-later")["PendingModifiedValues"]["CACertificateIdentifier"] == TARGET
    assert simulator.calls()["by_region"][REGION]["rds:ModifyDBInstance"] == 1  # decided from RDS, not resent
    simulator.clear_faults()
