# -*- coding: utf-8 -*-
# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""bundle: the real AWS bundles, every malformed input we could think of, and property tests.

The real bundles (108 current roots; the 2024 CRLF bundle with 28 expired 2019-era
certificates; the us-east-1 regional bundle) are read from ``../shared/data/rds-ca``
next to the repository (or ``RDSCA_SHARED_DATA``); tests that need them skip when they
are absent. Everything else generates its own certificates with ``cryptography``.
"""

from __future__ import absolute_import, division, print_function

import base64
import datetime
import hashlib
import os
import re

import pytest

from ansible_collections.rdsca.rotation.plugins.module_utils import bundle

cryptography = pytest.importorskip("cryptography")
hypothesis = pytest.importorskip("hypothesis")

from cryptography import x509  # noqa: E402  pylint: disable=wrong-import-position
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402  pylint: disable=wrong-import-position
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402  pylint: disable=wrong-import-position
from cryptography.x509.oid import NameOID  # noqa: E402  pylint: disable=wrong-import-position
from hypothesis import HealthCheck, given, settings  # noqa: E402  pylint: disable=wrong-import-position
from hypothesis import strategies as st  # noqa: E402  pylint: disable=wrong-import-position

UTC = datetime.timezone.utc
# A fixed "now" keeps the expiry tests true forever: the 2019-era certificates expired
# between 2024-05-08 and 2025-06-01, the G1 roots last until 2061 at least.
NOW = datetime.datetime(2025, 7, 1, tzinfo=UTC)
BEFORE_2019_EXPIRY = datetime.datetime(2024, 1, 1, tzinfo=UTC)


def _shared_data():
    if os.environ.get("RDSCA_SHARED_DATA"):
        return os.environ["RDSCA_SHARED_DATA"]
    # <repo>/../shared/data/rds-ca; ansible-test runs from a copy deeper under <repo>/.build, so walk up.
    here = os.path.dirname(os.path.abspath(__file__))
    while True:
        candidate = os.path.join(here, "shared", "data", "rds-ca")
        if os.path.isdir(candidate):
            return candidate
        parent = os.path.dirname(here)
        if parent == here:
            return os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "shared", "data", "rds-ca")
        here = parent


SHARED = _shared_data()
GLOBAL = "global-bundle.pem"
OLD_CRLF = "global-bundle.2024-06.121certs-with-rds-ca-2019.crlf.pem"
US_EAST_1 = "us-east-1-bundle.pem"


def real(name):
    path = os.path.join(SHARED, name)
    if not os.path.exists(path):
        pytest.skip("real RDS bundle %s not found (expected in ../shared/data/rds-ca next to the repository, "
                    "or set RDSCA_SHARED_DATA)" % path)
    with open(path, "rb") as handle:
        return handle.read()


# -- generated certificates -----------------------------------------------------------------

def load(data, **options):
    """load_bundle for generated certificates: their RDS names carry keys that AWS never published."""
    options.setdefault("allow_unpinned", True)
    return bundle.load_bundle(data, **options)


_KEY = ec.generate_private_key(ec.SECP256R1())


def make_cert(common_name="Amazon RDS us-east-1 Root CA RSA2048 G1", not_before=None, not_after=None, ca=True,
              organization=bundle.RDS_ORGANIZATION, unit=bundle.RDS_ORGANIZATIONAL_UNIT, serial=None, issuer_key=None):
    not_before = not_before or datetime.datetime(2021, 5, 25, tzinfo=UTC)
    not_after = not_after or datetime.datetime(2061, 5, 25, tzinfo=UTC)
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, "US")]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    if unit:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    if common_name:
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    name = x509.Name(attributes)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(_KEY.public_key())
               .serial_number(serial or x509.random_serial_number()).not_valid_before(not_before)
               .not_valid_after(not_after))
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    cert = builder.sign(issuer_key or _KEY, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.DER)


def pem(der, width=64, newline="\n"):
    encoded = base64.b64encode(der).decode("ascii")
    lines = [encoded[i:i + width] for i in range(0, len(encoded), width)]
    return newline.join(["-----BEGIN CERTIFICATE-----"] + lines + ["-----END CERTIFICATE-----"]) + newline


G1 = make_cert()
G1_4096 = make_cert("Amazon RDS us-east-1 Root CA RSA4096 G1")
G1_EU = make_cert("Amazon RDS eu-west-1 Root CA RSA2048 G1")
EXPIRED = make_cert("Amazon RDS Root 2019 CA", datetime.datetime(2019, 8, 22, tzinfo=UTC),
                    datetime.datetime(2024, 8, 22, 17, 8, 50, tzinfo=UTC))


# -- the real bundles -----------------------------------------------------------------------

def test_global_bundle_108_roots_every_region_and_ca():
    data = real(GLOBAL)
    loaded = load(data, now=NOW)
    certs = loaded["certificates"]
    assert len(certs) == 108
    assert loaded["expired"] == [] and loaded["duplicates"] == [] and loaded["ignored_text"] == []
    assert loaded["line_endings"] == "lf"
    names = [c["name"] for c in certs]
    assert len(set(names)) == 108
    assert all(re.match(r"^amazon-rds-(beta-|preview-)?[a-z0-9-]+-root-ca-(rsa2048|rsa4096|ecc384)-g1$", n) for n in names)
    assert all(c["self_signed"] and c["is_ca"] for c in certs)
    assert {c["ca_identifier"] for c in certs} == set(bundle.TARGET_CAS)
    regions = sorted({c["region"] for c in certs})
    assert len(regions) == 34  # 34 public regions; Beta us-east-1 and Preview us-east-2 share region names
    # Every region's three roots, as targets.
    everything = load(data, now=NOW, regions=regions, target_cas=bundle.TARGET_CAS)
    assert len(everything["targets"]) == 34 * 3
    assert {t["name"] for t in everything["targets"]} <= set(names)
    # The canonical bundle parses back to the same certificates, and each pem is one certificate.
    again = bundle.split_pem(loaded["bundle"])["blocks"]
    assert [hashlib.sha256(b["der"]).hexdigest() for b in again] == [c["sha256"] for c in certs]
    for cert in certs:
        assert len(bundle.split_pem(cert["pem"])["blocks"]) == 1
        assert cert["pem"].endswith("-----END CERTIFICATE-----\n") and "\r" not in cert["pem"]


def test_known_names_and_fingerprints():
    by_name = dict((c["name"], c) for c in bundle.load_bundle(real(US_EAST_1), now=NOW)["certificates"])
    assert sorted(by_name) == ["amazon-rds-us-east-1-root-ca-ecc384-g1", "amazon-rds-us-east-1-root-ca-rsa2048-g1",
                               "amazon-rds-us-east-1-root-ca-rsa4096-g1"]
    rsa2048 = by_name["amazon-rds-us-east-1-root-ca-rsa2048-g1"]
    assert rsa2048["common_name"] == "Amazon RDS us-east-1 Root CA RSA2048 G1"
    assert rsa2048["ca_identifier"] == "rds-ca-rsa2048-g1" and rsa2048["region"] == "us-east-1"
    assert rsa2048["key_type"] == "RSA 2048"
    assert by_name["amazon-rds-us-east-1-root-ca-ecc384-g1"]["key_type"] == "EC secp384r1"
    # The regional bundle's certificates are the global bundle's, byte for byte.
    global_by_name = dict((c["name"], c) for c in bundle.load_bundle(real(GLOBAL), now=NOW)["certificates"])
    for name, cert in by_name.items():
        assert global_by_name[name]["sha256"] == cert["sha256"]
        assert global_by_name[name]["pem"] == cert["pem"]


def test_describe_certificates_thumbprint_matches_sha1():
    """describe-certificates' Thumbprint is the SHA-1 the module returns (what Windows and macOS show)."""
    import json
    path = os.path.join(SHARED, "describe-certificates.us-west-2.json")
    if not os.path.exists(path):
        pytest.skip("%s not found" % path)
    with open(path, encoding="utf-8") as handle:
        described = json.load(handle)["Certificates"]
    certs = bundle.load_bundle(real(GLOBAL), now=NOW)["certificates"]
    by_sha1 = dict((c["sha1"], c) for c in certs)
    g1 = [d for d in described if d["CertificateIdentifier"].endswith("-g1")]
    assert g1
    for entry in g1:
        cert = by_sha1[entry["Thumbprint"].lower()]
        assert cert["ca_identifier"] == entry["CertificateIdentifier"] and cert["region"] == "us-west-2"


