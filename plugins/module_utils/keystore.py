# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The trusted certificate entries of a Java keystore, read in Python, without starting a JVM.

rds_ca_trust_store reads a keystore with ``keytool -list`` (a JVM start, about a second) and changes it with
keytool. When nothing has to change - the steady state of the ca_trust role - this reader answers instead:

- JKS: the whole format (Java's ``sun.security.provider.JavaKeyStore``): entries of tag 2 are trusted
  certificates; the keystore's integrity digest (SHA-1 over the password as UTF-16BE, "Mighty Aphrodite" and the
  content) is checked, so a wrong password is noticed as keytool notices it;
- PKCS12 (with the ``cryptography`` library): a trust store only (no private key), its MAC checked with the
  password; a certificate counts under its friendly name (keytool's alias).

Anything else (JCEKS, another version, a keystore with keys, a parse error, no cryptography) returns None: the
caller then asks keytool, as before. This file runs on client hosts: Python 3.6+, no other dependency.
"""

import hashlib
import hmac
import struct

try:
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.hazmat.primitives.serialization import pkcs12
    HAS_PKCS12 = True
except ImportError:  # pragma: no cover - depends on the host
    HAS_PKCS12 = False

JKS_MAGIC = 0xFEEDFEED
JKS_WHITENER = b"Mighty Aphrodite"
PRIVATE_KEY_ENTRY = 1
TRUSTED_CERT_ENTRY = 2


class _Reader(object):
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, size):
        if size < 0 or self.pos + size > len(self.data):
            raise ValueError("truncated keystore")
        chunk = self.data[self.pos:self.pos + size]
        self.pos += size
        return chunk

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def utf(self):
        return self.take(struct.unpack(">H", self.take(2))[0]).decode("utf-8")


def jks_trusted(data, password):
    """``{alias: der}`` of a JKS keystore's trusted certificate entries; None when it is not a JKS this reads or
    the password does not match its integrity digest."""
    try:
        reader = _Reader(data)
        if reader.u32() != JKS_MAGIC or reader.u32() != 2:
            return None
        trusted = {}
        for _number in range(reader.u32()):
            tag = reader.u32()
            alias = reader.utf()
            reader.take(8)  # creation date
            if tag == TRUSTED_CERT_ENTRY:
                if reader.utf() != "X.509":
                    return None
                trusted[alias] = reader.take(reader.u32())
            elif tag == PRIVATE_KEY_ENTRY:
                reader.take(reader.u32())
                for _cert in range(reader.u32()):
                    reader.utf()
                    reader.take(reader.u32())
            else:
                return None
        body = data[:reader.pos]
        digest = reader.take(20)
        if reader.pos != len(data):
            return None
    except (ValueError, UnicodeDecodeError, struct.error):
        return None
    expected = hashlib.sha1(password.encode("utf-16-be") + JKS_WHITENER + body).digest()
    return trusted if hmac.compare_digest(digest, expected) else None


def pkcs12_trusted(data, password):
    """``{alias: der}`` of a PKCS12 trust store (no private key); None when it has a key, cannot be read, or the
    password does not match its MAC."""
    if not HAS_PKCS12:
        return None
    try:
        loaded = pkcs12.load_pkcs12(data, password.encode("utf-8"))
    except (ValueError, TypeError):
        return None
    if loaded.key is not None or loaded.cert is not None:
        return None
    trusted = {}
    for cert in loaded.additional_certs:
        if not cert.friendly_name:
            return None
        trusted[cert.friendly_name.decode("utf-8", "replace")] = cert.certificate.public_bytes(Encoding.DER)
    return trusted


def trusted_entries(data, password, keystore_type=None):
    """``{alias: der}`` of the keystore's trusted certificates, read without keytool; None when keytool must."""
    if not data or password is None:
        return None
    kind = (keystore_type or "").upper()
    if kind in ("", "JKS") and data[:4] == struct.pack(">I", JKS_MAGIC):
        return jks_trusted(data, password)
    if kind in ("", "PKCS12") and data[:1] == b"\x30":
        return pkcs12_trusted(data, password)
    return None


def _utf(text):
    data = text.encode("utf-8")
    return struct.pack(">H", len(data)) + data


def jks_bytes(entries, password, timestamp_ms=0):
    """A JKS keystore of trusted certificate entries ``[(alias, der), ...]``, with its integrity digest: the source
    of one ``keytool -importkeystore`` that adds every missing certificate with one JVM start instead of one each."""
    body = struct.pack(">III", JKS_MAGIC, 2, len(entries))
    for alias, der in entries:
        body += struct.pack(">I", TRUSTED_CERT_ENTRY) + _utf(alias) + struct.pack(">Q", timestamp_ms)
        body += _utf("X.509") + struct.pack(">I", len(der)) + der
    return body + hashlib.sha1(password.encode("utf-16-be") + JKS_WHITENER + body).digest()
