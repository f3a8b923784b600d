"""Local stand-ins for the Amazon RDS certificate authorities.

The real RDS CAs cannot sign anything for us, but the collection only cares
about what a client can observe: the *names* of the CAs (issuer/subject
strings, which the modules match against ``DescribeCertificates`` output and
against trust-store bundles), their key types, their validity windows (the
2019 CA really is expired) and the chain a server presents. ``LocalPKI``
reproduces exactly those observable properties with freshly generated keys so
that real database servers (see ``linked.py``) can present certificates that
look like RDS ones and that verify against a locally written bundle.

Chains are those RDS endpoints send (Amazon RDS User Guide, "Using SSL/TLS to
encrypt a connection to a DB instance or cluster" and "Certificate authorities"):
G1 leaves are issued by a per-region ``Amazon RDS <region> Subordinate CA <kind>
G1.A.1`` under the region's root, with keys of the CA's kind (RSA 2048, RSA 4096,
EC P-384), and the server presents leaf and subordinate (the published bundles
hold only the roots); rds-ca-2019 leaves are issued by ``Amazon RDS <region>
2019 CA`` under ``Amazon RDS Root 2019 CA``. G1 roots carry the validity of the
region's real root (``ca_catalog.json``).

Everything generated is cached on disk under ``state_dir`` so that repeated
test runs (and several simulator processes sharing one ``state_dir``) do not
pay for RSA 4096 key generation more than once per region.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import ipaddress
import os
import re
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .catalog import ca_certificate

__all__ = [
    "CA_IDENTIFIERS",
    "CA_2019",
    "LocalPKI",
    "ServerCert",
]

CA_2019 = "rds-ca-2019"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

_UTC = dt.timezone.utc
# AWS region names, including partitions such as us-gov-west-1 and cn-north-1.
# Also keeps region strings safe to use as directory names.
_REGION_RE = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d+$")
# Longest value X.509 allows in a CommonName (ub-common-name).
_MAX_CN_LENGTH = 64


@dataclass(frozen=True)
class _G1Spec:
    """Observable properties of one of the 2021 "G1" per-region root CAs."""

    label: str
    key_kind: str
    key_size: int
    hash_name: str
    not_before: dt.datetime
    not_after: dt.datetime


_G1_NOT_BEFORE = dt.datetime(2021, 5, 24, tzinfo=_UTC)
_G1_SPECS: dict[str, _G1Spec] = {
    "rds-ca-rsa2048-g1": _G1Spec(
        "RSA2048", "rsa", 2048, "sha256", _G1_NOT_BEFORE, dt.datetime(2061, 5, 24, tzinfo=_UTC)
    ),
    "rds-ca-rsa4096-g1": _G1Spec(
        "RSA4096", "rsa", 4096, "sha384", _G1_NOT_BEFORE, dt.datetime(2121, 5, 24, tzinfo=_UTC)
    ),
    "rds-ca-ecc384-g1": _G1Spec("ECC384", "ec", 384, "sha384", _G1_NOT_BEFORE, dt.datetime(2121, 5, 24, tzinfo=_UTC)),
}
# The 2019 CA expired on this exact instant; keeping it makes "expired CA"
# handling testable with the same dates operators saw.
_2019_NOT_BEFORE = dt.datetime(2019, 8, 22, 17, 8, 50, tzinfo=_UTC)
_2019_NOT_AFTER = dt.datetime(2024, 8, 22, 17, 8, 50, tzinfo=_UTC)

CA_IDENTIFIERS: tuple[str, ...] = (CA_2019, *_G1_SPECS)
# The generation/sequence label of the subordinate CAs (AWS: "G1.<letter>.<n>").
G1_SUBORDINATE_LABEL = "G1.A.1"


def _hash(name: str) -> hashes.HashAlgorithm:
    return hashes.SHA384() if name == "sha384" else hashes.SHA256()


def _g1_subject(region: str, spec: _G1Spec, role: str = "Root") -> x509.Name:
    """Subject of a G1 root (or subordinate CA), attribute order exactly as AWS issued it."""
    common_name = (f"Amazon RDS {region} Root CA {spec.label} G1" if role == "Root"
                   else f"Amazon RDS {region} Subordinate CA {spec.label} {G1_SUBORDINATE_LABEL}")
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Amazon Web Services, Inc."),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Amazon RDS"),
            x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "WA"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.LOCALITY_NAME, "Seattle"),
        ]
    )


def _g1_spec(region: str, ca_identifier: str) -> _G1Spec:
    """The G1 spec with the validity of the region's real root (us-west-2's outside the catalog)."""
    spec = _G1_SPECS[ca_identifier]
    real = ca_certificate(region, ca_identifier)
    return _G1Spec(spec.label, spec.key_kind, spec.key_size, spec.hash_name, real.valid_from, real.valid_till)


def _new_key(kind: str, size: int) -> PrivateKey:
    if kind == "ec":
        return ec.generate_private_key(ec.SECP384R1() if size == 384 else ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=size)


def _2019_subject(common_name: str) -> x509.Name:
    """Subject of the 2019 root and its per-region intermediates (AWS order)."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Washington"),
            x509.NameAttribute(NameOID.LOCALITY_NAME, "Seattle"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Amazon Web Services, Inc."),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Amazon RDS"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


@dataclass(frozen=True)
class _CA:
    """A loaded CA: certificate, its private key and where it lives on disk."""

    cert: x509.Certificate
    key: PrivateKey
    cert_path: Path

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


@dataclass(frozen=True)
class ServerCert:
    """A server certificate as an RDS instance would hold it.

    ``chain_pem`` is what the server should be configured to present: the leaf
    followed by the intermediate when the CA has one (rds-ca-2019), because
    that is what RDS endpoints send and what clients must cope with.
    """

    region: str
    ca_identifier: str
    hostnames: tuple[str, ...]
    serial_number: int
    not_before: dt.datetime
    not_after: dt.datetime
    cert_pem: str
    key_pem: str
    chain_pem: str
    cert_path: Path
    key_path: Path
    chain_path: Path


class LocalPKI:
    """Generates, caches and serves RDS-lookalike CAs and server certificates.

    Thread-safe: one re-entrant lock guards generation in-process, and an
    ``flock`` on ``state_dir/.pki.lock`` keeps concurrent processes sharing a
    state_dir from generating two different keys for the same CA.
    """

    def __init__(self, state_dir: str | os.PathLike[str]) -> None:
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._cache: dict[tuple[str, str], _CA] = {}
        self._leaf_keys: dict[tuple[str, int], PrivateKey] = {}
        # flock() conflicts between two descriptors of the same process, and
        # creating an intermediate loads its root while the lock is held, so
        # the process lock is re-entrant by counting (always under _lock).
        self._flock_depth = 0
        self._flock_fd = -1

    # ------------------------------------------------------------------ API

    def ca_pem(self, region: str, ca_identifier: str) -> str:
        """PEM of the trust anchor (root) a client needs for this region/CA."""
        return self._root(region, ca_identifier).pem

    def ca_path(self, region: str, ca_identifier: str) -> Path:
        """Path of a file holding only that root; usable as sslrootcert/CAfile."""
        return self._root(region, ca_identifier).cert_path

    def ca_certificate(self, region: str, ca_identifier: str) -> x509.Certificate:
        """The root as a parsed certificate, for assertions on names and keys."""
        return self._root(region, ca_identifier).cert

    def intermediate_pem(self, region: str, ca_identifier: str) -> str:
        """PEM of the per-region intermediate that issues server certificates (every CA has one)."""
        return self._issuer(region, ca_identifier).pem

    def intermediate_certificate(self, region: str, ca_identifier: str) -> x509.Certificate:
        return self._issuer(region, ca_identifier).cert

    def issue_server_cert(
        self,
        region: str,
        ca_identifier: str,
        hostnames: Iterable[str],
        valid_days: int = 365,
    ) -> ServerCert:
        """Issue a TLS server certificate the way RDS would for an endpoint.

        The leaf is signed by the regional intermediate (subordinate CA) and
        ``chain_pem`` is leaf + intermediate, what RDS presents. For rds-ca-2019
        its validity lies inside the intermediate's (past) window, so it is
        expired just as a real instance still on rds-ca-2019 would be. The leaf
        key has the CA's kind (RSA 2048, RSA 4096, EC P-384); one key per CA kind
        is generated once and cached under state_dir, so RSA 4096 costs once.
        """
        names = tuple(hostnames)
        if not names or any(not isinstance(n, str) or not n for n in names):
            raise ValueError("hostnames must be a non-empty sequence of non-empty strings")
        if valid_days < 1:
            raise ValueError("valid_days must be at least 1")
        issuer = self._issuer(region, ca_identifier)
        not_before, not_after = self._leaf_validity(issuer.cert, valid_days)
        key = self._leaf_key(ca_identifier)
        serial = x509.random_serial_number()
        cert = (
            x509.CertificateBuilder()
            .subject_name(_leaf_subject(names[0]))
            .issuer_name(issuer.cert.subject)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=isinstance(key, rsa.RSAPrivateKey),
                    data_encipherment=False,
                    key_agreement=isinstance(key, ec.EllipticCurvePrivateKey),
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(_san_entries(names)), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
                critical=False,
            )
            .sign(issuer.key, _signing_hash(issuer.key, issuer.cert))
        )
        cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
        key_pem = _key_pem(key)
        chain_pem = cert_pem + issuer.pem

        out_dir = self.state_dir / "servers" / f"{_safe_name(names[0])[:80]}-{serial:x}"
        out_dir.mkdir(parents=True, exist_ok=True)
        cert_path = out_dir / "cert.pem"
        key_path = out_dir / "key.pem"
        chain_path = out_dir / "chain.pem"
        _write(cert_path, cert_pem, 0o644)
        _write(chain_path, chain_pem, 0o644)
        _write(key_path, key_pem, 0o600)
        return ServerCert(
            region=region,
            ca_identifier=ca_identifier,
            hostnames=names,
            serial_number=serial,
            not_before=not_before,
            not_after=not_after,
            cert_pem=cert_pem,
            key_pem=key_pem,
            chain_pem=chain_pem,
            cert_path=cert_path,
            key_path=key_path,
            chain_path=chain_path,
        )

    def bundle_pem(
        self,
        regions: Iterable[str] | None = None,
        ca_identifiers: Iterable[str] | None = None,
    ) -> str:
        """Concatenated root certificates, like AWS's global-bundle.pem.

        With both arguments None the bundle holds every root generated so far
        (in memory or on disk). Passing ``regions`` generates any missing
        roots for those regions (for ``ca_identifiers``, default: all CAs);
        passing only ``ca_identifiers`` restricts the already generated roots
        to those CAs. The 2019 root appears once, as it is region-independent.
        """
        wanted_cas = tuple(ca_identifiers) if ca_identifiers is not None else None
        for ca in wanted_cas or ():
            if ca not in CA_IDENTIFIERS:
                raise ValueError(f"unknown CA identifier {ca!r}")
        pems: dict[Path, str] = {}
        if regions is not None:
            for region in regions:
                for ca in wanted_cas or CA_IDENTIFIERS:
                    root = self._root(region, ca)
                    pems[root.cert_path] = root.pem
        else:
            for ca, path in self._generated_roots():
                if wanted_cas is None or ca in wanted_cas:
                    pems[path] = path.read_text(encoding="ascii")
        return "".join(pems[p] for p in sorted(pems))

    def write_bundle(
        self,
        path: str | os.PathLike[str],
        regions: Iterable[str] | None = None,
        ca_identifiers: Iterable[str] | None = None,
    ) -> Path:
        """Write ``bundle_pem(...)`` to ``path`` (atomically) and return it."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        _write(target, self.bundle_pem(regions, ca_identifiers), 0o644)
        return target

    # ------------------------------------------------------------ internals

    @staticmethod
    def _check(region: str, ca_identifier: str) -> None:
        if ca_identifier not in CA_IDENTIFIERS:
            raise ValueError(f"unknown CA identifier {ca_identifier!r}; known: {', '.join(CA_IDENTIFIERS)}")
        if not _REGION_RE.match(region):
            raise ValueError(f"{region!r} does not look like an AWS region name")

    def _root(self, region: str, ca_identifier: str) -> _CA:
        self._check(region, ca_identifier)
        if ca_identifier == CA_2019:
            return self._load_or_create((ca_identifier, "global"), self._make_2019_root)
        spec = _g1_spec(region, ca_identifier)
        return self._load_or_create((ca_identifier, region), lambda: _make_g1_root(region, spec))

    def _issuer(self, region: str, ca_identifier: str) -> _CA:
        """The CA that signs server certificates: the region's intermediate (subordinate CA)."""
        self._check(region, ca_identifier)
        if ca_identifier != CA_2019:
            return self._load_or_create((f"{ca_identifier}-subordinate", region),
                                        lambda: self._make_g1_subordinate(region, ca_identifier))
        return self._load_or_create((ca_identifier, region), lambda: self._make_2019_intermediate(region))

    def _make_g1_subordinate(self, region: str, ca_identifier: str) -> tuple[x509.Certificate, PrivateKey]:
        root = self._root(region, ca_identifier)
        spec = _g1_spec(region, ca_identifier)
        key = _new_key(spec.key_kind, spec.key_size)
        # Within the root's window; a year shorter, as a subordinate never outlives its root.
        not_after = spec.not_after - dt.timedelta(days=365)
        cert = _ca_cert(_g1_subject(region, spec, role="Subordinate"), key, root.cert.subject, root.key,
                        spec.not_before, not_after, _hash(spec.hash_name), 0)
        return cert, key

    def _leaf_key(self, ca_identifier: str) -> PrivateKey:
        """Server key of the CA's kind (RSA 2048 for rds-ca-2019), generated once per state_dir."""
        if ca_identifier == CA_2019:
            kind, size = "rsa", 2048
        else:
            kind, size = _G1_SPECS[ca_identifier].key_kind, _G1_SPECS[ca_identifier].key_size
        with self._lock:
            cached = self._leaf_keys.get((kind, size))
            if cached is not None:
                return cached
            path = self.state_dir / "leaf-keys" / f"{kind}{size}.pem"
            with self._process_lock():
                if path.exists():
                    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
                    if not isinstance(loaded, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
                        raise ValueError(f"unexpected key type in {path}")
                    key: PrivateKey = loaded
                else:
                    key = _new_key(kind, size)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    _write(path, _key_pem(key), 0o600)
            self._leaf_keys[(kind, size)] = key
            return key

    def _make_2019_root(self) -> tuple[x509.Certificate, PrivateKey]:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = _2019_subject("Amazon RDS Root 2019 CA")
        cert = _ca_cert(name, key, name, key, _2019_NOT_BEFORE, _2019_NOT_AFTER, hashes.SHA256(), None)
        return cert, key

    def _make_2019_intermediate(self, region: str) -> tuple[x509.Certificate, PrivateKey]:
        root = self._root(region, CA_2019)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cert = _ca_cert(
            _2019_subject(f"Amazon RDS {region} 2019 CA"),
            key,
            root.cert.subject,
            root.key,
            _2019_NOT_BEFORE,
            _2019_NOT_AFTER,
            hashes.SHA256(),
            0,
        )
        return cert, key

    def _load_or_create(
        self,
        cache_key: tuple[str, str],
        factory: Callable[[], tuple[x509.Certificate, PrivateKey]],
    ) -> _CA:
        with self._lock:
            cached = self._cache.get(cache_key)
            if cached is not None:
                return cached
            ca_dir = self.state_dir / "ca" / cache_key[0] / cache_key[1]
            cert_path = ca_dir / "cert.pem"
            key_path = ca_dir / "key.pem"
            with self._process_lock():
                if cert_path.exists() and key_path.exists():
                    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
                    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
                    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
                        raise ValueError(f"unexpected key type in {key_path}")
                else:
                    cert, key = factory()
                    ca_dir.mkdir(parents=True, exist_ok=True)
                    # Key first: a reader that sees cert.pem must also find its key.
                    _write(key_path, _key_pem(key), 0o600)
                    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM).decode("ascii"), 0o644)
            loaded = _CA(cert=cert, key=key, cert_path=cert_path)
            self._cache[cache_key] = loaded
            return loaded

    @contextmanager
    def _process_lock(self) -> Iterator[None]:
        """Cross-process exclusive lock; caller must hold ``self._lock``."""
        if self._flock_depth == 0:
            fd = os.open(self.state_dir / ".pki.lock", os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException:
                os.close(fd)
                raise
            self._flock_fd = fd
        self._flock_depth += 1
        try:
            yield
        finally:
            self._flock_depth -= 1
            if self._flock_depth == 0:
                fcntl.flock(self._flock_fd, fcntl.LOCK_UN)
                os.close(self._flock_fd)
                self._flock_fd = -1

    def _generated_roots(self) -> list[tuple[str, Path]]:
        """(ca_identifier, cert path) of every root present on disk."""
        found: list[tuple[str, Path]] = []
        ca_root = self.state_dir / "ca"
        for ca in CA_IDENTIFIERS:
            if ca == CA_2019:
                candidate = ca_root / ca / "global" / "cert.pem"
                if candidate.exists():
                    found.append((ca, candidate))
                continue
            for candidate in sorted((ca_root / ca).glob("*/cert.pem")):
                found.append((ca, candidate))
        return found

    @staticmethod
    def _leaf_validity(issuer: x509.Certificate, valid_days: int) -> tuple[dt.datetime, dt.datetime]:
        ca_start = issuer.not_valid_before_utc
        ca_end = issuer.not_valid_after_utc
        now = dt.datetime.now(_UTC).replace(microsecond=0)
        if ca_end <= now:
            # Expired CA (rds-ca-2019): a leaf it could really have issued ends
            # before the CA does, so it is expired as well.
            not_after = ca_end - dt.timedelta(days=1)
            not_before = max(ca_start, not_after - dt.timedelta(days=valid_days))
            return not_before, not_after
        # A few minutes of back-dating absorbs clock skew between processes.
        not_before = max(ca_start, now - dt.timedelta(minutes=5))
        not_after = min(ca_end, now + dt.timedelta(days=valid_days))
        return not_before, not_after


def _make_g1_root(region: str, spec: _G1Spec) -> tuple[x509.Certificate, PrivateKey]:
    key = _new_key(spec.key_kind, spec.key_size)
    name = _g1_subject(region, spec)
    cert = _ca_cert(name, key, name, key, spec.not_before, spec.not_after, _hash(spec.hash_name), None)
    return cert, key


def _ca_cert(
    subject: x509.Name,
    key: PrivateKey,
    issuer: x509.Name,
    issuer_key: PrivateKey,
    not_before: dt.datetime,
    not_after: dt.datetime,
    algorithm: hashes.HashAlgorithm,
    path_length: int | None,
) -> x509.Certificate:
    """A CA certificate with the extensions clients insist on."""
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
        .sign(issuer_key, algorithm)
    )