def test_crlf_2024_bundle_drops_28_expired():
    data = real(OLD_CRLF)
    assert b"\r\n" in data
    loaded = load(data, now=NOW)
    assert loaded["line_endings"] == "crlf"
    assert len(loaded["certificates"]) == 93 and len(loaded["expired"]) == 28
    expired_names = [c["common_name"] for c in loaded["expired"]]
    assert "Amazon RDS Root 2019 CA" in expired_names
    assert "Amazon RDS us-east-1 2019 CA" in expired_names
    assert all(c["not_after"] < "2025-06-02" for c in loaded["expired"])
    assert all("2019" in n or n.split()[2] in bundle.REGIONAL_ROOT_2019_REGIONS for n in expired_names)
    assert {c["ca_identifier"] for c in loaded["expired"]} == {"rds-ca-2019"}
    assert not any(c["expired"] for c in loaded["certificates"])
    kept = load(data, now=NOW, keep_expired=True)
    assert len(kept["certificates"]) == 121 and sum(c["expired"] for c in kept["certificates"]) == 28
    # Before they expired, nothing was dropped.
    assert len(load(data, now=BEFORE_2019_EXPIRY)["certificates"]) == 121
    # The 2019-era names are recognised as rds-ca-2019.
    assert {c["ca_identifier"] for c in kept["certificates"] if c["expired"]} == {"rds-ca-2019"}


def test_crlf_and_lf_give_identical_certificates():
    crlf = bundle.load_bundle(real(OLD_CRLF), now=NOW)
    lf = bundle.load_bundle(real(OLD_CRLF).replace(b"\r\n", b"\n"), now=NOW)
    assert crlf["bundle"] == lf["bundle"]
    assert [c["name"] for c in crlf["certificates"]] == [c["name"] for c in lf["certificates"]]


def test_only_expired_certificates_are_refused():
    data = real(OLD_CRLF)
    blocks = bundle.split_pem(data)["blocks"]
    expired = [b for b in blocks if bundle.der_summary(b["der"])["not_after"] <= NOW]
    assert len(expired) == 28
    only_expired = "".join(b["pem"] for b in expired)
    with pytest.raises(bundle.BundleError, match=r"holds no valid certificate: all 28 expired \(the newest on 2025-06-01"):
        load(only_expired, now=NOW)


