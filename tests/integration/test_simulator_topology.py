"""Topology a flat fleet could not express: cross-region read replicas, Aurora members on fixed ports."""

from __future__ import annotations

import pytest

from tests.simulator.fleet import FleetError, parse_fleet

FLEET = {
    "regions": {
        "us-east-1": {
            "default_ca": "rds-ca-rsa2048-g1",
            "instances": [{"id": "orders", "engine": "postgres", "engine_version": "16.3"}],
            "clusters": [{"id": "aurora", "engine": "aurora-postgresql", "engine_version": "15.4",
                          "members": [{"id": "aurora-1", "writer": True, "port": 15432}, {"id": "aurora-2"}]}],
        },
        "eu-west-1": {
            "default_ca": "rds-ca-ecc384-g1",
            "instances": [{"id": "orders-eu", "engine": "postgres", "engine_version": "16.3",
                           "replica_of": "us-east-1/orders"}],
        },
    },
}


@pytest.fixture()
def sim(simulator):
    simulator.load(FLEET)
    return simulator


def _db(sim, region, db_id):
    return sim.client(region=region).describe_db_instances(DBInstanceIdentifier=db_id)["DBInstances"][0]


def test_cross_region_read_replica_is_in_its_own_region_on_its_regions_ca(sim):
    source, replica = _db(sim, "us-east-1", "orders"), _db(sim, "eu-west-1", "orders-eu")
    # RDS names a cross-region source and replicas by ARN (DBInstance, RDS API Reference).
    assert replica["ReadReplicaSourceDBInstanceIdentifier"] == source["DBInstanceArn"]
    assert source["ReadReplicaDBInstanceIdentifiers"] == [replica["DBInstanceArn"]]
    assert replica["DBInstanceArn"].startswith("arn:aws:rds:eu-west-1:")
    assert replica["Endpoint"]["Address"].endswith(".eu-west-1.rds.amazonaws.com")
    assert replica["AvailabilityZone"].startswith("eu-west-1")
    assert (source["CACertificateIdentifier"], replica["CACertificateIdentifier"]) == (
        "rds-ca-rsa2048-g1", "rds-ca-ecc384-g1")
    assert [d["DBInstanceIdentifier"] for d in sim.client(region="us-east-1").describe_db_instances()["DBInstances"]
            if d["DBInstanceIdentifier"].startswith("orders")] == ["orders"]


def test_aurora_member_pinned_to_a_port(sim):
    assert _db(sim, "us-east-1", "aurora-1")["Endpoint"]["Port"] == 15432


def test_unknown_cross_region_source_is_rejected():
    with pytest.raises(FleetError, match="replica of unknown 'us-east-1/nope'"):
        parse_fleet({"regions": {"eu-west-1": {"instances": [
            {"id": "r", "engine": "postgres", "engine_version": "16.3", "replica_of": "us-east-1/nope"}]}}})


def test_rds_ca_rotate_rotates_a_cross_region_replica_before_its_source(sim):
    plays = [{"hosts": "localhost", "gather_facts": False, "tasks": [{
        "name": "Rotate", "register": "rotated", "rdsca.rotation.rds_ca_rotate": {
            "endpoint_url": "{{ sim_endpoint_url }}", "region": "us-east-1", "target_ca": "rds-ca-rsa4096-g1",
            "databases": ["orders", "arn:aws:rds:eu-west-1:123456789012:db:orders-eu"], "poll_interval": 0.1}}],
        "save": ["rotated"]}]
    r = sim.run_playbook(plays).task("rotated")
    assert not r.get("failed"), r.get("msg")
    dbs = {d["identifier"]: d for d in r["databases"]}
    assert dbs["orders-eu"]["region"] == "eu-west-1" and dbs["orders"]["region"] == "us-east-1"
    assert dbs["orders-eu"]["previous_ca"] == "rds-ca-ecc384-g1" and dbs["orders"]["previous_ca"] == "rds-ca-rsa2048-g1"
    assert dbs["orders-eu"]["status"] == dbs["orders"]["status"] == "rotated"
    assert dbs["orders-eu"]["finished_at"] <= dbs["orders"]["started_at"]
