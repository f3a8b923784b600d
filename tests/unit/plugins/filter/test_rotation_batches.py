"""Batches of the rotate playbook: a cluster, and a source with its replicas in any region, stay in one batch."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.rdsca.rotation.plugins.filter.replica_families import FilterModule as Families
from ansible_collections.rdsca.rotation.plugins.filter.rotation_batches import FilterModule as Batches

rotation_batches = Batches().filters()["rotation_batches"]
replica_families = Families().filters()["replica_families"]
ACCOUNT = "123456789012"


def db(region, identifier, **extra):
    return dict({"region": region, "identifier": identifier, "cluster_id": None, "read_replica_source": None,
                 "read_replicas": [], "arn": "arn:aws:rds:%s:%s:db:%s" % (region, ACCOUNT, identifier)}, **extra)


def arn(region, identifier):
    return "arn:aws:rds:%s:%s:db:%s" % (region, ACCOUNT, identifier)


def labels(batches):
    return [[d["label"] for d in batch] for batch in batches]


def test_a_cross_region_replica_stays_in_its_sources_batch():
    """Issue 13 item 2: max_concurrent=1 put the source in batch 1 and its cross-region replica in batch 2."""
    dbs = [db("us-east-1", "orders-prod", read_replicas=[arn("eu-west-1", "orders-prod-eu")]),
           db("eu-west-1", "orders-prod-eu", read_replica_source=arn("us-east-1", "orders-prod")),
           db("us-east-1", "catalog-prod")]
    batches = rotation_batches(dbs, 1)
    assert labels(batches) == [["us-east-1/catalog-prod"], ["us-east-1/orders-prod", "eu-west-1/orders-prod-eu"]]
    assert {d["family"] for d in batches[1]} == {"us-east-1/orders-prod"}


@pytest.mark.parametrize("side", ["source", "replica"])
def test_one_side_of_the_cross_region_link_is_enough(side):
    source = db("us-east-1", "orders-prod", read_replicas=[arn("eu-west-1", "orders-prod-eu")] if side == "source" else [])
    replica = db("eu-west-1", "orders-prod-eu", read_replica_source=arn("us-east-1", "orders-prod") if side == "replica" else None)
    assert labels(rotation_batches([replica, source], 1)) == [["eu-west-1/orders-prod-eu", "us-east-1/orders-prod"]]


def test_replicas_of_replicas_and_clusters_are_one_family():
    dbs = replica_families([
        db("us-east-1", "a"), db("us-east-1", "b", read_replica_source="a"),
        db("ap-south-1", "c", read_replica_source=arn("us-east-1", "b")),
        db("us-east-1", "aurora-1", cluster_id="aurora"), db("us-east-1", "aurora-2", cluster_id="aurora"),
    ])
    assert [d["family"] for d in dbs] == ["us-east-1/a"] * 3 + ["us-east-1/aurora"] * 2
    assert [d["label"] for d in dbs] == ["us-east-1/a", "us-east-1/b", "ap-south-1/c", "us-east-1/aurora-1",
                                         "us-east-1/aurora-2"]


def test_batches_fill_up_to_size_and_keep_a_large_family_whole():
    dbs = [db("us-east-1", "s"), db("us-east-1", "r1", read_replica_source="s"), db("us-east-1", "r2", read_replica_source="s"),
           db("us-east-1", "x"), db("us-east-1", "y")]
    assert labels(rotation_batches(dbs, 2)) == [
        ["us-east-1/s", "us-east-1/r1", "us-east-1/r2"], ["us-east-1/x", "us-east-1/y"]]
    assert labels(rotation_batches(dbs, 5)) == [["us-east-1/s", "us-east-1/r1", "us-east-1/r2", "us-east-1/x", "us-east-1/y"]]


def test_families_the_controller_cannot_verify_come_last():
    dbs = [db("us-east-1", "a"), db("us-east-1", "b"), db("us-east-1", "c", read_replica_source="a")]
    assert labels(rotation_batches(dbs, 1, blind=["us-east-1/c"])) == [["us-east-1/b"], ["us-east-1/a", "us-east-1/c"]]


@pytest.mark.parametrize("size", [0, -1, True, "2", 1.5])
def test_a_bad_size_is_an_error(size):
    with pytest.raises(AnsibleFilterError, match="size must be a whole number"):
        rotation_batches([db("us-east-1", "a")], size)