def test_regional_bundle_lacks_other_regions_targets():
    data = real(US_EAST_1)
    loaded = load(data, now=NOW, regions=["us-east-1"], target_cas=bundle.TARGET_CAS)
    assert sorted(t["name"] for t in loaded["targets"]) == ["amazon-rds-us-east-1-root-ca-ecc384-g1",
                                                            "amazon-rds-us-east-1-root-ca-rsa2048-g1",
                                                            "amazon-rds-us-east-1-root-ca-rsa4096-g1"]
    with pytest.raises(bundle.BundleError) as caught:
        load(data, now=NOW, regions=["us-east-1", "eu-west-1"])
    assert "lacks the target CA certificate(s) for the regions in use: Amazon RDS eu-west-1 Root CA RSA2048 G1" in str(caught.value)


def test_2024_bundle_lacks_regions_launched_later():
    # The mid-2024 bundle predates some regions (for example ap-southeast-5, mx-central-1).
    old = {c["region"] for c in bundle.load_bundle(real(OLD_CRLF), now=NOW)["certificates"] if c["region"]}
    new = {c["region"] for c in bundle.load_bundle(real(GLOBAL), now=NOW)["certificates"]}
    later = sorted(new - old)
    assert later
    with pytest.raises(bundle.BundleError, match="lacks the target CA"):
        bundle.load_bundle(real(OLD_CRLF), now=NOW, regions=later[:1])


@pytest.mark.parametrize("name", [GLOBAL, OLD_CRLF, US_EAST_1])
def test_der_reader_agrees_with_cryptography(name):
    for block in bundle.split_pem(real(name))["blocks"]:
        cert = x509.load_der_x509_certificate(block["der"])
        summary = bundle.der_summary(block["der"])
        assert summary["not_before"] == cert.not_valid_before_utc
        assert summary["not_after"] == cert.not_valid_after_utc
        assert summary["subject_cn"] == cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        assert summary["issuer_cn"] == cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def test_fingerprints_in_reads_a_system_bundle_with_other_content():
    text = "# a comment\n" + pem(G1) + "-----BEGIN TRUSTED CERTIFICATE-----\nAAAA\n-----END TRUSTED CERTIFICATE-----\n" + \
        "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n" + pem(G1_EU, newline="\r\n")
    assert bundle.fingerprints_in(text) == [hashlib.sha256(G1).hexdigest(), hashlib.sha256(G1_EU).hexdigest()]
    assert bundle.fingerprints_in(b"") == []


# -- formats that must work ------------------------------------------------------------------

def test_stray_text_bom_no_final_newline_and_odd_widths():
    text = ("\ufeffAmazon RDS bundle, fetched by hand\n" + pem(G1, width=76) + "\n\n  # next one\n"
            + pem(G1_EU, width=40).rstrip("\n"))
    loaded = load(text.encode("utf-8"), now=NOW)
    assert [c["common_name"] for c in loaded["certificates"]] == [
        "Amazon RDS us-east-1 Root CA RSA2048 G1", "Amazon RDS eu-west-1 Root CA RSA2048 G1"]
    # Where the stray text was, never what it said (the file could be a secrets file given by mistake).
    assert loaded["ignored_text"] == ["34 bytes on line 1 (byte 0)", "12 bytes on line %d (byte %d)" % (
        4 + len(pem(G1, width=76).splitlines()), text.index("  # next one") - 1)]
    assert loaded["certificates"][0]["pem"] == pem(G1)


def test_duplicates_are_kept_once_and_reported():
    loaded = load(pem(G1) + pem(G1_EU) + pem(G1), now=NOW)
    assert [c["name"] for c in loaded["certificates"]] == [
        "amazon-rds-us-east-1-root-ca-rsa2048-g1", "amazon-rds-eu-west-1-root-ca-rsa2048-g1"]
    assert loaded["duplicates"] == ["Amazon RDS us-east-1 Root CA RSA2048 G1"]


def test_same_common_name_gets_fingerprint_suffixes():
    """Private CAs (require_rds_subjects=false) may share a name; each gets a fingerprint suffix."""
    first = make_cert("Corp Root CA", organization="Corp", unit=None)
    other = make_cert("Corp Root CA", organization="Corp", unit=None)  # same CN, another serial
    loaded = load(pem(first) + pem(other), now=NOW, require_rds_subjects=False)
    names = [c["name"] for c in loaded["certificates"]]
    assert names == ["corp-root-ca-" + hashlib.sha256(first).hexdigest()[:8],
                     "corp-root-ca-" + hashlib.sha256(other).hexdigest()[:8]]


def test_two_different_certificates_with_one_rds_name_are_refused_even_when_unpinned_allowed():
    """Attack: a second "Amazon RDS us-east-1 Root CA RSA2048 G1" next to the real one."""
    other = make_cert()  # same CN, another serial: another certificate
    with pytest.raises(bundle.BundleError) as error:
        load(pem(G1) + pem(other), now=NOW, regions=["us-east-1"])
    assert "2 different certificates are named 'Amazon RDS us-east-1 Root CA RSA2048 G1' (blocks 1, 2)" in str(error.value)


