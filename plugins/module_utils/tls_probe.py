# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Which certificate does a database endpoint present, and does it verify? No credentials needed.

:func:`probe_endpoint` opens a TCP connection, performs the engine's own TLS
upgrade and reads the certificate the server presents:

* PostgreSQL: an ``SSLRequest`` (int32 length 8, int32 80877103); the server
  answers ``S`` (go ahead with TLS) or ``N`` (no TLS).
* MySQL / MariaDB: the server's initial handshake packet (protocol 10, whose
  capability flags say whether ``CLIENT_SSL`` is supported), then an
  ``SSLRequest`` packet (sequence id 1) and the TLS handshake.
* SQL Server: a TDS ``PRELOGIN`` asking for encryption, then the TLS handshake
  carried inside TDS ``PRELOGIN`` packets (as every TDS 7.x client does). The
  server's answer also tells whether it *requires* encryption (``rds.force_ssl``).
* Oracle, Db2 and anything else: TLS from the first byte, on the port of the
  SSL/TLS listener (Oracle's SSL option, 2484 by default, is not the endpoint port:
  pass it as ``connect_port``).

Verification is real verification: ``ssl.create_default_context(cafile=bundle)``
(the system trust store without a bundle), chain *and* hostname checked against
``server_name`` (the RDS endpoint address) while the TCP connection goes to
``connect_host:connect_port`` (a bastion tunnel or port forward).

The one exception, documented where it happens (:func:`_diagnostic_handshake`):
when verification fails, a *second* handshake without verification reads the
certificate so that the report can say what was presented (issuer, expiry,
names). That handshake is abandoned right after the server's certificate
arrives: it sends no credentials, no query, nothing but the TLS handshake, and
its result never counts as verified. Nothing else in this collection ever
disables verification.

