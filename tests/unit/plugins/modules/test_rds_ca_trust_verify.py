# -*- coding: utf-8 -*-
# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""rds_ca_trust_verify against a local PostgreSQL-style STARTTLS server (SSLRequest, then TLS)."""

from __future__ import absolute_import, division, print_function

import datetime
import socket
import ssl
import struct
import threading

import pytest


from ansible_collections.rdsca.rotation.plugins.modules import rds_ca_trust_verify

cryptography = pytest.importorskip("cryptography")

from cryptography import x509  # noqa: E402  pylint: disable=wrong-import-position
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402  pylint: disable=wrong-import-position
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402  pylint: disable=wrong-import-position
from cryptography.x509.oid import NameOID  # noqa: E402  pylint: disable=wrong-import-position

UTC = datetime.timezone.utc
SERVER_NAME = "orders.c0ffee1234ab.us-east-1.rds.amazonaws.com"
ROOT_CN = "Amazon RDS us-east-1 Root CA RSA2048 G1"


@pytest.fixture
def module(module_runner):
    return module_runner(rds_ca_trust_verify)


@pytest.fixture(scope="module")
def postgres_like(tmp_path_factory):
    """A server that answers SSLRequest with 'S' and then does TLS with an RDS-like chain."""
    tmp = tmp_path_factory.mktemp("verify")
    ca_key = ec.generate_private_key(ec.SECP384R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Amazon Web Services, Inc."),
                         x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Amazon RDS"),
                         x509.NameAttribute(NameOID.COMMON_NAME, ROOT_CN)])
    start, end = datetime.datetime(2021, 1, 1, tzinfo=UTC), datetime.datetime(2061, 1, 1, tzinfo=UTC)
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .sign(ca_key, hashes.SHA384()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_NAME)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(SERVER_NAME)]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    chain = tmp / "server.pem"
    chain.write_bytes(leaf.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    ca_file = tmp / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(chain))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn = listener.accept()[0]
            except OSError:
                return
            try:
                conn.settimeout(5)
                length, code = struct.unpack("!ii", conn.recv(8))
                assert (length, code) == (8, 80877103)
                conn.sendall(b"S")
                tls = context.wrap_socket(conn, server_side=True)
                tls.close()
            except (OSError, ssl.SSLError, AssertionError, struct.error):
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield {"port": listener.getsockname()[1], "ca_file": str(ca_file)}
    stop.set()
    listener.close()


def endpoint(server, **extra):
    values = {"server_name": SERVER_NAME, "port": 5432, "connect_host": "127.0.0.1", "connect_port": server["port"]}
    values.update(extra)
    return values


def test_verified_with_a_ca_file(module, postgres_like):
    done = module(endpoints=[endpoint(postgres_like, ca_cert=postgres_like["ca_file"], name="orders")])
    assert done.kind == "exit", done.result
    (result,) = done.result["endpoints"]
    assert result["verified"] is True and result["trust_anchor"] == ROOT_CN
    assert result["protocol"] == "postgres" and result["trust"] == postgres_like["ca_file"]
    assert done.result["failed_endpoints"] == [] and done.result["changed"] is False
    assert done.result["msg"] == "1 endpoint(s) verified with %s" % postgres_like["ca_file"]


def test_system_store_does_not_trust_it(module, postgres_like):
    done = module(endpoints=[endpoint(postgres_like, name="orders")])
    assert done.kind == "fail"
    assert done.result["failed_endpoints"] == ["orders"]
    assert ("orders (127.0.0.1:%d, postgres): does NOT verify with this host's trust store" % postgres_like["port"]
            in done.result["msg"])
    assert ROOT_CN in done.result["msg"] and done.result["endpoints"][0]["presented_ca"] == "rds-ca-rsa2048-g1"
    assert set(done.result["trust_store"]) == {"cafile", "capath"}


def test_wrong_name_and_report_only(module, postgres_like):
    wrong = endpoint(postgres_like, ca_cert=postgres_like["ca_file"], server_name="billing.c0ffee1234ab.us-east-1.rds.amazonaws.com")
    done = module(endpoints=[wrong], strict=False)
    assert done.kind == "exit"
    assert done.result["failed_endpoints"] == ["billing.c0ffee1234ab.us-east-1.rds.amazonaws.com"]
    assert "the certificate is for %s" % SERVER_NAME in done.result["warnings"][0]


def test_nothing_listening(module):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = module(endpoints=[{"server_name": SERVER_NAME, "port": port, "connect_host": "127.0.0.1"}], timeout=2)
    assert done.kind == "fail"
    assert "no TLS handshake: cannot connect to 127.0.0.1:%d" % port in done.result["msg"]
