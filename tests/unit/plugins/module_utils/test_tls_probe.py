# -*- coding: utf-8 -*-
# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""tls_probe: CA name mapping (every real RDS CA name), protocol framing, and probes of fake servers.

The fake servers speak just enough of each protocol (PostgreSQL SSLRequest, the
MySQL handshake, TDS pre-login with TLS inside TDS packets, direct TLS) to prove
the client side byte for byte; the real PostgreSQL/MariaDB servers are exercised
by tests/integration/test_rds_ssl_usage.py.
"""

from __future__ import absolute_import, division, print_function

import datetime
import os
import re
import socket
import ssl
import struct
import threading
import time

import pytest

from ansible_collections.rdsca.rotation.plugins.module_utils import tls_probe

cryptography = pytest.importorskip("cryptography")

from cryptography import x509  # noqa: E402  pylint: disable=wrong-import-position
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402  pylint: disable=wrong-import-position
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402  pylint: disable=wrong-import-position
from cryptography.x509.oid import NameOID  # noqa: E402  pylint: disable=wrong-import-position

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
SHARED_DATA = os.environ.get("RDSCA_SHARED_DATA", "/work/shared/data/rds-ca")
GLOBAL_BUNDLE = os.path.join(SHARED_DATA, "global-bundle.pem")
OLD_BUNDLE = os.path.join(SHARED_DATA, "global-bundle.2024-06.121certs-with-rds-ca-2019.crlf.pem")
SERVER_NAME = "orders.c0ffee1234ab.eu-west-1.rds.amazonaws.com"
UTC = datetime.timezone.utc


# -- CA names ------------------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("Amazon RDS us-east-1 Root CA RSA2048 G1", ("rds-ca-rsa2048-g1", "us-east-1", None, "root")),
    ("Amazon RDS eu-west-3 Root CA RSA4096 G1", ("rds-ca-rsa4096-g1", "eu-west-3", None, "root")),
    ("Amazon RDS ap-southeast-4 Root CA ECC384 G1", ("rds-ca-ecc384-g1", "ap-southeast-4", None, "root")),
    ("Amazon RDS us-gov-west-1 Root CA RSA2048 G1", ("rds-ca-rsa2048-g1", "us-gov-west-1", None, "root")),
    ("Amazon RDS Beta us-east-1 Root CA ECC384 G1", ("rds-ca-ecc384-g1", "us-east-1", "Beta", "root")),
    ("Amazon RDS Preview us-east-2 Root CA RSA2048 G1", ("rds-ca-rsa2048-g1", "us-east-2", "Preview", "root")),
    # Subordinate CAs that sign server certificates keep the generation label.
    ("Amazon RDS us-east-1 Subordinate CA RSA2048 G1.A.1", ("rds-ca-rsa2048-g1", "us-east-1", None, "intermediate")),
    ("Amazon RDS us-west-2 Subordinate CA ECC384 G1.B.3", ("rds-ca-ecc384-g1", "us-west-2", None, "intermediate")),
    ("Amazon RDS Root 2019 CA", ("rds-ca-2019", None, None, "root")),
    ("Amazon RDS Beta Root 2019 CA", ("rds-ca-2019", None, "Beta", "root")),
    ("Amazon RDS us-east-1 2019 CA", ("rds-ca-2019", "us-east-1", None, "intermediate")),
    ("Amazon RDS Preview us-east-2 2019 CA", ("rds-ca-2019", "us-east-2", "Preview", "intermediate")),
    ("Amazon RDS af-south-1 Root CA", ("rds-ca-2019", "af-south-1", None, "root")),
    ("Amazon RDS me-south-1 CA", ("rds-ca-2019", "me-south-1", None, "intermediate")),
    ("Amazon RDS Root CA", ("rds-ca-2015", None, None, "root")),
    ("Amazon RDS ap-northeast-1 CA", ("rds-ca-2015", "ap-northeast-1", None, "intermediate")),
])
def test_ca_from_name(name, expected):
    found = tls_probe.ca_from_name(name)
    assert (found["ca_identifier"], found["region"], found["variant"], found["role"]) == expected
    assert found["name"] == name


@pytest.mark.parametrize("name", [None, "", "orders.c0ffee.us-east-1.rds.amazonaws.com", "Amazon Root CA 1",
                                  "DigiCert Global Root G2", "Amazon RDS", "Amazon RDS us-east-1 Root CA RSA1024 G1"])
def test_ca_from_name_ignores_other_names(name):
    assert tls_probe.ca_from_name(name) is None


def test_ambiguous_regional_ca_is_settled_by_the_chain():
    assert tls_probe.ca_from_name("Amazon RDS us-east-1 CA", ["Amazon RDS Root CA"])["ca_identifier"] == "rds-ca-2015"
    assert tls_probe.ca_from_name("Amazon RDS eu-south-1 CA")["ca_identifier"] == "rds-ca-2019"
    assert tls_probe.ca_from_name("Amazon RDS xx-new-1 CA", ["Amazon RDS xx-new-1 Root CA"])["ca_identifier"] == "rds-ca-2019"


def test_presented_ca_uses_the_issuer_then_the_chain():
    assert tls_probe.presented_ca("Amazon RDS us-east-1 2019 CA")["ca_identifier"] == "rds-ca-2019"
    # An issuer that is not an RDS name (a private intermediate) falls back to the rest of the chain.
    found = tls_probe.presented_ca("Corp Issuing CA", ["Amazon RDS us-east-1 Root CA RSA4096 G1"])
    assert found["ca_identifier"] == "rds-ca-rsa4096-g1"
    assert tls_probe.presented_ca("Corp Issuing CA") is None
    assert tls_probe.presented_ca(None) is None


def _bundle_certs(path):
    with open(path, "rb") as handle:
        data = handle.read().replace(b"\r\n", b"\n")
    return x509.load_pem_x509_certificates(data)


def _cn(name):
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return attrs[0].value if attrs else None


def _expected_for(cn):
    label = re.search(r"(RSA2048|RSA4096|ECC384) G1$", cn)
    if label:
        return {"RSA2048": "rds-ca-rsa2048-g1", "RSA4096": "rds-ca-rsa4096-g1", "ECC384": "rds-ca-ecc384-g1"}[label.group(1)]
    if "2019" in cn or re.search(r"(af|eu|me)-south-1 (Root )?CA$", cn):
        return "rds-ca-2019"
    return "rds-ca-2015"


@pytest.mark.parametrize("path", [GLOBAL_BUNDLE, OLD_BUNDLE])
def test_every_real_rds_ca_name_maps(path):
    if not os.path.exists(path):
        pytest.skip("real RDS bundle %s not present (set RDSCA_SHARED_DATA to its directory)" % path)
    certs = _bundle_certs(path)
    assert len(certs) > 90
    seen = set()
    for cert in certs:
        for cn in (_cn(cert.subject), _cn(cert.issuer)):
            found = tls_probe.ca_from_name(cn)
            assert found is not None, cn
            assert found["ca_identifier"] == _expected_for(cn), cn
            region = re.search(r"((?:[a-z]{2,4})(?:-[a-z]+)+-\d+)", cn)
            assert found["region"] == (region.group(1) if region else None), cn
            assert found["variant"] == ("Beta" if " Beta " in cn else ("Preview" if " Preview " in cn else None)), cn
            seen.add(found["ca_identifier"])
        # A certificate issued by this CA would be mapped through its issuer name the same way.
        assert tls_probe.presented_ca(_cn(cert.subject))["ca_identifier"] == _expected_for(_cn(cert.subject))
    if path == GLOBAL_BUNDLE:
        assert seen == {"rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1"}
    else:
        assert seen == {"rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1", "rds-ca-2019"}


# -- certificates --------------------------------------------------------------------------

def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Amazon Web Services, Inc."),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Amazon RDS"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _make_ca(cn, days=3650):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn)).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return cert, key


def _make_leaf(ca_cert, ca_key, names, not_after=None, not_before=None):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_before or now - datetime.timedelta(minutes=5))
            .not_valid_after(not_after or now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert, key


def _pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pki")
    ca, ca_key = _make_ca("Amazon RDS eu-west-1 Root CA ECC384 G1")
    other, _other_key = _make_ca("Amazon RDS eu-west-1 Root CA RSA2048 G1")
    leaf, leaf_key = _make_leaf(ca, ca_key, [SERVER_NAME])
    expired, expired_key = _make_leaf(ca, ca_key, [SERVER_NAME], not_after=datetime.datetime.now(UTC) - datetime.timedelta(days=2),
                                      not_before=datetime.datetime.now(UTC) - datetime.timedelta(days=30))
    paths = {}
    for name, data in (("ca", _pem(ca)), ("other", _pem(other)), ("leaf", _pem(leaf)), ("expired", _pem(expired)),
                       ("leaf_key", leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption())),
                       ("expired_key", expired_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                                 serialization.NoEncryption()))):
        path = tmp / ("%s.pem" % name)
        path.write_bytes(data)
        paths[name] = str(path)
    paths["leaf_cert"] = leaf
    return paths


def test_describe_der_and_describe_info_agree(pki):
    with open(pki["leaf"], "rb") as handle:
        der = ssl.PEM_cert_to_DER_cert(handle.read().decode("ascii"))
    facts = tls_probe.describe_der(der)
    assert facts["subject_cn"] == SERVER_NAME
    assert facts["issuer_cn"] == "Amazon RDS eu-west-1 Root CA ECC384 G1"
    assert facts["dns_names"] == [SERVER_NAME]
    assert facts["expired"] is False and facts["days_left"] in (363, 364)
    assert facts["public_key"] == "EC secp256r1"
    assert facts["signature_hash"] == "sha256"
    assert facts["is_ca"] is False
    assert len(facts["sha256_fingerprint"]) == 64
    info = {
        "subject": ((("commonName", SERVER_NAME),),),
        "issuer": ((("countryName", "US"),), (("organizationName", "Amazon Web Services, Inc."),),
                   (("organizationalUnitName", "Amazon RDS"),), (("commonName", "Amazon RDS eu-west-1 Root CA ECC384 G1"),)),
        "notBefore": pki["leaf_cert"].not_valid_before_utc.strftime("%b %d %H:%M:%S %Y GMT"),
        "notAfter": pki["leaf_cert"].not_valid_after_utc.strftime("%b %d %H:%M:%S %Y GMT"),
        "subjectAltName": (("DNS", SERVER_NAME),),
        "serialNumber": "%X" % pki["leaf_cert"].serial_number,
    }
    from_info = tls_probe.describe_info(info, der)
    for key in ("subject_cn", "issuer_cn", "not_after", "not_before", "dns_names", "expired", "days_left",
                "sha256_fingerprint", "serial_number"):
        assert from_info[key] == facts[key], key
    assert from_info["issuer"] == "CN=Amazon RDS eu-west-1 Root CA ECC384 G1,OU=Amazon RDS,O=Amazon Web Services\\, Inc.,C=US"
    assert from_info["issuer"] == facts["issuer"]


@pytest.mark.parametrize("server_name, dns, ips, expected", [
    ("db.example.com", ["db.example.com"], [], True),
    ("DB.Example.com.", ["db.example.com"], [], True),
    ("db.example.com", ["*.example.com"], [], True),
    ("a.db.example.com", ["*.example.com"], [], False),
    ("example.com", ["*.example.com"], [], False),
    ("other.example.com", ["db.example.com"], [], False),
    ("127.0.0.1", [], ["127.0.0.1"], True),
    ("", ["db.example.com"], [], False),
])
def test_hostname_matches(server_name, dns, ips, expected):
    assert tls_probe.hostname_matches(server_name, dns, ips) is expected


# -- protocol framing ----------------------------------------------------------------------

@pytest.mark.parametrize("engine, protocol", [
    ("postgres", "postgres"), ("aurora-postgresql", "postgres"), ("mysql", "mysql"), ("mariadb", "mysql"),
    ("aurora-mysql", "mysql"), ("sqlserver-se", "tds"), ("custom-sqlserver-ee", "tds"), ("oracle-ee", "tls"),
    ("oracle-se2-cdb", "tls"), ("db2-se", "tls"), ("docdb", "tls"), ("tls", "tls"), ("cassandra", None), (None, None),
])
def test_engine_protocol(engine, protocol):
    assert tls_probe.engine_protocol(engine) == protocol


def _mysql_handshake(ssl_capable=True, version=b"5.5.5-10.11.6-MariaDB-log"):
    caps = 0xFFFF if ssl_capable else 0xFFFF & ~tls_probe.MYSQL_CLIENT_SSL
    return (b"\x0a" + version + b"\0" + struct.pack("<I", 42) + b"abcdefgh" + b"\0" + struct.pack("<H", caps)
            + bytes([45]) + struct.pack("<H", 2) + struct.pack("<H", 0x81FF) + bytes([21]) + b"\0" * 10
            + b"ijklmnopqrst\0" + b"mysql_native_password\0")


def test_parse_mysql_handshake():
    parsed = tls_probe.parse_mysql_handshake(_mysql_handshake())
    assert parsed["server_version"] == "10.11.6-MariaDB-log"
    assert parsed["capabilities"] & tls_probe.MYSQL_CLIENT_SSL
    assert parsed["capabilities"] >> 16 == 0x81FF
    assert parsed["charset"] == 45
    assert not tls_probe.parse_mysql_handshake(_mysql_handshake(False))["capabilities"] & tls_probe.MYSQL_CLIENT_SSL


def test_parse_mysql_handshake_errors():
    with pytest.raises(tls_probe.ProbeError, match="error 1040: Too many connections"):
        tls_probe.parse_mysql_handshake(b"\xff" + struct.pack("<H", 1040) + b"Too many connections")
    with pytest.raises(tls_probe.ProbeError, match="protocol 10"):
        tls_probe.parse_mysql_handshake(b"\x09whatever\0")
    with pytest.raises(tls_probe.ProbeError):
        tls_probe.parse_mysql_handshake(b"")


def test_mysql_ssl_request_layout():
    packet = tls_probe.mysql_ssl_request(1)
    assert len(packet) == 4 + 32
    assert packet[:3] == b"\x20\x00\x00" and packet[3] == 1
    flags, max_packet, charset = struct.unpack("<IIB", packet[4:13])
    assert flags & tls_probe.MYSQL_CLIENT_SSL and flags & tls_probe.MYSQL_CLIENT_PROTOCOL_41
    assert max_packet == 16 * 1024 * 1024 and charset == 45
    assert packet[13:] == b"\0" * 23


def test_tds_prelogin_roundtrip():
    packet = tls_probe.tds_prelogin()
    assert packet[0] == tls_probe.TDS_PRELOGIN and packet[1] == tls_probe.TDS_STATUS_EOM
    assert struct.unpack(">H", packet[2:4])[0] == len(packet)
    options = tls_probe.parse_tds_prelogin(packet[8:])
    assert options[0x01] == b"\x01"  # ENCRYPT_ON
    assert len(options[0x00]) == 6 and options[0x04] == b"\0"


# -- fake servers --------------------------------------------------------------------------

class FakeServer:
    """Accepts connections on 127.0.0.1 and runs ``handler(conn)`` for each one, in a thread."""

    def __init__(self, handler):
        self.handler = handler
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.errors = []
        self.received = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        conn.settimeout(5)
        try:
            self.handler(self, conn)
        except (OSError, ssl.SSLError, ValueError) as exc:
            self.errors.append(exc)
        finally:
            conn.close()

    def close(self):
        self.sock.close()


def _recv(conn, count):
    data = b""
    while len(data) < count:
        chunk = conn.recv(count - len(data))
        if not chunk:
            raise OSError("client closed")
        data += chunk
    return data


def _server_context(pki, cert="leaf", key="leaf_key"):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki[cert], pki[key])
    return context


def _tls_accept(context, conn):
    tls = context.wrap_socket(conn, server_side=True)
    try:
        tls.recv(1)  # until the client goes away
    except (OSError, ssl.SSLError):
        pass
    finally:
        tls.close()


def postgres_handler(context, answer=b"S"):
    def handler(server, conn):
        request = _recv(conn, 8)
        server.received.append(request)
        assert struct.unpack("!ii", request) == (8, 80877103)
        conn.sendall(answer)
        if answer == b"S":
            _tls_accept(context, conn)
    return handler


def mysql_handler(context, ssl_capable=True, error=None):
    def handler(server, conn):
        if error:
            payload = b"\xff" + struct.pack("<H", 1040) + error
            conn.sendall(struct.pack("<I", len(payload))[:3] + b"\x00" + payload)
            return
        payload = _mysql_handshake(ssl_capable)
        conn.sendall(struct.pack("<I", len(payload))[:3] + b"\x00" + payload)
        if not ssl_capable:
            conn.recv(1)
            return
        request = _recv(conn, 36)
        server.received.append(request)
        assert request[3] == 1 and struct.unpack("<I", request[4:8])[0] & tls_probe.MYSQL_CLIENT_SSL
        _tls_accept(context, conn)
    return handler


def _tds_read(conn):
    header = _recv(conn, 8)
    return header[0], _recv(conn, struct.unpack(">H", header[2:4])[0] - 8)


def tds_handler(context, encryption=3):
    def handler(server, conn):
        packet_type, payload = _tds_read(conn)
        server.received.append(payload)
        assert packet_type == tls_probe.TDS_PRELOGIN
        version = struct.pack(">BBHH", 15, 0, 4355, 0)
        body = struct.pack(">BHHBHH", 0x00, 11, 6, 0x01, 17, 1) + b"\xff" + version + bytes([encryption])
        conn.sendall(tls_probe.tds_packet(tls_probe.TDS_RESPONSE, body))
        if encryption == 2:
            return
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = context.wrap_bio(incoming, outgoing, server_side=True)
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                data = outgoing.read()
                if data:
                    conn.sendall(tls_probe.tds_packet(tls_probe.TDS_PRELOGIN, data))
                packet_type, data = _tds_read(conn)
                assert packet_type == tls_probe.TDS_PRELOGIN
                incoming.write(data)
        server.received.append(b"handshake-done")
    return handler


def direct_tls_handler(context):
    def handler(_server, conn):
        _tls_accept(context, conn)
    return handler


@pytest.fixture()
def serve():
    servers = []

    def start(handler):
        server = FakeServer(handler)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.mark.parametrize("engine, make_handler", [
    ("postgres", postgres_handler),
    ("mariadb", mysql_handler),
    ("sqlserver-se", tds_handler),
    ("oracle-ee", direct_tls_handler),
])
def test_probe_verifies_and_maps_the_ca(pki, serve, engine, make_handler):
    server = serve(make_handler(_server_context(pki)))
    result = tls_probe.probe_endpoint(SERVER_NAME, 5432, engine, connect_host="127.0.0.1", connect_port=server.port,
                                      ca_bundle=pki["ca"], timeout=5)
    assert result["error"] is None, result
    assert result["verified"] is True
    assert result["read_by"] == "verified_handshake"
    assert result["reachable"] is True and result["tls_supported"] is True
    assert result["presented_ca"] == "rds-ca-ecc384-g1"
    assert result["presented_ca_region"] == "eu-west-1"
    assert result["certificate"]["subject_cn"] == SERVER_NAME
    assert result["certificate"]["issuer_cn"] == "Amazon RDS eu-west-1 Root CA ECC384 G1"
    assert result["hostname_matches"] is True
    assert result["tls_version"] in ("TLSv1.2", "TLSv1.3") and result["cipher"]
    assert result["connect_port"] == server.port and result["connect_host"] == "127.0.0.1"
    assert server.connections == 1  # no diagnostic handshake when verification succeeds
    if engine == "sqlserver-se":
        assert result["server_requires_tls"] is True
        assert result["server_version"] == "15.0.4355"
        deadline = time.monotonic() + 5  # the server finishes after the client's last flight
        while b"handshake-done" not in server.received and not server.errors and time.monotonic() < deadline:
            time.sleep(0.02)
        assert b"handshake-done" in server.received, server.errors
    if engine == "mariadb":
        assert result["server_version"] == "10.11.6-MariaDB-log"


def test_probe_bundle_without_the_ca_reports_what_was_presented(pki, serve):
    server = serve(postgres_handler(_server_context(pki)))
    result = tls_probe.probe_endpoint(SERVER_NAME, server.port, "postgres", connect_host="127.0.0.1",
                                      ca_bundle=pki["other"], timeout=5)
    assert result["error"] is None
    assert result["verified"] is False
    assert result["verify_code"] == 20
    assert result["read_by"] == "diagnostic_handshake"
    assert server.connections == 2
    assert result["presented_ca"] == "rds-ca-ecc384-g1"
    assert "unable to get local issuer certificate" in result["verify_error"]
    assert "has no CA that issued this certificate (issuer 'Amazon RDS eu-west-1 Root CA ECC384 G1'" in result["verify_error"]
    assert pki["other"] in result["verify_error"]


def test_probe_same_name_other_key(pki, serve, tmp_path):
    impostor, _key = _make_ca("Amazon RDS eu-west-1 Root CA ECC384 G1")
    bundle = tmp_path / "impostor.pem"
    bundle.write_bytes(_pem(impostor))
    server = serve(postgres_handler(_server_context(pki)))
    result = tls_probe.probe_endpoint(SERVER_NAME, server.port, "postgres", connect_host="127.0.0.1",
                                      ca_bundle=str(bundle), timeout=5)
    assert result["verified"] is False
    assert "holds a CA named 'Amazon RDS eu-west-1 Root CA ECC384 G1'" in result["verify_error"]
    assert "different key" in result["verify_error"]


def test_probe_hostname_mismatch(pki, serve):
    server = serve(mysql_handler(_server_context(pki)))
    result = tls_probe.probe_endpoint("other.c0ffee1234ab.eu-west-1.rds.amazonaws.com", 3306, "mysql",
                                      connect_host="127.0.0.1", connect_port=server.port, ca_bundle=pki["ca"], timeout=5)
    assert result["verified"] is False
    assert result["verify_code"] == 62
    assert result["hostname_matches"] is False
    assert "Hostname mismatch" in result["verify_error"]
    assert "the certificate is for %s, not other.c0ffee1234ab" % SERVER_NAME in result["verify_error"]
    assert result["certificate"]["subject_cn"] == SERVER_NAME


def test_probe_expired_certificate(pki, serve):
    server = serve(direct_tls_handler(_server_context(pki, "expired", "expired_key")))
    result = tls_probe.probe_endpoint(SERVER_NAME, server.port, "tls", connect_host="127.0.0.1", ca_bundle=pki["ca"],
                                      timeout=5)
    assert result["verified"] is False
    assert result["verify_code"] == 10
    assert result["certificate"]["expired"] is True
    assert "the server certificate expired on" in result["verify_error"]


def test_probe_without_diagnostic_handshake(pki, serve):
    server = serve(postgres_handler(_server_context(pki)))
    result = tls_probe.probe_endpoint(SERVER_NAME, server.port, "postgres", connect_host="127.0.0.1",
                                      ca_bundle=pki["other"], timeout=5, diagnostic=False)
    assert result["verified"] is False
    assert result["certificate"] is None and result["read_by"] is None
    assert server.connections == 1


def test_probe_server_without_tls(pki, serve):
    server = serve(postgres_handler(None, answer=b"N"))
    result = tls_probe.probe_endpoint(SERVER_NAME, server.port, "postgres", connect_host="127.0.0.1", timeout=5)
    assert result["reachable"] is True and result["tls_supported"] is False
    assert result["verified"] is None
    assert "answered N" in result["error"]
    server = serve(mysql_handler(None, ssl_capable=False))
    result = tls_probe.probe_endpoint(SERVER_NAME, server.port, "mariadb", connect_host="127.0.0.1", timeout=5)
    assert result["tls_supported"] is False and "CLIENT_SSL" in result["error"]
    server = serve(tds_handler(None, encryption=2))
    result = tls_probe.probe_endpoint(SERVER_NAME, server.port, "sqlserver-ex", connect_host="127.0.0.1", timeout=5)
    assert result["tls_supported"] is False and "not_supported" in result["error"]


def test_probe_mysql_error_packet(serve):
    server = serve(mysql_handler(None, error=b"#08004Too many connections"))
    result = tls_probe.probe_endpoint(SERVER_NAME, server.port, "mysql", connect_host="127.0.0.1", timeout=5)
    assert result["reachable"] is True
    assert result["error"] == "the MySQL server refused the connection: error 1040: Too many connections"


def test_probe_wrong_protocol(serve):
    def http(_server, conn):
        conn.recv(64)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    server = serve(http)
    result = tls_probe.probe_endpoint(SERVER_NAME, server.port, "postgres", connect_host="127.0.0.1", timeout=5)
    assert "not a PostgreSQL server" in result["error"]


def test_probe_unreachable_and_timeout(serve):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = tls_probe.probe_endpoint(SERVER_NAME, port, "postgres", connect_host="127.0.0.1", timeout=2)
    assert result["reachable"] is False
    assert result["error"].startswith("cannot connect to 127.0.0.1:%d" % port)

    def silent(_server, conn):
        conn.recv(64)
        threading.Event().wait(3)
    server = serve(silent)
    result = tls_probe.probe_endpoint(SERVER_NAME, server.port, "postgres", connect_host="127.0.0.1", timeout=0.5)
    assert "timed out" in result["error"]


def test_probe_bad_bundle_and_unknown_engine(tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    assert "cannot load the CA bundle" in tls_probe.probe_endpoint(SERVER_NAME, 5432, "postgres", ca_bundle=str(bad))["error"]
    assert "no TLS probe for engine" in tls_probe.probe_endpoint(SERVER_NAME, 5432, "cassandra")["error"]
    assert "no server name" in tls_probe.probe_endpoint(None, 5432, "postgres")["error"]


# -- issue 13 item 8: tolerating only the expiry of an RDS CA being rotated away --------------------------

_NOW = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)
_CA_END = datetime.datetime(2024, 8, 22, 17, 8, 50, tzinfo=datetime.timezone.utc)


def _tol_cert(cn, issuer_cn=None, issuer_key=None, start=None, end=None, ca=True):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn)]) if issuer_cn else name
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start or datetime.datetime(2019, 8, 22, tzinfo=datetime.timezone.utc))
            .not_valid_after(end or _CA_END)
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(issuer_key or key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER), key


def _chain_2019(leaf_end=None, leaf_start=None, root_cn="Amazon RDS Root 2019 CA"):
    root, root_key = _tol_cert(root_cn)
    inter, inter_key = _tol_cert("Amazon RDS us-east-1 2019 CA", root_cn, root_key)
    leaf, _k = _tol_cert("db.example.us-east-1.rds.amazonaws.com", "Amazon RDS us-east-1 2019 CA", inter_key,
                         start=leaf_start, end=leaf_end or _CA_END - datetime.timedelta(days=1), ca=False)
    return [leaf, inter, root]


def test_check_tolerated_expiry_accepts_only_the_tolerated_rds_ca():
    expired = tls_probe.check_tolerated_expiry(_chain_2019(), ("rds-ca-2019",), now=_NOW)
    assert [e["common_name"] for e in expired] == ["Amazon RDS us-east-1 2019 CA", "Amazon RDS Root 2019 CA"]
    assert all(e["ca_identifier"] == "rds-ca-2019" for e in expired)
    with pytest.raises(tls_probe.ExpiryNotTolerated, match="not an RDS CA being rotated away"):
        tls_probe.check_tolerated_expiry(_chain_2019(), ("rds-ca-rsa2048-g1",), now=_NOW)


def test_check_tolerated_expiry_refuses_a_leaf_that_expired_on_its_own():
    early = _CA_END - datetime.timedelta(days=400)
    with pytest.raises(tls_probe.ExpiryNotTolerated, match="expired on its own"):
        tls_probe.check_tolerated_expiry(_chain_2019(leaf_end=early, leaf_start=early - datetime.timedelta(days=365)),
                                         ("rds-ca-2019",), now=_NOW)


def test_check_tolerated_expiry_refuses_a_non_rds_anchor_and_not_yet_valid():
    with pytest.raises(tls_probe.ExpiryNotTolerated, match="not an Amazon RDS CA"):
        tls_probe.check_tolerated_expiry(_chain_2019(root_cn="Corp Proxy Root CA"), ("rds-ca-2019",), now=_NOW)
    future = _NOW + datetime.timedelta(days=10)
    with pytest.raises(tls_probe.ExpiryNotTolerated, match="not valid before"):
        tls_probe.check_tolerated_expiry(_chain_2019(leaf_start=future, leaf_end=future + datetime.timedelta(days=9)),
                                         ("rds-ca-2019",), now=_NOW)
    with pytest.raises(tls_probe.ExpiryNotTolerated, match="not available"):
        tls_probe.check_tolerated_expiry(None, ("rds-ca-2019",), now=_NOW)


def test_check_tolerated_expiry_nothing_expired_tolerates_nothing():
    end = _NOW + datetime.timedelta(days=3650)
    root, key = _tol_cert("Amazon RDS us-east-1 Root CA RSA2048 G1", end=end)
    leaf, _k = _tol_cert("db.example", "Amazon RDS us-east-1 Root CA RSA2048 G1", key, end=end, ca=False)
    assert tls_probe.check_tolerated_expiry([leaf, root], ("rds-ca-2019",), now=_NOW) == []


def test_expiry_tolerant_context_keeps_the_no_check_time_flag():
    context = tls_probe.expiry_tolerant_context()
    assert int(context.verify_flags) & tls_probe.X509_V_FLAG_NO_CHECK_TIME
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED


def test_unknown_issuer_names_the_ca_the_presented_chain_needs():
    """RDS endpoints send leaf + subordinate: the trust store needs the subordinate's issuer (the root)."""
    leaf = {"issuer_cn": "Amazon RDS us-east-1 Subordinate CA RSA2048 G1.A.1"}
    chain = [{"subject_cn": "Amazon RDS us-east-1 Subordinate CA RSA2048 G1.A.1",
              "issuer_cn": "Amazon RDS us-east-1 Root CA RSA2048 G1"}]
    ca = {"ca_identifier": "rds-ca-rsa2048-g1"}
    root = "Amazon RDS us-east-1 Root CA RSA2048 G1"
    # The store holds a root of that name but not that key: "same name, different key".
    text = tls_probe._verify_explanation(20, "unable to get local issuer certificate", "db.example", leaf, ca,
                                         "bundle.pem", {root}, chain)  # pylint: disable=protected-access
    assert "holds a CA named '%s'" % root in text and "same name, different key" in text
    # The store lacks it: named as the CA to add.
    text = tls_probe._verify_explanation(20, "unable to get local issuer certificate", "db.example", leaf, ca,
                                         "bundle.pem", {"Other CA"}, chain)  # pylint: disable=protected-access
    assert "has no CA that issued this certificate (issuer '%s', rds-ca-rsa2048-g1)" % root in text
    # Without a chain (a leaf signed by the root directly) the leaf's issuer is the one.
    text = tls_probe._verify_explanation(20, None, "db.example", {"issuer_cn": root}, ca, "bundle.pem", {root})  # pylint: disable=protected-access
    assert "holds a CA named '%s'" % root in text
