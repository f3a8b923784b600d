"""rds_ca_rotate while RDS shows its in-flight states (tests/fleets/rotate_timeline.yml).

On a realistic timeline (RDS's minutes times one time-compression factor) polling sees what it sees on
RDS: `modifying` with the change pending, then `rebooting` for engines that restart, a Multi-AZ DB
cluster whose members modify, a backup that ends while the module waits. The endpoints of the linked
databases present leaf + subordinate CA, and verification passes end to end with that chain.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from conftest import REPO
from tests.simulator.linked import tools_available

FLEET = os.path.join(REPO, "tests", "fleets", "rotate_timeline.yml")
REGION = "us-east-1"
TARGET = "rds-ca-rsa2048-g1"


@pytest.fixture()
def timeline(simulator):
    ok, why = tools_available("postgres")
    if not ok:
        pytest.skip("linked postgres servers unavailable: %s" % why)
    simulator.load(FLEET)
    return simulator


def test_rotation_polls_through_modifying_and_rebooting(timeline, tmp_path):
    pki = timeline.sim.linker.pki
    bundle = str(pki.write_bundle(tmp_path / "bundle.pem", regions=[REGION]))
    common = {"endpoint_url": "{{ sim_endpoint_url }}", "region": REGION, "target_ca": TARGET, "allow_restart": True,
              "poll_interval": 0.1, "wait_timeout": 60}
    plays = [{
        "hosts": "localhost", "gather_facts": False,
        "tasks": [
            {"name": "Rotate the others", "register": "others", "rdsca.rotation.rds_ca_rotate": {
                **common, "databases": ["tl-mysql", "tl-backup", "tl-maz"]}},
            # Real TLS servers behind these two: verified through leaf + subordinate CA.
            {"name": "Rotate linked", "register": "linked", "ignore_errors": True, "rdsca.rotation.rds_ca_rotate": {
                **common, "databases": ["tl-hot", "tl-restart"], "verify_endpoint": True, "ca_cert": bundle,
                "connect_host": "127.0.0.1", "verify_grace_period": 30}},
        ],
        "save": ["linked", "others"]}]
    result = timeline.run_playbook(plays)
    dbs: dict[str, Any] = {}
    for name in ("linked", "others"):
        r = result.task(name)
        assert not r.get("failed"), r.get("msg")
        dbs.update((d["identifier"], d) for d in r["databases"])
    for ident in ("tl-hot", "tl-restart", "tl-mysql", "tl-backup", "tl-maz"):
        assert dbs[ident]["status"] == "rotated", dbs[ident]
        assert dbs[ident]["current_ca"] == TARGET and dbs[ident]["pending_ca"] is None, dbs[ident]
    # Hot-swap engine: modifying, then available.
    assert dbs["tl-hot"]["statuses_seen"] == ["modifying", "available"], dbs["tl-hot"]
    # Restart engines: modifying, rebooting, available.
    assert dbs["tl-restart"]["statuses_seen"] == ["modifying", "rebooting", "available"], dbs["tl-restart"]
    assert dbs["tl-mysql"]["statuses_seen"] == ["modifying", "rebooting", "available"], dbs["tl-mysql"]
    # Waited for the backup to end before changing anything.
    assert dbs["tl-backup"]["statuses_seen"][0] == "backing-up" and "modifying" in dbs["tl-backup"]["statuses_seen"]
    assert dbs["tl-maz"]["kind"] == "cluster" and "modifying" in dbs["tl-maz"]["statuses_seen"]
    # Verified against the roots, through the subordinate CA the endpoints present.
    for ident in ("tl-hot", "tl-restart"):
        (probe,) = dbs[ident]["verification"]["probes"]
        assert (probe["ca_id"], probe["verified"]) == (TARGET, True), probe
    cluster = timeline.client().describe_db_clusters(DBClusterIdentifier="tl-maz")["DBClusters"][0]
    assert cluster["Status"] == "available" and cluster["CertificateDetails"]["CAIdentifier"] == TARGET