Python's ``ssl`` module only exposes the server's full chain from 3.13 on
(``get_unverified_chain``); 3.10 to 3.12 have it privately on the ``_sslobj``,
used when present. Without it the leaf and its issuer name are reported, and
the CA identifier is derived from the issuer's name, intermediates included
(rds_domain.ca_from_name, the collection's one CA-name classifier).

Everything here is standard library (``cryptography`` is used, when installed,
for richer certificate details), so ``rds_ca_rotate`` can verify a rotation with
the same code.
"""

import contextlib
import datetime
import hashlib
import os
import socket
import ssl
import struct
import threading
import time
import typing

# Re-exported: the CA identifiers, the CA-name classifier and the engine protocols live in rds_domain.
from ansible_collections.rdsca.rotation.plugins.module_utils.rds_domain import (  # noqa: F401 pylint: disable=unused-import
    CA_2015,
    CA_2019,
    CA_ECC384_G1,
    CA_RSA2048_G1,
    CA_RSA4096_G1,
    G1_CAS,
    REGIONAL_ROOT_2019_REGIONS,
    ca_from_name,
    engine_protocol,
    iso as _iso,
    parse_time as _utc,
    presented_ca,
    utcnow,
)

try:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - exercised only without cryptography
    HAS_CRYPTOGRAPHY = False

DEFAULT_TIMEOUT = 10.0

# Certificate verification error codes (OpenSSL X509_V_ERR_*) worth explaining.
_UNKNOWN_ISSUER_CODES = (2, 19, 20, 21)  # unable to get issuer cert (locally), self-signed in chain, unable to verify leaf
_EXPIRED_CODES = (10,)
_NOT_YET_VALID_CODES = (9,)
_HOSTNAME_MISMATCH_CODES = (62, 64)

PG_SSL_REQUEST_CODE = 80877103

MYSQL_CLIENT_LONG_PASSWORD = 0x00000001
MYSQL_CLIENT_LONG_FLAG = 0x00000004
MYSQL_CLIENT_PROTOCOL_41 = 0x00000200
MYSQL_CLIENT_SSL = 0x00000800
MYSQL_CLIENT_SECURE_CONNECTION = 0x00008000
MYSQL_CLIENT_PLUGIN_AUTH = 0x00080000
MYSQL_MAX_PACKET = 16 * 1024 * 1024
MYSQL_CHARSET_UTF8MB4 = 45

TDS_PRELOGIN = 0x12
TDS_RESPONSE = 0x04
TDS_STATUS_EOM = 0x01
TDS_ENCRYPT = {0: "off", 1: "on", 2: "not_supported", 3: "required"}


class ProbeError(Exception):
    """The endpoint did not speak the expected protocol, or refused the TLS upgrade."""


class _ConnectTimeout(socket.timeout):
    """The TCP connection itself timed out (connect_timeout), as opposed to a later wait."""


# -- certificates ----------------------------------------------------------------------------

def _name_cn(name: typing.Any) -> typing.Optional[str]:
    try:
        attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    except Exception:  # pylint: disable=broad-except
        return None
    return str(attrs[0].value) if attrs else None


def _public_key_text(cert: typing.Any) -> typing.Optional[str]:
    try:
        key = cert.public_key()
    except Exception:  # pylint: disable=broad-except
        return None
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA %d" % key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC %s" % key.curve.name
    return type(key).__name__


def _validity(cert: typing.Any) -> typing.Tuple[datetime.datetime, datetime.datetime]:
    not_before = getattr(cert, "not_valid_before_utc", None)
    not_after = getattr(cert, "not_valid_after_utc", None)
    if not_before is None:  # cryptography < 42
        not_before = _utc(cert.not_valid_before)
        not_after = _utc(cert.not_valid_after)
    return not_before, not_after


def describe_der(der: bytes, now: typing.Optional[datetime.datetime] = None) -> dict:
    """Facts about a DER certificate (needs ``cryptography``; see :func:`describe_info` otherwise)."""
    now = now or utcnow()
    cert = x509.load_der_x509_certificate(der)
    not_before, not_after = _validity(cert)
    dns_names, ip_addresses = [], []
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns_names = [str(n) for n in san.get_values_for_type(x509.DNSName)]
        ip_addresses = [str(n) for n in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        pass
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    algorithm = cert.signature_hash_algorithm
    return _facts(
        subject=cert.subject.rfc4514_string(), subject_cn=_name_cn(cert.subject),
        issuer=cert.issuer.rfc4514_string(), issuer_cn=_name_cn(cert.issuer),
        serial_number="%x" % cert.serial_number, not_before=not_before, not_after=not_after,
        dns_names=dns_names, ip_addresses=ip_addresses, der=der, now=now,
        public_key=_public_key_text(cert), signature_hash=algorithm.name if algorithm is not None else None,
        is_ca=is_ca,
    )


def _info_name(rdns: typing.Any) -> typing.Tuple[str, typing.Optional[str]]:
    """RFC 4514-style text and CN of a name as ``ssl`` decodes it (tuple of RDN tuples)."""
    short = {"commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU", "countryName": "C",
             "stateOrProvinceName": "ST", "localityName": "L", "emailAddress": "E"}
    parts, cn = [], None
    for rdn in rdns or ():
        for key, value in rdn:
            if key == "commonName" and cn is None:
                cn = value
            parts.append("%s=%s" % (short.get(key, key), value.replace(",", "\\,")))
    return ",".join(reversed(parts)), cn


def _info_time(text: typing.Optional[str]) -> typing.Optional[datetime.datetime]:
    if not text:
        return None
    return datetime.datetime.fromtimestamp(ssl.cert_time_to_seconds(text), datetime.timezone.utc)


def describe_info(info: dict, der: typing.Optional[bytes] = None,
                  now: typing.Optional[datetime.datetime] = None) -> dict:
    """Facts about a certificate from ``ssl``'s decoded form (``getpeercert()`` / ``Certificate.get_info()``)."""
    now = now or utcnow()
    subject, subject_cn = _info_name(info.get("subject"))
    issuer, issuer_cn = _info_name(info.get("issuer"))
    san = info.get("subjectAltName") or ()
    return _facts(
        subject=subject, subject_cn=subject_cn, issuer=issuer, issuer_cn=issuer_cn,
        serial_number=(info.get("serialNumber") or "").lower() or None,
        not_before=_info_time(info.get("notBefore")), not_after=_info_time(info.get("notAfter")),
        dns_names=[v for k, v in san if k == "DNS"], ip_addresses=[v for k, v in san if k == "IP Address"],
        der=der, now=now, public_key=None, signature_hash=None, is_ca=None,
    )


def _facts(subject: str, subject_cn: typing.Optional[str], issuer: str, issuer_cn: typing.Optional[str],
           serial_number: typing.Optional[str], not_before: typing.Optional[datetime.datetime],
           not_after: typing.Optional[datetime.datetime], dns_names: typing.Iterable[str],
           ip_addresses: typing.Iterable[str], der: typing.Optional[bytes], now: datetime.datetime,
           public_key: typing.Optional[str], signature_hash: typing.Optional[str], is_ca: typing.Optional[bool]) -> dict:
    days_left = None
    if not_after is not None:
        days_left = int((not_after - now).total_seconds() // 86400)
    return {
        "subject": subject,
        "subject_cn": subject_cn,
        "issuer": issuer,
        "issuer_cn": issuer_cn,
        "serial_number": serial_number,
        "not_before": _iso(not_before),
        "not_after": _iso(not_after),
        "days_left": days_left,
        "expired": None if not_after is None else not_after <= now,
        "not_yet_valid": None if not_before is None else not_before > now,
        "dns_names": list(dns_names),
        "ip_addresses": list(ip_addresses),
        "sha256_fingerprint": hashlib.sha256(der).hexdigest() if der else None,
        "public_key": public_key,
        "signature_hash": signature_hash,
        "is_ca": is_ca,
    }


def describe_certificate(der: typing.Optional[bytes] = None, info: typing.Optional[dict] = None,
                         now: typing.Optional[datetime.datetime] = None) -> typing.Optional[dict]:
    """Best description available: parsed DER with cryptography, else ssl's decoded dict, else None."""
    if der and HAS_CRYPTOGRAPHY:
        try:
            return describe_der(der, now)
        except Exception:  # pylint: disable=broad-except
            pass
    if info:
        return describe_info(info, der, now)
    if der:
        return {"sha256_fingerprint": hashlib.sha256(der).hexdigest(), "subject": None, "subject_cn": None,
                "issuer": None, "issuer_cn": None, "not_after": None, "expired": None}
    return None


def hostname_matches(server_name: typing.Optional[str], dns_names: typing.Optional[typing.Iterable[str]],
                     ip_addresses: typing.Optional[typing.Iterable[str]] = ()) -> bool:
    """RFC 6125 matching of ``server_name`` against a certificate's names (one leftmost ``*`` label)."""
    if not server_name:
        return False
    name = server_name.rstrip(".").lower()
    if name in [str(ip).lower() for ip in ip_addresses or ()]:
        return True
    for pattern in dns_names or ():
        pattern = str(pattern).rstrip(".").lower()
        if pattern == name:
            return True
        if pattern.startswith("*.") and "." in name:
            head, tail = name.split(".", 1)
            if head and tail == pattern[2:] and "*" not in tail:
                return True
    return False


def _peer_chain(tls: typing.Any) -> typing.Optional[typing.List[dict]]:
    """The chain the server sent, leaf first: a list of ``{"der", "info"}``, or None when Python cannot tell.

    Python 3.13 has ``get_unverified_chain()`` (DER bytes); 3.10-3.12 only on the private
    ``_sslobj`` (certificate objects), used when present and ignored otherwise.
    """
    candidates = []
    inner = getattr(tls, "_sslobj", None)
    if inner is not None:
        candidates.append(getattr(inner, "get_unverified_chain", None))
    candidates.append(getattr(tls, "get_unverified_chain", None))
    for getter in candidates:
        if getter is None:
            continue
        try:
            chain = getter()
        except Exception:  # pylint: disable=broad-except
            continue
        if not chain:
            continue
        result = []
        for item in chain:
            if isinstance(item, (bytes, bytearray)):
                result.append({"der": bytes(item), "info": None})
                continue
            der = info = None
            try:
                der = item.public_bytes(ssl._ssl.ENCODING_DER)  # pylint: disable=protected-access
            except Exception:  # pylint: disable=broad-except
                pass
            try:
                info = item.get_info()
            except Exception:  # pylint: disable=broad-except
                pass
            result.append({"der": der, "info": info})
        return result
    return None


def _verified_chain_anchor(tls: typing.Any) -> typing.Optional[str]:
    """Subject CN of the trust anchor the verified chain ends at (best effort, else None)."""
    inner = getattr(tls, "_sslobj", None)
    getter = getattr(inner, "get_verified_chain", None) if inner is not None else None
    if getter is None:
        return None
    try:
        chain = getter()
        info = chain[-1].get_info()
    except Exception:  # pylint: disable=broad-except
        return None
    return _info_name(info.get("subject"))[1]


def _tls_facts(tls: typing.Any, now: datetime.datetime) -> dict:
    """What a finished handshake shows: TLS version, cipher, leaf and chain descriptions."""
    der = None
    try:
        der = tls.getpeercert(binary_form=True)
    except (ValueError, ssl.SSLError):
        pass
    info = None
    if der is None or not HAS_CRYPTOGRAPHY:
        try:
            info = tls.getpeercert()  # only populated for verified handshakes
        except (ValueError, ssl.SSLError):
            info = None
    chain = _peer_chain(tls) or []
    if not info and chain and chain[0].get("info"):
        info = chain[0]["info"]
    leaf = describe_certificate(der, info, now)
    described_chain = []
    for item in chain[1:]:
        facts = describe_certificate(item["der"], item["info"], now)
        if facts:
            described_chain.append({
                "subject_cn": facts.get("subject_cn"),
                "issuer_cn": facts.get("issuer_cn"),
                "not_after": facts.get("not_after"),
                "expired": facts.get("expired"),
                "sha256_fingerprint": facts.get("sha256_fingerprint"),
            })
    cipher = tls.cipher()
    return {
        "tls_version": tls.version(),
        "cipher": cipher[0] if cipher else None,
        "certificate": leaf,
        "chain": described_chain if chain else None,
    }


# -- engine protocols ------------------------------------------------------------------------

def _recv_exact(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ProbeError("the server closed the connection after %d of %d expected bytes" % (len(data), count))
        data += chunk
    return data


def _postgres_upgrade(sock: socket.socket) -> dict:
    sock.sendall(struct.pack("!ii", 8, PG_SSL_REQUEST_CODE))
    answer = _recv_exact(sock, 1)
    if answer == b"S":
        return {"tls_supported": True}
    if answer == b"N":
        return {"tls_supported": False, "detail": "the server answered N to SSLRequest: it does not accept TLS (ssl = off)"}
    if answer == b"E":
        message = ""
        try:
            length = struct.unpack("!i", _recv_exact(sock, 4))[0]
            fields = _recv_exact(sock, max(0, min(length - 4, 4096)))
            for field in fields.split(b"\0"):
                if field[:1] == b"M":
                    message = field[1:].decode("utf-8", "replace")
        except (ProbeError, OSError, struct.error):
            pass
        raise ProbeError("the PostgreSQL server answered SSLRequest with an error: %s" % (message or "no message"))
    raise ProbeError("not a PostgreSQL server: it answered SSLRequest with %r" % answer)


def _mysql_read_packet(sock: socket.socket) -> typing.Tuple[bytes, int]:
    header = _recv_exact(sock, 4)
    length = header[0] | (header[1] << 8) | (header[2] << 16)
    return _recv_exact(sock, length), header[3]


def parse_mysql_handshake(payload: bytes) -> dict:
    """``{protocol, server_version, capabilities, charset}`` from a MySQL initial handshake packet.

    Raises ProbeError for an error packet (0xFF: too many connections, host blocked...)
    or something that is not a protocol 10 handshake.
    """
    if not payload:
        raise ProbeError("empty MySQL handshake packet")
    if payload[0] == 0xFF:
        code = struct.unpack("<H", payload[1:3])[0] if len(payload) >= 3 else 0
        message = payload[3:].decode("utf-8", "replace")
        if message.startswith("#"):
            message = message[6:]
        raise ProbeError("the MySQL server refused the connection: error %d: %s" % (code, message))
    if payload[0] != 10:
        raise ProbeError("not a MySQL/MariaDB protocol 10 handshake (first byte %d)" % payload[0])
    end = payload.find(b"\0", 1)
    if end < 0:
        raise ProbeError("malformed MySQL handshake packet")
    version = payload[1:end].decode("utf-8", "replace")
    if version.startswith("5.5.5-"):  # MariaDB's compatibility prefix
        version = version[6:]
    pos = end + 1 + 4 + 8 + 1  # thread id, auth-plugin-data part 1, filler
    if len(payload) < pos + 2:
        raise ProbeError("MySQL handshake packet too short")
    capabilities = struct.unpack("<H", payload[pos:pos + 2])[0]
    charset = None
    if len(payload) >= pos + 7:
        charset = payload[pos + 2]
        capabilities |= struct.unpack("<H", payload[pos + 5:pos + 7])[0] << 16
    return {"protocol": 10, "server_version": version, "capabilities": capabilities, "charset": charset}


def mysql_ssl_request(sequence_id: int = 1) -> bytes:
    """The SSLRequest packet: capability flags, max packet size, charset, 23 filler bytes."""
    flags = (MYSQL_CLIENT_LONG_PASSWORD | MYSQL_CLIENT_LONG_FLAG | MYSQL_CLIENT_PROTOCOL_41 | MYSQL_CLIENT_SSL
             | MYSQL_CLIENT_SECURE_CONNECTION | MYSQL_CLIENT_PLUGIN_AUTH)
    body = struct.pack("<IIB", flags, MYSQL_MAX_PACKET, MYSQL_CHARSET_UTF8MB4) + b"\0" * 23
    return struct.pack("<I", len(body))[:3] + bytes([sequence_id & 0xFF]) + body


def _mysql_upgrade(sock: socket.socket) -> dict:
    payload, sequence = _mysql_read_packet(sock)
    handshake = parse_mysql_handshake(payload)
    facts = {"server_version": handshake["server_version"]}
    if not handshake["capabilities"] & MYSQL_CLIENT_SSL:
        facts.update(tls_supported=False, detail="the server's handshake does not offer CLIENT_SSL: TLS is not configured")
        return facts
    sock.sendall(mysql_ssl_request(sequence + 1))
    facts["tls_supported"] = True
    return facts


def tds_prelogin(encryption: int = 1) -> bytes:
    """A TDS PRELOGIN packet with VERSION, ENCRYPTION (default ON), INSTOPT, THREADID and MARS."""
    options = [
        (0x00, struct.pack(">IH", 0x0F000000, 0)),  # VERSION: client version, subbuild
        (0x01, bytes([encryption])),  # ENCRYPTION
        (0x02, b"\0"),  # INSTOPT: default instance
        (0x03, struct.pack(">I", 0)),  # THREADID
        (0x04, b"\0"),  # MARS off
    ]
    offset = len(options) * 5 + 1
    header, data = b"", b""
    for token, value in options:
        header += struct.pack(">BHH", token, offset + len(data), len(value))
        data += value
    return tds_packet(TDS_PRELOGIN, header + b"\xff" + data)


def tds_packet(packet_type: int, payload: bytes, packet_id: int = 1) -> bytes:
    return struct.pack(">BBHHBB", packet_type, TDS_STATUS_EOM, len(payload) + 8, 0, packet_id & 0xFF, 0) + payload


def parse_tds_prelogin(payload: bytes) -> typing.Dict[int, bytes]:
    """``{token: value bytes}`` of a PRELOGIN payload."""
    options = {}
    pos = 0
    while pos < len(payload) and payload[pos] != 0xFF:
        if pos + 5 > len(payload):
            raise ProbeError("malformed TDS PRELOGIN response")
        token, offset, length = struct.unpack(">BHH", payload[pos:pos + 5])
        options[token] = payload[offset:offset + length]
        pos += 5
    return options


def _tds_read_message(sock: socket.socket) -> typing.Tuple[int, bytes]:
    """One TDS message (packets until EOM): ``(type, payload)``."""
    payload = b""
    while True:
        header = _recv_exact(sock, 8)
        packet_type, status, length = struct.unpack(">BBH", header[:4])
        if length < 8:
            raise ProbeError("malformed TDS packet header")
        payload += _recv_exact(sock, length - 8)
        if status & TDS_STATUS_EOM:
            return packet_type, payload


def _tds_upgrade(sock: socket.socket) -> dict:
    sock.sendall(tds_prelogin())
    packet_type, payload = _tds_read_message(sock)
    if packet_type != TDS_RESPONSE:
        raise ProbeError("not a SQL Server: unexpected TDS packet type 0x%02x" % packet_type)
    options = parse_tds_prelogin(payload)
    encryption = options.get(0x01, b"")
    value = TDS_ENCRYPT.get(encryption[0]) if encryption else None
    facts = {"server_encryption": value}
    version = options.get(0x00, b"")
    if len(version) >= 4:
        facts["server_version"] = "%d.%d.%d" % (version[0], version[1], struct.unpack(">H", version[2:4])[0])
    if value == "required":
        facts["server_requires_tls"] = True
    elif value in ("on", "off"):
        facts["server_requires_tls"] = False
    facts["tls_supported"] = value in ("on", "required", "off")
    if not facts["tls_supported"]:
        facts["detail"] = "the server answered PRELOGIN with encryption %s" % (value or "missing")
    return facts


def _tds_tls_handshake(sock: socket.socket, context: ssl.SSLContext, server_name: str) -> ssl.SSLObject:
    """TLS handshake with each TLS record flight carried in TDS PRELOGIN packets (TDS 7.x)."""
    incoming = ssl.MemoryBIO()
    outgoing = ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=server_name)
    packet_id = 1
    while True:
        try:
            tls.do_handshake()
        except ssl.SSLWantReadError:
            data = outgoing.read()
            if data:
                packet_id += 1
                sock.sendall(tds_packet(TDS_PRELOGIN, data, packet_id))
            _packet_type, payload = _tds_read_message(sock)
            incoming.write(payload)
            continue
        data = outgoing.read()
        if data:
            packet_id += 1
            sock.sendall(tds_packet(TDS_PRELOGIN, data, packet_id))
        return tls


UPGRADES = {"postgres": _postgres_upgrade, "mysql": _mysql_upgrade, "tds": _tds_upgrade, "tls": None}


# -- contexts --------------------------------------------------------------------------------

def verifying_context(ca_bundle: typing.Optional[str] = None) -> ssl.SSLContext:
    """Chain and hostname verification against ``ca_bundle`` (a PEM file) or the system trust store.

    ``VERIFY_X509_STRICT`` (set by Python 3.13+) is cleared so that certificates are judged
    as libpq and the MySQL clients judge them; chain, expiry and hostname are all checked.
    """
    context = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else ssl.create_default_context()
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    if hasattr(ssl, "VERIFY_X509_STRICT"):
        context.verify_flags &= ~ssl.VERIFY_X509_STRICT
    return context


_SHARED_CONTEXTS = {}
_SHARED_CONTEXTS_LOCK = threading.Lock()


def shared_verifying_context(ca_bundle: typing.Optional[str] = None) -> ssl.SSLContext:
    """:func:`verifying_context`, made once per trust store and shared by the probes of one process.

    Loading a bundle costs 10-20 ms of CPU under the GIL: made per probe, 1,000 endpoints spent seconds on it
    before their first packet (issue 20). An ``SSLContext`` is safe to share between threads once set up;
    nothing changes it after this. The key is the file's identity and modification (or, for the system trust
    store, the SSL_CERT_FILE/SSL_CERT_DIR environment), so a bundle rewritten in place is loaded again.
    """
    if ca_bundle:
        info = os.stat(ca_bundle)
        key = (ca_bundle, info.st_dev, info.st_ino, info.st_mtime_ns, info.st_size)
    else:
        key = (None, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    with _SHARED_CONTEXTS_LOCK:
        context = _SHARED_CONTEXTS.get(key)
        if context is None:
            context = verifying_context(ca_bundle)
            if len(_SHARED_CONTEXTS) >= 16:
                _SHARED_CONTEXTS.clear()
            _SHARED_CONTEXTS[key] = context
    return context


def _diagnostic_context() -> ssl.SSLContext:
    """For :func:`_diagnostic_handshake` only: reads a certificate without trusting it.

    This context never carries credentials or queries: the diagnostic handshake that
    uses it stops right after the TLS handshake.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _close(*items: typing.Any) -> None:
    """Close sockets, ignoring the errors of a connection that is already gone."""
    for item in items:
        if item is not None:
            try:
                item.close()
            except OSError:
                pass


@contextlib.contextmanager
def _upgraded(protocol: str, address: tuple, timeout: float,
              connect_timeout: typing.Optional[float] = None) -> typing.Iterator[typing.Tuple[socket.socket, dict]]:
    """TCP connect and the engine's TLS upgrade: yields ``(socket, pre-TLS facts)``, closes the socket after.

    The prologue of every handshake. ``connect_timeout`` bounds the TCP connection alone (default
    ``timeout``; its expiry raises :class:`_ConnectTimeout`), ``timeout`` every later wait.
    """
    try:
        sock = socket.create_connection(address, timeout=connect_timeout or timeout)
    except socket.timeout as exc:
        raise _ConnectTimeout(str(exc) or "timed out")
    try:
        sock.settimeout(timeout)
        upgrade = UPGRADES.get(protocol)
        yield sock, (upgrade(sock) if upgrade is not None else {"tls_supported": True})
    finally:
        _close(sock)


def _handshake(protocol: str, server_name: str, address: tuple, context: ssl.SSLContext, timeout: float,
               connect_timeout: typing.Optional[float] = None) -> typing.Tuple[dict, typing.Optional[dict]]:
    """TCP connect, engine upgrade, TLS handshake. ``(pre_tls_facts, tls_facts or None)``; closes everything.

    ``connect_timeout`` bounds the TCP connection alone (default ``timeout``), ``timeout`` every later wait.
    """
    with _upgraded(protocol, address, timeout, connect_timeout) as (sock, pre):
        if not pre.get("tls_supported"):
            return pre, None
        tls = None
        try:
            if protocol == "tds":
                tls = _tds_tls_handshake(sock, context, server_name)
            else:
                tls = context.wrap_socket(sock, server_hostname=server_name)
            facts = _tls_facts(tls, utcnow())
            facts["trust_anchor"] = _verified_chain_anchor(tls) if context.verify_mode == ssl.CERT_REQUIRED else None
            return pre, facts
        finally:
            if isinstance(tls, ssl.SSLSocket):
                _close(tls)


def _diagnostic_handshake(protocol: str, server_name: str, address: tuple, timeout: float,
                          connect_timeout: typing.Optional[float] = None) -> typing.Tuple[dict, typing.Optional[dict]]:
    """Read what the server presents when verification failed. NOT a trusted connection.

    A fresh TCP connection, the engine's TLS upgrade and a TLS handshake *without*
    verification, closed as soon as the handshake is done: no credentials, no query, no
    application data is ever sent on it. Its only purpose is to report the certificate
    that failed verification (issuer, names, expiry), and its result never counts as
    verified.
    """
    return _handshake(protocol, server_name, address, _diagnostic_context(), timeout, connect_timeout)


# -- tolerating the expiry of an RDS CA being rotated away (rds_ssl_usage allow_expired_ca) -----------

# OpenSSL's X509_V_FLAG_NO_CHECK_TIME (1.1.0+): verify chain and names, leave validity periods to us.
X509_V_FLAG_NO_CHECK_TIME = 0x200000
# RDS caps a server certificate at its CA's expiry; one that expired more than this before its CA did
# expired on its own, and is not tolerated.
LEAF_EXPIRY_SLACK = datetime.timedelta(days=30)


class ExpiryNotTolerated(ssl.SSLError):
    """The chain verified except for validity periods, but not only because of a tolerated RDS CA's expiry."""


def expiry_tolerant_context(ca_bundle: typing.Optional[str] = None) -> ssl.SSLContext:
    """:func:`verifying_context` without OpenSSL's validity-period checks.

    Only ever used together with :func:`check_tolerated_expiry` on the handshake it made: chain
    (signatures up to a certificate of ``ca_bundle``) and host name are verified by OpenSSL as
    usual; the validity periods are checked by that function, which accepts nothing but the
    expiry of the RDS CAs it is given (and of a server certificate that expired with them).
    """
    context = verifying_context(ca_bundle)
    # ssl.VerifyFlags (an IntFlag) drops unknown bits when read back: set last, never read-modify-write after.
    context.verify_flags = int(context.verify_flags) | X509_V_FLAG_NO_CHECK_TIME
    return context


def verified_chain_der(tls: typing.Any) -> typing.Optional[typing.List[bytes]]:
    """DER of the chain OpenSSL verified, leaf to trust anchor (3.13: public API; 3.10-3.12: ``_sslobj``)."""
    for owner in (getattr(tls, "_sslobj", None), tls):
        getter = getattr(owner, "get_verified_chain", None) if owner is not None else None
        if getter is None:
            continue
        chain = getter()
        if chain:
            return [item if isinstance(item, (bytes, bytearray)) else
                    item.public_bytes(ssl._ssl.ENCODING_DER) for item in chain]  # pylint: disable=protected-access
    return None


def check_tolerated_expiry(chain_der: typing.Optional[typing.List[bytes]], tolerated: typing.Iterable[str],
                           now: typing.Optional[datetime.datetime] = None) -> typing.List[dict]:
    """Validity periods of a verified chain, tolerating only the expiry of the RDS CAs in ``tolerated``.

    ``chain_der``: the verified chain (leaf first, trust anchor last). Rules:

    * the chain must end at an RDS CA (its anchor's name maps to a CA identifier);
    * no certificate may be not yet valid;
    * an expired CA certificate must be an RDS CA whose identifier is in ``tolerated``;
    * an expired server certificate is tolerated only when a tolerated CA of its chain expired too,
      and it expired with it (not more than LEAF_EXPIRY_SLACK before).

    Returns ``[{"ca_identifier", "common_name", "not_after"}]`` of the expired CA certificates
    tolerated (empty when nothing had expired). Raises :class:`ExpiryNotTolerated` otherwise.
    """
    if not HAS_CRYPTOGRAPHY:
        raise ExpiryNotTolerated("the Python library 'cryptography' is needed to check the chain's validity periods")
    if not chain_der:
        raise ExpiryNotTolerated("the verified chain is not available from this Python: expiry cannot be tolerated")
    now = now or utcnow()
    certs = [x509.load_der_x509_certificate(bytes(der)) for der in chain_der]
    names = [_name_cn(c.subject) for c in certs]
    if ca_from_name(names[-1], names) is None:
        raise ExpiryNotTolerated("the chain ends at %r, which is not an Amazon RDS CA" % names[-1])
    tolerated_expired = []
    for index, cert in enumerate(certs):
        not_before, not_after = _validity(cert)
        if not_before > now:
            raise ExpiryNotTolerated("%s is not valid before %s" % (names[index], _iso(not_before)))
        if index == 0 or not_after >= now:
            continue
        ca = ca_from_name(names[index], names)
        if ca is None or ca["ca_identifier"] not in tolerated:
            raise ExpiryNotTolerated("%s expired on %s and is not an RDS CA being rotated away (%s)" % (
                names[index], _iso(not_after), ", ".join(sorted(tolerated)) or "none tolerated"))
        tolerated_expired.append({"ca_identifier": ca["ca_identifier"], "common_name": names[index],
                                  "not_after": _iso(not_after)})
    _leaf_start, leaf_end = _validity(certs[0])
    if leaf_end < now:
        ends = [_validity(c)[1] for c, n in zip(certs[1:], names[1:]) if any(t["common_name"] == n for t in tolerated_expired)]
        if not ends:
            raise ExpiryNotTolerated("the server certificate expired on %s, and no tolerated RDS CA of its chain "
                                     "expired" % _iso(leaf_end))
        if leaf_end < min(ends) - LEAF_EXPIRY_SLACK:
            raise ExpiryNotTolerated("the server certificate expired on %s, long before its CA (%s): it expired on "
                                     "its own" % (_iso(leaf_end), _iso(min(ends))))
    return tolerated_expired


def expiry_tolerant_wrap(context: ssl.SSLContext, sock: socket.socket, server_name: str,
                         tolerated: typing.Iterable[str]) -> typing.Tuple[ssl.SSLSocket, typing.List[dict]]:
    """TLS handshake on ``sock`` with :func:`expiry_tolerant_context`, then :func:`check_tolerated_expiry`.

    Returns ``(tls socket, tolerated CAs)``; closes the TLS socket and raises
    :class:`ExpiryNotTolerated` when the chain's validity periods are not acceptable.
    """
    tls = context.wrap_socket(sock, server_hostname=server_name)
    try:
        return tls, check_tolerated_expiry(verified_chain_der(tls), tolerated)
    except Exception:
        tls.close()
        raise


# -- the probe -------------------------------------------------------------------------------

def trusted_names(context: ssl.SSLContext) -> typing.Set[str]:
    """Subject CNs of the CA certificates a context trusts (loaded from a file, not a directory)."""
    names = set()
    try:
        for info in context.get_ca_certs():
            cn = _info_name(info.get("subject"))[1]
            if cn:
                names.add(cn)
    except (ssl.SSLError, ValueError):
        pass
    return names


def _verify_explanation(code: typing.Optional[int], message: typing.Optional[str], server_name: str,
                        certificate: typing.Optional[dict], ca: typing.Optional[dict], trust_store: str,
                        trusted: typing.Optional[typing.Set[str]] = None,
                        chain: typing.Optional[typing.List[dict]] = None) -> str:
    """A sentence for a verification failure, with what the certificate shows.

    RDS endpoints present leaf and intermediate (``Amazon RDS <region> Subordinate CA ... G1.A.1``), so the
    CA a trust store must hold is the one that issued the top of the presented chain, not the leaf's issuer.
    """
    message = (message or "certificate verify failed").rstrip(". ")
    text = "TLS verification of %s failed: %s" % (server_name, message)
    cert = certificate or {}
    issuer = cert.get("issuer_cn")
    ca_text = ", %s" % ca["ca_identifier"] if ca else ""
    if code in _UNKNOWN_ISSUER_CODES:
        presented = [c for c in chain or [] if c.get("issuer_cn")]
        if presented and presented[-1]["issuer_cn"] != presented[-1].get("subject_cn"):
            # The anchor the chain needs: the issuer of its last (topmost, not self-signed) certificate.
            issuer = presented[-1]["issuer_cn"]
        if issuer and trusted and issuer in trusted:
            text += ("; the trust store %s holds a CA named '%s'%s but not the one that signed this certificate "
                     "(same name, different key)" % (trust_store, issuer, ca_text))
        else:
            text += "; the trust store %s has no CA that issued this certificate (issuer '%s'%s)" % (
                trust_store, issuer or "unknown", ca_text)
    elif code in _EXPIRED_CODES:
        if cert.get("expired"):
            text += "; the server certificate expired on %s (issuer '%s'%s)" % (
                cert.get("not_after"), issuer or "unknown", ca_text)
        else:
            text += "; a CA certificate of the chain has expired (issuer '%s'%s)" % (issuer or "unknown", ca_text)
    elif code in _HOSTNAME_MISMATCH_CODES:
        names = cert.get("dns_names") or cert.get("ip_addresses") or []
        if cert.get("subject_cn") and not names:
            names = [cert["subject_cn"]]
        text += "; the certificate is for %s, not %s" % (", ".join(names) or "no name", server_name)
    elif code in _NOT_YET_VALID_CODES:
        text += "; the certificate is valid only from %s" % cert.get("not_before")
    return text


def _tolerant_handshake(protocol: str, server_name: str, address: tuple, ca_bundle: typing.Optional[str],
                        tolerated: tuple, timeout: float,
                        connect_timeout: typing.Optional[float] = None) -> typing.Tuple[dict, list]:
    """A verified handshake that tolerates only the expiry of ``tolerated`` RDS CAs: ``(tls facts, tolerated)``."""
    with _upgraded(protocol, address, timeout, connect_timeout) as (sock, pre):
        if not pre.get("tls_supported"):
            raise ProbeError(pre.get("detail") or "the server does not offer TLS")
        tls, expired = expiry_tolerant_wrap(expiry_tolerant_context(ca_bundle), sock, server_name, tolerated)
        try:
            facts = _tls_facts(tls, utcnow())
            facts["trust_anchor"] = _verified_chain_anchor(tls)
            return facts, expired
        finally:
            _close(tls)


def _probe_result(server_name: str, host: str, tcp_port: int, engine: typing.Optional[str],
                  protocol: typing.Optional[str], ca_bundle: typing.Optional[str]) -> dict:
    """A :func:`probe_endpoint` result before anything is known."""
    result = dict.fromkeys((
        "server_name", "connect_host", "connect_port", "engine", "protocol", "trust_store", "reachable",
        "tls_supported", "tls_version", "cipher", "certificate", "chain", "presented_ca", "presented_ca_region",
        "verified", "verify_error", "verify_code", "hostname_matches", "trust_anchor", "read_by", "server_version",
        "server_requires_tls", "verified_except_expiry", "tolerated_expiry", "tolerance_error", "error",
        "elapsed_ms"))
    result.update(server_name=server_name, connect_host=host, connect_port=tcp_port, engine=engine,
                  protocol=protocol, trust_store=ca_bundle or "system", reachable=False)
    return result


_Outcome = typing.Tuple[dict, typing.Optional[dict], typing.Optional[Exception], typing.Optional[str]]


def _first_handshake(result: dict, server_name: str, address: tuple, context: ssl.SSLContext, timeout: float,
                     connect_timeout: float, connect_option: str) -> _Outcome:
    """The verified handshake: ``(pre-TLS facts, tls facts, verification error, error text)``.

    A verification failure is not an error here (the certificate is read again, see
    :func:`_diagnostic_handshake`); a network or protocol failure is, and ends the probe.
    """
    host, tcp_port = address
    try:
        pre, tls = _handshake(result["protocol"], server_name, address, context, timeout, connect_timeout)
        result["read_by"] = "verified_handshake" if tls else None
        return pre, tls, None, None
    except ssl.SSLCertVerificationError as exc:
        return {"tls_supported": True}, None, exc, None
    except ProbeError as exc:
        result["reachable"] = True
        return {}, None, None, str(exc)
    except ssl.SSLError as exc:
        result["reachable"] = True
        result["tls_supported"] = True
        return {}, None, None, "TLS handshake with %s:%s failed: %s" % (host, tcp_port, exc)
    except _ConnectTimeout:
        return {}, None, None, "timed out after %ss connecting to %s:%s%s" % (connect_timeout, host, tcp_port,
                                                                              connect_option)
    except socket.timeout:
        return {}, None, None, "timed out after %ss connecting to %s:%s or waiting for its answer" % (
            timeout, host, tcp_port)
    except OSError as exc:
        return {}, None, None, "cannot connect to %s:%s: %s" % (host, tcp_port, exc.strerror or exc)


def _read_certificate(result: dict, tls: typing.Optional[dict], server_name: str) -> typing.Optional[dict]:
    """Fill in what the handshake showed (TLS version, certificate, chain, presented CA); the presented CA."""
    if tls:
        result["tls_version"] = tls["tls_version"]
        result["cipher"] = tls["cipher"]
        result["certificate"] = tls["certificate"]
        result["chain"] = tls["chain"]
        result["trust_anchor"] = tls.get("trust_anchor") if result["verified"] else None
    cert = result["certificate"] or {}
    chain = result["chain"] or []
    chain_names = [c.get("subject_cn") for c in chain] + [c.get("issuer_cn") for c in chain]
    ca = presented_ca(cert.get("issuer_cn"), chain_names) if cert else None
    if ca is not None:
        result["presented_ca"] = ca["ca_identifier"]
        result["presented_ca_region"] = ca["region"]
    if cert:
        result["hostname_matches"] = hostname_matches(server_name, cert.get("dns_names"), cert.get("ip_addresses"))
    return ca


def _try_tolerating_expiry(result: dict, server_name: str, address: tuple, ca_bundle: typing.Optional[str],
                           tolerate_expired: typing.Iterable[str], timeout: float, connect_timeout: float) -> None:
    """One more verified handshake with only the expiry of ``tolerate_expired`` RDS CAs set aside."""
    try:
        _facts, expired = _tolerant_handshake(result["protocol"], server_name, address, ca_bundle,
                                              tuple(tolerate_expired), timeout, connect_timeout)
        result["verified_except_expiry"] = bool(expired)
        result["tolerated_expiry"] = expired
        if not expired:
            result["tolerance_error"] = "nothing expired in the verified chain"
    except ExpiryNotTolerated as exc:
        result["verified_except_expiry"] = False
        result["tolerance_error"] = str(exc)
    except (ssl.SSLError, ProbeError, OSError) as exc:
        result["verified_except_expiry"] = False
        result["tolerance_error"] = "the chain does not verify even when expiry is set aside: %s" % (
            getattr(exc, "verify_message", None) or exc)


def probe_endpoint(server_name: str, port: typing.Union[int, str], engine: typing.Optional[str],
                   connect_host: typing.Optional[str] = None, connect_port: typing.Union[int, str, None] = None,
                   ca_bundle: typing.Optional[str] = None,
                   timeout: float = DEFAULT_TIMEOUT, diagnostic: bool = True,
                   tolerate_expired: typing.Iterable[str] = (), connect_timeout: typing.Optional[float] = None) -> dict:
    """Open ``connect_host:connect_port``, upgrade to TLS as ``engine`` does, verify as ``server_name``.

    ``server_name`` is the TLS server name (the RDS endpoint address), ``port`` its port;
    ``connect_host``/``connect_port`` (default: the same) are where the TCP connection goes.
    ``engine`` is an RDS engine name (``postgres``, ``mariadb``, ``sqlserver-se``...) or a
    protocol name (``postgres``, ``mysql``, ``tds``, ``tls``). ``ca_bundle`` is the PEM trust
    store to verify against (the system store when None).

    Never raises for network or TLS problems: the result says what happened.

    Returned keys: ``server_name``, ``connect_host``, ``connect_port``, ``protocol``,
    ``trust_store``, ``reachable``, ``tls_supported``, ``tls_version``, ``cipher``,
    ``certificate`` (the leaf: subject/issuer and their CNs, serial, validity, names,
    fingerprint), ``chain`` (the rest of the presented chain when Python exposes it),
    ``presented_ca`` / ``presented_ca_region`` (RDS CA identifier from the issuer names),
    ``verified`` (True/False, None when no TLS handshake happened), ``verify_error``,
    ``verify_code``, ``hostname_matches`` (the certificate names ``server_name``),
    ``trust_anchor`` (root CN the verified chain ended at), ``read_by``
    (``verified_handshake`` or ``diagnostic_handshake``), ``server_version``,
    ``server_requires_tls`` (SQL Server), ``error``, ``elapsed_ms``.

    ``tolerate_expired``: RDS CA identifiers whose expiry alone may be tolerated. When strict
    verification fails because a certificate expired, one more verified handshake is made with
    :func:`expiry_tolerant_context` and :func:`check_tolerated_expiry`; ``verified`` stays False
    (strict verification failed) and ``verified_except_expiry`` says whether that handshake passed,
    with ``tolerated_expiry`` (the expired CAs tolerated) or ``tolerance_error`` (why not).

    ``connect_timeout``: seconds to wait for the TCP connection alone (default ``timeout``); ``timeout``
    bounds every later wait (the engine's upgrade, the TLS handshake). A short ``connect_timeout`` keeps
    an endpoint that drops packets from costing the full ``timeout``.
    """
    started = time.monotonic()
    connect_option = " (connect_timeout)" if connect_timeout else ""
    connect_timeout = connect_timeout or timeout
    host = connect_host or server_name
    tcp_port = int(connect_port or port)
    protocol = engine_protocol(engine)
    result = _probe_result(server_name, host, tcp_port, engine, protocol, ca_bundle)

    def done(error: typing.Optional[str] = None) -> dict:
        result["error"] = error
        result["elapsed_ms"] = int((time.monotonic() - started) * 1000)
        return result

    if protocol is None:
        return done("no TLS probe for engine %r" % (engine,))
    if not server_name:
        return done("no server name (endpoint address) to verify against")
    address = (host, tcp_port)
    try:
        context = shared_verifying_context(ca_bundle)
    except (OSError, ssl.SSLError) as exc:
        return done("cannot load the CA bundle %s: %s" % (ca_bundle, exc))

    pre, tls, verify_exc, error = _first_handshake(result, server_name, address, context, timeout, connect_timeout,
                                                   connect_option)
    if error is not None:
        return done(error)
    result["reachable"] = True
    for key in ("server_version", "server_requires_tls"):
        if pre.get(key) is not None:
            result[key] = pre[key]
    result["tls_supported"] = bool(pre.get("tls_supported"))
    if not result["tls_supported"]:
        return done(pre.get("detail") or "the server does not offer TLS")

    result["verified"] = verify_exc is None and tls is not None
    if verify_exc is not None:
        result["verify_code"] = getattr(verify_exc, "verify_code", None)
        if diagnostic:
            try:
                _pre, tls = _diagnostic_handshake(protocol, server_name, address, timeout, connect_timeout)
                result["read_by"] = "diagnostic_handshake" if tls else None
            except (ssl.SSLError, ProbeError, OSError):
                tls = None
    ca = _read_certificate(result, tls, server_name)
    if verify_exc is not None:
        message = getattr(verify_exc, "verify_message", None) or str(verify_exc)
        result["verify_error"] = _verify_explanation(result["verify_code"], message, server_name,
                                                     result["certificate"] or {}, ca, result["trust_store"],
                                                     trusted_names(context), result["chain"])
        if tolerate_expired and result["verify_code"] in _EXPIRED_CODES and protocol != "tds":
            _try_tolerating_expiry(result, server_name, address, ca_bundle, tolerate_expired, timeout, connect_timeout)
    return done(None)
