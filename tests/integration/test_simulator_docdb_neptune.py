"""DocumentDB and Neptune through the RDS API (issue 17): inventory, engine catalogs, instance-level CA rotation
with RDS's restart rules, and a TLS server per linked endpoint whose chain follows the rotation."""

from __future__ import annotations

import socket
import ssl
import time

import pytest
from botocore.exceptions import ClientError

from tests.simulator.fleet import FleetError, parse_fleet

FLEET = {
    "timing": {"modify_seconds": 0.3, "reboot_seconds": 0.3},
    "regions": {"us-east-1": {
        "instances": [{"id": "orders", "engine": "postgres", "engine_version": "16.3"}],
        "clusters": [
            {"id": "docs", "engine": "docdb", "engine_version": "5.0.0", "members": [
                {"id": "docs-1", "writer": True, "ca": "rds-ca-rsa2048-g1", "linked": "tls"},
                {"id": "docs-2", "ca": "rds-ca-rsa2048-g1", "linked": "tls"}]},
            {"id": "docs-old", "engine": "docdb", "engine_version": "3.6.0", "members": [
                {"id": "docs-old-1", "ca": "rds-ca-rsa2048-g1"}]},
            {"id": "graph", "engine": "neptune", "engine_version": "1.3.2.1", "members": [
                {"id": "graph-1", "ca": "rds-ca-rsa2048-g1", "linked": "tls"}]},
            {"id": "graph-old", "engine": "neptune", "engine_version": "1.2.1.0", "members": [
                {"id": "graph-old-1", "ca": "rds-ca-rsa2048-g1", "linked": "tls"}]},
            # As the Neptune User Guide describes it: one ACM wildcard certificate per account and region.
            {"id": "graph-acm", "engine": "neptune", "engine_version": "1.3.2.1", "endpoint_certificate": "acm",
             "members": [{"id": "graph-acm-1", "ca": "rds-ca-rsa2048-g1", "linked": "tls"},
                         {"id": "graph-acm-2", "ca": "rds-ca-rsa2048-g1", "linked": "tls"}]},
        ],
    }},
}


@pytest.fixture(scope="module")
def sim(simulator):
    simulator.load(FLEET)
    simulator.bundle = simulator.control("GET", "/_sim/bundle")["path"]
    return simulator


def _db(sim, db_id):
    return sim.client().describe_db_instances(DBInstanceIdentifier=db_id)["DBInstances"][0]


def _wait_available(sim, db_id, timeout=15.0):
    statuses = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = _db(sim, db_id)["DBInstanceStatus"]
        if not statuses or statuses[-1] != status:
            statuses.append(status)
        if status == "available" and len(statuses) > 1:
            break
        time.sleep(0.05)
    sim.control("POST", "/_sim/linked/wait", {})
    return statuses


def _handshake(sim, db_id, cafile=None, maximum=None):
    """(TLS version, issuer CN) of the chain the linked endpoint presents, verified with cafile and the name."""
    info = sim.control("GET", "/_sim/linked")[f"us-east-1/{db_id}"]
    context = ssl.create_default_context(cafile=cafile or sim.bundle)
    if maximum:
        context.maximum_version = maximum
    with socket.create_connection((info["host"], info["port"]), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=info["address"]) as tls:
            issuer = dict(item[0] for item in tls.getpeercert()["issuer"])["commonName"]
            return tls.version(), issuer


def test_rds_api_lists_docdb_and_neptune_with_their_endpoints(sim):
    dbs = {d["DBInstanceIdentifier"]: d for d in sim.client().describe_db_instances()["DBInstances"]}
    assert (dbs["docs-1"]["Engine"], dbs["graph-1"]["Engine"]) == ("docdb", "neptune")
    assert dbs["docs-2"]["Endpoint"]["Address"].endswith(".us-east-1.docdb.amazonaws.com")
    assert dbs["docs-old-1"]["Endpoint"]["Port"] == 27017  # linked endpoints listen on a free local port
    assert dbs["graph-old-1"]["Endpoint"]["Address"].endswith(".us-east-1.neptune.amazonaws.com")
    assert dbs["docs-1"]["DBClusterIdentifier"] == "docs"
    assert dbs["docs-1"]["CertificateDetails"]["CAIdentifier"] == "rds-ca-rsa2048-g1"
    clusters = {c["DBClusterIdentifier"]: c for c in sim.client().describe_db_clusters()["DBClusters"]}
    assert clusters["docs"]["Endpoint"].startswith("docs.cluster-c") and clusters["docs"]["Port"] == 27017
    assert clusters["graph"]["Port"] == 8182
    # The docdb client (same RDS endpoint) with DocumentDB's documented engine filter sees only DocumentDB.
    docdb = sim.client("docdb").describe_db_instances(Filters=[{"Name": "engine", "Values": ["docdb"]}])
    assert sorted(d["DBInstanceIdentifier"] for d in docdb["DBInstances"]) == ["docs-1", "docs-2", "docs-old-1"]
    neptune = sim.client("neptune").describe_db_clusters(Filters=[{"Name": "engine", "Values": ["neptune"]}])
    assert sorted(c["DBClusterIdentifier"] for c in neptune["DBClusters"]) == ["graph", "graph-acm", "graph-old"]


