"""The simulator's in-flight states: what polling sees while RDS applies a CA change, on a realistic timeline.

RDS shows a CA change applied immediately as `modifying` with the new CA in
PendingModifiedValues.CACertificateIdentifier, then (restart engines) `rebooting` on the new CA, then
`available`; a Multi-AZ DB cluster's status follows its three instances. Durations are RDS's minutes scaled
by one time-compression factor (here 0.005: a 4-minute modification lasts 1.2 s).
"""

from __future__ import annotations

import time

import pytest

from tests.simulator.catalog import REALISTIC_MINUTES, Timing
from tests.simulator.fleet import FleetError, parse_fleet

COMPRESSION = 0.005
FLEET = {
    "timing": {"time_compression": COMPRESSION, "seed": 3},
    "regions": {
        "us-east-1": {
            "instances": [
                {"id": "hot", "engine": "postgres", "engine_version": "16.3", "ca": "rds-ca-2019"},
                {"id": "cold", "engine": "postgres", "engine_version": "14.10", "ca": "rds-ca-2019"},
                {"id": "backup", "engine": "postgres", "engine_version": "16.3", "status": "backing-up"},
                {"id": "backup-pinned", "engine": "postgres", "engine_version": "16.3", "status": "backing-up",
                 "pinned": True},
                {"id": "stopping", "engine": "postgres", "engine_version": "16.3", "status": "stopping"},
                {"id": "scheduled", "engine": "postgres", "engine_version": "16.3",
                 "schedule": [{"status": "available", "seconds": 2}, {"status": "backing-up", "seconds": 2},
                              {"status": "storage-full"}]},
            ],
            "clusters": [{"id": "ledger", "engine": "postgres", "engine_version": "16.3", "multi_az_cluster": True,
                          "ca": "rds-ca-rsa2048-g1"}],
        },
    },
}


@pytest.fixture()
def sim(simulator):
    simulator.load(FLEET)
    return simulator


def _instance(client, db_id):
    return client.describe_db_instances(DBInstanceIdentifier=db_id)["DBInstances"][0]


