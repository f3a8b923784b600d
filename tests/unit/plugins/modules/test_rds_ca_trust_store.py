# -*- coding: utf-8 -*-
# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""rds_ca_trust_store: directory, file, keychain (security(1) faked) and Java (the real keytool, when installed)."""

from __future__ import absolute_import, division, print_function

import datetime
import hashlib
import os
import shutil
import subprocess

import pytest


from ansible_collections.rdsca.rotation.plugins.module_utils.bundle import split_pem
from ansible_collections.rdsca.rotation.plugins.modules import rds_ca_trust_store

cryptography = pytest.importorskip("cryptography")

from cryptography import x509  # noqa: E402  pylint: disable=wrong-import-position
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402  pylint: disable=wrong-import-position
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402  pylint: disable=wrong-import-position
from cryptography.x509.oid import NameOID  # noqa: E402  pylint: disable=wrong-import-position

UTC = datetime.timezone.utc


def make_pem(common_name, expired=False):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Amazon Web Services, Inc."),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Amazon RDS"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    not_after = datetime.datetime(2024, 8, 22, tzinfo=UTC) if expired else datetime.datetime(2061, 1, 1, tzinfo=UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(datetime.datetime(2019, 1, 1, tzinfo=UTC))
            .not_valid_after(not_after).add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def sha256(pem):
    return hashlib.sha256(split_pem(pem)["blocks"][0]["der"]).hexdigest()


A = {"name": "amazon-rds-us-east-1-root-ca-rsa2048-g1", "pem": make_pem("Amazon RDS us-east-1 Root CA RSA2048 G1"),
     "common_name": "ignored extra key"}
B = {"name": "amazon-rds-eu-west-1-root-ca-rsa2048-g1", "pem": make_pem("Amazon RDS eu-west-1 Root CA RSA2048 G1")}
OLD = make_pem("Amazon RDS Root 2019 CA", expired=True)


@pytest.fixture
def module(module_runner):
    return module_runner(rds_ca_trust_store)


# -- directory ---------------------------------------------------------------------------------

def test_directory_install_idempotence_and_refresh(module, tmp_path):
    anchors = tmp_path / "anchors"
    compiled = tmp_path / "ca-certificates.crt"
    compiled.write_text(make_pem("Some Other Root"))
    args = dict(type="directory", path=str(anchors), trusted_bundle=str(compiled), certificates=[A, B],
                targets=[A["name"]], mode="0644", label="system (test)")

    audit = module(_ansible_check_mode=True, **args)
    assert audit.kind == "exit", audit.result
    assert audit.result["changed"] is True and audit.result["missing"] == [A["name"]]
    assert audit.result["added"] == [A["name"], B["name"]] and not anchors.exists()
    assert audit.result["label"] == "system (test)"

    done = module(**args)
    assert done.result["changed"] is True and done.result["added"] == [A["name"], B["name"]]
    assert (anchors / (A["name"] + ".crt")).read_text() == A["pem"]
    assert oct(os.stat(str(anchors / (B["name"] + ".crt"))).st_mode & 0o777) == "0o644"

    # The update tool has not run: the compiled bundle lacks them, so ask for it (again).
    pending = module(**args)
    assert pending.result["changed"] is True and pending.result["refresh"] is True and pending.result["added"] == []

    compiled.write_text(compiled.read_text() + A["pem"] + B["pem"])  # what update-ca-certificates does
    clean = module(**args)
    assert clean.result["changed"] is False and clean.result["missing"] == []
    assert clean.result["present"] == [A["name"], B["name"]]
    assert clean.result["msg"].endswith("up to date")


def test_directory_replaces_a_changed_file_and_fixes_modes(module, tmp_path):
    (tmp_path / (A["name"] + ".crt")).write_text(B["pem"])
    (tmp_path / (B["name"] + ".crt")).write_text(B["pem"].replace("\n", "\r\n"))  # same certificate, CRLF
    os.chmod(str(tmp_path / (B["name"] + ".crt")), 0o600)
    done = module(type="directory", path=str(tmp_path), certificates=[A, B], mode="0644")
    assert done.result["updated"] == [A["name"]] and done.result["added"] == []
    assert done.result["changed"] is True
    assert oct(os.stat(str(tmp_path / (B["name"] + ".crt"))).st_mode & 0o777) == "0o644"


def test_directory_remove_expired_only_touches_its_own_names(module, tmp_path):
    (tmp_path / "amazon-rds-root-2019-ca.crt").write_text(OLD)
    (tmp_path / "amazon-rds-us-east-1-2019-ca.crt").write_text(OLD + OLD)
    (tmp_path / "corporate-old-root.crt").write_text(OLD)
    (tmp_path / "amazon-rds-still-valid.crt").write_text(make_pem("Amazon RDS x Root CA"))
    (tmp_path / "amazon-rds-unreadable.crt").write_text("not a certificate")
    args = dict(type="directory", path=str(tmp_path), certificates=[A], remove_expired=True)
    dry = module(_ansible_check_mode=True, **args)
    assert dry.result["removed"] == ["amazon-rds-root-2019-ca", "amazon-rds-us-east-1-2019-ca"]
    assert (tmp_path / "amazon-rds-root-2019-ca.crt").exists()
    done = module(**args)
    assert done.result["removed"] == ["amazon-rds-root-2019-ca", "amazon-rds-us-east-1-2019-ca"]
    assert sorted(os.listdir(str(tmp_path))) == sorted([A["name"] + ".crt", "amazon-rds-still-valid.crt",
                                                        "amazon-rds-unreadable.crt", "corporate-old-root.crt"])


@pytest.mark.parametrize("certificates, message", [
    ([{"name": "../etc/passwd", "pem": A["pem"]}], "is not a safe file name"),
    ([A, dict(B, name=A["name"])], "appears twice"),
    ([{"name": "two", "pem": A["pem"] + B["pem"]}], "holds 2 certificates, not one"),
    ([{"name": "none", "pem": "garbage"}], "contains no PEM certificate"),
])
def test_bad_certificates(module, tmp_path, certificates, message):
    done = module(type="directory", path=str(tmp_path), certificates=certificates)
    assert done.kind == "fail" and message in done.result["msg"]


def test_unknown_target(module, tmp_path):
    done = module(type="directory", path=str(tmp_path), certificates=[A], targets=["nope"])
    assert done.kind == "fail" and "targets not among the certificates: nope" in done.result["msg"]


# -- file ----------------------------------------------------------------------------------------

def test_bundle_file(module, tmp_path):
    path = tmp_path / "app" / "rds.pem"
    args = dict(type="file", path=str(path), certificates=[A, B], mode="0640")
    refused = module(**args)
    assert refused.kind == "fail" and "does not exist (create_parent creates it)" in refused.result["msg"]
    done = module(create_parent=True, parent_mode="0750", **args)
    assert done.result["changed"] is True and done.result["added"] == [A["name"], B["name"]]
    assert path.read_text() == A["pem"] + B["pem"]
    assert oct(os.stat(str(path)).st_mode & 0o777) == "0o640"
    assert oct(os.stat(str(path.parent)).st_mode & 0o777) == "0o750"
    assert module(**args).result["changed"] is False
    # An older bundle with the 2019 CA: replaced, and what left is named.
    path.write_text(OLD + A["pem"])
    done = module(**dict(args, targets=[B["name"]]))
    assert done.result["missing"] == [B["name"]] and done.result["added"] == [B["name"]]
    assert done.result["removed"] == ["amazon-rds-root-2019-ca"]


# -- keychain (macOS), with security(1) faked ------------------------------------------------------

def test_keychain(module, monkeypatch, tmp_path):
    keychain = {"/K": [OLD, A["pem"]]}
    calls = []

    def run_command(self, args, **kwargs):
        calls.append(args[1:])
        if args[1] == "find-certificate":
            return 0, "".join("SHA-1 hash: X\nkeychain: \"/K\"\n" + p for p in keychain["/K"]), ""
        if args[1] == "add-trusted-cert":
            with open(args[-1]) as handle:
                keychain["/K"].append(handle.read())
            return 0, "", ""
        if args[1] == "delete-certificate":
            keychain["/K"] = [p for p in keychain["/K"]
                              if hashlib.sha1(split_pem(p)["blocks"][0]["der"]).hexdigest().upper() != args[3]]
            return 0, "", ""
        return 1, "", "unexpected"

    monkeypatch.setattr(rds_ca_trust_store.AnsibleModule, "run_command", run_command)
    monkeypatch.setattr(rds_ca_trust_store.AnsibleModule, "get_bin_path", lambda self, name, *a, **k: "/usr/bin/" + name)
    done = module(type="keychain", path="/K", certificates=[A, B], remove_expired=True)
    assert done.kind == "exit", done.result
    assert done.result["present"] == [A["name"]] and done.result["missing"] == [B["name"]]
    assert done.result["added"] == [B["name"]] and done.result["removed"] == ["amazon-rds-root-2019-ca"]
    assert calls[1][:5] == ["add-trusted-cert", "-d", "-r", "trustRoot", "-k"] and calls[1][5] == "/K"
    assert calls[2][:2] == ["delete-certificate", "-Z"] and calls[2][3] == "/K"
    assert [sha256(p) for p in keychain["/K"]] == [sha256(A["pem"]), sha256(B["pem"])]
    del calls[:]
    assert module(type="keychain", path="/K", certificates=[A, B], remove_expired=True).result["changed"] is False
    assert [c[0] for c in calls] == ["find-certificate"]


@pytest.mark.parametrize("setup, why", [
    ("world-writable", "world-writable"),
    ("link", "symbolic link that another user controls"),
    ("missing-directory", "does not exist"),
])
def test_keychain_refused_where_another_user_can_swap_it(module, monkeypatch, tmp_path, setup, why):
    """security(1) writes the keychain in place, following links: refuse before it runs (a lost call site found in #16)."""
    calls = []
    monkeypatch.setattr(rds_ca_trust_store.AnsibleModule, "run_command",
                        lambda self, args, **kwargs: calls.append(args) or (0, "", ""))
    monkeypatch.setattr(rds_ca_trust_store.AnsibleModule, "get_bin_path", lambda self, name, *a, **k: "/usr/bin/" + name)
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(str(shared), 0o777)
    path = str(shared / "login.keychain-db")
    if setup == "link":
        private = tmp_path / "private"
        private.mkdir()
        (private / "login.keychain-db").write_text("")
        path = str(shared / "link")
        os.symlink(str(private / "login.keychain-db"), path)
    elif setup == "missing-directory":
        path = str(tmp_path / "no-such-dir" / "login.keychain-db")
    done = module(type="keychain", path=path, certificates=[A])
    assert done.kind == "fail", done.result
    assert why in done.result["msg"]
    assert calls == []


def test_keychain_in_a_private_directory_is_used(module, monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(rds_ca_trust_store.AnsibleModule, "run_command",
                        lambda self, args, **kwargs: calls.append(args[1]) or (0, "", ""))
    monkeypatch.setattr(rds_ca_trust_store.AnsibleModule, "get_bin_path", lambda self, name, *a, **k: "/usr/bin/" + name)
    os.chmod(str(tmp_path), 0o755)
    done = module(type="keychain", path=str(tmp_path / "login.keychain-db"), certificates=[A])
    assert done.kind == "exit", done.result
    assert calls == ["find-certificate", "add-trusted-cert"]


# -- Java, with the real keytool -------------------------------------------------------------------

keytool = shutil.which("keytool")


@pytest.mark.skipif(keytool is None, reason="keytool not installed (a Java runtime: apt-get install default-jre-headless)")
def test_java_keystore_with_keytool(module, tmp_path):
    store = tmp_path / "conf" / "truststore.p12"
    args = dict(type="java", path=str(store), keystore_password="changeit-123", certificates=[A, B], targets=[A["name"]])
    missing = module(**args)
    assert missing.kind == "fail" and "does not exist (create: true creates it)" in missing.result["msg"]
    audit = module(create=True, _ansible_check_mode=True, **args)
    assert audit.result["missing"] == [A["name"]] and not store.exists()
    done = module(create=True, mode="0600", **args)
    assert done.kind == "exit", done.result
    assert done.result["added"] == [A["name"], B["name"]] and done.result["changed"] is True
    assert oct(os.stat(str(store)).st_mode & 0o777) == "0o600"
    listing = subprocess.run([keytool, "-list", "-keystore", str(store), "-storepass", "changeit-123"],
                             capture_output=True, text=True, check=True).stdout
    assert A["name"] in listing and B["name"] in listing and "trustedCertEntry" in listing
    assert module(**args).result["changed"] is False

    # An expired RDS CA under the role's naming goes; another alias stays; a replaced alias is updated.
    old_file = tmp_path / "old.pem"
    old_file.write_text(OLD)
    for alias in ("amazon-rds-root-2019-ca", "my-old-ca"):
        subprocess.run([keytool, "-importcert", "-noprompt", "-alias", alias, "-file", str(old_file),
                        "-keystore", str(store), "-storepass", "changeit-123"], capture_output=True, check=True)
    newer = dict(B, pem=make_pem("Amazon RDS eu-west-1 Root CA RSA2048 G1"))
    done = module(**dict(args, certificates=[A, newer], remove_expired=True))
    assert done.result["updated"] == [B["name"]] and done.result["removed"] == ["amazon-rds-root-2019-ca"]

    wrong = module(**dict(args, keystore_password="wrong-password"))
    assert wrong.kind == "fail" and wrong.result["msg"] == "the password of the keystore %s is incorrect" % store


def test_java_without_keytool(module, tmp_path):
    done = module(type="java", path=str(tmp_path / "k.p12"), keystore_password="x", certificates=[A],
                  executable=str(tmp_path / "no-keytool"))
    assert done.kind == "fail" and "is not an executable file" in done.result["msg"]


# -- issue 14: each test is an attack or a mistake that used to damage the store ---------------------

def make_leaf_pem(common_name="bank.example.com"):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(datetime.datetime(2020, 1, 1, tzinfo=UTC))
            .not_valid_after(datetime.datetime(2060, 1, 1, tzinfo=UTC))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def test_empty_certificate_list_does_not_empty_a_bundle(module, tmp_path):
    """Hole 5: certificates: [] used to empty an existing bundle ("7 removed")."""
    path = tmp_path / "bundle.pem"
    path.write_text(A["pem"] + B["pem"])
    done = module(type="file", path=str(path), certificates=[])
    assert done.kind == "fail"
    assert "certificates is empty: refusing to empty the bundle %s (set allow_empty=true" % path in done.result["msg"]
    assert path.read_text() == A["pem"] + B["pem"]
    emptied = module(type="file", path=str(path), certificates=[], allow_empty=True)
    assert emptied.kind == "exit" and sorted(emptied.result["removed"]) == sorted(
        ["amazon-rds-us-east-1-root-ca-rsa2048-g1", "amazon-rds-eu-west-1-root-ca-rsa2048-g1"])
    assert path.read_text() == ""


@pytest.mark.parametrize("options, message", [
    ({"owner": "no-such-user-14"}, "owner 'no-such-user-14' is not a user on this host"),
    ({"group": "no-such-group-14"}, "group 'no-such-group-14' is not a group on this host"),
    ({"mode": "0666"}, "mode 0666 is world-writable: refused"),
    ({"mode": "u+rwx,o+w"}, "is not an octal mode like '0644'"),
    ({"mode": "04755"}, "sets setuid/setgid/sticky bits"),
    ({"parent_mode": "0777", "create_parent": True}, "parent_mode 0777 is world-writable"),
])
def test_bad_options_fail_before_the_bundle_is_touched(module, tmp_path, options, message):
    """Hole 7: a bad owner/mode used to fail after the file was already replaced."""
    path = tmp_path / "bundle.pem"
    path.write_text(A["pem"])
    before = os.stat(str(path))
    done = module(type="file", path=str(path), certificates=[A, B], **options)
    assert done.kind == "fail", done.result
    assert message in done.result["msg"] and "nothing was changed" in done.result["msg"]
    assert path.read_text() == A["pem"] and os.stat(str(path)).st_ino == before.st_ino


def test_suffix_with_a_path_is_refused_and_nothing_written_outside(module, tmp_path):
    anchors = tmp_path / "anchors"
    anchors.mkdir()
    done = module(type="directory", path=str(anchors), certificates=[A], suffix="/../../escaped.crt")
    assert done.kind == "fail" and "suffix '/../../escaped.crt' may only hold letters" in done.result["msg"]
    assert sorted(os.listdir(str(tmp_path))) == ["anchors"] and os.listdir(str(anchors)) == []


def test_leaf_certificate_is_refused_before_anything_is_written(module, tmp_path):
    """Hole 7: a leaf (non-CA) certificate used to be written into the store."""
    path = tmp_path / "bundle.pem"
    path.write_text(A["pem"])
    leaf = {"name": "bank-example-com", "pem": make_leaf_pem()}
    done = module(type="file", path=str(path), certificates=[A, leaf])
    assert done.kind == "fail"
    assert "certificate bank-example-com is not a CA certificate (basicConstraints CA:FALSE, a leaf)" in done.result["msg"]
    assert path.read_text() == A["pem"]
    anchors = tmp_path / "anchors"
    anchors.mkdir()
    assert module(type="directory", path=str(anchors), certificates=[A, leaf]).kind == "fail"
    assert os.listdir(str(anchors)) == []


@pytest.fixture
def loose_umask():
    old = os.umask(0)
    yield
    os.umask(old)


def test_modes_are_explicit_under_umask_000(module, tmp_path, loose_umask):
    """Hole 3: under umask 000, anchors and bundles came out 0666 and new directories 0777."""
    anchors = tmp_path / "new" / "anchors"
    assert module(type="directory", path=str(anchors), certificates=[A, B]).kind == "exit"
    assert oct(os.stat(str(anchors)).st_mode & 0o777) == "0o755"
    assert oct(os.stat(str(anchors.parent)).st_mode & 0o777) == "0o755"
    assert {oct(os.stat(str(p)).st_mode & 0o777) for p in anchors.iterdir()} == {"0o644"}
    bundle_file = tmp_path / "a" / "b" / "bundle.pem"
    done = module(type="file", path=str(bundle_file), certificates=[A], create_parent=True)
    assert done.kind == "exit", done.result
    assert oct(os.stat(str(bundle_file)).st_mode & 0o777) == "0o644"
    assert oct(os.stat(str(bundle_file.parent)).st_mode & 0o777) == "0o755"
    assert oct(os.stat(str(bundle_file.parent.parent)).st_mode & 0o777) == "0o755"
    # A file left 0666 by an earlier run is fixed on the next one, even when its content is right.
    os.chmod(str(bundle_file), 0o666)
    again = module(type="file", path=str(bundle_file), certificates=[A])
    assert again.result["changed"] is True and oct(os.stat(str(bundle_file)).st_mode & 0o777) == "0o644"


@pytest.mark.skipif(keytool is None, reason="keytool not installed")
def test_new_keystore_mode_under_umask_000(module, tmp_path, loose_umask):
    store = tmp_path / "conf" / "truststore.p12"
    done = module(type="java", path=str(store), keystore_password="changeit-123", certificates=[A], create=True)
    assert done.kind == "exit", done.result
    assert oct(os.stat(str(store)).st_mode & 0o777) == "0o644"
    assert oct(os.stat(str(store.parent)).st_mode & 0o777) == "0o755"
    assert module(type="java", path=str(store), keystore_password="changeit-123", certificates=[A],
                  mode="0640").result["changed"] is True
    assert oct(os.stat(str(store)).st_mode & 0o777) == "0o640"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a directory and a link to another user")
def test_link_planted_by_another_user_is_not_followed(module, tmp_path):
    """Hole 1: a user's ~/.postgresql -> a root-owned directory; the file landed there, owned by the user."""
    nobody = 65534
    home = tmp_path / "home"
    home.mkdir()
    os.chown(str(home), nobody, nobody)
    target = tmp_path / "anchors"
    target.mkdir()
    link = home / ".postgresql"
    os.symlink(str(target), str(link))
    os.lchown(str(link), nobody, nobody)
    done = module(type="file", path=str(link / "root.crt"), certificates=[A], owner=str(nobody), create_parent=True)
    assert done.kind == "fail"
    assert "%s is a symbolic link that another user controls" % link in done.result["msg"]
    assert os.listdir(str(target)) == []
    # A link in the user's directory that root owns does not help either: the directory is the user's.
    os.lchown(str(link), 0, 0)
    assert module(type="file", path=str(link / "root.crt"), certificates=[A], create_parent=True).kind == "fail"
    assert os.listdir(str(target)) == []
    # Without the link the file is written in the user's own directory and given to them.
    os.remove(str(link))
    done = module(type="file", path=str(link / "root.crt"), certificates=[A], owner=str(nobody), create_parent=True,
                  parent_mode="0700")
    assert done.kind == "exit", done.result
    assert os.stat(str(link / "root.crt")).st_uid == nobody and os.stat(str(link)).st_uid == nobody
    # A file is not handed to the user outside the user's own tree.
    outside = module(type="file", path=str(target / "root.crt"), certificates=[A], owner=str(nobody))
    assert outside.kind == "fail" and "a file is only given to a user inside that user's own directory" in outside.result["msg"]
    assert os.listdir(str(target)) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a directory to another user")
def test_link_at_the_file_itself_is_refused_and_its_target_untouched(module, tmp_path):
    nobody = 65534
    home = tmp_path / "home"
    home.mkdir()
    os.chown(str(home), nobody, nobody)
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    os.symlink(str(victim), str(home / "root.crt"))
    os.lchown(str(home / "root.crt"), nobody, nobody)
    done = module(type="file", path=str(home / "root.crt"), certificates=[A], owner=str(nobody))
    assert done.kind == "fail" and "is a symbolic link that another user controls" in done.result["msg"]
    assert victim.read_text() == "precious\n" and os.stat(str(victim)).st_uid == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_link_swapped_in_after_the_check_is_replaced_not_followed(tmp_path):
    """The race: the path was checked, then the user plants a link at the file; the rename replaces the link."""
    from ansible_collections.rdsca.rotation.plugins.module_utils import safe_files  # pylint: disable=import-outside-toplevel
    home = tmp_path / "home"
    home.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    fd, _created = safe_files.open_directory(str(home))
    try:
        os.symlink(str(victim), str(home / "root.crt"))
        assert safe_files.read_file(fd, "root.crt", 1000) is None  # a link is never read through
        safe_files.write_file(fd, "root.crt", b"new\n", 0o644)
    finally:
        os.close(fd)
    assert victim.read_text() == "precious\n" and (home / "root.crt").read_text() == "new\n"
    # A directory swapped for a link between the check and the open is refused.
    real = tmp_path / "real"
    real.mkdir()
    os.symlink(str(real), str(tmp_path / "swapped"))
    with pytest.raises(safe_files.UnsafePathError, match="became a symbolic link"):
        safe_files.open_directory(str(tmp_path / "swapped"))


@pytest.mark.skipif(keytool is None or os.geteuid() != 0, reason="needs keytool and root")
def test_keystore_link_planted_by_a_user_is_not_written_through(module, tmp_path):
    """keytool follows links: it only ever works on a private copy, and a planted link is refused."""
    home = tmp_path / "home"
    home.mkdir()
    os.chown(str(home), 65534, 65534)
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    os.symlink(str(victim), str(home / "truststore.p12"))
    os.lchown(str(home / "truststore.p12"), 65534, 65534)
    done = module(type="java", path=str(home / "truststore.p12"), keystore_password="changeit-123", certificates=[A],
                  create=True)
    assert done.kind == "fail" and "is a symbolic link that another user controls" in done.result["msg"]
    assert victim.read_text() == "precious\n"
    # In the user's directory without a link, the keystore is created there, replaced atomically on change.
    os.remove(str(home / "truststore.p12"))
    done = module(type="java", path=str(home / "truststore.p12"), keystore_password="changeit-123", certificates=[A],
                  create=True)
    assert done.kind == "exit", done.result
    inode = os.stat(str(home / "truststore.p12")).st_ino
    assert module(type="java", path=str(home / "truststore.p12"), keystore_password="changeit-123",
                  certificates=[A, B]).result["added"] == [B["name"]]
    assert os.stat(str(home / "truststore.p12")).st_ino != inode  # a new file renamed over the old one
    assert not [n for n in os.listdir(str(home)) if n != "truststore.p12"]


# -- several stores in one run (issue 19: a host whose stores are up to date costs one module run) -----------

def test_stores_in_one_run_install_then_change_nothing(module, tmp_path):
    anchors = tmp_path / "anchors"
    bundle = tmp_path / "app" / "rds-bundle.pem"
    profile = tmp_path / "profile.d"
    profile.mkdir()
    args = dict(certificates=[A, B], targets=[A["name"]], stores=[
        dict(type="directory", path=str(anchors), label="system (test)"),
        dict(type="file", path=str(bundle), create_parent=True),
        dict(type="env", path=str(profile / "rds-ca.sh"), bundle=str(bundle)),
    ])
    audit = module(_ansible_check_mode=True, **args)
    assert audit.kind == "exit", audit.result
    assert [s["type"] for s in audit.result["stores"]] == ["directory", "file", "env"]
    assert audit.result["missing"] == [A["name"]] and audit.result["changed"] is True
    assert not anchors.exists() and not bundle.exists() and not (profile / "rds-ca.sh").exists()

    first = module(**args)
    assert first.kind == "exit", first.result
    assert all(s["changed"] for s in first.result["stores"])
    assert (anchors / (A["name"] + ".crt")).read_text() == A["pem"]
    assert bundle.read_text() == A["pem"] + B["pem"]
    assert (profile / "rds-ca.sh").read_text() == (
        "# Managed by Ansible (rdsca.rotation.ca_trust): the Amazon RDS CA bundle for clients.\n"
        "export PGSSLROOTCERT='%s'\nexport NODE_EXTRA_CA_CERTS='%s'\n" % (bundle, bundle))
    assert oct(os.stat(str(profile / "rds-ca.sh")).st_mode & 0o777) == "0o644"

    second = module(**args)
    assert second.result["changed"] is False, second.result
    assert not any(s["changed"] for s in second.result["stores"])
    assert second.result["missing"] == [] and "up to date" in second.result["msg"]


def test_the_result_echoes_each_certificate_by_name_not_its_pem(module, tmp_path):
    """Issue 19: every host's result travels back to the controller; the PEMs (most of the arguments) stay out."""
    bundle = tmp_path / "rds-bundle.pem"
    for args in (dict(stores=[dict(type="file", path=str(bundle))]), dict(type="file", path=str(bundle))):
        done = module(certificates=[A, B], **args)
        assert done.kind == "exit", done.result
        echoed = done.result["invocation"]["module_args"]
        assert echoed["certificates"] == [A["name"], B["name"]]
        assert A["pem"] not in repr(done.result) and B["pem"] not in repr(done.result)
        assert bundle.read_text() == A["pem"] + B["pem"]


def test_an_env_file_written_by_the_old_role_is_not_rewritten(module, tmp_path):
    bundle = "/etc/ssl/certs/rds-global-bundle.pem"
    env = tmp_path / "rds-ca.sh"
    env.write_text("# Managed by Ansible (rdsca.rotation.ca_trust): the Amazon RDS CA bundle for clients.\n"
                   "export PGSSLROOTCERT='%s'\nexport NODE_EXTRA_CA_CERTS='%s'\n" % (bundle, bundle))
    os.chmod(str(env), 0o644)
    done = module(certificates=[A], stores=[dict(type="env", path=str(env), bundle=bundle)])
    assert done.kind == "exit" and done.result["changed"] is False, done.result


def test_libpq_store_is_the_users_root_crt(module, tmp_path, monkeypatch):
    home = tmp_path / "home" / "app"
    home.mkdir(parents=True)
    entry = type("pw", (), {"pw_dir": str(home), "pw_gid": os.getgid(), "pw_uid": os.getuid()})

    def getpwnam(user):
        if user != "app":
            raise KeyError(user)
        return entry

    monkeypatch.setattr(rds_ca_trust_store.pwd, "getpwnam", getpwnam)
    done = module(certificates=[A], stores=[dict(type="libpq", user="app")])
    assert done.kind == "exit", done.result
    root_crt = home / ".postgresql" / "root.crt"
    assert root_crt.read_text() == A["pem"]
    assert oct(os.stat(str(home / ".postgresql")).st_mode & 0o777) == "0o700"
    assert done.result["stores"][0]["label"] == "libpq root.crt of app"

    missing = module(certificates=[A], stores=[dict(type="libpq", user="nobody-here")])
    assert missing.kind == "fail" and "the user nobody-here does not exist" in missing.result["msg"]


@pytest.mark.parametrize("store, message", [
    (dict(type="env", path="/tmp/x.sh", bundle="relative/bundle.pem"), "bundle must be an absolute path"),
    (dict(type="env", path="/tmp/x.sh", bundle="/tmp/it's.pem"), "bundle must be an absolute path"),
    (dict(type="env", path="/tmp/x.sh", bundle="/tmp/b.pem", variables=["OK", "NOT-OK"]), "shell variable names"),
    (dict(type="java", path="/tmp/ks.p12"), "keystore_password is required"),
    (dict(type="file"), "a file store needs path"),
    (dict(type="directory", path="/tmp/anchors", suffix="../x"), "may only hold letters"),
])
def test_a_bad_store_fails_before_any_store_is_written(module, tmp_path, store, message):
    first = tmp_path / "first.pem"
    bad = module(certificates=[A], stores=[dict(type="file", path=str(first)), store])
    assert bad.kind == "fail" and message in bad.result["msg"], bad.result
    assert "stores[2]" in bad.result["msg"] and "nothing was changed" in bad.result["msg"]
    assert not first.exists()


def test_a_store_failing_midway_reports_the_stores_done_and_not_reached(module, tmp_path):
    done_path = tmp_path / "done.pem"
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a directory must be")
    later = tmp_path / "later.pem"
    out = module(certificates=[A], stores=[dict(type="file", path=str(done_path)),
                                           dict(type="directory", path=str(blocker)),
                                           dict(type="file", path=str(later))])
    assert out.kind == "fail", out.result
    assert [s.get("changed") for s in out.result["stores"]] == [True, False, None]
    assert out.result["stores"][1]["failed"] and out.result["stores"][2]["skipped"]
    assert done_path.read_text() == A["pem"] and not later.exists()
    assert "not a directory" in out.result["msg"]


def test_stores_and_type_are_exclusive(module, tmp_path):
    both = module(certificates=[A], type="file", path=str(tmp_path / "x"), stores=[dict(type="file", path="/tmp/y")])
    assert both.kind == "fail" and "mutually exclusive" in both.result["msg"]
    neither = module(certificates=[A])
    assert neither.kind == "fail" and "one of the following is required" in neither.result["msg"]


# -- issue 19: the steady state starts no JVM ------------------------------------------------------

def counting_keytool(tmp_path):
    """A keytool that logs each run (its first argument after the JVM options) and runs the real one."""
    log = tmp_path / "keytool.log"
    wrapper = tmp_path / "keytool-counting"
    wrapper.write_text('#!/bin/sh\necho "$*" >> %s\nexec %s "$@"\n' % (log, keytool))
    wrapper.chmod(0o755)
    return str(wrapper), log


def runs(log):
    return log.read_text().splitlines() if log.exists() else []


@pytest.mark.skipif(keytool is None, reason="keytool not installed (a Java runtime: apt-get install default-jre-headless)")
@pytest.mark.parametrize("keystore_type", ["PKCS12", "JKS", None])
def test_a_keystore_that_holds_everything_is_read_without_keytool(module, tmp_path, keystore_type):
    """The second run of the ca_trust role started keytool (a JVM, about a second) on every keystore although
    nothing changed; now the keystore is read in Python (module_utils.keystore) and keytool only runs to change it."""
    wrapper, log = counting_keytool(tmp_path)
    store = tmp_path / "truststore.ks"
    args = dict(type="java", path=str(store), keystore_password="changeit-123", certificates=[A, B], targets=[A["name"]],
                executable=wrapper, keystore_type=keystore_type or "PKCS12")
    first = module(create=True, **args)
    assert first.kind == "exit" and first.result["added"] == [A["name"], B["name"]], first.result
    # every certificate imported by one keytool run (one JVM), not one run each
    assert [line for line in runs(log) if "-import" in line] == [line for line in runs(log) if "-importkeystore" in line]
    assert len([line for line in runs(log) if "-importkeystore" in line]) == 1, runs(log)
    if keystore_type is None:  # the type is found from the file itself
        del args["keystore_type"]
    log.unlink()
    again = module(**args)
    assert again.kind == "exit" and again.result["changed"] is False, again.result
    assert sorted(again.result["present"]) == sorted([A["name"], B["name"]]) and again.result["missing"] == []
    assert runs(log) == []
    audit = module(_ansible_check_mode=True, **args)
    assert audit.result["changed"] is False and audit.result["missing"] == [] and runs(log) == []
    # A wrong password is still noticed (keytool is asked, and says so).
    wrong = module(**dict(args, keystore_password="wrong-password"))
    assert wrong.kind == "fail" and wrong.result["msg"] == "the password of the keystore %s is incorrect" % store
    # Something to do: keytool changes the keystore, as before.
    log.unlink()
    newer = dict(B, pem=make_pem("Amazon RDS eu-west-1 Root CA RSA2048 G1"))
    done = module(**dict(args, certificates=[A, newer]))
    assert done.result["updated"] == [B["name"]] and done.result["changed"] is True
    assert any("-importkeystore" in line for line in runs(log))
    assert module(**dict(args, certificates=[A, newer])).result["changed"] is False


@pytest.mark.skipif(keytool is None, reason="keytool not installed")
def test_expired_entries_to_remove_and_other_aliases_go_through_keytool(module, tmp_path):
    wrapper, log = counting_keytool(tmp_path)
    store = tmp_path / "truststore.p12"
    args = dict(type="java", path=str(store), keystore_password="changeit-123", certificates=[A], executable=wrapper)
    assert module(create=True, **args).result["changed"] is True
    old_file = tmp_path / "old.pem"
    old_file.write_text(OLD)
    subprocess.run([keytool, "-importcert", "-noprompt", "-alias", "amazon-rds-root-2019-ca", "-file", str(old_file),
                    "-keystore", str(store), "-storepass", "changeit-123"], capture_output=True, check=True)
    log.unlink()
    done = module(remove_expired=True, **args)
    assert done.result["removed"] == ["amazon-rds-root-2019-ca"] and any("-delete" in line for line in runs(log))
    # The CA under an alias of someone else's: keytool reads it (the Python reader only vouches for our aliases).
    other = tmp_path / "other.p12"
    a_file = tmp_path / "a.pem"
    a_file.write_text(A["pem"])
    subprocess.run([keytool, "-importcert", "-noprompt", "-alias", "corp-rds", "-file", str(a_file), "-keystore", str(other),
                    "-storepass", "changeit-123", "-storetype", "PKCS12"], capture_output=True, check=True)
    log.unlink()
    kept = module(**dict(args, path=str(other)))
    assert kept.result["changed"] is False and kept.result["present"] == [A["name"]]
    assert [line for line in runs(log) if "-list" in line]


# -- the system store chosen by the host's os_family (issue 19: no separate fact-gathering module run) -------

def host_os_family():
    from ansible.module_utils.facts.system.distribution import DistributionFactCollector

    class Runner(object):
        def run_command(self, args, **kwargs):
            proc = subprocess.run(args, capture_output=True, text=True, check=False, shell=isinstance(args, str))
            return proc.returncode, proc.stdout, proc.stderr

        def get_bin_path(self, name, *args, **kwargs):
            return shutil.which(name)

    return DistributionFactCollector().collect(module=Runner())["os_family"]


def test_system_store_of_the_hosts_os_family_and_its_facts(module, tmp_path):
    family = host_os_family()
    anchors, other = tmp_path / "anchors", tmp_path / "other"
    platforms = {family: dict(type="directory", path=str(anchors), label="system (this host)"),
                 "NoSuchFamily": dict(type="directory", path=str(other))}
    args = dict(certificates=[A], stores=[dict(type="system", platforms=platforms),
                                          dict(type="file", path=str(tmp_path / "rds.pem"))])
    audit = module(_ansible_check_mode=True, **args)
    assert audit.kind == "exit", audit.result
    assert audit.result["ansible_facts"]["os_family"] == family and not anchors.exists()
    done = module(**args)
    assert done.kind == "exit", done.result
    assert [(s["type"], s["label"]) for s in done.result["stores"]] == [
        ("directory", "system (this host)"), ("file", str(tmp_path / "rds.pem"))]
    assert (anchors / (A["name"] + ".crt")).read_text() == A["pem"] and not other.exists()
    assert module(**args).result["changed"] is False


@pytest.mark.parametrize("platforms, message", [
    ({"NoSuchFamily": {"type": "directory", "path": "/nonexistent"}}, "no system trust store known for os_family"),
    (None, "no system trust store known for os_family"),
    ("host", "is not a store"),
])
def test_system_store_unknown_or_bad_for_this_os_family_changes_nothing(module, tmp_path, platforms, message):
    bundle = tmp_path / "rds.pem"
    if platforms == "host":
        platforms = {host_os_family(): {"type": "directory", "path": str(tmp_path / "a"), "mode": "0644", "bogus": 1}}
    done = module(certificates=[A], stores=[dict(type="file", path=str(bundle)), dict(type="system", platforms=platforms)])
    assert done.kind == "fail" and message in done.result["msg"], done.result
    assert "nothing was changed" in done.result["msg"] and not bundle.exists()
