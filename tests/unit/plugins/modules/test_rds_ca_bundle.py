# -*- coding: utf-8 -*-
# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""rds_ca_bundle: sources (file, HTTPS with real certificate verification, pinned checksums), dest, failures."""

from __future__ import absolute_import, division, print_function

import datetime
import hashlib
import http.server
import os
import ssl
import threading

import pytest


from ansible_collections.rdsca.rotation.plugins.modules import rds_ca_bundle

cryptography = pytest.importorskip("cryptography")

from cryptography import x509  # noqa: E402  pylint: disable=wrong-import-position
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402  pylint: disable=wrong-import-position
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402  pylint: disable=wrong-import-position
from cryptography.x509.oid import NameOID  # noqa: E402  pylint: disable=wrong-import-position

UTC = datetime.timezone.utc


def _shared_data():
    if os.environ.get("RDSCA_SHARED_DATA"):
        return os.environ["RDSCA_SHARED_DATA"]
    here = os.path.dirname(os.path.abspath(__file__))
    while os.path.dirname(here) != here:
        if os.path.isdir(os.path.join(here, "shared", "data", "rds-ca")):
            return os.path.join(here, "shared", "data", "rds-ca")
        here = os.path.dirname(here)
    return "/nonexistent/shared/data/rds-ca"


SHARED = _shared_data()


def real_path(name):
    path = os.path.join(SHARED, name)
    if not os.path.exists(path):
        pytest.skip("real RDS bundle %s not found (../shared/data/rds-ca next to the repository)" % path)
    return path


