"""Real TLS servers with RDS-lookalike certificates (tests/simulator/pki.py, linked.py).

These tests prove the two properties the rest of the suite relies on:
certificates from LocalPKI look like the RDS CAs and verify (or fail to)
exactly as real ones would, and the linked servers present them to real
clients and switch to a new one on rotate() without a restart.
Every TLS check here verifies the chain *and* the hostname.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from tests.simulator.linked import (
    LinkedMariaDB,
    LinkedPostgres,
    LinkedServer,
    LinkedServerError,
    free_port,
    tools_available,
)
from tests.simulator.catalog import ca_certificate
from tests.simulator.pki import CA_IDENTIFIERS, LocalPKI

REGION = "us-east-1"
SERVER_NAME = "db1.abc123xyz.us-east-1.rds.amazonaws.com"
RSA2048 = "rds-ca-rsa2048-g1"
RSA4096 = "rds-ca-rsa4096-g1"
ECC384 = "rds-ca-ecc384-g1"
CA2019 = "rds-ca-2019"
UTC = dt.timezone.utc


def _attrs(name: x509.Name) -> list[tuple[str, str]]:
    """Name attributes in encoded order (order matters: it is what clients show)."""
    return [(attr.oid._name, str(attr.value)) for attr in name]  # pylint: disable=protected-access


def _cn(name: x509.Name) -> str:
    return str(name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def _verify(
    leaf: x509.Certificate,
    intermediates: list[x509.Certificate],
    roots: list[x509.Certificate],
    hostname: str,
    at: dt.datetime | None = None,
) -> None:
    """Full RFC 5280 path validation plus hostname check (raises VerificationError)."""
    builder = PolicyBuilder().store(Store(roots))
    if at is not None:
        builder = builder.time(at)
    builder.build_server_verifier(x509.DNSName(hostname)).verify(leaf, intermediates)


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> LocalPKI:
    return LocalPKI(tmp_path_factory.mktemp("pki"))


# ----------------------------------------------------------------------- PKI


@pytest.mark.parametrize(
    ("ca_identifier", "label", "not_after_year"),
    [(RSA2048, "RSA2048", 2061), (RSA4096, "RSA4096", 2121), (ECC384, "ECC384", 2121)],
)
def test_g1_roots_match_aws_naming_keys_and_validity(
    pki: LocalPKI, ca_identifier: str, label: str, not_after_year: int
) -> None:
    real = ca_certificate(REGION, ca_identifier)
    cert = pki.ca_certificate(REGION, ca_identifier)
    expected = [
        ("countryName", "US"),
        ("organizationName", "Amazon Web Services, Inc."),
        ("organizationalUnitName", "Amazon RDS"),
        ("stateOrProvinceName", "WA"),
        ("commonName", f"Amazon RDS {REGION} Root CA {label} G1"),
        ("localityName", "Seattle"),
    ]
    assert _attrs(cert.subject) == expected
    assert cert.issuer == cert.subject
    cert.verify_directly_issued_by(cert)
    # The validity of the region's real root, as DescribeCertificates reports it.
    assert cert.not_valid_before_utc == real.valid_from and cert.not_valid_before_utc.year == 2021
    assert cert.not_valid_after_utc == real.valid_till and cert.not_valid_after_utc.year == not_after_year

    key = cert.public_key()
    if ca_identifier == ECC384:
        assert isinstance(key, ec.EllipticCurvePublicKey)
        assert isinstance(key.curve, ec.SECP384R1)
    else:
        assert isinstance(key, rsa.RSAPublicKey)
        assert key.key_size == (4096 if ca_identifier == RSA4096 else 2048)

    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    # The PEM file handed to clients holds exactly this root.
    assert x509.load_pem_x509_certificate(pki.ca_path(REGION, ca_identifier).read_bytes()) == cert


def test_2019_ca_is_a_two_tier_expired_chain(pki: LocalPKI) -> None:
    root = pki.ca_certificate(REGION, CA2019)
    assert _attrs(root.subject) == [
        ("countryName", "US"),
        ("stateOrProvinceName", "Washington"),
        ("localityName", "Seattle"),
        ("organizationName", "Amazon Web Services, Inc."),
        ("organizationalUnitName", "Amazon RDS"),
        ("commonName", "Amazon RDS Root 2019 CA"),
    ]
    # Region-independent root, per-region intermediates.
    assert pki.ca_certificate("eu-west-1", CA2019) == root
    start = dt.datetime(2019, 8, 22, 17, 8, 50, tzinfo=UTC)
    end = dt.datetime(2024, 8, 22, 17, 8, 50, tzinfo=UTC)
    assert (root.not_valid_before_utc, root.not_valid_after_utc) == (start, end)

    server = pki.issue_server_cert(REGION, CA2019, [SERVER_NAME])
    chain = x509.load_pem_x509_certificates(server.chain_pem.encode())
    assert len(chain) == 2
    leaf, intermediate = chain
    assert leaf == x509.load_pem_x509_certificate(server.cert_pem.encode())
    assert _cn(intermediate.subject) == f"Amazon RDS {REGION} 2019 CA"
    assert intermediate.issuer == root.subject
    intermediate.verify_directly_issued_by(root)
    assert intermediate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert (intermediate.not_valid_before_utc, intermediate.not_valid_after_utc) == (start, end)
    assert pki.intermediate_pem(REGION, CA2019) == intermediate.public_bytes(Encoding.PEM).decode()
    assert isinstance(leaf.public_key(), rsa.RSAPublicKey) and leaf.public_key().key_size == 2048

    now = dt.datetime.now(UTC)
    assert start <= leaf.not_valid_before_utc < leaf.not_valid_after_utc <= end < now
    with pytest.raises(VerificationError):
        _verify(leaf, [intermediate], [root], SERVER_NAME)
    # The chain itself is sound: it verified while it was still valid.
    _verify(leaf, [intermediate], [root], SERVER_NAME, at=dt.datetime(2024, 6, 1, tzinfo=UTC))
    # Without the intermediate a client cannot build the path.
    with pytest.raises(VerificationError):
        _verify(leaf, [], [root], SERVER_NAME, at=dt.datetime(2024, 6, 1, tzinfo=UTC))


@pytest.mark.parametrize(("ca_identifier", "label", "key_type", "key_size"), [
    (RSA2048, "RSA2048", rsa.RSAPublicKey, 2048), (RSA4096, "RSA4096", rsa.RSAPublicKey, 4096),
    (ECC384, "ECC384", ec.EllipticCurvePublicKey, 384)])
def test_g1_chain_has_a_subordinate_ca_of_the_cas_key_type(
    pki: LocalPKI, ca_identifier: str, label: str, key_type: type, key_size: int
) -> None:
    """RDS endpoints send leaf <- "Amazon RDS <region> Subordinate CA <kind> G1.<letter>.<n>"; bundles hold roots."""
    root = pki.ca_certificate(REGION, ca_identifier)
    server = pki.issue_server_cert(REGION, ca_identifier, [SERVER_NAME])
    chain = x509.load_pem_x509_certificates(server.chain_pem.encode())
    assert len(chain) == 2
    leaf, subordinate = chain
    assert _cn(subordinate.subject) == f"Amazon RDS {REGION} Subordinate CA {label} G1.A.1"
    assert leaf.issuer == subordinate.subject and subordinate.issuer == root.subject
    subordinate.verify_directly_issued_by(root)
    leaf.verify_directly_issued_by(subordinate)
    basic = subordinate.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert basic.ca and basic.path_length == 0
    for cert in (root, subordinate, leaf):
        assert isinstance(cert.public_key(), key_type) and cert.public_key().key_size == key_size
    assert root.not_valid_before_utc <= subordinate.not_valid_before_utc
    assert subordinate.not_valid_after_utc <= root.not_valid_after_utc
    _verify(leaf, [subordinate], [root], SERVER_NAME)
    # A client given only the root (as in the published bundles) needs the intermediate from the server.
    with pytest.raises(VerificationError):
        _verify(leaf, [], [root], SERVER_NAME)
    # The bundle holds roots only.
    bundle_names = [_cn(c.subject) for c in x509.load_pem_x509_certificates(pki.bundle_pem([REGION]).encode())]
    assert not any("Subordinate" in name for name in bundle_names)


def test_server_certificate_verifies_against_its_ca_and_hostname_only(pki: LocalPKI) -> None:
    server = pki.issue_server_cert(REGION, RSA2048, [SERVER_NAME, "127.0.0.1"], valid_days=30)
    leaf = x509.load_pem_x509_certificate(server.cert_pem.encode())
    subordinate = pki.intermediate_certificate(REGION, RSA2048)
    assert _cn(leaf.subject) == SERVER_NAME
    assert leaf.issuer == subordinate.subject
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [SERVER_NAME]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert server.chain_pem == server.cert_pem + pki.intermediate_pem(REGION, RSA2048)
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc <= dt.timedelta(days=30, minutes=5)

    _verify(leaf, [subordinate], [pki.ca_certificate(REGION, RSA2048)], SERVER_NAME)
    with pytest.raises(VerificationError):
        _verify(leaf, [subordinate], [pki.ca_certificate(REGION, RSA2048)], "db2.abc123xyz.us-east-1.rds.amazonaws.com")
    with pytest.raises(VerificationError):
        _verify(leaf, [subordinate], [pki.ca_certificate(REGION, ECC384)], SERVER_NAME)
    with pytest.raises(VerificationError):
        _verify(leaf, [subordinate], [pki.ca_certificate("us-west-2", RSA2048)], SERVER_NAME)

    # The ssl module (what Python clients use) agrees with cryptography.
    context = ssl.create_default_context(cafile=str(pki.ca_path(REGION, RSA2048)))
    assert context.cert_store_stats()["x509_ca"] == 1

    assert server.key_path.stat().st_mode & 0o777 == 0o600
    assert server.cert_path.read_text() == server.cert_pem
    assert server.chain_path.read_text() == server.chain_pem


def test_roots_are_cached_on_disk_and_reused(tmp_path: Path) -> None:
    first = LocalPKI(tmp_path)
    root = first.ca_certificate("ap-south-1", ECC384)
    second = LocalPKI(tmp_path)
    assert second.ca_certificate("ap-south-1", ECC384) == root
    leaf = x509.load_pem_x509_certificate(
        second.issue_server_cert("ap-south-1", ECC384, ["x.example"]).cert_pem.encode()
    )
    leaf.verify_directly_issued_by(second.intermediate_certificate("ap-south-1", ECC384))
    second.intermediate_certificate("ap-south-1", ECC384).verify_directly_issued_by(root)


def test_bundle_contains_every_generated_root_and_nothing_else(tmp_path: Path) -> None:
    local = LocalPKI(tmp_path / "state")
    assert local.bundle_pem() == ""
    regions = ["us-east-1", "eu-central-1"]
    expected = {local.ca_certificate(r, ca) for r in regions for ca in (RSA2048, ECC384, CA2019)}
    local.issue_server_cert("us-east-1", CA2019, ["a.example"])  # creates an intermediate
    bundle = x509.load_pem_x509_certificates(local.bundle_pem().encode())
    assert len(bundle) == len(expected) == 5  # the 2019 root appears once
    assert set(bundle) == expected
    assert all(cert.issuer == cert.subject for cert in bundle)

    only_ecc = x509.load_pem_x509_certificates(local.bundle_pem(ca_identifiers=[ECC384]).encode())
    assert {_cn(c.subject) for c in only_ecc} == {f"Amazon RDS {r} Root CA ECC384 G1" for r in regions}

    # Naming regions generates what is missing, like the per-region AWS bundles.
    regional = x509.load_pem_x509_certificates(local.bundle_pem(regions=["sa-east-1"]).encode())
    assert {_cn(c.subject) for c in regional} == {
        "Amazon RDS Root 2019 CA",
        "Amazon RDS sa-east-1 Root CA RSA2048 G1",
        "Amazon RDS sa-east-1 Root CA RSA4096 G1",
        "Amazon RDS sa-east-1 Root CA ECC384 G1",
    }
    written = local.write_bundle(tmp_path / "out" / "global-bundle.pem")
    assert written.read_text() == local.bundle_pem()
    assert len(x509.load_pem_x509_certificates(written.read_bytes())) == 8
    assert set(CA_IDENTIFIERS) == {RSA2048, RSA4096, ECC384, CA2019}


def test_pki_rejects_unknown_ca_and_bad_region(pki: LocalPKI) -> None:
    with pytest.raises(ValueError, match="unknown CA"):
        pki.ca_pem(REGION, "rds-ca-2015")
    with pytest.raises(ValueError, match="region"):
        pki.ca_pem("../etc", RSA2048)
    with pytest.raises(ValueError):
        pki.issue_server_cert(REGION, RSA2048, [])


# ----------------------------------------------------------- linked servers


def _require(engine: str) -> None:
    ok, reason = tools_available(engine)
    if not ok:
        pytest.skip(reason)


def _require_openssl() -> str:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl command-line tool not installed (needed for -starttls probes)")
    return openssl


@pytest.fixture
def server_root() -> Iterator[Path]:
    """Private parent for the servers' base_dirs, outside pytest's basetemp.

    pytest chmods /tmp/pytest-of-<user> back to 0700 whenever another pytest
    session starts (a colleague's, or a second job on a CI host), and servers
    running as postgres/mysql below it would then lose access to their own
    files mid-test. A mkdtemp directory in the temp dir is touched by no one else.
    """
    root = Path(tempfile.mkdtemp(prefix="rdsca-linked-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def start_server(server_root: Path) -> Iterator[Callable[..., LinkedServer]]:
    """Factory that starts linked servers and always stops them at teardown."""
    started: list[LinkedServer] = []

    def start(kind: type[LinkedServer], cert_pem: str, key_pem: str, chain_pem: str) -> LinkedServer:
        last_error: LinkedServerError | None = None
        # free_port() can race with another process grabbing the port.
        for _attempt in range(3):
            server = kind(
                server_root / f"{kind.engine}{len(started)}",
                free_port(),
                SERVER_NAME,
                secrets.token_urlsafe(18),
            )
            started.append(server)
            try:
                server.start(cert_pem, key_pem, chain_pem)
                return server
            except LinkedServerError as exc:
                if not re.search(r"in use|Bind", str(exc)):
                    raise
                last_error = exc
        assert last_error is not None
        raise last_error

    yield start
    for server in started:
        server.stop()
    assert not any(server.is_running() for server in started)


@dataclass(frozen=True)
class Probe:
    """What a strict TLS client saw: exit code, verify result, presented chain."""

    returncode: int
    verify: str
    issuer: str
    chain_subjects: list[str]


def _openssl_probe(protocol: str, port: int, cafile: Path, *, abort_on_verify_error: bool = True) -> Probe:
    """Handshake like a strict client, checking chain and hostname."""
    argv = [
        _require_openssl(),
        "s_client",
        "-starttls",
        protocol,
        "-connect",
        f"127.0.0.1:{port}",
        "-servername",
        SERVER_NAME,
        "-verify_hostname",
        SERVER_NAME,
        "-CAfile",
        str(cafile),
        "-showcerts",
    ]
    if abort_on_verify_error:
        argv.append("-verify_return_error")
    result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30, check=False)
    verify = re.search(r"Verify return code: (\d+ \([^)]*\))", result.stdout)
    issuer = re.search(r"^issuer=(.*)$", result.stdout, re.MULTILINE)
    return Probe(
        returncode=result.returncode,
        verify=verify.group(1) if verify else result.stderr.strip()[-300:],
        issuer=issuer.group(1) if issuer else "",
        chain_subjects=re.findall(r"^ \d+ s:(.*)$", result.stdout, re.MULTILINE),
    )


# PostgreSQL -------------------------------------------------------------------


def _pg_connect(server: LinkedServer, dbname: str = "postgres", **kwargs: Any) -> Any:
    import psycopg2  # pylint: disable=import-outside-toplevel

    return psycopg2.connect(
        host=SERVER_NAME,
        hostaddr="127.0.0.1",
        port=server.port,
        user=server.admin_user,
        password=server.admin_password,
        dbname=dbname,
        connect_timeout=10,
        **kwargs,
    )


def _pg_verified(server: LinkedServer, cafile: Path, dbname: str = "postgres") -> Any:
    return _pg_connect(server, dbname, sslmode="verify-full", sslrootcert=str(cafile))


def _pg_scalar(conn: Any, query: str) -> Any:
    with conn.cursor() as cur:
        cur.execute(query)
        return cur.fetchone()[0]


def test_postgres_presents_rds_certificate_and_rotates_without_restart(
    pki: LocalPKI, start_server: Callable[..., LinkedServer]
) -> None:
    _require("postgres")
    import psycopg2  # pylint: disable=import-outside-toplevel

    rsa_ca, ecc_ca = pki.ca_path(REGION, RSA2048), pki.ca_path(REGION, ECC384)
    first = pki.issue_server_cert(REGION, RSA2048, [SERVER_NAME])
    server = start_server(LinkedPostgres, first.cert_pem, first.key_pem, first.chain_pem)
    assert isinstance(server, LinkedPostgres) and server.is_running()

    with _pg_verified(server, rsa_ca) as conn:
        assert _pg_scalar(conn, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") is True
        assert _pg_scalar(conn, "SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid()") in {
            "TLSv1.2",
            "TLSv1.3",
        }
        started_at = _pg_scalar(conn, "SELECT pg_postmaster_start_time()")
    conn.close()
    with pytest.raises(psycopg2.OperationalError, match="certificate verify failed"):
        _pg_verified(server, ecc_ca)
    plain = _pg_connect(server, sslmode="disable")
    try:
        assert _pg_scalar(plain, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") is False
    finally:
        plain.close()
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(
            host=SERVER_NAME,
            hostaddr="127.0.0.1",
            port=server.port,
            user=server.admin_user,
            password="not-the-password",
            dbname="postgres",
            sslmode="verify-full",
            sslrootcert=str(rsa_ca),
        )
    probe = _openssl_probe("postgres", server.port, rsa_ca)
    assert (probe.returncode, probe.verify) == (0, "0 (ok)")
    assert "CN = Amazon RDS us-east-1 Subordinate CA RSA2048 G1.A.1" in probe.issuer
    assert len(probe.chain_subjects) == 2

    pid = server.pid
    survivor = _pg_verified(server, rsa_ca)
    rotated = pki.issue_server_cert(REGION, ECC384, [SERVER_NAME])
    server.rotate(rotated.cert_pem, rotated.key_pem, rotated.chain_pem)

    assert server.pid == pid
    # Sessions opened before the rotation keep working (no restart happened).
    assert _pg_scalar(survivor, "SELECT 1") == 1
    survivor.close()
    with _pg_verified(server, ecc_ca) as conn:
        assert _pg_scalar(conn, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") is True
        assert _pg_scalar(conn, "SELECT pg_postmaster_start_time()") == started_at
    conn.close()
    with pytest.raises(psycopg2.OperationalError, match="certificate verify failed"):
        _pg_verified(server, rsa_ca)
    probe = _openssl_probe("postgres", server.port, ecc_ca)
    assert (probe.returncode, probe.verify) == (0, "0 (ok)")
    assert "CN = Amazon RDS us-east-1 Subordinate CA ECC384 G1.A.1" in probe.issuer


def test_postgres_restart_keeps_data_and_certificate(pki: LocalPKI, start_server: Callable[..., LinkedServer]) -> None:
    _require("postgres")
    cert = pki.issue_server_cert(REGION, RSA4096, [SERVER_NAME])
    server = start_server(LinkedPostgres, cert.cert_pem, cert.key_pem, cert.chain_pem)
    cafile = pki.ca_path(REGION, RSA4096)
    # PostgreSQL 15 reserves "public" in postgres for its owner; like an RDS
    # master user, admin works in its own database.
    with _pg_verified(server, cafile, "admin") as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE kept (v text)")
        cur.execute("INSERT INTO kept VALUES ('survives reboot')")
    conn.close()
    old_pid = server.pid
    server.restart()
    assert server.is_running() and server.pid != old_pid
    with _pg_verified(server, cafile, "admin") as conn:
        assert _pg_scalar(conn, "SELECT v FROM kept") == "survives reboot"
    conn.close()
    server.stop()
    assert not server.is_running() and server.pid is None
    assert "shut down" in server.log_tail()


def test_postgres_presents_the_2019_intermediate(pki: LocalPKI, start_server: Callable[..., LinkedServer]) -> None:
    """Like RDS, the server sends leaf + intermediate; verification fails only on expiry."""
    _require("postgres")
    cert = pki.issue_server_cert(REGION, CA2019, [SERVER_NAME])
    server = start_server(LinkedPostgres, cert.cert_pem, cert.key_pem, cert.chain_pem)
    cafile = pki.ca_path(REGION, CA2019)
    strict = _openssl_probe("postgres", server.port, cafile)
    assert strict.returncode != 0
    assert strict.verify == "10 (certificate has expired)"
    seen = _openssl_probe("postgres", server.port, cafile, abort_on_verify_error=False)
    assert seen.verify == "10 (certificate has expired)"
    assert "CN = Amazon RDS us-east-1 2019 CA" in seen.issuer
    assert len(seen.chain_subjects) == 2
    assert seen.chain_subjects[0].endswith(f"CN = {SERVER_NAME}")
    assert seen.chain_subjects[1].endswith("CN = Amazon RDS us-east-1 2019 CA")


# MariaDB ----------------------------------------------------------------------


def _mariadb_verified(server: LinkedServer, cafile: Path) -> Any:
    """PyMySQL login with full chain + hostname verification against SERVER_NAME.

    PyMySQL checks the certificate against the host it was given, and the RDS
    name does not resolve here; so the TCP connection to 127.0.0.1 is made by
    hand and handed over, while host=SERVER_NAME drives the hostname check.
    """
    import pymysql  # pylint: disable=import-outside-toplevel

    context = ssl.create_default_context(cafile=str(cafile))
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    conn = pymysql.connect(
        host=SERVER_NAME,
        port=server.port,
        user=server.admin_user,
        password=server.admin_password,
        ssl=context,
        defer_connect=True,
        connect_timeout=10,
    )
    conn.connect(socket.create_connection(("127.0.0.1", server.port), timeout=10))
    return conn


def _my_status(conn: Any, name: str) -> str:
    with conn.cursor() as cur:
        cur.execute("SHOW SESSION STATUS LIKE %s", (name,))
        row = cur.fetchone()
        return str(row[1]) if row else ""


def test_mariadb_presents_rds_certificate_and_rotates_without_restart(
    pki: LocalPKI, start_server: Callable[..., LinkedServer]
) -> None:
    _require("mariadb")
    import pymysql  # pylint: disable=import-outside-toplevel

    rsa_ca, ecc_ca = pki.ca_path(REGION, RSA2048), pki.ca_path(REGION, ECC384)
    first = pki.issue_server_cert(REGION, RSA2048, [SERVER_NAME])
    server = start_server(LinkedMariaDB, first.cert_pem, first.key_pem, first.chain_pem)

    probe = _openssl_probe("mysql", server.port, rsa_ca)
    assert (probe.returncode, probe.verify) == (0, "0 (ok)")
    assert "CN = Amazon RDS us-east-1 Subordinate CA RSA2048 G1.A.1" in probe.issuer
    assert len(probe.chain_subjects) == 2
    wrong = _openssl_probe("mysql", server.port, ecc_ca)
    assert wrong.returncode != 0 and not wrong.verify.startswith("0 ")

    conn = _mariadb_verified(server, rsa_ca)
    try:
        assert _my_status(conn, "Ssl_cipher")
        assert _my_status(conn, "Ssl_version") in {"TLSv1.2", "TLSv1.3"}
        with conn.cursor() as cur:
            cur.execute("SELECT @@performance_schema")
            assert cur.fetchone()[0] == 1
            cur.execute("SELECT COUNT(*) FROM performance_schema.threads WHERE PROCESSLIST_ID = CONNECTION_ID()")
            assert cur.fetchone()[0] == 1
    finally:
        conn.close()
    with pytest.raises(pymysql.err.OperationalError):
        _mariadb_verified(server, ecc_ca)
    # A client that does not ask for TLS at all still gets in (require_secure_transport=OFF,
    # as on RDS by default); PyMySQL would otherwise negotiate TLS opportunistically.
    plain = pymysql.connect(
        host="127.0.0.1",
        port=server.port,
        user=server.admin_user,
        password=server.admin_password,
        ssl_disabled=True,
    )
    try:
        assert _my_status(plain, "Ssl_cipher") == ""
    finally:
        plain.close()

    pid = server.pid
    survivor = _mariadb_verified(server, rsa_ca)
    rotated = pki.issue_server_cert(REGION, ECC384, [SERVER_NAME])
    server.rotate(rotated.cert_pem, rotated.key_pem, rotated.chain_pem)

    assert server.pid == pid
    with survivor.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone()[0] == 1
    survivor.close()
    probe = _openssl_probe("mysql", server.port, ecc_ca)
    assert (probe.returncode, probe.verify) == (0, "0 (ok)")
    assert "CN = Amazon RDS us-east-1 Subordinate CA ECC384 G1.A.1" in probe.issuer
    assert _openssl_probe("mysql", server.port, rsa_ca).returncode != 0
    conn = _mariadb_verified(server, ecc_ca)
    try:
        assert _my_status(conn, "Ssl_cipher")
    finally:
        conn.close()
    with pytest.raises(pymysql.err.OperationalError):
        _mariadb_verified(server, rsa_ca)


def test_mariadb_restart_keeps_data_and_certificate(pki: LocalPKI, start_server: Callable[..., LinkedServer]) -> None:
    _require("mariadb")
    cert = pki.issue_server_cert(REGION, ECC384, [SERVER_NAME])
    server = start_server(LinkedMariaDB, cert.cert_pem, cert.key_pem, cert.chain_pem)
    cafile = pki.ca_path(REGION, ECC384)
    conn = _mariadb_verified(server, cafile)
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE kept")
            cur.execute("CREATE TABLE kept.t (v VARCHAR(40))")
            cur.execute("INSERT INTO kept.t VALUES ('survives reboot')")
        conn.commit()
    finally:
        conn.close()
    old_pid = server.pid
    server.restart()
    assert server.is_running() and server.pid != old_pid
    conn = _mariadb_verified(server, cafile)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT v FROM kept.t")
            assert cur.fetchone()[0] == "survives reboot"
    finally:
        conn.close()
    server.stop()
    assert not server.is_running()
    assert "Shutdown complete" in server.log_tail()


def test_servers_run_side_by_side(pki: LocalPKI, start_server: Callable[..., LinkedServer]) -> None:
    """Several instances at once (a small fleet), each on its own port and dir."""
    _require("postgres")
    _require("mariadb")
    cert = pki.issue_server_cert(REGION, RSA2048, [SERVER_NAME])
    servers = [
        start_server(kind, cert.cert_pem, cert.key_pem, cert.chain_pem)
        for kind in (LinkedPostgres, LinkedPostgres, LinkedMariaDB, LinkedMariaDB)
    ]
    assert len({s.port for s in servers}) == 4
    assert len({s.base_dir for s in servers}) == 4
    assert all(s.is_running() for s in servers)
    for server in servers:
        protocol = "postgres" if isinstance(server, LinkedPostgres) else "mysql"
        probe = _openssl_probe(protocol, server.port, pki.ca_path(REGION, RSA2048))
        assert (probe.returncode, probe.verify) == (0, "0 (ok)"), server


def test_start_failure_reports_log_tail(pki: LocalPKI, server_root: Path) -> None:
    """A server that cannot start fails fast with its log, not a bare timeout."""
    _require("postgres")
    cert = pki.issue_server_cert(REGION, RSA2048, [SERVER_NAME])
    # Leaf keys are one per key kind, so another RSA key comes from the RSA 4096 CA.
    other = pki.issue_server_cert(REGION, RSA4096, [SERVER_NAME])
    server = LinkedPostgres(server_root / "postgres", free_port(), SERVER_NAME, secrets.token_urlsafe(18))
    try:
        # Key that does not match the certificate: PostgreSQL refuses to start.
        with pytest.raises(LinkedServerError, match="(?s)exited with code.*key values mismatch"):
            server.start(cert.cert_pem, other.key_pem, cert.chain_pem)
        assert not server.is_running()
        # Fixing the key is enough: the half-initialised instance comes up complete.
        server.start(cert.cert_pem, cert.key_pem, cert.chain_pem)
        with _pg_verified(server, pki.ca_path(REGION, RSA2048)) as conn:
            assert _pg_scalar(conn, "SELECT current_user") == server.admin_user
        conn.close()
    finally:
        server.stop()