def _signing_hash(issuer_key: PrivateKey, issuer_cert: x509.Certificate) -> hashes.HashAlgorithm:
    """Sign leaves with the same digest the CA used for itself (sha256/sha384)."""
    algorithm = issuer_cert.signature_hash_algorithm
    if isinstance(algorithm, (hashes.SHA256, hashes.SHA384)):
        return algorithm
    return hashes.SHA384() if isinstance(issuer_key, ec.EllipticCurvePrivateKey) else hashes.SHA256()


def _leaf_subject(hostname: str) -> x509.Name:
    """RDS-style leaf subject; CN only when the name fits X.509's 64-char limit.

    Long RDS endpoints exceed 64 characters; clients match the SAN anyway,
    so dropping CN keeps such names issuable instead of failing.
    """
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Washington"),
        x509.NameAttribute(NameOID.LOCALITY_NAME, "Seattle"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Amazon.com"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "RDS"),
    ]
    if len(hostname) <= _MAX_CN_LENGTH:
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, hostname))
    return x509.Name(attributes)


def _san_entries(hostnames: tuple[str, ...]) -> list[x509.GeneralName]:
    entries: list[x509.GeneralName] = []
    for name in hostnames:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return entries


def _key_pem(key: PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "server"


def _write(path: Path, text: str, mode: int) -> None:
    """Atomic write with the final mode set before the file becomes visible.

    Atomicity matters because servers and other processes may read these
    files while a new version is written; the mode is applied on the temp
    file so a private key is never readable by others, not even briefly.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
