# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The Amazon RDS CA bundle: split it, validate it, name its certificates.

Two layers, so that the same code serves the controller and the client hosts:

* Standard library only (usable on any client host with Python, no
  ``cryptography``): :func:`split_pem` cuts a bundle into PEM blocks (CRLF,
  stray text between blocks and a missing final newline are handled; a
  truncated block or a block that is not a certificate is an error),
  :func:`fingerprint`, :func:`pem_from_der`, and a minimal DER reader
  (:func:`der_summary`) that extracts the subject/issuer common names and the
  validity window, which is all a trust store needs to recognise an RDS CA and
  decide whether it has expired.
* ``cryptography`` (the controller): :func:`load_bundle` parses and validates
  every certificate (X.509, a CA, an Amazon RDS subject, not expired unless
  kept), names each one (:func:`certificate_names`) and checks that the target
  CAs of the regions in use are present (:func:`target_common_names`).

Nothing here performs I/O other than what its caller passes in.
"""

import base64
import binascii
import datetime
import hashlib
import re
import typing

from ansible_collections.rdsca.rotation.plugins.module_utils.rds_ca_catalog import PINNED
# Re-exported: the CA identifiers, region names and the CA-name classifier live in rds_domain.
from ansible_collections.rdsca.rotation.plugins.module_utils.rds_domain import (  # noqa: F401 pylint: disable=unused-import
    DEFAULT_TARGET_CA,
    G1_LABELS,
    REGION_PATTERN,
    REGIONAL_ROOT_2019_REGIONS,
    TARGET_CAS,
    ca_from_name,
    g1_root_common_name,
    iso_z as _iso,
    utcnow,
)

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric import ed448
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - client hosts without cryptography use the stdlib layer only
    HAS_CRYPTOGRAPHY = False

GLOBAL_BUNDLE_URL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
REGIONAL_BUNDLE_URL = "https://truststore.pki.rds.amazonaws.com/{region}/{region}-bundle.pem"

# What an Amazon RDS CA subject looks like (every certificate AWS has published since 2015).
RDS_ORGANIZATION = "Amazon Web Services, Inc."
RDS_ORGANIZATIONAL_UNIT = "Amazon RDS"
RDS_CN_PREFIX = "Amazon RDS "
# Names this collection gives RDS CA certificates start with this (see certificate_name).
MANAGED_PREFIX = "amazon-rds-"

# PEM: RFC 7468, read line by line (scan_pem); the body is checked separately.
_PEM_BEGIN = re.compile(r"-----BEGIN ([A-Z0-9][A-Z0-9 ]*)-----")
_BASE64_LINE = re.compile(r"^[A-Za-z0-9+/=]*$")

MAX_BUNDLE_BYTES = 5 * 1024 * 1024
UTC = datetime.timezone.utc


class BundleError(Exception):
    """The bundle cannot be used; ``str()`` says why in words an operator can act on."""

    def __init__(self, message: str, problems: typing.Optional[typing.List[str]] = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [message])


# -- stdlib layer: PEM ------------------------------------------------------------------------


def describe_line_endings(data: typing.Union[bytes, str]) -> str:
    """``lf``, ``crlf``, ``mixed`` or ``none`` (bytes or text)."""
    if isinstance(data, bytes):
        data = data.decode("latin-1")
    crlf = data.count("\r\n")
    lf = data.count("\n") - crlf
    if crlf and lf:
        return "mixed"
    if crlf:
        return "crlf"
    if lf:
        return "lf"
    return "none"


def _looks_like_html(text: str) -> bool:
    head = text.lstrip()[:512].lower()
    return head.startswith("<") and ("<html" in head or "<!doctype" in head or "<head" in head or "<body" in head
                                     or "<?xml" in head or "<error" in head)


def _decode_text(data: typing.Union[bytes, str]) -> str:
    if isinstance(data, bytes):
        if data.startswith(b"\xef\xbb\xbf"):  # UTF-8 byte order mark (Windows editors)
            data = data[3:]
        try:
            return data.decode("ascii")
        except UnicodeDecodeError:
            # PEM is ASCII; anything else can only be stray text (or garbage), which is
            # reported below. latin-1 maps every byte, so positions stay meaningful.
            return data.decode("latin-1")
    return data[1:] if data.startswith("\ufeff") else data


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)?")
_PEM_END = re.compile(r"-----END ([A-Z0-9][A-Z0-9 ]*)-----")
# Past this many problems the rest are counted, not listed (5 MB of BEGIN lines would be 180,000).
MAX_PROBLEMS = 20


def _pem_lines(text: str) -> typing.Iterator[typing.Tuple[int, int, str]]:
    """``(offset, line_number, line)`` of every line of ``text`` (any line ending), in one linear pass."""
    number = 0
    for match in _LINE.finditer(text):
        raw = match.group(0)
        if not raw:
            return
        number += 1
        yield match.start(), number, raw.rstrip("\r\n")


def _open_block(blocks: list, stray: list, begin: typing.Any, line: str, offset: int,
                number: int) -> typing.Optional[dict]:
    """A new block from its BEGIN line; None when the same line also ends it (appended to ``blocks`` then)."""
    block = {"index": len(blocks) + 1, "label": begin.group(1), "body": [], "offset": offset + begin.start(),
             "line": number, "trailing": ""}
    rest = line[begin.end():]
    end = _PEM_END.search(rest)
    if end:
        block["body"].append(rest[:end.start()])
        block["end_label"] = end.group(1)
        blocks.append(block)
        if rest[end.end():].strip():
            stray.append((offset + begin.end() + end.end(), number, len(rest) - end.end()))
        return None
    block["trailing"] = rest.strip()
    return block


def scan_pem(text: str) -> typing.Tuple[typing.List[dict], typing.List[tuple], typing.List[str]]:
    """The PEM structure of ``text`` in linear time: ``(blocks, stray, problems)``.

    ``blocks`` are ``{"index", "label", "body", "offset", "line"}`` (body = the base64 lines),
    ``stray`` the ``(offset, line, size)`` of text outside any block, ``problems`` the truncated
    blocks found (an END without BEGIN is stray text). Each line is looked at once, so garbage
    of any shape costs time proportional to its size.
    """
    blocks = []
    stray = []
    problems = []
    current = None
    for offset, number, line in _pem_lines(text):
        if current is None:
            begin = _PEM_BEGIN.search(line)
            if not begin:
                if line.strip():
                    stray.append((offset, number, len(line)))
                continue
            if line[:begin.start()].strip():
                stray.append((offset, number, begin.start()))
            current = _open_block(blocks, stray, begin, line, offset, number)
            continue
        begin = _PEM_BEGIN.search(line)
        end = _PEM_END.search(line)
        if begin and (not end or begin.start() < end.start()):
            problems.append("block %d (line %d) has no END line before the next BEGIN line on line %d (truncated?)"
                            % (current["index"], current["line"], number))
            blocks.append(dict(current, truncated=True))
            current = _open_block(blocks, stray, begin, line, offset, number)
            continue
        if end:
            current["body"].append(line[:end.start()])
            current["end_label"] = end.group(1)
            blocks.append(current)
            current = None
            if line[end.end():].strip():
                stray.append((offset + end.end(), number, len(line) - end.end()))
            continue
        current["body"].append(line)
    if current is not None:
        problems.append("the last PEM block (line %d, byte %d) has no END line: the file is truncated"
                        % (current["line"], current["offset"]))
        blocks.append(dict(current, truncated=True))
    return blocks, stray, problems


def _limited(problems: typing.List[str]) -> typing.List[str]:
    if len(problems) <= MAX_PROBLEMS:
        return problems
    return problems[:MAX_PROBLEMS] + ["... and %d more problems" % (len(problems) - MAX_PROBLEMS)]


def _block_der(block: dict) -> typing.Tuple[typing.Optional[bytes], typing.Optional[str]]:
    """(der, problem) of one scanned block: the problem says what is wrong, never what the block holds."""
    if block["label"] != "CERTIFICATE":
        return None, "block %d is a %r PEM block, not a CERTIFICATE" % (block["index"], block["label"])
    if block.get("end_label") != block["label"]:
        return None, "block %d (line %d) ends with an END %s line" % (block["index"], block["line"], block.get("end_label"))
    lines = [line.strip() for line in block["body"] if line.strip()]
    if block["trailing"]:
        lines.insert(0, block["trailing"])
    if any(":" in line for line in lines):
        return None, "block %d has PEM headers, which certificates never carry" % block["index"]
    if not all(_BASE64_LINE.match(line) for line in lines):
        return None, "block %d is not valid base64" % block["index"]
    try:
        der = base64.b64decode("".join(lines), validate=True)
    except (binascii.Error, ValueError):
        return None, "block %d is not valid base64" % block["index"]
    if not der:
        return None, "block %d is empty" % block["index"]
    return der, None


def split_pem(data: typing.Union[bytes, str], source: str = "the bundle") -> dict:
    """Split a PEM bundle into certificate blocks, in time linear in its size.

    Returns ``{"blocks": [{"index", "der", "pem"}...], "ignored_text": [...], "line_endings": ...}``.
    ``pem`` is the block re-encoded canonically (64-column base64, LF, final newline), so that
    the same certificate always produces the same bytes whatever the input looked like.
    ``ignored_text`` says where text outside the blocks was (line, byte offset, size), never what
    it says: the input may be a secrets file given by mistake.

    Raises :class:`BundleError` for an empty input, input without any PEM block (an HTML error
    page, a DER file, garbage), a block that is not a ``CERTIFICATE`` (a private key, a CRL,
    OpenSSL's ``TRUSTED CERTIFICATE``), a truncated block, or invalid base64. No message quotes
    the input.
    """
    text = _decode_text(data)
    line_endings = describe_line_endings(text)
    if not text.strip():
        raise BundleError("%s is empty" % source)

    scanned, stray, problems = scan_pem(text)
    blocks = []
    for block in scanned:
        if block.get("truncated"):
            continue
        der, problem = _block_der(block)
        if problem:
            problems.append(problem)
        else:
            blocks.append({"index": block["index"], "der": der, "pem": pem_from_der(der)})
    problems = ["%s: %s" % (source, problem) for problem in problems]
    if problems:
        problems = _limited(problems)
        raise BundleError("; ".join(problems), problems)
    if not blocks:
        if _looks_like_html(text):
            raise BundleError("%s is an HTML page, not a PEM bundle (an error page, a proxy or a captive portal?), "
                              "%d bytes" % (source, len(text)))
        raise BundleError("%s contains no PEM certificate (no '-----BEGIN CERTIFICATE-----' line): %d bytes of something "
                          "else, expected a PEM bundle" % (source, len(text)))
    ignored = ["%d bytes on line %d (byte %d)" % (size, line, offset) for offset, line, size in stray]
    return {"blocks": blocks, "ignored_text": ignored, "line_endings": line_endings}


def pem_from_der(der: bytes) -> str:
    """Canonical PEM for a DER certificate: 64-column base64, LF line endings, final newline."""
    encoded = base64.b64encode(der).decode("ascii")
    lines = [encoded[i:i + 64] for i in range(0, len(encoded), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


def fingerprint(der: bytes, algorithm: str = "sha256") -> str:
    """Lower-case hex digest of the DER encoding (what keytool, openssl and Windows call the fingerprint)."""
    return hashlib.new(algorithm, der).hexdigest()


def fingerprints_in(text: typing.Union[bytes, str]) -> typing.List[str]:
    """SHA-256 fingerprints of every parsable certificate block in ``text``, ignoring anything else.

    Lenient on purpose: used to read what a trust store (a system bundle, a keystore listing,
    a keychain dump) already holds, where other tools' content must never make us fail.
    """
    found = []
    for block in scan_pem(_decode_text(text))[0]:
        if block.get("truncated") or block["label"] != "CERTIFICATE":
            continue
        der, problem = _block_der(block)
        if der and not problem:
            found.append(fingerprint(der))
    return found


# -- stdlib layer: a minimal DER reader ---------------------------------------------------------


class DERError(ValueError):
    """Not the DER of an X.509 certificate (as far as this small reader can tell)."""


def _tlv(data: bytes, offset: int) -> typing.Tuple[int, int, int]:
    """(tag, value_start, value_end) of the DER element at ``offset``."""
    if offset + 2 > len(data):
        raise DERError("truncated element at %d" % offset)
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise DERError("multi-byte tags are not used by certificates")
    length = data[offset + 1]
    start = offset + 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or start + count > len(data):
            raise DERError("bad length at %d" % offset)
        length = int.from_bytes(data[start:start + count], "big")
        start += count
    end = start + length
    if end > len(data):
        raise DERError("element at %d runs past the end" % offset)
    return tag, start, end


def _children(data: bytes, start: int, end: int) -> typing.List[typing.Tuple[int, int, int]]:
    items = []
    offset = start
    while offset < end:
        tag, value_start, value_end = _tlv(data, offset)
        items.append((tag, value_start, value_end))
        offset = value_end
    if offset != end:
        raise DERError("elements overrun their container")
    return items


_OID_COMMON_NAME = bytes([0x55, 0x04, 0x03])
_STRING_TAGS = {0x0C: "utf-8", 0x13: "ascii", 0x16: "ascii", 0x14: "latin-1", 0x1E: "utf-16-be", 0x1C: "utf-32-be"}


def _name_common_name(data: bytes, start: int, end: int) -> typing.Optional[str]:
    """The (last) commonName of a DER Name, or None."""
    common_name = None
    for set_tag, set_start, set_end in _children(data, start, end):
        if set_tag != 0x31:
            raise DERError("a Name holds SETs")
        for seq_tag, seq_start, seq_end in _children(data, set_start, set_end):
            if seq_tag != 0x30:
                raise DERError("an RDN holds SEQUENCEs")
            parts = _children(data, seq_start, seq_end)
            if len(parts) != 2 or parts[0][0] != 0x06:
                raise DERError("bad AttributeTypeAndValue")
            if data[parts[0][1]:parts[0][2]] == _OID_COMMON_NAME:
                value_tag, value_start, value_end = parts[1]
                encoding = _STRING_TAGS.get(value_tag, "latin-1")
                common_name = data[value_start:value_end].decode(encoding, "replace")
    return common_name


def _der_time(data: bytes, tag: int, start: int, end: int) -> datetime.datetime:
    text = data[start:end].decode("ascii")
    if tag == 0x17:  # UTCTime YYMMDDHHMM[SS]Z
        fmt = "%y%m%d%H%M%SZ" if len(text) == 13 else "%y%m%d%H%MZ"
        value = datetime.datetime.strptime(text, fmt)
        # RFC 5280: YY >= 50 is 19YY; strptime's %y pivots at 69, so fix 50..68 by hand.
        if value.year >= 2050:
            value = value.replace(year=value.year - 100)
    elif tag == 0x18:  # GeneralizedTime YYYYMMDDHHMMSSZ
        value = datetime.datetime.strptime(text, "%Y%m%d%H%M%SZ")
    else:
        raise DERError("not a time")
    return value.replace(tzinfo=UTC)


def der_summary(der: bytes) -> dict:
    """``{"subject_cn", "issuer_cn", "not_before", "not_after", "is_ca"}`` of a DER certificate, standard library only.

    ``is_ca`` is basicConstraints' cA flag, None when the certificate has no basicConstraints.
    """
    tag, start, end = _tlv(der, 0)
    if tag != 0x30 or end != len(der):
        raise DERError("a certificate is one SEQUENCE")
    parts = _children(der, start, end)
    if len(parts) != 3 or parts[0][0] != 0x30:
        raise DERError("a certificate is tbsCertificate, signatureAlgorithm, signature")
    tbs = _children(der, parts[0][1], parts[0][2])
    if tbs and tbs[0][0] == 0xA0:  # [0] EXPLICIT version
        tbs = tbs[1:]
    if len(tbs) < 5:
        raise DERError("tbsCertificate too short")
    _serial, _algorithm, issuer, validity, subject = tbs[:5]
    times = _children(der, validity[1], validity[2])
    if validity[0] != 0x30 or len(times) != 2:
        raise DERError("bad validity")
    return {
        "subject_cn": _name_common_name(der, subject[1], subject[2]),
        "issuer_cn": _name_common_name(der, issuer[1], issuer[2]),
        "not_before": _der_time(der, *times[0]),
        "not_after": _der_time(der, *times[1]),
        "is_ca": _basic_constraints_ca(der, tbs[5:]),
    }


_OID_BASIC_CONSTRAINTS = bytes([0x55, 0x1D, 0x13])


def _basic_constraints_ca(der: bytes, rest: typing.List[typing.Tuple[int, int, int]]) -> typing.Optional[bool]:
    """True/False from basicConstraints' cA flag, None when the certificate has no basicConstraints."""
    for tag, start, end in rest:
        if tag != 0xA3:  # [3] EXPLICIT Extensions
            continue
        (seq_tag, seq_start, seq_end), = _children(der, start, end)
        if seq_tag != 0x30:
            raise DERError("extensions are a SEQUENCE")
        for ext_tag, ext_start, ext_end in _children(der, seq_start, seq_end):
            parts = _children(der, ext_start, ext_end)
            if ext_tag != 0x30 or not parts or parts[0][0] != 0x06 or parts[-1][0] != 0x04:
                raise DERError("bad Extension")
            if der[parts[0][1]:parts[0][2]] != _OID_BASIC_CONSTRAINTS:
                continue
            value = parts[-1]
            inner_tag, inner_start, inner_end = _tlv(der, value[1])
            if inner_tag != 0x30 or inner_end != value[2]:
                raise DERError("bad basicConstraints")
            fields = _children(der, inner_start, inner_end)
            return bool(fields and fields[0][0] == 0x01 and der[fields[0][1]:fields[0][2]] != b"\x00")
    return None


# -- names -------------------------------------------------------------------------------------


def slugify(text: typing.Optional[str]) -> str:
    """Lower-case ASCII letters, digits and single dashes."""
    return re.sub(r"[^a-z0-9]+", "-", (text or "").lower()).strip("-")


def certificate_name(common_name: typing.Optional[str], sha256: str) -> str:
    """The stable name of a certificate: its CN as a slug (``amazon-rds-us-east-1-root-ca-rsa2048-g1``).

    A certificate without a usable CN is named after its fingerprint.
    """
    slug = slugify(common_name)[:96].strip("-")
    return slug or "certificate-" + sha256[:16]


def certificate_names(certificates: typing.List[dict]) -> typing.List[str]:
    """Names for ``[{"common_name", "sha256"}...]``, in order; certificates sharing a CN get a fingerprint suffix.

    Stable: the name depends only on the certificate's CN (and, for a CN that several
    certificates of the same bundle share, its fingerprint), never on its position.
    """
    base = [certificate_name(c.get("common_name"), c["sha256"]) for c in certificates]
    counts = {}
    for name in base:
        counts[name] = counts.get(name, 0) + 1
    return [name if counts[name] == 1 else "%s-%s" % (name, c["sha256"][:8]) for name, c in zip(base, certificates)]


def ca_of_common_name(common_name: typing.Optional[str]) -> typing.Tuple[typing.Optional[str], typing.Optional[str]]:
    """``(ca_identifier, region)`` of an RDS CA common name (rds_domain.ca_from_name), ``(None, None)`` if not one."""
    found = ca_from_name(common_name)
    return (found["ca_identifier"], found["region"]) if found else (None, None)


def target_common_names(regions: typing.List[str], target_cas: typing.List[str]) -> typing.List[dict]:
    """``[{"region", "ca_identifier", "common_name"}...]`` the bundle must hold for these regions and CAs."""
    problems = []
    for region in regions:
        if not REGION_PATTERN.match(region or ""):
            problems.append("%r is not a region name" % (region,))
    for ca in target_cas:
        if ca not in G1_LABELS:
            problems.append("%r is not a target CA (one of %s)" % (ca, ", ".join(TARGET_CAS)))
    if problems:
        raise BundleError("; ".join(problems), problems)
    return [{"region": region, "ca_identifier": ca,
             "common_name": g1_root_common_name(region, ca)}
            for region in regions for ca in target_cas]


def bundle_url(region: typing.Optional[str] = None) -> str:
    """AWS's download address of the global bundle, or of one region's bundle."""
    if not region:
        return GLOBAL_BUNDLE_URL
    if not REGION_PATTERN.match(region):
        raise BundleError("%r is not a region name" % (region,))
    return REGIONAL_BUNDLE_URL.format(region=region)


def parse_checksum(checksum: typing.Optional[str]) -> typing.Tuple[str, str]:
    """``(algorithm, hex)`` from ``sha256:<hex>`` (also sha384/sha512, or a bare 64-digit SHA-256)."""
    text = (checksum or "").strip()
    if ":" in text:
        algorithm, digest = text.split(":", 1)
        algorithm = algorithm.strip().lower()
    else:
        algorithm, digest = "sha256", text
    digest = digest.strip().lower()
    sizes = {"sha256": 64, "sha384": 96, "sha512": 128}
    if algorithm not in sizes:
        raise BundleError("checksum algorithm %r is not one of %s" % (algorithm, ", ".join(sorted(sizes))))
    if not re.match(r"^[0-9a-f]{%d}$" % sizes[algorithm], digest):
        raise BundleError("checksum %r is not a %s hex digest" % (checksum, algorithm))
    return algorithm, digest


def verify_checksum(data: bytes, checksum: str, source: str = "the bundle") -> typing.Tuple[str, str]:
    """Raise :class:`BundleError` unless ``data`` has the pinned checksum; return the algorithm and digest."""
    algorithm, expected = parse_checksum(checksum)
    actual = hashlib.new(algorithm, data).hexdigest()
    if actual != expected:
        raise BundleError("%s does not match the pinned checksum: %s is %s, expected %s"
                          % (source, algorithm, actual, expected))
    return algorithm, actual


# -- cryptography layer: parse and validate -----------------------------------------------------


def _attr(name: typing.Any, oid: typing.Any) -> typing.Optional[str]:
    values = name.get_attributes_for_oid(oid)
    return str(values[-1].value) if values else None


def _key_type(public_key: typing.Any) -> str:
    if isinstance(public_key, rsa.RSAPublicKey):
        return "RSA %d" % public_key.key_size
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return "EC %s" % public_key.curve.name
    return type(public_key).__name__


# Key and signature strength: what a trust anchor must at least have (NIST SP 800-57, CA/Browser Forum BR 6.1.5).
MIN_RSA_BITS = 2048
MIN_EC_BITS = 256
# Never acceptable on any certificate; SHA-1 is tolerated only on a self-signed root, whose own
# signature nobody relies on (the trust comes from the key being pinned or chosen).
FORBIDDEN_SIGNATURE_HASHES = ("md5", "md2", "md4")
WEAK_SIGNATURE_HASHES = ("sha1",)


def _key_problems(public_key: typing.Any) -> typing.List[str]:
    if isinstance(public_key, rsa.RSAPublicKey):
        if public_key.key_size < MIN_RSA_BITS:
            return ["a weak key (RSA %d bits, at least %d required)" % (public_key.key_size, MIN_RSA_BITS)]
        return []
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if public_key.curve.key_size < MIN_EC_BITS:
            return ["a weak key (EC %s, at least %d bits required)" % (public_key.curve.name, MIN_EC_BITS)]
        return []
    if isinstance(public_key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        return []
    return ["an unsupported key type (%s)" % type(public_key).__name__]


def _signature_hash(cert: typing.Any) -> typing.Optional[str]:
    try:
        algorithm = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return "unsupported"
    return algorithm.name.lower() if algorithm is not None else None


def _extension(cert: typing.Any, cls: type) -> typing.Any:
    try:
        return cert.extensions.get_extension_for_class(cls).value
    except x509.ExtensionNotFound:
        return None


def spki_sha256(cert: typing.Any) -> str:
    """SHA-256 of the certificate's SubjectPublicKeyInfo (the key pin)."""
    return hashlib.sha256(cert.public_key().public_bytes(serialization.Encoding.DER,
                                                         serialization.PublicFormat.SubjectPublicKeyInfo)).hexdigest()


def _ca_problems(cert: typing.Any) -> typing.Tuple[bool, typing.List[str]]:
    """``(is_ca, problems)``: basicConstraints CA:TRUE, keyUsage (when present) with keyCertSign."""
    problems = []
    constraints = _extension(cert, x509.BasicConstraints)
    if constraints is None:
        is_ca = False
        problems.append("not a CA certificate (no basicConstraints extension)")
    else:
        is_ca = bool(constraints.ca)
        if not is_ca:
            problems.append("not a CA certificate (basicConstraints CA:FALSE, a leaf certificate)")
    key_usage = _extension(cert, x509.KeyUsage)
    if key_usage is not None and not key_usage.key_cert_sign:
        problems.append("not a CA certificate (keyUsage without keyCertSign)")
    return is_ca, problems


def _wildcard_problems(cert: typing.Any) -> typing.List[str]:
    """A wildcard subjectAltName has no business on a CA: it is how a CA masquerades as a server."""
    alt_names = _extension(cert, x509.SubjectAlternativeName)
    wildcards = [n for n in alt_names.get_values_for_type(x509.DNSName) if "*" in n] if alt_names is not None else []
    return ["a CA with a wildcard subjectAltName (%s)" % ", ".join(sorted(wildcards))] if wildcards else []


def _signature_problems(cert: typing.Any, self_signed: bool) -> typing.List[str]:
    """No MD5 (or unsupported) signature, no SHA-1 unless self-signed, a self-signature that verifies."""
    signature_hash = _signature_hash(cert)
    if signature_hash in FORBIDDEN_SIGNATURE_HASHES or signature_hash == "unsupported":
        return ["signed with a broken algorithm (%s)" % signature_hash.upper()]
    if signature_hash in WEAK_SIGNATURE_HASHES and not self_signed:
        return ["signed with a weak algorithm (%s) by another CA" % signature_hash.upper()]
    if self_signed and signature_hash not in WEAK_SIGNATURE_HASHES:
        try:
            cert.verify_directly_issued_by(cert)
        except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
            return ["self-signed, but its signature does not verify with its own key"]
    return []


def describe_certificate(der: bytes, now: datetime.datetime) -> dict:
    """Facts about one DER certificate (``cryptography`` required); ``problems`` lists what disqualifies it.

    A trust anchor must be a CA (basicConstraints present, CA:TRUE; keyUsage, when present, with
    keyCertSign), with a strong key (RSA >= 2048 bits, EC >= 256 bits), no MD5 signature, no SHA-1
    signature unless self-signed, a valid self-signature when self-signed, and no wildcard
    subjectAltName (which has no business on a CA and is how a CA masquerades as a server).
    """
    cert = x509.load_der_x509_certificate(der)
    public_key = cert.public_key()
    self_signed = cert.subject == cert.issuer
    is_ca, problems = _ca_problems(cert)
    problems.extend(_key_problems(public_key))
    problems.extend(_signature_problems(cert, self_signed))
    problems.extend(_wildcard_problems(cert))
    not_before = cert.not_valid_before_utc
    not_after = cert.not_valid_after_utc
    common_name = _attr(cert.subject, NameOID.COMMON_NAME)
    ca_identifier, region = ca_of_common_name(common_name)
    sha256 = fingerprint(der, "sha256")
    return {
        "common_name": common_name,
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "issuer_common_name": _attr(cert.issuer, NameOID.COMMON_NAME),
        "organization": _attr(cert.subject, NameOID.ORGANIZATION_NAME),
        "organizational_unit": _attr(cert.subject, NameOID.ORGANIZATIONAL_UNIT_NAME),
        "self_signed": self_signed,
        "is_ca": is_ca,
        "ca_identifier": ca_identifier,
        "region": region,
        "serial_number": "%x" % cert.serial_number,
        "key_type": _key_type(public_key),
        "not_before": _iso(not_before),
        "not_after": _iso(not_after),
        "days_left": (not_after - now).days,
        "expired": not_after <= now,
        "not_yet_valid": not_before > now,
        "sha256": sha256,
        "sha1": fingerprint(der, "sha1"),
        "spki_sha256": spki_sha256(cert),
        "pinned": sha256 in PINNED,
        "problems": problems,
    }


def claims_rds(info: dict) -> bool:
    """The certificate presents itself as an Amazon RDS CA (any of its subject's RDS marks)."""
    common_name = info.get("common_name") or ""
    return bool(common_name.startswith(RDS_CN_PREFIX.strip()) or info.get("organizational_unit") == RDS_ORGANIZATIONAL_UNIT
                or ca_of_common_name(common_name)[0])


def is_rds_subject(info: dict) -> bool:
    """The certificate's subject is an Amazon RDS CA's (organization, unit and CN prefix)."""
    return (info.get("organization") == RDS_ORGANIZATION
            and info.get("organizational_unit") == RDS_ORGANIZATIONAL_UNIT
            and (info.get("common_name") or "").startswith(RDS_CN_PREFIX))


def normalize_pins(pins: typing.Any) -> typing.FrozenSet[str]:
    """SHA-256 fingerprints an operator pins besides AWS's (a list, or a string of them separated by commas or
    spaces; colons and case ignored); raises :class:`BundleError` for anything that is not one."""
    if pins is None or pins == "":
        return frozenset()
    items = re.split(r"[\s,;]+", pins.strip()) if isinstance(pins, str) else pins
    if not isinstance(items, (list, tuple, set, frozenset)):
        raise BundleError("pinned RDS CA fingerprints must be a list of SHA-256 fingerprints")
    found = set()
    for item in items:
        text = str(item).replace(":", "").strip().lower()
        if not re.fullmatch(r"[0-9a-f]{64}", text):
            raise BundleError("%r is not a SHA-256 fingerprint (64 hexadecimal digits)" % (item,))
        found.add(text)
    return frozenset(found)


def _vouched(info: dict, extra_pins: typing.FrozenSet[str]) -> bool:
    """Its key is pinned: by AWS (the catalog), or by the operator (``extra_pins``)."""
    return bool(info["pinned"] or info["sha256"] in extra_pins)


def _described_blocks(blocks: typing.List[dict], now: datetime.datetime, source: str, require_rds_subjects: bool,
                      allow_unpinned: bool, extra_pins: typing.FrozenSet[str] = frozenset()
                      ) -> typing.Tuple[typing.List[dict], typing.List[str], typing.List[str]]:
    """``(certificates, duplicate names, problems)``: every block described and judged, duplicates kept once."""
    problems = []
    described = []
    seen = {}
    duplicates = []
    for block in blocks:
        try:
            info = describe_certificate(block["der"], now)
        except (ValueError, TypeError) as exc:
            # cryptography parses names and extensions lazily: a malformed one raises ValueError, or
            # TypeError (an attribute of the wrong ASN.1 type), only when it is first read.
            problems.append("%s: block %d is not an X.509 certificate: %s" % (source, block["index"], exc))
            continue
        label = "block %d (%s)" % (block["index"], info["common_name"] or info["subject"] or "no subject")
        for problem in info.pop("problems"):
            problems.append("%s: %s is %s" % (source, label, problem))
        if require_rds_subjects and not is_rds_subject(info):
            problems.append("%s: %s is not an Amazon RDS CA (subject %s)" % (source, label, info["subject"]))
        elif claims_rds(info) and not _vouched(info, extra_pins) and not allow_unpinned:
            problems.append("%s: %s has an Amazon RDS name but is not one of AWS's pinned RDS CA certificates "
                            "(SHA-256 %s): an impersonation, or a CA newer than this collection's catalog"
                            % (source, label, info["sha256"]))
        if info["sha256"] in seen:
            duplicates.append(info["common_name"])
            continue
        seen[info["sha256"]] = True
        info["pem"] = block["pem"]
        info["index"] = block["index"]
        described.append(info)
    return described, duplicates, problems


def _shared_name_problems(described: typing.List[dict], source: str,
                          extra_pins: typing.FrozenSet[str] = frozenset()) -> typing.List[str]:
    """Different certificates with the same RDS common name, unless all of them are AWS's pinned ones."""
    by_rds_name = {}
    for info in described:
        if claims_rds(info) and info["common_name"]:
            by_rds_name.setdefault(info["common_name"], []).append(info)
    problems = []
    for common_name, same in sorted(by_rds_name.items()):
        if len(same) > 1 and not all(_vouched(info, extra_pins) for info in same):
            problems.append("%s: %d different certificates are named %r (blocks %s); only AWS's pinned certificates "
                            "may share an RDS name" % (source, len(same), common_name,
                                                       ", ".join(str(info["index"]) for info in same)))
    return problems


def _targets_found(kept: typing.List[dict], targets_wanted: typing.List[dict], source: str) -> typing.List[dict]:
    """The valid certificates of the wanted target roots; raises :class:`BundleError` naming any missing."""
    by_cn = {}
    for cert in kept:
        if not cert["expired"]:
            by_cn.setdefault(cert["common_name"], cert)
    targets = []
    missing = []
    for wanted in targets_wanted:
        cert = by_cn.get(wanted["common_name"])
        if cert is None:
            missing.append(wanted["common_name"])
            continue
        targets.append(dict(wanted, name=cert["name"], sha256=cert["sha256"], sha1=cert["sha1"],
                            not_after=cert["not_after"]))
    if missing:
        raise BundleError("%s lacks the target CA certificate(s) for the regions in use: %s"
                          % (source, ", ".join(missing)), ["missing target CA %s" % m for m in missing])
    return targets


def load_bundle(data: typing.Union[bytes, str], now: typing.Optional[datetime.datetime] = None,
                keep_expired: bool = False, require_rds_subjects: bool = True, regions: typing.Iterable[str] = (),
                target_cas: typing.Iterable[str] = (DEFAULT_TARGET_CA,), source: str = "the bundle",
                allow_unpinned: bool = False, pins: typing.Any = None) -> dict:
    """Parse and validate a CA bundle; the one entry point of the controller-side logic.

    Every block must be an X.509 CA certificate with a strong key and signature
    (:func:`describe_certificate`); with ``require_rds_subjects`` its subject must be an Amazon RDS
    CA's. Keys, not names, are trusted: a certificate that presents itself as an Amazon RDS CA
    (:func:`claims_rds`) must be one of the pinned AWS certificates (:data:`PINNED`), unless
    ``allow_unpinned`` (then it is listed in ``unpinned`` for a warning) or its SHA-256 is one of ``pins``
    (fingerprints the operator pins: a private test PKI, a CA newer than the catalog); two different
    certificates with the same RDS common name are refused unless both are pinned. Expired certificates are dropped (reported in ``expired``) unless
    ``keep_expired``; duplicates are kept once. At least one certificate must remain, and for
    every region in ``regions`` the ``target_cas`` roots must be among them (and valid).

    Returns ``{"certificates": [...], "expired": [...], "duplicates": [...], "targets": [...],
    "ignored_text": [...], "line_endings": ..., "bundle": "<canonical PEM of the certificates>"}``
    where each certificate is :func:`describe_certificate`'s dict plus ``name`` and ``pem``.
    Raises :class:`BundleError` listing every problem found.
    """
    if not HAS_CRYPTOGRAPHY:
        raise BundleError("the Python library 'cryptography' is required on the controller to validate the bundle")
    if now is None:
        now = utcnow()
    targets_wanted = target_common_names(list(regions or ()), list(target_cas or ()))
    extra_pins = normalize_pins(pins)
    split = split_pem(data, source)

    described, duplicates, problems = _described_blocks(split["blocks"], now, source, require_rds_subjects,
                                                        allow_unpinned, extra_pins)
    problems.extend(_shared_name_problems(described, source, extra_pins))
    if problems:
        raise BundleError("; ".join(problems), problems)

    for info, name in zip(described, certificate_names(described)):
        info["name"] = name
    kept = [c for c in described if keep_expired or not c["expired"]]
    expired = [c for c in described if c["expired"]]
    if not kept:
        raise BundleError("%s holds no valid certificate: all %d expired (the newest on %s)"
                          % (source, len(expired), max(c["not_after"] for c in expired)))

    targets = _targets_found(kept, targets_wanted, source)
    return {
        "certificates": kept,
        "expired": [dict((k, c[k]) for k in ("name", "common_name", "ca_identifier", "region", "not_after", "sha256", "sha1", "index"))
                    for c in expired],
        "duplicates": duplicates,
        "unpinned": [dict((k, c[k]) for k in ("name", "common_name", "sha256")) for c in kept
                     if claims_rds(c) and not _vouched(c, extra_pins)],
        "targets": targets,
        "ignored_text": split["ignored_text"],
        "line_endings": split["line_endings"],
        "bundle": "".join(c["pem"] for c in kept),
    }