def test_engine_catalogs_carry_restart_behaviour_and_ca_support(sim):
    rds = sim.client()
    docdb = {v["EngineVersion"]: v for v in rds.describe_db_engine_versions(Engine="docdb")["DBEngineVersions"]}
    assert set(docdb) == {"3.6.0", "4.0.0", "5.0.0"}
    assert not any(v["SupportsCertificateRotationWithoutRestart"] for v in docdb.values())
    assert "rds-ca-ecc384-g1" not in docdb["3.6.0"]["SupportedCACertificateIdentifiers"]
    assert "rds-ca-ecc384-g1" in docdb["5.0.0"]["SupportedCACertificateIdentifiers"]
    assert docdb["5.0.0"]["DBParameterGroupFamily"] == "docdb5.0"
    neptune = rds.describe_db_engine_versions(Engine="neptune", DefaultOnly=True)["DBEngineVersions"]
    assert [(v["EngineVersion"], v["DBParameterGroupFamily"]) for v in neptune] == [("1.3.2.1", "neptune1.3")]


def test_tls_enforcement_is_a_cluster_parameter(sim):
    rds = sim.client()
    docdb = rds.describe_db_cluster_parameters(DBClusterParameterGroupName="default.docdb5.0")["Parameters"]
    assert [(p["ParameterName"], p["ParameterValue"]) for p in docdb] == [("tls", "enabled")]
    neptune = rds.describe_db_cluster_parameters(DBClusterParameterGroupName="default.neptune1.3")["Parameters"]
    assert [(p["ParameterName"], p["ParameterValue"]) for p in neptune] == [("neptune_enforce_ssl", "1")]
    clusters = {c["DBClusterIdentifier"]: c for c in rds.describe_db_clusters()["DBClusters"]}
    assert (clusters["docs"]["DBClusterParameterGroup"], clusters["graph"]["DBClusterParameterGroup"]) == (
        "default.docdb5.0", "default.neptune1.3")


def test_a_ca_the_version_does_not_support_is_refused(sim):
    with pytest.raises(ClientError, match="InvalidParameterCombination"):
        sim.client().modify_db_instance(DBInstanceIdentifier="docs-old-1", CACertificateIdentifier="rds-ca-ecc384-g1",
                                        ApplyImmediately=True)
    assert _db(sim, "docs-old-1")["CACertificateIdentifier"] == "rds-ca-rsa2048-g1"


def test_docdb_rotation_restarts_and_the_endpoint_presents_the_new_chain(sim):
    assert _handshake(sim, "docs-1") == ("TLSv1.3", "Amazon RDS us-east-1 Subordinate CA RSA2048 G1.A.1")
    sim.client().modify_db_instance(DBInstanceIdentifier="docs-1", CACertificateIdentifier="rds-ca-ecc384-g1",
                                    ApplyImmediately=True)
    assert _wait_available(sim, "docs-1") == ["modifying", "rebooting", "available"]
    assert _db(sim, "docs-1")["CACertificateIdentifier"] == "rds-ca-ecc384-g1"
    assert _handshake(sim, "docs-1")[1] == "Amazon RDS us-east-1 Subordinate CA ECC384 G1.A.1"
    # The other member keeps its own CA: DocumentDB's CA is per instance, as Aurora's.
    assert _handshake(sim, "docs-2")[1] == "Amazon RDS us-east-1 Subordinate CA RSA2048 G1.A.1"


