"""Simulated instances backed by real TLS servers: the API and the server's certificate stay in step."""

from __future__ import annotations

import re
import shutil
import socket
import ssl
import struct
import subprocess
import time

import psycopg2
import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from tests.simulator.linked import tools_available

FLEET = {
    "timing": {"modify_seconds": 0.3, "reboot_seconds": 0.3},
    "regions": {
        "us-east-1": {
            "parameter_groups": [{"name": "pg13-forced", "family": "postgres13", "parameters": {"rds.force_ssl": "1"}}],
            "instances": [
                {"id": "hot", "engine": "postgres", "engine_version": "16.3", "ca": "rds-ca-rsa2048-g1",
                 "linked": "postgres"},
                {"id": "cold", "engine": "postgres", "engine_version": "11.22", "ca": "rds-ca-rsa2048-g1",
                 "linked": "postgres"},
                {"id": "forced13", "engine": "postgres", "engine_version": "13.4", "parameter_group": "pg13-forced",
                 "linked": "postgres"},
                {"id": "maria", "engine": "mariadb", "engine_version": "10.11.8", "ca": "rds-ca-2019", "linked": "mariadb"},
            ],
        },
    },
}


@pytest.fixture(scope="module")
def linked(simulator):
    for engine in ("postgres", "mariadb"):
        ok, reason = tools_available(engine)
        if not ok:
            pytest.skip(reason)
    simulator.load(FLEET)
    yield simulator


def _pg_leaf(host: str, port: int, server_name: str, cafile: str | None) -> x509.Certificate:
    """Certificate the server presents after a PostgreSQL SSLRequest, verified when cafile is given."""
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(struct.pack("!ii", 8, 80877103))
        assert sock.recv(1) == b"S"
        if cafile:
            context = ssl.create_default_context(cafile=cafile)
        else:
            # Reading what is presented, nothing sent: the test then checks the issuer itself.
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        with context.wrap_socket(sock, server_hostname=server_name) as tls:
            return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))


def _issuer_cn(cert: x509.Certificate) -> str:
    return cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def _info(sim, db_id):
    db = sim.client().describe_db_instances(DBInstanceIdentifier=db_id)["DBInstances"][0]
    server = sim.sim.linker.databases[(sim.sim.fleet.account_id, "us-east-1", db_id)].server
    return db, server


def _rotate_and_wait(sim, db_id, ca, **kwargs):
    client = sim.client()
    client.modify_db_instance(DBInstanceIdentifier=db_id, CACertificateIdentifier=ca, ApplyImmediately=True, **kwargs)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        db = client.describe_db_instances(DBInstanceIdentifier=db_id)["DBInstances"][0]
        if db["DBInstanceStatus"] == "available" and db["CACertificateIdentifier"] == ca:
            break
        time.sleep(0.05)
    sim.control("POST", "/_sim/linked/wait", {})


def test_endpoint_port_reaches_a_server_presenting_the_instance_ca(linked):
    bundle = linked.control("GET", "/_sim/bundle")["path"]
    db, _server = _info(linked, "hot")
    leaf = _pg_leaf("127.0.0.1", db["Endpoint"]["Port"], db["Endpoint"]["Address"], bundle)
    assert _issuer_cn(leaf) == "Amazon RDS us-east-1 Subordinate CA RSA2048 G1.A.1"
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert db["Endpoint"]["Address"] in names
    with pytest.raises(ssl.SSLCertVerificationError):
        _pg_leaf("127.0.0.1", db["Endpoint"]["Port"], "someone-else.rds.amazonaws.com", bundle)


def test_hot_swap_engine_rotates_the_served_certificate_without_restart(linked):
    db, server = _info(linked, "hot")
    pid = server.pid
    _rotate_and_wait(linked, "hot", "rds-ca-ecc384-g1")
    leaf = _pg_leaf("127.0.0.1", db["Endpoint"]["Port"], db["Endpoint"]["Address"],
                    linked.control("GET", "/_sim/bundle")["path"])
    assert _issuer_cn(leaf) == "Amazon RDS us-east-1 Subordinate CA ECC384 G1.A.1"
    assert server.pid == pid


def test_restart_engine_restarts_the_server_to_rotate(linked):
    db, server = _info(linked, "cold")
    pid = server.pid
    _rotate_and_wait(linked, "cold", "rds-ca-rsa4096-g1")
    leaf = _pg_leaf("127.0.0.1", db["Endpoint"]["Port"], db["Endpoint"]["Address"],
                    linked.control("GET", "/_sim/bundle")["path"])
    assert _issuer_cn(leaf) == "Amazon RDS us-east-1 Subordinate CA RSA4096 G1.A.1"
    assert server.pid != pid


def test_no_restart_on_a_restart_engine_keeps_the_old_certificate_until_reboot(linked):
    client = linked.client()
    db, server = _info(linked, "cold")
    before = _issuer_cn(_pg_leaf("127.0.0.1", db["Endpoint"]["Port"], db["Endpoint"]["Address"], None))
    _rotate_and_wait(linked, "cold", "rds-ca-rsa2048-g1", CertificateRotationRestart=False)
    assert client.describe_db_instances(DBInstanceIdentifier="cold")["DBInstances"][0]["CACertificateIdentifier"] == \
        "rds-ca-rsa2048-g1"
    assert _issuer_cn(_pg_leaf("127.0.0.1", db["Endpoint"]["Port"], db["Endpoint"]["Address"], None)) == before
    pid = server.pid
    client.reboot_db_instance(DBInstanceIdentifier="cold")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and server.pid == pid:
        time.sleep(0.1)
    linked.control("POST", "/_sim/linked/wait", {})
    after = _issuer_cn(_pg_leaf("127.0.0.1", db["Endpoint"]["Port"], db["Endpoint"]["Address"], None))
    assert after == "Amazon RDS us-east-1 Subordinate CA RSA2048 G1.A.1" != before