def _name(common_name, rds=True):
    attributes = []
    if rds:
        attributes += [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Amazon Web Services, Inc."),
                       x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Amazon RDS")]
    return x509.Name(attributes + [x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(common_name, rds=True, not_after=None):
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (x509.CertificateBuilder().subject_name(_name(common_name, rds)).issuer_name(_name(common_name, rds))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(datetime.datetime(2021, 1, 1, tzinfo=UTC))
               .not_valid_after(not_after or datetime.datetime(2061, 1, 1, tzinfo=UTC))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True))
    return key, builder.sign(key, hashes.SHA256())


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


US_EAST_1 = make_ca("Amazon RDS us-east-1 Root CA RSA2048 G1")[1]
EU_WEST_1 = make_ca("Amazon RDS eu-west-1 Root CA RSA2048 G1")[1]
BUNDLE = pem(US_EAST_1) + pem(EU_WEST_1)


@pytest.fixture
def module(module_runner, monkeypatch):
    # The generated CAs carry RDS names with keys AWS never published: allowed explicitly, as the
    # integration tests do for the simulator's PKI (tests that check pinning set it back).
    monkeypatch.setenv("RDSCA_ALLOW_UNPINNED_RDS_CAS", "true")
    return module_runner(rds_ca_bundle)


def test_src_global_bundle(module):
    done = module(src=real_path("global-bundle.pem"), regions=["us-east-1", "eu-west-1"],
                  target_ca=["rds-ca-rsa2048-g1", "rds-ca-ecc384-g1"])
    assert done.kind == "exit", done.result
    result = done.result
    assert result["changed"] is False and result["count"] == 108
    assert result["line_endings"] == "lf" and result["expired"] == []
    assert sorted(t["name"] for t in result["targets"]) == [
        "amazon-rds-eu-west-1-root-ca-ecc384-g1", "amazon-rds-eu-west-1-root-ca-rsa2048-g1",
        "amazon-rds-us-east-1-root-ca-ecc384-g1", "amazon-rds-us-east-1-root-ca-rsa2048-g1"]
    with open(real_path("global-bundle.pem"), "rb") as handle:
        assert result["source_sha256"] == hashlib.sha256(handle.read()).hexdigest()
    assert result["msg"].startswith("108 certificate(s) from ")


def test_crlf_bundle_warns_about_expired(module):
    done = module(src=real_path("global-bundle.2024-06.121certs-with-rds-ca-2019.crlf.pem"))
    assert done.kind == "exit"
    assert done.result["count"] == 93 and len(done.result["expired"]) == 28
    assert any(w.startswith("28 expired certificate(s) dropped: ") and "Amazon RDS Root 2019 CA" in w
               for w in done.result["warnings"])
    kept = module(src=real_path("global-bundle.2024-06.121certs-with-rds-ca-2019.crlf.pem"), keep_expired=True)
    assert kept.result["count"] == 121


def test_refused_bundle_reports_every_problem(module, tmp_path):
    path = tmp_path / "bad.pem"
    leaf_ca = make_ca("Example Root", rds=False)[1]
    path.write_text(BUNDLE + pem(leaf_ca) + "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    done = module(src=str(path))
    assert done.kind == "fail"
    assert done.result["msg"].startswith("The CA bundle was refused, nothing was changed: ")
    assert len(done.result["problems"]) == 1  # the non-certificate block stops parsing first
    path.write_text(BUNDLE + pem(leaf_ca))
    done = module(src=str(path))
    assert "block 3 (Example Root) is not an Amazon RDS CA" in done.result["msg"]
    assert module(src=str(path), require_rds_subjects=False).kind == "exit"


def test_missing_src_and_target(module, tmp_path):
    done = module(src=str(tmp_path / "nope.pem"))
    assert done.kind == "fail" and "does not exist" in done.result["msg"]
    path = tmp_path / "b.pem"
    path.write_text(BUNDLE)
    done = module(src=str(path), regions=["ap-south-2"])
    assert done.kind == "fail" and "Amazon RDS ap-south-2 Root CA RSA2048 G1" in done.result["msg"]


def test_checksum_pinning(module, tmp_path):
    path = tmp_path / "b.pem"
    path.write_text(BUNDLE)
    digest = hashlib.sha256(BUNDLE.encode()).hexdigest()
    assert module(src=str(path), checksum="sha256:" + digest).kind == "exit"
    done = module(src=str(path), checksum="sha256:" + "0" * 64)
    assert done.kind == "fail" and "does not match the pinned checksum" in done.result["msg"]
    assert done.result["source_sha256"] == digest


def test_bad_checksum_fails_before_any_download(module, monkeypatch):
    monkeypatch.setattr(rds_ca_bundle, "fetch", lambda *a, **k: pytest.fail("downloaded"))
    done = module(checksum="sha1:abc")
    assert done.kind == "fail" and "checksum algorithm 'sha1'" in done.result["msg"]


def test_bad_pinned_rds_cas_fail_before_any_download(module, monkeypatch):
    """Every input is checked before the download, as the checksum is (review of issue 19's pinned_rds_cas)."""
    monkeypatch.setattr(rds_ca_bundle, "fetch", lambda *a, **k: pytest.fail("downloaded"))
    done = module(pinned_rds_cas=["not-a-fingerprint"])
    assert done.kind == "fail" and "'not-a-fingerprint' is not a SHA-256 fingerprint" in done.result["msg"]


def test_plain_http_needs_a_checksum(module, monkeypatch):
    fetched = []
    monkeypatch.setattr(rds_ca_bundle, "fetch", lambda url, timeout, ca_path=None: fetched.append(url) or BUNDLE.encode())
    done = module(url="http://mirror.example/global-bundle.pem")
    assert done.kind == "fail" and "plain HTTP" in done.result["msg"] and not fetched
    digest = hashlib.sha256(BUNDLE.encode()).hexdigest()
    assert module(url="http://mirror.example/global-bundle.pem", checksum=digest).kind == "exit"
    assert module(url="ftp://mirror.example/b.pem").result["msg"].startswith("url ftp://mirror.example/b.pem: only https")


def test_default_and_regional_urls(module, monkeypatch):
    fetched = []
    monkeypatch.setattr(rds_ca_bundle, "fetch", lambda url, timeout, ca_path=None: fetched.append(url) or BUNDLE.encode())
    assert module().kind == "exit"
    done = module(region="eu-west-1")
    assert fetched == ["https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem",
                       "https://truststore.pki.rds.amazonaws.com/eu-west-1/eu-west-1-bundle.pem"]
    # The region's target CA is required by default.
    assert [t["region"] for t in done.result["targets"]] == ["eu-west-1"]


def test_dest_mirrors_the_bundle(module, tmp_path):
    src = tmp_path / "b.pem"
    src.write_text(BUNDLE)
    dest = tmp_path / "out"
    (tmp_path / "out").mkdir()
    (dest / "amazon-rds-old-root-2019-ca.pem").write_text("stale")
    (dest / "README").write_text("mine")
    dry = module(src=str(src), dest=str(dest), _ansible_check_mode=True)
    assert dry.result["changed"] is True and sorted(os.listdir(str(dest))) == ["README", "amazon-rds-old-root-2019-ca.pem"]
    done = module(src=str(src), dest=str(dest))
    assert done.result["changed"] is True
    assert sorted(os.listdir(str(dest))) == ["README", "amazon-rds-eu-west-1-root-ca-rsa2048-g1.pem",
                                             "amazon-rds-us-east-1-root-ca-rsa2048-g1.pem", "bundle.pem"]
    assert (dest / "amazon-rds-us-east-1-root-ca-rsa2048-g1.pem").read_text() == pem(US_EAST_1)
    assert (dest / "bundle.pem").read_text() == BUNDLE
    assert oct(os.stat(str(dest / "bundle.pem")).st_mode & 0o777) == "0o644"
    assert done.result["files"]["removed"] == [str(dest / "amazon-rds-old-root-2019-ca.pem")]
    again = module(src=str(src), dest=str(dest))
    assert again.result["changed"] is False and len(again.result["files"]["unchanged"]) == 3


# -- a real HTTPS server: verification is on, and ca_path trusts a private CA --------------------

@pytest.fixture
def https_server(tmp_path):
    ca_key, ca = make_ca("Test Mirror CA", rds=False)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(datetime.datetime(2021, 1, 1, tzinfo=UTC))
            .not_valid_after(datetime.datetime(2061, 1, 1, tzinfo=UTC))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    cert_file = tmp_path / "server.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text(pem(ca))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            if self.path == "/global/global-bundle.pem":
                body = BUNDLE.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "http://127.0.0.1:%d/global/global-bundle.pem" % plain.server_port)
                self.end_headers()
            else:
                self.send_error(404)

        def log_message(self, *args):
            pass

    plain = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert_file))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    for each in (plain, server):
        threading.Thread(target=each.serve_forever, daemon=True).start()
    try:
        yield "https://localhost:%d" % server.server_port, str(ca_file)
    finally:
        for each in (plain, server):
            each.shutdown()
            each.server_close()