def test_expired_certificate_is_dropped_and_target_must_be_valid():
    loaded = load(pem(EXPIRED) + pem(G1), now=NOW)
    assert [c["name"] for c in loaded["certificates"]] == ["amazon-rds-us-east-1-root-ca-rsa2048-g1"]
    assert loaded["expired"][0]["name"] == "amazon-rds-root-2019-ca"
    assert loaded["expired"][0]["not_after"] == "2024-08-22T17:08:50Z"
    expired_target = make_cert("Amazon RDS eu-west-1 Root CA RSA2048 G1", not_after=datetime.datetime(2025, 1, 1, tzinfo=UTC))
    with pytest.raises(bundle.BundleError, match="eu-west-1 Root CA RSA2048 G1"):
        load(pem(expired_target) + pem(G1), now=NOW, regions=["eu-west-1"], keep_expired=True)


def test_require_rds_subjects_can_be_relaxed():
    corporate = make_cert("Example Corp Root CA", organization="Example Corp", unit=None)
    with pytest.raises(bundle.BundleError, match=r"block 2 \(Example Corp Root CA\) is not an Amazon RDS CA"):
        load(pem(G1) + pem(corporate), now=NOW)
    loaded = load(pem(G1) + pem(corporate), now=NOW, require_rds_subjects=False)
    assert [c["name"] for c in loaded["certificates"]] == ["amazon-rds-us-east-1-root-ca-rsa2048-g1", "example-corp-root-ca"]
    no_cn = make_cert(None, organization="Example Corp", unit=None)
    loaded = load(pem(no_cn), now=NOW, require_rds_subjects=False)
    assert loaded["certificates"][0]["name"] == "certificate-" + hashlib.sha256(no_cn).hexdigest()[:16]


# -- inputs that must be refused, clearly ------------------------------------------------------

@pytest.mark.parametrize("data, message", [
    (b"", r"the bundle is empty"),
    (b"  \r\n\n\t", r"the bundle is empty"),
    (b"<!DOCTYPE html>\n<html><head><title>403 Forbidden</title></head><body>AccessDenied</body></html>",
     r"is an HTML page, not a PEM bundle"),
    (b"<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code></Error>", r"is an HTML page"),
    (b"\x00\x01\x02garbage\xff\xfe", r"contains no PEM certificate .*: 12 bytes of something else"),
    (b"hello world", r"contains no PEM certificate"),
    (pem(G1)[:200].encode(), r"has no END line: the file is truncated"),
    (pem(G1)[:200] + pem(G1_EU), r"no END line before the next BEGIN line"),
    (pem(G1) + "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", r"block 2 is a 'PRIVATE KEY' PEM block"),
    ("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n", r"block 1 is a 'X509 CRL' PEM block, not a CERTIFICATE"),
    ("-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n", r"block 1 is not valid base64"),
    ("-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n", r"block 1 is not valid base64"),
    ("-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END CERTIFICATE-----\n", r"PEM headers"),
    ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", r"block 1 is not an X.509 certificate"),
])
def test_refused(data, message):
    with pytest.raises(bundle.BundleError, match=message):
        load(data, now=NOW)


def test_der_file_is_refused():
    with pytest.raises(bundle.BundleError, match="contains no PEM certificate"):
        load(G1, now=NOW)


def test_not_a_ca_is_refused():
    leaf = make_cert("Amazon RDS us-east-1 Root CA RSA2048 G1", ca=False)
    no_constraints = make_cert("Amazon RDS eu-west-1 Root CA RSA2048 G1", ca=None)
    with pytest.raises(bundle.BundleError) as caught:
        load(pem(leaf) + pem(no_constraints), now=NOW)
    assert len(caught.value.problems) == 2
    assert "block 1 (Amazon RDS us-east-1 Root CA RSA2048 G1) is not a CA certificate" in caught.value.problems[0]


def test_every_problem_is_listed():
    text = pem(G1) + "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" + \
        "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n"
    with pytest.raises(bundle.BundleError) as caught:
        load(text, now=NOW)
    assert len(caught.value.problems) == 2


def test_bad_targets_and_regions():
    with pytest.raises(bundle.BundleError, match="'rds-ca-2019' is not a target CA"):
        load(pem(G1), now=NOW, regions=["us-east-1"], target_cas=["rds-ca-2019"])
    with pytest.raises(bundle.BundleError, match="'US East' is not a region name"):
        load(pem(G1), now=NOW, regions=["US East"])


# -- small helpers -----------------------------------------------------------------------------

def test_urls_and_checksums():
    assert bundle.bundle_url() == "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
    assert bundle.bundle_url("eu-west-3") == "https://truststore.pki.rds.amazonaws.com/eu-west-3/eu-west-3-bundle.pem"
    with pytest.raises(bundle.BundleError):
        bundle.bundle_url("../etc")
    digest = hashlib.sha256(b"x").hexdigest()
    assert bundle.parse_checksum(digest) == ("sha256", digest)
    assert bundle.parse_checksum("SHA256:" + digest.upper()) == ("sha256", digest)
    assert bundle.verify_checksum(b"x", "sha512:" + hashlib.sha512(b"x").hexdigest())[0] == "sha512"
    for bad in ("md5:" + hashlib.md5(b"x").hexdigest(), "sha256:abc", "nonsense"):
        with pytest.raises(bundle.BundleError):
            bundle.parse_checksum(bad)
    with pytest.raises(bundle.BundleError, match="does not match the pinned checksum"):
        bundle.verify_checksum(b"y", "sha256:" + digest)