def test_no_restart_asked_keeps_presenting_the_old_chain_until_a_reboot(sim):
    rds = sim.client()
    rds.modify_db_instance(DBInstanceIdentifier="docs-2", CACertificateIdentifier="rds-ca-rsa4096-g1",
                           CertificateRotationRestart=False, ApplyImmediately=True)
    assert _wait_available(sim, "docs-2") == ["modifying", "available"]
    assert _db(sim, "docs-2")["CACertificateIdentifier"] == "rds-ca-rsa4096-g1"
    assert _handshake(sim, "docs-2")[1] == "Amazon RDS us-east-1 Subordinate CA RSA2048 G1.A.1"
    rds.reboot_db_instance(DBInstanceIdentifier="docs-2")
    assert _wait_available(sim, "docs-2") == ["rebooting", "available"]
    assert _handshake(sim, "docs-2")[1] == "Amazon RDS us-east-1 Subordinate CA RSA4096 G1.A.1"


def test_neptune_https_endpoint_and_its_tls_versions(sim):
    assert _handshake(sim, "graph-1")[0] == "TLSv1.3"
    # Engines before 1.3.2.0 serve TLS 1.2 only.
    assert _handshake(sim, "graph-old-1")[0] == "TLSv1.2"
    info = sim.control("GET", "/_sim/linked")["us-east-1/graph-1"]
    context = ssl.create_default_context(cafile=sim.bundle)
    with socket.create_connection((info["host"], info["port"]), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=info["address"]) as tls:
            tls.sendall(f"GET /status HTTP/1.1\r\nHost: {info['address']}:8182\r\n\r\n".encode())
            answer = tls.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 200 OK") and '"status": "healthy"' in answer and '"1.3.2.1"' in answer


def test_neptune_rotation_is_verified_by_a_client_of_the_new_ca_only(sim, tmp_path):
    only_ecc = tmp_path / "ecc.pem"
    only_ecc.write_text(_root(sim, "rds-ca-ecc384-g1"))
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(sim, "graph-1", cafile=str(only_ecc))
    sim.client().modify_db_instance(DBInstanceIdentifier="graph-1", CACertificateIdentifier="rds-ca-ecc384-g1",
                                    ApplyImmediately=True)
    assert _wait_available(sim, "graph-1") == ["modifying", "rebooting", "available"]
    assert _handshake(sim, "graph-1", cafile=str(only_ecc))[1] == "Amazon RDS us-east-1 Subordinate CA ECC384 G1.A.1"


def test_neptune_with_an_acm_endpoint_certificate_keeps_it_through_a_ca_change(sim):
    ats = sim.control("GET", "/_sim/ats-bundle")["path"]
    assert _handshake(sim, "graph-acm-1", cafile=ats)[1] == "Amazon RSA 2048 M02"
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(sim, "graph-acm-1")
    sim.client().modify_db_instance(DBInstanceIdentifier="graph-acm-1", CACertificateIdentifier="rds-ca-ecc384-g1",
                                    ApplyImmediately=True)
    assert _wait_available(sim, "graph-acm-1") == ["modifying", "rebooting", "available"]
    assert _db(sim, "graph-acm-1")["CACertificateIdentifier"] == "rds-ca-ecc384-g1"
    # The wildcard certificate covers every instance endpoint of the account in the region, and stays.
    assert _handshake(sim, "graph-acm-1", cafile=ats)[1] == "Amazon RSA 2048 M02"
    assert _handshake(sim, "graph-acm-2", cafile=ats)[1] == "Amazon RSA 2048 M02"
    assert sim.control("GET", "/_sim/linked")["us-east-1/graph-acm-1"]["presented_ca"] == "acm"


def _root(sim, ca_id):
    return sim.sim.linker.pki.ca_pem("us-east-1", ca_id)


def test_fleet_links_docdb_and_neptune_only_to_a_tls_endpoint():
    with pytest.raises(FleetError, match="endpoint_certificate: 'rds-ca', or 'acm' for a Neptune cluster"):
        parse_fleet({"regions": {"us-east-1": {"clusters": [
            {"id": "d", "engine": "docdb", "engine_version": "5.0.0", "endpoint_certificate": "acm",
             "members": [{"id": "d-1"}]}]}}})
    with pytest.raises(FleetError, match="engine docdb cannot be linked to a real 'postgres' server"):
        parse_fleet({"regions": {"us-east-1": {"clusters": [
            {"id": "d", "engine": "docdb", "engine_version": "5.0.0", "members": [{"id": "d-1", "linked": "postgres"}]}]}}})