def test_https_download_verifies_the_server(module, https_server):
    base, ca_file = https_server
    done = module(url=base + "/global/global-bundle.pem")
    assert done.kind == "fail"
    assert "the server's certificate does not verify" in done.result["msg"] and "set ca_cert" in done.result["msg"]
    done = module(url=base + "/global/global-bundle.pem", ca_cert=ca_file)
    assert done.kind == "exit", done.result
    assert done.result["count"] == 2 and done.result["source"] == base + "/global/global-bundle.pem"
    missing = module(url=base + "/nope", ca_cert=ca_file)
    assert missing.kind == "fail" and "HTTP 404" in missing.result["msg"]


def test_https_redirect_to_plain_http_is_refused(module, https_server):
    base, ca_file = https_server
    done = module(url=base + "/redirect", ca_cert=ca_file)
    assert done.kind == "fail"
    assert "was redirected to http://127.0.0.1:" in done.result["msg"]
    assert "which is not HTTPS: refused" in done.result["msg"]


def test_rds_name_with_an_unknown_key_is_refused_unless_explicitly_allowed(module, tmp_path, monkeypatch):
    """Attack: an "Amazon RDS us-east-1 Root CA RSA2048 G1" of the attacker's own, in a reviewed-looking file."""
    monkeypatch.delenv("RDSCA_ALLOW_UNPINNED_RDS_CAS")
    path = tmp_path / "impersonation.pem"
    path.write_text(pem(US_EAST_1))
    done = module(src=str(path), regions=["us-east-1"])
    assert done.kind == "fail", done.result
    assert "has an Amazon RDS name but is not one of AWS's pinned RDS CA certificates" in done.result["msg"]
    assert "refresh the pinned catalog" in done.result["msg"]
    # Not even as a private CA: an RDS name must carry an AWS key.
    assert module(src=str(path), require_rds_subjects=False).kind == "fail"
    allowed = module(src=str(path), regions=["us-east-1"], allow_unpinned_rds_cas=True)
    assert allowed.kind == "exit", allowed.result
    assert [c["common_name"] for c in allowed.result["unpinned"]] == ["Amazon RDS us-east-1 Root CA RSA2048 G1"]
    assert any("NOT among AWS's pinned RDS CA certificates" in w for w in allowed.result["warnings"])
    # The controller's environment is the other explicit way (what the simulator's tests use).
    monkeypatch.setenv("RDSCA_ALLOW_UNPINNED_RDS_CAS", "1")
    assert module(src=str(path), regions=["us-east-1"]).kind == "exit"


def test_real_bundle_is_pinned_and_accepted_without_any_option(module, monkeypatch):
    monkeypatch.delenv("RDSCA_ALLOW_UNPINNED_RDS_CAS")
    done = module(src=real_path("global-bundle.pem"), regions=["us-east-1"])
    assert done.kind == "exit", done.result
    assert done.result["unpinned"] == [] and all(c["pinned"] for c in done.result["certificates"])