@pytest.mark.parametrize("name, expected", [
    ("Amazon RDS us-east-1 Root CA RSA2048 G1", ("rds-ca-rsa2048-g1", "us-east-1")),
    ("Amazon RDS Beta us-east-1 Root CA ECC384 G1", ("rds-ca-ecc384-g1", "us-east-1")),
    ("Amazon RDS us-gov-west-1 Root CA RSA4096 G1", ("rds-ca-rsa4096-g1", "us-gov-west-1")),
    ("Amazon RDS Root 2019 CA", ("rds-ca-2019", None)),
    ("Amazon RDS ap-south-1 2019 CA", ("rds-ca-2019", "ap-south-1")),
    ("Amazon RDS af-south-1 Root CA", ("rds-ca-2019", "af-south-1")),
    ("Amazon RDS me-south-1 CA", ("rds-ca-2019", "me-south-1")),
    # The 2015 generation (root "Amazon RDS Root CA", intermediates "Amazon RDS <region> CA" outside
    # af/eu/me-south-1): one classifier for bundles and probes (rds_domain.ca_from_name).
    ("Amazon RDS us-east-1 CA", ("rds-ca-2015", "us-east-1")),
    ("Amazon RDS Root CA", ("rds-ca-2015", None)),
    # The subordinate CA that issues G1 server certificates belongs to its root's CA.
    ("Amazon RDS us-east-1 Subordinate CA RSA2048 G1.A.1", ("rds-ca-rsa2048-g1", "us-east-1")),
    ("Example Root CA", (None, None)),
    (None, (None, None)),
])
def test_ca_of_common_name(name, expected):
    assert bundle.ca_of_common_name(name) == expected


def test_utctime_pivot():
    old = make_cert(not_before=datetime.datetime(1955, 1, 1, tzinfo=UTC), not_after=datetime.datetime(2049, 12, 31, tzinfo=UTC))
    far = make_cert(not_after=datetime.datetime(2125, 1, 1, tzinfo=UTC))
    assert bundle.der_summary(old)["not_before"].year == 1955
    assert bundle.der_summary(old)["not_after"].year == 2049
    assert bundle.der_summary(far)["not_after"].year == 2125


def test_der_reader_rejects_garbage():
    for data in (b"", b"\x30", b"\x30\x05\x02\x01\x01", b"\x04\x00", G1[:-1]):
        with pytest.raises(bundle.DERError):
            bundle.der_summary(data)


# -- properties --------------------------------------------------------------------------------

POOL = [G1, G1_4096, G1_EU, make_cert("Amazon RDS ap-southeast-2 Root CA ECC384 G1"),
        make_cert("Amazon RDS Preview us-east-2 Root CA RSA4096 G1")]

# Text that may sit between blocks: anything printable without the PEM markers.
JUNK = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40).filter(lambda s: "-----" not in s)


@st.composite
def formatted_bundles(draw):
    """(bundle bytes, the DERs it holds in order) with random formatting."""
    ders = draw(st.lists(st.sampled_from(POOL), min_size=1, max_size=6))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    parts = []
    for der in ders:
        parts.append(draw(st.sampled_from(["", "\n", "\n\n"])))
        junk = draw(JUNK)
        if junk.strip():
            parts.append(junk + newline)
        parts.append(pem(der, width=draw(st.sampled_from([64, 76, 40, 1000])), newline=newline))
    text = "".join(parts)
    if draw(st.booleans()):
        text = text.rstrip("\r\n")
    if draw(st.booleans()):
        text += draw(JUNK)
    return text.encode("ascii"), ders


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(formatted_bundles())
def test_split_finds_exactly_the_certificates(case):
    data, ders = case
    blocks = bundle.split_pem(data)["blocks"]
    assert [b["der"] for b in blocks] == ders
    assert [b["pem"] for b in blocks] == [pem(d) for d in ders]
    assert bundle.fingerprints_in(data) == [hashlib.sha256(d).hexdigest() for d in ders]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(formatted_bundles(), st.randoms(use_true_random=False))
def test_names_do_not_depend_on_order_or_format(case, rnd):
    data, ders = case
    loaded = load(data, now=NOW)
    shuffled = list(dict.fromkeys(ders))
    rnd.shuffle(shuffled)
    again = load("".join(pem(d) for d in shuffled), now=NOW)
    names = dict((c["sha256"], c["name"]) for c in loaded["certificates"])
    assert names == dict((c["sha256"], c["name"]) for c in again["certificates"])
    assert len(set(names.values())) == len(names) == len(set(ders))
    assert all(re.match(r"^[a-z0-9]+(-[a-z0-9]+)*$", n) for n in names.values())


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_crash(data):
    try:
        load(data, now=NOW)
    except bundle.BundleError as exc:
        assert str(exc)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200).filter(lambda s: "-----BEGIN" not in s))
def test_text_without_pem_is_always_refused(text):
    with pytest.raises(bundle.BundleError):
        bundle.split_pem(text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.datetimes(min_value=datetime.datetime(1950, 1, 1), max_value=datetime.datetime(2200, 1, 1)),
       st.integers(min_value=1, max_value=400 * 365), st.text(min_size=1, max_size=16))  # CN: at most 64 bytes