def test_tls_enforcement_follows_the_parameter_group(linked):
    for db_id, enforced in (("hot", True), ("cold", False), ("forced13", True)):
        db, server = _info(linked, db_id)
        assert server.force_ssl is enforced, db_id
        params = dict(host="127.0.0.1", port=db["Endpoint"]["Port"], user="admin", dbname="admin",
                      password=server.admin_password, sslmode="disable", connect_timeout=10)
        if enforced:
            with pytest.raises(psycopg2.OperationalError, match="no encryption"):
                psycopg2.connect(**params)
        else:
            with psycopg2.connect(**params) as conn, conn.cursor() as cur:
                cur.execute("SHOW rds.force_ssl")
                assert cur.fetchone() == ("0",)
            conn.close()


def test_linked_listing_matches_the_api_for_mariadb(linked):
    db, _server = _info(linked, "maria")
    assert db["CACertificateIdentifier"] == "rds-ca-2019"
    linked_info = linked.control("GET", "/_sim/linked")["us-east-1/maria"]
    assert linked_info["presented_ca"] == "rds-ca-2019" and linked_info["port"] == db["Endpoint"]["Port"]


def test_openssl_s_client_shows_leaf_subordinate_and_root_issuer(linked):
    """`openssl s_client -starttls postgres -showcerts` sees what it sees on a G1 RDS endpoint."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl command not available")
    bundle = linked.control("GET", "/_sim/bundle")["path"]
    db, _server = _info(linked, "forced13")
    assert db["CACertificateIdentifier"] == "rds-ca-rsa2048-g1"
    proc = subprocess.run(
        [openssl, "s_client", "-starttls", "postgres", "-showcerts", "-connect", f"127.0.0.1:{db['Endpoint']['Port']}",
         "-servername", db["Endpoint"]["Address"], "-verify_hostname", db["Endpoint"]["Address"],
         "-CAfile", bundle, "-verify_return_error"],
        input="", capture_output=True, text=True, timeout=30, check=False)
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Verify return code: 0 (ok)" in out
    chain = re.findall(r"^ *(\d) s:(.*)\n *i:(.*)$", out, re.MULTILINE)
    assert [n for n, _s, _i in chain] == ["0", "1"], out
    (_n0, leaf_subject, leaf_issuer), (_n1, sub_subject, sub_issuer) = chain
    assert leaf_subject.endswith(f"CN = {db['Endpoint']['Address']}") or db["Endpoint"]["Address"] in leaf_subject
    assert "CN = Amazon RDS us-east-1 Subordinate CA RSA2048 G1.A.1" in leaf_issuer
    assert "CN = Amazon RDS us-east-1 Subordinate CA RSA2048 G1.A.1" in sub_subject
    assert "CN = Amazon RDS us-east-1 Root CA RSA2048 G1" in sub_issuer
    assert out.count("-----BEGIN CERTIFICATE-----") == 2  # leaf and subordinate; the root comes from the bundle


def test_a_server_stopped_during_a_test_does_not_stop_later_swaps(linked):
    """The linker thread survives a server it cannot reload; that server restarts on its new certificate."""
    db, server = _info(linked, "hot")
    other, other_server = _info(linked, "forced13")
    server.stop()
    try:
        _rotate_and_wait(linked, "hot", "rds-ca-rsa4096-g1")
        assert server.is_running()  # started again with the certificate of its current CA
        leaf = _pg_leaf("127.0.0.1", db["Endpoint"]["Port"], db["Endpoint"]["Address"],
                        linked.control("GET", "/_sim/bundle")["path"])
        assert _issuer_cn(leaf) == "Amazon RDS us-east-1 Subordinate CA RSA4096 G1.A.1"
        # And the linker still serves the others.
        _rotate_and_wait(linked, "forced13", "rds-ca-ecc384-g1")
        leaf = _pg_leaf("127.0.0.1", other["Endpoint"]["Port"], other["Endpoint"]["Address"],
                        linked.control("GET", "/_sim/bundle")["path"])
        assert _issuer_cn(leaf) == "Amazon RDS us-east-1 Subordinate CA ECC384 G1.A.1"
        listing = linked.control("GET", "/_sim/linked")
        assert listing["us-east-1/hot"]["running"] is True and listing["us-east-1/hot"]["error"] is None
    finally:
        if not server.is_running():
            server.restart()
        assert other_server.is_running()


def test_a_swap_that_fails_is_reported_and_the_linker_goes_on(linked):
    linker = linked.sim.linker
    db, server = _info(linked, "cold")
    key = (linked.sim.fleet.account_id, "us-east-1", "cold")
    original = server.restart

    def broken() -> None:
        raise RuntimeError("simulated broken server")

    server.restart = broken
    try:
        linker.certificate_changed(*key, "rds-ca-ecc384-g1", True)
        linker.wait_idle()
        assert "simulated broken server" in linked.control("GET", "/_sim/linked")["us-east-1/cold"]["error"]
    finally:
        server.restart = original
    _rotate_and_wait(linked, "hot", "rds-ca-rsa2048-g1")
    leaf = _pg_leaf("127.0.0.1", _info(linked, "hot")[0]["Endpoint"]["Port"], db["Endpoint"]["Address"].replace(
        "cold.", "hot."), linked.control("GET", "/_sim/bundle")["path"])
    assert _issuer_cn(leaf) == "Amazon RDS us-east-1 Subordinate CA RSA2048 G1.A.1"