def test_dest_modes_under_umask_000_and_no_link_following(module, tmp_path):
    """Issue 14, holes 1 and 3 for dest: files 0644 and directories 0755 whatever the umask; a link another
    user planted on the way is refused."""
    src = tmp_path / "b.pem"
    src.write_text(BUNDLE)
    dest = tmp_path / "new" / "ca"
    old = os.umask(0)
    try:
        done = module(src=str(src), dest=str(dest))
    finally:
        os.umask(old)
    assert done.kind == "exit", done.result
    assert oct(os.stat(str(dest)).st_mode & 0o777) == "0o755" and oct(os.stat(str(dest.parent)).st_mode & 0o777) == "0o755"
    assert {oct(os.stat(str(p)).st_mode & 0o777) for p in dest.iterdir()} == {"0o644"}
    if os.geteuid() == 0:
        shared = tmp_path / "shared"
        shared.mkdir()
        os.chown(str(shared), 65534, 65534)
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        os.symlink(str(elsewhere), str(shared / "ca"))
        os.lchown(str(shared / "ca"), 65534, 65534)
        refused = module(src=str(src), dest=str(shared / "ca"))
        assert refused.kind == "fail" and "is a symbolic link that another user controls" in refused.result["msg"]
        assert os.listdir(str(elsewhere)) == []


def test_dest_files_take_the_common_file_options(module, tmp_path):
    """Issue 16: add_file_common_args - O(mode), O(owner), O(group) apply to the files written to dest; a mode
    change alone is a change (predicted in check mode), an unsafe mode is refused before anything is written,
    and a file is not handed to another user in a directory that user does not own."""
    src = tmp_path / "b.pem"
    src.write_text(BUNDLE)
    dest = tmp_path / "out"
    done = module(src=str(src), dest=str(dest), mode="0640")
    assert done.kind == "exit", done.result
    assert {oct(os.stat(str(p)).st_mode & 0o777) for p in dest.iterdir()} == {"0o640"}
    dry = module(src=str(src), dest=str(dest), mode="0644", _ansible_check_mode=True)
    assert dry.result["changed"] is True and len(dry.result["files"]["written"]) == 3
    assert {oct(os.stat(str(p)).st_mode & 0o777) for p in dest.iterdir()} == {"0o640"}
    relaxed = module(src=str(src), dest=str(dest), mode="0644")
    assert relaxed.result["changed"] is True
    assert {oct(os.stat(str(p)).st_mode & 0o777) for p in dest.iterdir()} == {"0o644"}
    assert module(src=str(src), dest=str(dest), mode="0644").result["changed"] is False
    unsafe = module(src=str(src), dest=str(tmp_path / "never"), mode="0666")
    assert unsafe.kind == "fail" and "Invalid options, nothing was changed" in unsafe.result["msg"]
    assert not (tmp_path / "never").exists()
    if os.geteuid() == 0:
        refused = module(src=str(src), dest=str(dest), owner="65534")
        assert refused.kind == "fail" and "dest" in refused.result["msg"]
        assert {os.stat(str(p)).st_uid for p in dest.iterdir()} == {0}


def test_url_credentials_are_redacted():
    assert rds_ca_bundle.redact_url("https://user:TOKEN@host.example/a/b.pem?sig=XYZ&x=") == \
        "https://********@host.example/a/b.pem?sig=********&x="
    assert sorted(rds_ca_bundle.url_secrets("https://user:TOKEN@host/p?sig=XYZW")) == ["TOKEN", "XYZW", "user", "user:TOKEN"]
    assert rds_ca_bundle.redact_url(rds_ca_bundle.bundle_url(None)) == rds_ca_bundle.bundle_url(None)


def test_pinned_rds_cas_trust_exactly_those_keys_without_a_warning(module, tmp_path, monkeypatch):
    """Issue 19: the demo (the simulator's CAs) printed an unpinned-CA warning of its own making."""
    monkeypatch.delenv("RDSCA_ALLOW_UNPINNED_RDS_CAS")
    path = tmp_path / "test-pki.pem"
    path.write_text(pem(US_EAST_1))
    digest = hashlib.sha256(US_EAST_1.public_bytes(serialization.Encoding.DER)).hexdigest()
    done = module(src=str(path), regions=["us-east-1"], pinned_rds_cas=[digest])
    assert done.kind == "exit", done.result
    assert done.result["unpinned"] == [] and not [w for w in done.result.get("warnings") or [] if "pinned" in w]
    monkeypatch.setenv("RDSCA_PINNED_RDS_CAS", "%s,%s" % ("0" * 64, digest))
    assert module(src=str(path), regions=["us-east-1"]).kind == "exit"
    monkeypatch.setenv("RDSCA_PINNED_RDS_CAS", "0" * 64)
    refused = module(src=str(path), regions=["us-east-1"])
    assert refused.kind == "fail" and "is not one of AWS's pinned RDS CA certificates" in refused.result["msg"]
    assert "pinned_rds_cas" in refused.result["msg"]