def test_der_reader_matches_cryptography(start, days, common_name):
    start = start.replace(microsecond=0, tzinfo=UTC)
    end = start + datetime.timedelta(days=days)
    if end.year > 9998:
        return
    der = make_cert(common_name, not_before=start, not_after=end)
    summary = bundle.der_summary(der)
    assert summary["not_before"] == start and summary["not_after"] == end
    assert summary["subject_cn"] == common_name == summary["issuer_cn"]


@given(st.text(max_size=80))
def test_slugs_are_file_and_alias_safe(text):
    slug = bundle.slugify(text)
    assert re.match(r"^([a-z0-9]+(-[a-z0-9]+)*)?$", slug)
    name = bundle.certificate_name(text, "ab" * 32)
    assert name and len(name) <= 96 and re.match(r"^[a-z0-9]+(-[a-z0-9]+)*$", name)


# -- keys, not names (issue 14, hole 2): each test is an attack that used to be accepted -------------

def _ca(common_name="Amazon RDS us-east-1 Root CA RSA2048 G1", key=None, extensions=(), sign_key=None,
        organization=bundle.RDS_ORGANIZATION, unit=bundle.RDS_ORGANIZATIONAL_UNIT, issuer=None):
    """A certificate (cryptography object) with the given key and extensions (basicConstraints CA:TRUE unless given)."""
    from cryptography.hazmat.primitives.asymmetric import rsa  # pylint: disable=import-outside-toplevel
    key = key or rsa.generate_private_key(65537, 2048)
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)] if organization else []
    if unit:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    name = x509.Name(attributes + [x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer or name).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(datetime.datetime(2021, 5, 25, tzinfo=UTC))
               .not_valid_after(datetime.datetime(2061, 5, 25, tzinfo=UTC)))
    kinds = [type(ext) for ext, _critical in extensions]
    if x509.BasicConstraints not in kinds and "no-bc" not in [e for e, _c in extensions if isinstance(e, str)]:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    for extension, critical in extensions:
        if not isinstance(extension, str):
            builder = builder.add_extension(extension, critical=critical)
    return key, builder.sign(sign_key or key, hashes.SHA256())


def _der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


def _resigned(key, cert, hash_name):
    """``cert`` signed with MD5 or SHA-1 (cryptography refuses to build those): same length OIDs, re-signed TBS."""
    from cryptography.hazmat.primitives.asymmetric import padding  # pylint: disable=import-outside-toplevel
    sha256_rsa = bytes.fromhex("06092a864886f70d01010b")
    weak_oid = sha256_rsa[:-1] + bytes([{"md5": 4, "sha1": 5}[hash_name]])
    tbs = cert.tbs_certificate_bytes.replace(sha256_rsa, weak_oid)
    algorithm = hashes.MD5() if hash_name == "md5" else hashes.SHA1()
    signature = key.sign(tbs, padding.PKCS1v15(), algorithm)
    return _der(cert).replace(cert.tbs_certificate_bytes, tbs).replace(sha256_rsa, weak_oid).replace(cert.signature, signature)


def test_real_bundles_are_every_certificate_pinned():
    for name in (GLOBAL, OLD_CRLF, US_EAST_1):
        loaded = bundle.load_bundle(real(name), now=NOW, keep_expired=True)
        assert all(c["pinned"] for c in loaded["certificates"]) and loaded["unpinned"] == []
        assert all(c["sha256"] in bundle.PINNED for c in loaded["certificates"])


def test_pinned_catalog_is_what_the_generator_makes_from_the_real_bundles():
    """The catalog is generated, not edited: regenerating it from AWS's bundles gives the committed file."""
    import importlib.util  # pylint: disable=import-outside-toplevel
    paths = [os.path.join(SHARED, name) for name in (GLOBAL, OLD_CRLF, US_EAST_1)]
    if not all(os.path.exists(p) for p in paths):
        pytest.skip("real RDS bundles not found in %s" % SHARED)
    here = os.path.dirname(os.path.abspath(__file__))
    script = None
    while here != os.path.dirname(here):
        if os.path.exists(os.path.join(here, "scripts", "generate_rds_ca_catalog.py")):
            script = os.path.join(here, "scripts", "generate_rds_ca_catalog.py")
            break
        here = os.path.dirname(here)
    if script is None:
        pytest.skip("scripts/generate_rds_ca_catalog.py not in this copy of the collection")
    spec = importlib.util.spec_from_file_location("generate_rds_ca_catalog", script)
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    text, count = generator.render(paths)
    assert count == len(bundle.PINNED) == 136
    with open(bundle.__file__.replace("bundle.py", "rds_ca_catalog.py"), encoding="utf-8") as handle:
        assert handle.read() == text


def test_impersonation_of_an_rds_root_with_wildcard_san_is_refused():
    """A self-signed "Amazon RDS us-east-1 Root CA RSA2048 G1" with SAN * (it then vouched for a bank's host)."""
    _key, fake = _ca(extensions=[(x509.SubjectAlternativeName([x509.DNSName("*")]), False)])
    with pytest.raises(bundle.BundleError) as error:
        bundle.load_bundle(pem(_der(fake)), now=NOW, regions=["us-east-1"])
    text = str(error.value)
    assert "has an Amazon RDS name but is not one of AWS's pinned RDS CA certificates" in text
    assert "a CA with a wildcard subjectAltName (*)" in text
    # Allowing unpinned RDS names does not let a wildcard through.
    with pytest.raises(bundle.BundleError, match=r"wildcard subjectAltName"):
        bundle.load_bundle(pem(_der(fake)), now=NOW, allow_unpinned=True)


