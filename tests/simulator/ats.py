"""A local stand-in for Amazon Trust Services, the CA behind AWS Certificate Manager (ACM) certificates.

An RDS Proxy endpoint does not present the database's RDS CA chain: "RDS Proxy uses certificates from the AWS
Certificate Manager (ACM)", so rotating a database's CA does not change what clients of the proxy must trust,
and a client that verifies the proxy needs the Amazon root CAs (Amazon RDS User Guide, "Using TLS/SSL with
RDS Proxy" and "Rotating your SSL/TLS certificate", "Considerations"; ACM User Guide, "Trusted certificate
authorities"; https://www.amazontrust.com/repository/). This PKI reproduces what a client observes of that
chain with local keys: a root named as ``Amazon Root CA 1`` (C=US, O=Amazon; RSA 2048, SHA-256, valid
2015-05-26 to 2038-01-17 as the real one), an intermediate named as ACM's ``Amazon RSA 2048 M02``, and leaves
for the proxy endpoints (13 months, ACM's validity). A client holding only the RDS bundle cannot verify it, and
one holding only this root cannot verify an RDS endpoint: the two trusts are separate, as on AWS.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .pki import _ca_cert, _key_pem, _san_entries, _write  # pylint: disable=protected-access

_UTC = dt.timezone.utc
ROOT_NAME = "Amazon Root CA 1"
INTERMEDIATE_NAME = "Amazon RSA 2048 M02"
_ROOT_VALIDITY = (dt.datetime(2015, 5, 26, tzinfo=_UTC), dt.datetime(2038, 1, 17, tzinfo=_UTC))
_INTERMEDIATE_VALIDITY = (dt.datetime(2022, 8, 23, 22, 21, 28, tzinfo=_UTC),
                          dt.datetime(2030, 8, 23, 22, 21, 28, tzinfo=_UTC))
ACM_LEAF_DAYS = 395


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Amazon"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@dataclass(frozen=True)
class IssuedCert:
    cert_pem: str
    key_pem: str
    chain_pem: str  # leaf + intermediate: what an ACM-backed endpoint presents


class AmazonTrustServicesPKI:
    """Root and intermediate generated once per state directory (on disk), leaves on demand."""

    def __init__(self, state_dir: str | os.PathLike[str]) -> None:
        self.state_dir = Path(state_dir)
        self._lock = threading.Lock()
        self._cas: tuple[tuple[x509.Certificate, rsa.RSAPrivateKey], tuple[x509.Certificate, rsa.RSAPrivateKey]] | None = None

    @property
    def root_path(self) -> Path:
        """A file holding only the Amazon Root CA 1 stand-in (what a proxy client trusts)."""
        self._load()
        return self.state_dir / "root.pem"

    def root_pem(self) -> str:
        return self.root_path.read_text(encoding="ascii")

    def issue(self, hostnames: list[str]) -> IssuedCert:
        """An ACM-like certificate for ``hostnames`` (the first is the subject CN), chained to the intermediate."""
        (_root, _root_key), (inter, inter_key) = self._load()
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = dt.datetime.now(_UTC).replace(microsecond=0)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0][:64])]))
            .issuer_name(inter.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(min(now + dt.timedelta(days=ACM_LEAF_DAYS), _INTERMEDIATE_VALIDITY[1]))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectAlternativeName(_san_entries(tuple(hostnames))), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(inter_key.public_key()), critical=False)
            .sign(inter_key, hashes.SHA256())
        )
        cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
        inter_pem = inter.public_bytes(serialization.Encoding.PEM).decode("ascii")
        return IssuedCert(cert_pem, _key_pem(key), cert_pem + inter_pem)

    def _load(self) -> tuple:
        with self._lock:
            if self._cas is not None:
                return self._cas
            self.state_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.state_dir / ".lock", os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                root = self._load_or_create("root", lambda: self._make(ROOT_NAME, None, _ROOT_VALIDITY, None))
                inter = self._load_or_create("intermediate", lambda: self._make(INTERMEDIATE_NAME, root,
                                                                                _INTERMEDIATE_VALIDITY, 0))
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
            self._cas = (root, inter)
            return self._cas

    def _load_or_create(self, stem: str, factory) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
        cert_path, key_path = self.state_dir / f"{stem}.pem", self.state_dir / f"{stem}.key"
        if cert_path.exists() and key_path.exists():
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            if not isinstance(key, rsa.RSAPrivateKey):
                raise ValueError(f"unexpected key type in {key_path}")
            return x509.load_pem_x509_certificate(cert_path.read_bytes()), key
        cert, key = factory()
        _write(key_path, _key_pem(key), 0o600)
        _write(cert_path, cert.public_bytes(serialization.Encoding.PEM).decode("ascii"), 0o644)
        return cert, key

    @staticmethod
    def _make(common_name: str, issuer: tuple | None, validity: tuple[dt.datetime, dt.datetime],
              path_length: int | None) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        issuer_name, issuer_key = (issuer[0].subject, issuer[1]) if issuer else (_name(common_name), key)
        cert = _ca_cert(_name(common_name), key, issuer_name, issuer_key, validity[0], validity[1], hashes.SHA256(),
                        path_length)
        return cert, key