def _observe(fetch, done, timeout=30.0, interval=0.05):
    """Distinct consecutive observations of fetch() until done(observation)."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        item = fetch()
        if not seen or seen[-1] != item:
            seen.append(item)
        if done(item):
            return seen
        time.sleep(interval)
    raise AssertionError(f"not done within {timeout}s; seen: {seen}")


def _state(client, db_id):
    db = _instance(client, db_id)
    return db["DBInstanceStatus"], db["CACertificateIdentifier"], db["PendingModifiedValues"].get("CACertificateIdentifier")


def test_durations_are_rds_minutes_times_one_factor_and_seeded():
    first, again = Timing(time_compression=0.01, seed=7), Timing(time_compression=0.01, seed=7)
    drawn = [first.duration("modifying") for _n in range(50)]
    assert drawn == [again.duration("modifying") for _n in range(50)]
    low, high = REALISTIC_MINUTES["modifying"]
    assert all(low * 60 * 0.01 <= d <= high * 60 * 0.01 for d in drawn)
    assert len(set(drawn)) > 40  # a distribution, not a constant
    assert Timing(modify_seconds=0.3, reboot_seconds=0.2).duration("rebooting") == 0.2  # fixed timing unchanged


def test_hot_swap_rotation_is_modifying_with_the_change_pending(sim):
    east = sim.client()
    answer = east.modify_db_instance(DBInstanceIdentifier="hot", CACertificateIdentifier="rds-ca-rsa2048-g1",
                                     ApplyImmediately=True)["DBInstance"]
    assert answer["DBInstanceStatus"] == "modifying"
    assert answer["PendingModifiedValues"] == {"CACertificateIdentifier": "rds-ca-rsa2048-g1"}
    started = time.monotonic()
    seen = _observe(lambda: _state(east, "hot"), lambda s: s[0] == "available")
    assert seen == [("modifying", "rds-ca-2019", "rds-ca-rsa2048-g1"), ("available", "rds-ca-rsa2048-g1", None)]
    low, high = REALISTIC_MINUTES["modifying"]
    assert low * 60 * COMPRESSION - 0.1 <= time.monotonic() - started <= high * 60 * COMPRESSION + 1.0


def test_restart_engine_rotation_is_modifying_then_rebooting(sim):
    east = sim.client()
    east.modify_db_instance(DBInstanceIdentifier="cold", CACertificateIdentifier="rds-ca-rsa2048-g1",
                            ApplyImmediately=True)
    seen = _observe(lambda: _state(east, "cold"), lambda s: s[0] == "available")
    assert seen == [("modifying", "rds-ca-2019", "rds-ca-rsa2048-g1"), ("rebooting", "rds-ca-rsa2048-g1", None),
                    ("available", "rds-ca-rsa2048-g1", None)]


def test_multi_az_db_cluster_status_follows_its_members(sim):
    east = sim.client()
    east.modify_db_cluster(DBClusterIdentifier="ledger", CACertificateIdentifier="rds-ca-ecc384-g1",
                           ApplyImmediately=True)

    def cluster_state():
        cluster = east.describe_db_clusters(DBClusterIdentifier="ledger")["DBClusters"][0]
        members = east.describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": ["ledger"]}])["DBInstances"]
        pending = (cluster.get("PendingModifiedValues") or {}).get("CertificateDetails", {}).get("CAIdentifier")
        return (cluster["Status"], cluster["CertificateDetails"]["CAIdentifier"], pending,
                any(m["DBInstanceStatus"] != "available" for m in members))

    seen = _observe(cluster_state, lambda s: s[0] == "available" and not s[3])
    assert seen[0] == ("modifying", "rds-ca-rsa2048-g1", "rds-ca-ecc384-g1", True)
    assert seen[-1] == ("available", "rds-ca-ecc384-g1", None, False)
    # Never `available` on the new CA while a member is still changing.
    assert not any(s[0] == "available" and s[3] for s in seen), seen


def test_seeded_transitional_states_end_on_their_own_unless_pinned(sim):
    east = sim.client()
    assert _instance(east, "backup")["DBInstanceStatus"] == "backing-up"
    assert _instance(east, "stopping")["DBInstanceStatus"] == "stopping"
    high = REALISTIC_MINUTES["backing-up"][1] * 60 * COMPRESSION
    _observe(lambda: _instance(east, "backup")["DBInstanceStatus"], lambda s: s == "available", timeout=high + 5)
    _observe(lambda: _instance(east, "stopping")["DBInstanceStatus"], lambda s: s == "stopped", timeout=high + 5)
    assert _instance(east, "backup-pinned")["DBInstanceStatus"] == "backing-up"


def test_statuses_change_on_a_schedule(sim):
    east = sim.client()
    seen = _observe(lambda: _instance(east, "scheduled")["DBInstanceStatus"], lambda s: s == "storage-full",
                    interval=0.05)
    assert seen == ["available", "backing-up", "storage-full"]
    time.sleep(0.3)
    assert _instance(east, "scheduled")["DBInstanceStatus"] == "storage-full"


@pytest.mark.parametrize("timing, message", [
    ({"time_compression": 0}, "time_compression must be a number in (0, 1]"),
    ({"time_compression": "fast"}, "time_compression must be a number in (0, 1]"),
    ({"modify_seconds": -1}, "modify_seconds must be a number"),
])
def test_bad_timing_is_rejected(timing, message):
    with pytest.raises(FleetError) as excinfo:
        parse_fleet({"timing": timing, "regions": {"us-east-1": {}}})
    assert message in str(excinfo.value)


@pytest.mark.parametrize("instance, message", [
    ({"status": "backing-up", "schedule": [{"status": "available", "seconds": 1}]}, "either 'status' or 'schedule'"),
    ({"schedule": [{"status": "available"}, {"status": "backing-up", "seconds": 1}]}, "only the last entry"),
    ({"schedule": [{"status": "available", "seconds": -2}]}, "seconds from 0 to 86400"),
    ({"schedule": []}, "non-empty list"),
])
def test_bad_schedules_are_rejected(instance, message):
    with pytest.raises(FleetError) as excinfo:
        parse_fleet({"regions": {"us-east-1": {"instances": [
            {"id": "a", "engine": "postgres", "engine_version": "16.3", **instance}]}}})
    assert message in str(excinfo.value)