def test_impersonation_next_to_the_real_bundle_is_refused():
    """The real global bundle with a look-alike of a real root appended: refused, naming the block."""
    _key, fake = _ca("Amazon RDS eu-west-1 Root CA RSA2048 G1")
    with pytest.raises(bundle.BundleError) as error:
        bundle.load_bundle(real(GLOBAL) + pem(_der(fake)).encode(), now=NOW)
    text = str(error.value)
    assert "block 109 (Amazon RDS eu-west-1 Root CA RSA2048 G1) has an Amazon RDS name" in text
    assert "2 different certificates are named 'Amazon RDS eu-west-1 Root CA RSA2048 G1'" in text


def test_unpinned_rds_name_only_with_the_explicit_option_and_listed():
    _key, fake = _ca()
    with pytest.raises(bundle.BundleError, match="not one of AWS's pinned RDS CA certificates"):
        bundle.load_bundle(pem(_der(fake)), now=NOW)
    loaded = bundle.load_bundle(pem(_der(fake)), now=NOW, allow_unpinned=True)
    assert loaded["unpinned"] == [{"name": "amazon-rds-us-east-1-root-ca-rsa2048-g1",
                                   "common_name": "Amazon RDS us-east-1 Root CA RSA2048 G1",
                                   "sha256": hashlib.sha256(_der(fake)).hexdigest()}]
    # An RDS organizational unit under another name is an RDS claim too; so is the CN prefix alone.
    _key, unit_only = _ca("Totally Legit Root", organization="Amazon Web Services, Inc.")
    _key, prefix_only = _ca("Amazon RDS something", organization="Evil", unit=None)
    for cert in (unit_only, prefix_only):
        with pytest.raises(bundle.BundleError, match="pinned"):
            bundle.load_bundle(pem(_der(cert)), now=NOW, require_rds_subjects=False)


def test_weak_rsa_key_is_refused_even_for_a_private_ca():
    from cryptography.hazmat.primitives.asymmetric import rsa  # pylint: disable=import-outside-toplevel
    _key, weak = _ca("Corp Root CA", key=rsa.generate_private_key(65537, 1024), organization="Corp", unit=None)
    with pytest.raises(bundle.BundleError, match=r"a weak key \(RSA 1024 bits, at least 2048 required\)"):
        bundle.load_bundle(pem(_der(weak)), now=NOW, require_rds_subjects=False, allow_unpinned=True)


def test_md5_signed_ca_is_refused_and_sha1_only_on_a_root():
    key, root = _ca("Corp Root CA", organization="Corp", unit=None)
    md5 = _resigned(key, root, "md5")
    assert x509.load_der_x509_certificate(md5).signature_hash_algorithm.name == "md5"
    with pytest.raises(bundle.BundleError, match=r"signed with a broken algorithm \(MD5\)"):
        bundle.load_bundle(pem(md5), now=NOW, require_rds_subjects=False)
    sha1_root = _resigned(key, root, "sha1")
    assert bundle.load_bundle(pem(sha1_root), now=NOW, require_rds_subjects=False)["certificates"][0]["self_signed"]
    _child_key, child = _ca("Corp Issuing CA", organization="Corp", unit=None, sign_key=key, issuer=root.subject)
    with pytest.raises(bundle.BundleError, match=r"signed with a weak algorithm \(SHA1\) by another CA"):
        bundle.load_bundle(pem(_resigned(key, child, "sha1")), now=NOW, require_rds_subjects=False)


def test_leaf_missing_basic_constraints_and_key_usage_without_cert_sign_are_refused():
    _key, leaf = _ca("Corp leaf", organization="Corp", unit=None,
                     extensions=[(x509.BasicConstraints(ca=False, path_length=None), True)])
    _key, bare = _ca("Corp bare", organization="Corp", unit=None, extensions=[("no-bc", False)])
    usage = x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True, data_encipherment=False,
                          key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False)
    _key, no_sign = _ca("Corp nosign", organization="Corp", unit=None, extensions=[(usage, True)])
    with pytest.raises(bundle.BundleError) as error:
        bundle.load_bundle(pem(_der(leaf)) + pem(_der(bare)) + pem(_der(no_sign)), now=NOW, require_rds_subjects=False)
    text = str(error.value)
    assert "block 1 (Corp leaf) is not a CA certificate (basicConstraints CA:FALSE, a leaf certificate)" in text
    assert "block 2 (Corp bare) is not a CA certificate (no basicConstraints extension)" in text
    assert "block 3 (Corp nosign) is not a CA certificate (keyUsage without keyCertSign)" in text


def test_self_signed_certificate_whose_signature_does_not_verify_is_refused():
    other = ec.generate_private_key(ec.SECP256R1())
    _key, forged = _ca("Corp Root CA", organization="Corp", unit=None, sign_key=other)
    with pytest.raises(bundle.BundleError, match="its signature does not verify with its own key"):
        bundle.load_bundle(pem(_der(forged)), now=NOW, require_rds_subjects=False)


