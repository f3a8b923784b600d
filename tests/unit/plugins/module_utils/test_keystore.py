"""module_utils.keystore: a Java keystore's trusted certificates read in Python (issue 19), checked against keytool."""

from __future__ import absolute_import, division, print_function

import hashlib
import shutil
import subprocess

import pytest

from ansible_collections.rdsca.rotation.plugins.module_utils import keystore
from ansible_collections.rdsca.rotation.plugins.module_utils.bundle import split_pem

KEYTOOL = shutil.which("keytool")
pytestmark = pytest.mark.skipif(KEYTOOL is None, reason="keytool not installed (a Java runtime: apt-get install default-jre-headless)")
PASSWORD = "changeit-123"


def pem_file(tmp_path, name):
    """A self-signed CA made by keytool itself, exported as PEM."""
    ks = tmp_path / ("%s-src.p12" % name)
    subprocess.run([KEYTOOL, "-genkeypair", "-alias", name, "-keyalg", "EC", "-dname", "CN=%s" % name, "-ext", "bc:c",
                    "-keystore", str(ks), "-storepass", PASSWORD, "-storetype", "PKCS12"], capture_output=True, check=True)
    out = tmp_path / ("%s.pem" % name)
    subprocess.run([KEYTOOL, "-exportcert", "-rfc", "-alias", name, "-file", str(out), "-keystore", str(ks),
                    "-storepass", PASSWORD], capture_output=True, check=True)
    return out, ks


def keytool_fingerprints(path):
    listing = subprocess.run([KEYTOOL, "-list", "-rfc", "-keystore", str(path), "-storepass", PASSWORD],
                             capture_output=True, text=True, check=True).stdout
    return sorted(hashlib.sha256(block["der"]).hexdigest() for block in split_pem(listing)["blocks"])


@pytest.mark.parametrize("kind", ["JKS", "PKCS12"])
def test_trusted_entries_are_what_keytool_lists(tmp_path, kind):
    store = tmp_path / "store"
    for name in ("ca-one", "ca-two"):
        pem, _src = pem_file(tmp_path, name)
        subprocess.run([KEYTOOL, "-importcert", "-noprompt", "-alias", name, "-file", str(pem), "-keystore", str(store),
                        "-storepass", PASSWORD, "-storetype", kind], capture_output=True, check=True)
    data = store.read_bytes()
    found = keystore.trusted_entries(data, PASSWORD, kind)
    assert sorted(found) == ["ca-one", "ca-two"]
    assert sorted(hashlib.sha256(der).hexdigest() for der in found.values()) == keytool_fingerprints(store)
    assert keystore.trusted_entries(data, PASSWORD) == found  # type from the content
    assert keystore.trusted_entries(data, "wrong-password", kind) is None
    assert keystore.trusted_entries(data[:-5], PASSWORD, kind) is None
    other = "PKCS12" if kind == "JKS" else "JKS"
    assert keystore.trusted_entries(data, PASSWORD, other) is None


def test_a_jks_with_a_key_entry_lists_only_its_trusted_certificates(tmp_path):
    pem, _src = pem_file(tmp_path, "ca-one")
    store = tmp_path / "store.jks"
    subprocess.run([KEYTOOL, "-genkeypair", "-alias", "server", "-keyalg", "EC", "-dname", "CN=server", "-keystore", str(store),
                    "-storepass", PASSWORD, "-keypass", PASSWORD, "-storetype", "JKS"], capture_output=True, check=True)
    subprocess.run([KEYTOOL, "-importcert", "-noprompt", "-alias", "ca-one", "-file", str(pem), "-keystore", str(store),
                    "-storepass", PASSWORD, "-storetype", "JKS"], capture_output=True, check=True)
    found = keystore.trusted_entries(store.read_bytes(), PASSWORD, "JKS")
    assert list(found) == ["ca-one"]
    tampered = bytearray(store.read_bytes())
    tampered[40] ^= 1
    assert keystore.trusted_entries(bytes(tampered), PASSWORD, "JKS") is None


def test_a_pkcs12_with_a_private_key_is_left_to_keytool(tmp_path):
    _pem, src = pem_file(tmp_path, "ca-one")
    assert keystore.trusted_entries(src.read_bytes(), PASSWORD, "PKCS12") is None


@pytest.mark.parametrize("data", [b"", b"\xfe\xed\xfe\xed", b"\xce\xce\xce\xce" + b"\x00" * 40, b"not a keystore"])
def test_anything_else_is_left_to_keytool(data):
    assert keystore.trusted_entries(data, PASSWORD) is None
