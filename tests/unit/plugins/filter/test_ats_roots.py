"""The Amazon Trust Services roots (issue 17: clients of RDS Proxy and Neptune endpoints): pinned keys, not names."""

from __future__ import annotations

import datetime
import os

import pytest
from ansible.errors import AnsibleFilterError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.rdsca.rotation.plugins.filter.ats_roots import ats_roots
from ansible_collections.rdsca.rotation.plugins.plugin_utils import ats_roots as lib

SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def _self_signed(cn, ca=True):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "US"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Amazon"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.mark.skipif(not os.path.isfile(SYSTEM_BUNDLE), reason="no system CA bundle at %s" % SYSTEM_BUNDLE)
def test_the_published_roots_are_taken_from_a_system_bundle_and_nothing_else():
    with open(SYSTEM_BUNDLE, encoding="ascii") as handle:
        text = handle.read()
    roots = ats_roots(text)
    assert [r["subject_cn"] for r in roots] == ["Amazon Root CA 1", "Amazon Root CA 2", "Amazon Root CA 3",
                                                "Amazon Root CA 4", "Starfield Services Root Certificate Authority - G2"]
    assert all(r["pinned"] and r["sha256"] in lib.PINNED for r in roots)
    assert roots[0]["name"] == "amazon-trust-services-amazon-root-ca-1"


def test_an_impersonation_is_refused_unless_a_test_pki_is_allowed():
    fake = _self_signed("Amazon Root CA 1")
    with pytest.raises(AnsibleFilterError, match="named like an Amazon Trust Services root but is not the published"):
        ats_roots(fake)
    (allowed,) = ats_roots(fake + _self_signed("Some Other Root"), allow_unpinned=True)
    assert (allowed["subject_cn"], allowed["pinned"]) == ("Amazon Root CA 1", False)
    # Not a CA: never, even for a test PKI.
    with pytest.raises(AnsibleFilterError, match="not the published"):
        ats_roots(_self_signed("Amazon Root CA 2", ca=False), allow_unpinned=True)


@pytest.mark.parametrize("text, words", [
    ("", "no PEM certificates"), (None, "no PEM certificates"),
    ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "none of the .* 1 certificate.s. could not be read"),
])
def test_bad_input(text, words):
    with pytest.raises(AnsibleFilterError, match=words):
        ats_roots(text)


def test_a_bundle_without_any_root_fails():
    with pytest.raises(AnsibleFilterError, match="holds none of the Amazon Trust Services roots"):
        ats_roots(_self_signed("Some Other Root"))