def test_private_ca_only_with_require_rds_subjects_false():
    _key, corp = _ca("Corp Root CA", organization="Corp", unit=None)
    with pytest.raises(bundle.BundleError, match="is not an Amazon RDS CA"):
        bundle.load_bundle(real(US_EAST_1) + pem(_der(corp)).encode(), now=NOW)
    loaded = bundle.load_bundle(real(US_EAST_1) + pem(_der(corp)).encode(), now=NOW, require_rds_subjects=False)
    assert [c["pinned"] for c in loaded["certificates"]] == [True, True, True, False]
    assert loaded["unpinned"] == []  # a private CA's own name is no RDS claim


# -- linear parsing (issue 14, hole 4) ------------------------------------------------------------

@pytest.mark.parametrize("unit", [b"-----BEGIN CERTIFICATE-----\n", b"-----BEGIN CERTIFICATE-----",
                                  b"-----BEGIN CERTIFICATE-----\nAAAA\n", b"-----END CERTIFICATE-----\r\n"])
def test_garbage_is_parsed_in_linear_time(unit):
    """100 KB of BEGIN lines without an END took 16 s (quadratic); now 5 MB, the cap, takes about a second."""
    import time  # pylint: disable=import-outside-toplevel
    for size, allowed in ((100 * 1024, 1.5), (bundle.MAX_BUNDLE_BYTES, 15.0)):
        data = (unit * (size // len(unit) + 1))[:size]
        started = time.perf_counter()
        with pytest.raises(bundle.BundleError) as error:
            bundle.split_pem(data)
        elapsed = time.perf_counter() - started
        assert elapsed < allowed, "%d bytes took %.1f s" % (size, elapsed)
        assert len(error.value.problems) <= bundle.MAX_PROBLEMS + 1
        assert len(str(error.value)) < 5000


def test_errors_never_quote_the_input():
    """Hole 6: `src` pointing at a secrets file echoed its first 60 characters (a .pgpass password showed)."""
    secret = "db.example.com:5432:*:app:Sup3r-Secret-Passw0rd"
    for data in (secret + "\n", "<html>" + secret + "</html>", "-----BEGIN CERTIFICATE-----\n" + secret + "\n",
                 pem(G1) + secret + "\n", "-----BEGIN CERTIFICATE-----\n" + secret + "\n-----END CERTIFICATE-----\n"):
        try:
            loaded = load(data.encode(), now=NOW)
        except bundle.BundleError as exc:
            text = str(exc) + " ".join(exc.problems)
        else:
            text = " ".join(loaded["ignored_text"])
        assert "Sup3r" not in text and "app:" not in text and "db.example" not in text, text


def test_a_name_attribute_cryptography_cannot_decode_is_refused_not_raised():
    """Found by hypothesis (test_bad_input): a damaged body decoded into a surname attribute typed BIT STRING,
    which cryptography parses lazily and rejects with TypeError when the names are compared. The block is
    refused like any other certificate that cannot be read, and the others stay readable."""
    from cryptography.hazmat.primitives.asymmetric import rsa  # pylint: disable=import-outside-toplevel
    key = rsa.generate_private_key(65537, 2048)
    name = x509.Name([x509.NameAttribute(NameOID.SURNAME, "US"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "Private Root CA")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(datetime.datetime(2021, 5, 25, tzinfo=UTC))
            .not_valid_after(datetime.datetime(2061, 5, 25, tzinfo=UTC))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    utf8_surname = bytes.fromhex("0603550404") + b"\x0c\x02US"
    der = _der(cert)
    assert utf8_surname in der
    damaged = der.replace(utf8_surname, bytes.fromhex("0603550404") + b"\x03\x02US")
    pem = "-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n" % base64.encodebytes(damaged).decode("ascii")
    with pytest.raises(bundle.BundleError, match="block 1 is not an X.509 certificate"):
        bundle.load_bundle(pem.encode("ascii"), require_rds_subjects=False)


def test_an_operator_pinned_key_is_trusted_without_a_warning_and_only_that_key():
    """Issue 19 (demo warnings): a test PKI (the simulator's) needed allow_unpinned, which trusts any key with an
    RDS name and warns each time; pinning its exact fingerprints trusts those keys only, like AWS's pins."""
    _key, fake = _ca()
    digest = hashlib.sha256(_der(fake)).hexdigest()
    colons = ":".join(digest[i:i + 2] for i in range(0, 64, 2)).upper()
    for pins in ([digest], colons, "%s, %s" % ("0" * 64, digest)):
        loaded = bundle.load_bundle(pem(_der(fake)), now=NOW, pins=pins)
        assert loaded["unpinned"] == [] and [c["pinned"] for c in loaded["certificates"]] == [False]
    _key, impostor = _ca()  # the same RDS name, another key
    with pytest.raises(bundle.BundleError, match="not one of AWS's pinned RDS CA certificates"):
        bundle.load_bundle(pem(_der(impostor)), now=NOW, pins=[digest])
    # one name, two keys: refused unless both are pinned
    with pytest.raises(bundle.BundleError, match="2 different certificates are named"):
        bundle.load_bundle((pem(_der(fake)) + pem(_der(impostor))).encode(), now=NOW, pins=[digest], allow_unpinned=True)


@pytest.mark.parametrize("pins", [["abc"], ["g" * 64], "not-a-fingerprint", [None], 5])
def test_a_pin_that_is_not_a_sha256_fingerprint_is_refused(pins):
    _key, fake = _ca()
    with pytest.raises(bundle.BundleError, match="SHA-256 fingerprint"):
        bundle.load_bundle(pem(_der(fake)), now=NOW, pins=pins)
