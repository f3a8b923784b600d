"""The ca_trust role against a real Debian bookworm host (a debootstrap root, community.general.chroot).

One chroot per module (tests/integration/chroot.py), used by the tests in file order, like
a client host over its life: a refused bundle never reaches it, verification fails, the audit
lists what is missing, the install fixes it (system store, Java truststore, bundle file, libpq,
environment file) and verification passes, a second run changes nothing, the audit is clean,
expired CAs installed earlier are removed. The RHEL, Alpine and SUSE paths and commands and the
macOS keychain logic run in the same chroot with recording stand-ins for their tools.

The database is the simulator's linked TLS PostgreSQL (127.0.0.1, certificate for an RDS-style
name issued by a local "Amazon RDS us-east-1 Root CA RSA2048 G1"); the chroot shares the host's
network namespace, so it reaches it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import textwrap
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.integration import chroot

REPO = chroot.REPO
ROLE = os.path.join(REPO, "roles", "ca_trust")
SHARED = os.environ.get("RDSCA_SHARED_DATA") or os.path.join(os.path.dirname(REPO), "shared", "data", "rds-ca")
OLD_CRLF = os.path.join(SHARED, "global-bundle.2024-06.121certs-with-rds-ca-2019.crlf.pem")
HOST = "bookworm"
TARGET = "amazon-rds-us-east-1-root-ca-rsa2048-g1"
KEYSTORE = "/opt/app/conf/truststore.p12"
KEYSTORE_PASSWORD = "s3cret-Keystore-Pass"
BUNDLE_FILE = "/etc/rds/rds-ca-bundle.pem"
ENV_FILE = "/etc/profile.d/rds-ca.sh"
ANCHORS = "/usr/local/share/ca-certificates"
SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
UTC = dt.timezone.utc

FLEET = {
    "description": "ca_trust: one real TLS PostgreSQL on the CA the clients must trust",
    "regions": {"us-east-1": {"default_ca": "rds-ca-rsa2048-g1", "instances": [
        {"id": "orders", "engine": "postgres", "engine_version": "16.3", "ca": "rds-ca-rsa2048-g1", "linked": "postgres"},
    ]}},
}


# -- fixtures ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def host():
    reason = chroot.unavailable_reason()
    if reason:
        pytest.skip(reason)
    with chroot.fresh_chroot() as root:
        root.run("useradd", "--create-home", "--shell", "/bin/sh", "app")
        yield root


@pytest.fixture(scope="module")
def sim(simulator, tmp_path_factory):
    simulator.load(FLEET)
    linked = simulator.control("GET", "/_sim/linked")["us-east-1/orders"]
    bundle = simulator.control("GET", "/_sim/bundle")["path"]
    endpoint = {"name": "orders", "server_name": linked["address"], "port": linked["port"],
                "connect_host": "127.0.0.1", "protocol": "postgres"}
    return SimpleNamespace(handle=simulator, bundle=bundle, endpoint=endpoint, address=linked["address"],
                           tmp=tmp_path_factory.mktemp("ca-trust"))


def run_role(sim, host, role_vars: dict[str, Any], check: bool = False, tasks_from: str = "main",
             extra_hosts: str = "", save=("ca_trust_report", "ca_trust_verify_result", "ca_trust_bundle"),
             extra_args: list[str] | None = None):
    """Apply the role (include_role) to the chroot host; role_vars are play vars."""
    inventory = host.inventory(str(sim.tmp), name=HOST)
    if extra_hosts:
        with open(inventory, "a", encoding="utf-8") as handle:
            handle.write(extra_hosts)
    plays = [{
        "name": "ca_trust under test",
        "hosts": "rds_clients",
        "gather_facts": False,
        "vars": role_vars,
        "tasks": [{"name": "Apply the role", "ansible.builtin.include_role": {
            "name": "rdsca.rotation.ca_trust", "tasks_from": tasks_from}}],
        "save": list(save),
    }]
    return sim.handle.run_playbook(plays, check=check, extra_args=["-i", inventory] + (extra_args or []))


def recap(result, name=HOST) -> dict[str, int]:
    match = re.search(r"^%s\s+: (.*)$" % re.escape(name), result.stdout, re.M)
    assert match, "no recap for %s:\n%s\n%s" % (name, result.stdout[-3000:], result.stderr[-2000:])
    return dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", match.group(1)))


def changed_tasks(result, name=HOST) -> list[str]:
    """The tasks (and handlers) that reported a change on ``name``, the test's own save task aside."""
    changed = []
    for section in re.split(r"^(?=TASK \[|RUNNING HANDLER \[)", result.stdout, flags=re.M):
        title = re.match(r"^(?:TASK|RUNNING HANDLER) \[(.*?)\]", section)
        if title and title.group(1) != "Save results for the test" and \
                re.search(r"^changed: \[%s[\] ]" % re.escape(name), section, re.M):
            changed.append(title.group(1))
    return changed


def skipped_tasks(result, name=HOST) -> list[str]:
    """The tasks that ``name`` skipped (each still cost it a worker process on the controller)."""
    skipped = []
    for section in re.split(r"^(?=TASK \[|RUNNING HANDLER \[)", result.stdout, flags=re.M):
        title = re.match(r"^(?:TASK|RUNNING HANDLER) \[rdsca\.rotation\.ca_trust : (.*?)\]", section)
        if title and re.search(r"^skipping: \[%s[\] ]" % re.escape(name), section, re.M):
            skipped.append(title.group(1))
    return skipped


# Actions Ansible runs on the controller, without starting a module on the host.
CONTROLLER_ACTIONS = {"ansible.builtin.set_fact", "ansible.builtin.debug", "ansible.builtin.assert",
                      "ansible.builtin.fail", "ansible.builtin.meta", "ansible.builtin.include_tasks",
                      "ansible.builtin.import_tasks", "ansible.builtin.set_stats"}


def role_task_actions() -> dict[str, str]:
    """Task name -> its action, read from the role's own task files (what ran is matched by name)."""
    import yaml
    actions = {}
    folder = os.path.join(REPO, "roles", "ca_trust", "tasks")
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), encoding="utf-8") as handle:
            for task in yaml.safe_load(handle) or []:
                action = next(k for k in task if k.startswith(("ansible.", "rdsca.")))
                remote = action not in CONTROLLER_ACTIONS and task.get("delegate_to") != "localhost"
                actions[task["name"]] = action if remote else "controller"
    return actions


def module_runs(result, name=HOST) -> list[str]:
    """The role's tasks that started a module on ``name`` (ok or changed), in order."""
    actions = role_task_actions()
    ran = []
    for section in re.split(r"^(?=TASK \[|RUNNING HANDLER \[)", result.stdout, flags=re.M):
        title = re.match(r"^(?:TASK|RUNNING HANDLER) \[rdsca\.rotation\.ca_trust : (.*?)\]", section)
        if title and title.group(1).startswith("Validating arguments against arg spec"):
            continue  # the role's argument spec check: an action on the controller
        if title and re.search(r"^(ok|changed): \[%s[\] ]" % re.escape(name), section, re.M):
            assert title.group(1) in actions or section.startswith("RUNNING HANDLER"), title.group(1)
            if actions.get(title.group(1), "handler") != "controller":
                ran.append(title.group(1))
    return ran


def explain(result) -> str:
    return "rc=%s\n%s\n%s" % (result.rc, result.stdout[-6000:], result.stderr[-3000:])


def base_vars(sim, **extra):
    role_vars = {
        "ca_trust_bundle_src": sim.bundle,
        "ca_trust_regions": ["us-east-1"],
        "ca_trust_java_keystores": [{"path": KEYSTORE, "password": KEYSTORE_PASSWORD, "type": "PKCS12",
                                     "create": True, "mode": "0640", "group": "app"}],
        "ca_trust_bundle_files": [{"path": BUNDLE_FILE, "mode": "0644"}],
        "ca_trust_libpq_users": ["app"],
        "ca_trust_env_files": [{"path": ENV_FILE, "bundle": BUNDLE_FILE}],
    }
    role_vars.update(extra)
    return role_vars


def keystore_aliases(host) -> dict[str, str]:
    """alias -> SHA-256 fingerprint (lower-case hex) of the trusted entries, read with keytool in the chroot."""
    out = host.run("keytool", "-list", "-keystore", KEYSTORE, "-storepass", KEYSTORE_PASSWORD, "-v").stdout
    aliases = {}
    for section in out.split("Alias name: ")[1:]:
        alias = section.splitlines()[0].strip()
        sha = re.search(r"SHA256: ([0-9A-F:]+)", section)
        aliases[alias] = sha.group(1).replace(":", "").lower() if sha else ""
    return aliases


def system_fingerprints(host) -> set[str]:
    """SHA-256 of every certificate of the compiled system bundle (base64 only: some Mozilla roots
    have serial numbers that cryptography warns about)."""
    blocks = re.findall(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", host.read(SYSTEM_BUNDLE), re.S)
    return {hashlib.sha256(base64.b64decode("".join(b.split()))).hexdigest() for b in blocks}


def sim_roots(sim) -> dict[str, str]:
    """CN -> SHA-256 of the simulator bundle's (valid) roots."""
    with open(sim.bundle, "rb") as handle:
        certs = x509.load_pem_x509_certificates(handle.read())
    now = dt.datetime.now(UTC)
    return {c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value:
            hashlib.sha256(c.public_bytes(serialization.Encoding.DER)).hexdigest()
            for c in certs if c.not_valid_after_utc > now}


def expired_rds_pem(common_name: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Amazon Web Services, Inc."),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Amazon RDS"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(dt.datetime(2019, 8, 22, tzinfo=UTC))
            .not_valid_after(dt.datetime(2024, 8, 22, tzinfo=UTC))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def snapshot(host) -> dict[str, Any]:
    """What an audit or a refused bundle must leave untouched."""
    paths = [SYSTEM_BUNDLE, KEYSTORE, BUNDLE_FILE, ENV_FILE, "/home/app/.postgresql/root.crt"]
    state = {"anchors": host.listdir(ANCHORS), "certs": host.listdir("/etc/ssl/certs")}
    for path in paths:
        full = host.path(path)
        state[path] = hashlib.sha256(open(full, "rb").read()).hexdigest() if os.path.exists(full) else None
    return state


# -- the platform table -------------------------------------------------------------------------

def _docs_platform_table() -> dict[str, dict[str, str]]:
    """docs/client-trust.md's "Trust stores" table: os_family -> {where, then}."""
    with open(os.path.join(REPO, "docs", "client-trust.md"), encoding="utf-8") as handle:
        text = handle.read()
    table = text[text.index("| platform (`ansible_facts.os_family`) |"):]
    rows = {}
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        platform, where, then = [cell.strip() for cell in line.strip("|").split("|")]
        rows[re.search(r"\(`(\w+)`\)$", platform).group(1)] = {"where": where, "then": then}
    return rows


def test_platform_table_agrees_with_the_docs_and_with_ansible_facts():
    """Issue 16: this test compared the table with literals copied from it. Now the table is checked against what it
    must agree with: the os_family values ansible-core's (and ansible.windows') fact gathering really produces, and
    the documented paths and commands (docs/client-trust.md). The Debian entry is also run for real below
    (test_install_then_verification_passes_and_second_run_changes_nothing), the other Linux entries with recording stand-ins."""
    from ansible.module_utils.facts.system.distribution import Distribution  # pylint: disable=import-outside-toplevel

    with open(os.path.join(ROLE, "vars", "main.yml"), encoding="utf-8") as handle:
        variables = yaml.safe_load(handle)
    platforms, families = variables["ca_trust_platforms"], variables["ca_trust_os_family_platforms"]
    from ansible_collections.ansible import windows  # pylint: disable=import-outside-toplevel

    windows_setup = os.path.join(list(windows.__path__)[0], "plugins", "modules", "setup.ps1")
    with open(windows_setup, encoding="utf-8") as handle:
        windows_families = set(re.findall(r'ansible_os_family = "(\w+)"', handle.read()))
    real_families = set(Distribution.OS_FAMILY_MAP) | windows_families
    assert set(families) <= real_families, set(families) - real_families
    # Every Linux platform of the table is reached from an os_family, and every os_family is documented.
    assert set(platforms) <= set(families.values())
    docs = _docs_platform_table()
    assert set(docs) == set(families), (sorted(docs), sorted(families))
    for family, platform in families.items():
        if platform not in platforms:  # macOS, Windows: their own tasks, no table entry
            continue
        settings = platforms[platform]
        assert docs[family]["where"] == "`%s/<name>%s`" % (settings["anchors_dir"], settings["suffix"]), family
        assert docs[family]["then"] == "`%s`" % " ".join(settings["update_command"]), family
    # The compiled bundles the module compares with are the documented ones.
    with open(os.path.join(REPO, "docs", "client-trust.md"), encoding="utf-8") as handle:
        text = handle.read()
    for settings in platforms.values():
        assert "`%s`" % settings["trusted_bundle"] in text, settings["trusted_bundle"]


def test_argument_specs_match_the_defaults():
    """Every default is documented in argument_specs.yml, and vice versa, with the same value."""
    with open(os.path.join(ROLE, "defaults", "main.yml"), encoding="utf-8") as handle:
        defaults = yaml.safe_load(handle)
    with open(os.path.join(ROLE, "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        specs = yaml.safe_load(handle)["argument_specs"]
    options = specs["main"]["options"]
    assert sorted(options) == sorted(defaults), "every default is documented in argument_specs.yml and vice versa"
    for name, spec in options.items():
        assert spec.get("default") == defaults[name], name
        assert spec.get("description"), name
    for name, spec in specs["verify"]["options"].items():
        assert spec == options[name]


# -- a bundle that is refused never reaches a host -----------------------------------------------

def test_refused_bundles_touch_no_host(sim, host):
    before = snapshot(host)
    cases = {
        "html": ("<!DOCTYPE html>\n<html><body><h1>503 Service Unavailable</h1></body></html>\n",
                 "is an HTML page, not a PEM bundle"),
        "empty": ("", "is empty"),
        "expired": (expired_rds_pem("Amazon RDS Root 2019 CA") + expired_rds_pem("Amazon RDS us-east-1 2019 CA"),
                    "holds no valid certificate: all 2 expired"),
    }
    # A second host whose chroot is an empty directory: running anything there would fail.
    ghost_root = sim.tmp / "ghost-root"
    ghost_root.mkdir(exist_ok=True)
    ghost = "ghost ansible_host=%s ansible_connection=community.general.chroot\n" % ghost_root
    for label, (content, message) in cases.items():
        path = sim.tmp / ("refused-%s.pem" % label)
        path.write_text(content, encoding="utf-8")
        result = run_role(sim, host, base_vars(sim, ca_trust_bundle_src=str(path),
                                               ca_trust_verify_endpoints=[sim.endpoint]),
                          extra_hosts=ghost)
        assert result.rc != 0, explain(result)
        assert "The CA bundle was refused, nothing was changed" in result.stdout, explain(result)
        assert message in result.stdout, explain(result)
        assert "Gather the facts that choose the trust stores" not in result.stdout, explain(result)
        for name in (HOST, "ghost"):
            assert recap(result, name)["unreachable"] == 0, explain(result)
            assert changed_tasks(result, name) == [], explain(result)
        assert list(ghost_root.iterdir()) == []
    assert snapshot(host) == before


def impersonating_root_pem(common_name: str = "Amazon RDS us-east-1 Root CA RSA2048 G1", san: str = "*") -> str:
    """A self-signed CA of the attacker's own with an RDS root's name (and a wildcard SAN, which made a
    certificate for an unrelated host verify once it was trusted)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Amazon Web Services, Inc."),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Amazon RDS"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(dt.datetime(2021, 5, 25, tzinfo=UTC))
            .not_valid_after(dt.datetime(2061, 5, 25, tzinfo=UTC))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_impersonating_rds_root_is_refused_and_never_installed(sim, host):
    """Issue 14, hole 2: the role used to install a self-signed look-alike of an RDS root (SAN *)."""
    before = snapshot(host)
    path = sim.tmp / "impersonation.pem"
    path.write_text(impersonating_root_pem(), encoding="utf-8")
    result = run_role(sim, host, base_vars(sim, ca_trust_bundle_src=str(path), ca_trust_allow_unpinned_rds_cas=False))
    assert result.rc != 0, explain(result)
    assert "The CA bundle was refused, nothing was changed" in result.stdout, explain(result)
    assert "has an Amazon RDS name but is not one of AWS's pinned RDS CA certificates" in result.stdout
    assert "a CA with a wildcard subjectAltName (*)" in result.stdout
    assert changed_tasks(result) == [], explain(result)
    assert snapshot(host) == before


# -- verification fails before the bundle is installed --------------------------------------------

def test_verify_fails_before_install(sim, host):
    result = run_role(sim, host, {"ca_trust_verify_endpoints": [sim.endpoint]}, tasks_from="verify")
    assert result.rc != 0, explain(result)
    verify = result.task("ca_trust_verify_result")
    assert verify["failed"] and verify["failed_endpoints"] == ["orders"]
    (endpoint,) = verify["endpoints"]
    assert endpoint["verified"] is False and endpoint["error"] is None
    assert endpoint["presented_ca"] == "rds-ca-rsa2048-g1"
    assert "orders (127.0.0.1:%d, postgres): does NOT verify with this host's trust store" % sim.endpoint["port"] in verify["msg"]
    assert "Amazon RDS us-east-1 Root CA RSA2048 G1" in verify["msg"]
    assert verify["trust_store"]["capath"]  # the host's own OpenSSL directory


# -- audit, install, idempotence, audit ----------------------------------------------------------

def test_audit_before_install_lists_missing_and_changes_nothing(sim, host):
    before = snapshot(host)
    result = run_role(sim, host, base_vars(sim, ca_trust_audit=True))
    assert result.rc == 0, explain(result)
    assert changed_tasks(result) == [], explain(result)
    report = result.task("ca_trust_report")
    assert report["mode"] == "audit" and report["platform"] == "debian"
    assert report["targets"] == [TARGET]
    assert report["missing"] == {
        "system (debian)": [TARGET],
        "Java keystore %s" % KEYSTORE: [TARGET],
        "bundle file %s" % BUNDLE_FILE: [TARGET],
        "libpq root.crt of app": [TARGET],
    }
    assert "1 of 1 client(s) lack target CAs: %s" % HOST in result.stdout
    assert snapshot(host) == before


def test_audit_can_fail_the_hosts_that_lack_target_cas(sim, host):
    result = run_role(sim, host, base_vars(sim, ca_trust_audit=True, ca_trust_audit_fail=True,
                                           ca_trust_java_keystores=[], ca_trust_libpq_users=[]))
    assert result.rc != 0
    assert "%s lacks target CAs" % HOST in result.stdout and TARGET in result.stdout, explain(result)
    # The list of the clients lacking target CAs comes first, naming the host that then fails.
    listed = result.stdout.index("1 of 1 client(s) lack target CAs: %s" % HOST)
    assert listed < result.stdout.index("%s lacks target CAs" % HOST), explain(result)
    assert recap(result)["failed"] == 1, explain(result)


def test_a_platform_without_a_known_system_store_is_refused_before_anything_is_written(sim, host):
    """The host's platform has no entry in the role's table (as an os_family the table does not know): the stores'
    task refuses it, naming the platforms it knows, before any store is written."""
    before = snapshot(host)
    with open(os.path.join(ROLE, "vars", "main.yml"), encoding="utf-8") as handle:
        platforms = dict((name, entry) for name, entry in yaml.safe_load(handle)["ca_trust_platforms"].items()
                         if name != "debian")
    result = run_role(sim, host, base_vars(sim, ca_trust_system_store_type="debian"),
                      extra_args=["-e", json.dumps({"ca_trust_platforms": platforms})])
    assert result.rc != 0
    assert "no system trust store known for platform 'debian'" in result.stdout, explain(result)
    assert "set ca_trust_system_store_type to one of them" in result.stdout, explain(result)
    assert "known: alpine, macos, redhat, suse" in result.stdout, explain(result)
    assert changed_tasks(result) == [], explain(result)
    assert snapshot(host) == before


def test_install_then_verification_passes_and_second_run_changes_nothing(sim, host):
    roots = sim_roots(sim)
    target_sha = roots["Amazon RDS us-east-1 Root CA RSA2048 G1"]
    role_vars = base_vars(sim, ca_trust_verify_endpoints=[sim.endpoint])
    result = run_role(sim, host, role_vars)
    assert result.rc == 0, explain(result)
    assert "rdsca.rotation.ca_trust : Put the RDS CA certificates into this host's trust stores" in changed_tasks(result), \
        explain(result)
    assert "RUNNING HANDLER [rdsca.rotation.ca_trust : Update the system CA trust store]" in result.stdout
    # Every store of the host (system, Java, bundle file, libpq, environment file) in one module run.
    stores = result.task("ca_trust_report")["stores"]
    assert len(stores) == 5, stores

    # The system store: one file per certificate, compiled into the bundle OpenSSL reads.
    names = sorted(c["name"] for c in result.task("ca_trust_bundle")["certificates"])
    assert TARGET in names
    assert [n for n in host.listdir(ANCHORS) if n.startswith("amazon-rds-")] == [n + ".crt" for n in names]
    assert set(roots.values()) <= system_fingerprints(host)
    assert os.path.islink(host.path("/etc/ssl/certs/%s.pem" % TARGET))
    # Java: one trusted entry per certificate, alias = name; mode and group as asked.
    aliases = keystore_aliases(host)
    assert aliases[TARGET] == target_sha
    assert sorted(aliases) == names
    stat = os.stat(host.path(KEYSTORE))
    assert oct(stat.st_mode & 0o777) == "0o640"
    assert stat.st_gid == int(host.run("id", "-g", "app").stdout)
    # Application files.
    bundle = host.read(BUNDLE_FILE)
    assert bundle.count("BEGIN CERTIFICATE") == len(names) and "\r" not in bundle
    root_crt = host.path("/home/app/.postgresql/root.crt")
    assert open(root_crt, encoding="ascii").read() == bundle
    assert oct(os.stat(os.path.dirname(root_crt)).st_mode & 0o777) == "0o700"
    assert os.stat(root_crt).st_uid == int(host.run("id", "-u", "app").stdout)
    assert host.read(ENV_FILE).splitlines()[1:] == ["export PGSSLROOTCERT='%s'" % BUNDLE_FILE,
                                                    "export NODE_EXTRA_CA_CERTS='%s'" % BUNDLE_FILE]
    # The report says what was missing; verification, after the handler, passes.
    report = result.task("ca_trust_report")
    assert report["mode"] == "install" and report["missing"]["system (debian)"] == [TARGET]
    verify = result.task("ca_trust_verify_result")
    assert verify["failed_endpoints"] == [] and verify["endpoints"][0]["verified"] is True
    assert verify["endpoints"][0]["trust_anchor"] == "Amazon RDS us-east-1 Root CA RSA2048 G1"
    # The password never shows.
    assert KEYSTORE_PASSWORD not in result.stdout + result.stderr

    again = run_role(sim, host, role_vars)
    assert again.rc == 0, explain(again)
    assert changed_tasks(again) == [], explain(again)
    assert again.task("ca_trust_report")["missing"] == {}
    assert "RUNNING HANDLER" not in again.stdout
    # The steady state is cheap (issue 19): the stores (their module run also reads the distribution facts that
    # choose the system store), the verification - 2 module runs.
    assert module_runs(again) == ["Put the RDS CA certificates into this host's trust stores",
                                  "Verify TLS to the database endpoints with this host's trust store"], explain(again)
    assert "Gather the facts that choose the trust stores" not in changed_tasks(again)
    # What a host skips still costs it a worker process: only the two includes it does not need.
    assert skipped_tasks(again) == ["Facts and packages, where this host's trust stores need them",
                                    "System trust store (Windows)"], explain(again)
    assert again.task("ca_trust_report")["platform"] == "debian"

    # A drifted bundle file is put back; the system store's update command does not run for it (the handler,
    # notified by the stores' module run, runs only after a change of the system anchors).
    os.remove(host.path(BUNDLE_FILE))
    drifted = run_role(sim, host, role_vars)
    assert drifted.rc == 0, explain(drifted)
    assert changed_tasks(drifted) == ["rdsca.rotation.ca_trust : Put the RDS CA certificates into this host's trust stores"], \
        explain(drifted)
    assert sorted(drifted.task("ca_trust_report")["stores"]["bundle file %s" % BUNDLE_FILE]["added"]) == names
    assert host.read(BUNDLE_FILE) == bundle


def test_audit_after_install_is_clean(sim, host):
    before = snapshot(host)
    result = run_role(sim, host, base_vars(sim, ca_trust_verify_endpoints=[sim.endpoint]), check=True)
    assert result.rc == 0, explain(result)
    assert changed_tasks(result) == [], explain(result)
    report = result.task("ca_trust_report")
    assert report["mode"] == "audit" and report["missing"] == {}
    assert "0 of 1 client(s) lack target CAs" in result.stdout
    assert result.task("ca_trust_verify_result")["endpoints"][0]["verified"] is True
    assert snapshot(host) == before


def test_playbook_audits_the_rds_clients_group(sim, host):
    """playbooks/trust.yml as an operator runs it, in audit mode (become off: no sudo in a minbase root)."""
    result = sim.handle.run_playbook(os.path.join(REPO, "playbooks", "trust.yml"), extra_args=[
        "-i", host.inventory(str(sim.tmp), name=HOST)], extra_vars={
        "ca_trust_audit": True, "ansible_become": False, "ca_trust_bundle_src": sim.bundle,
        "ca_trust_regions": ["us-east-1"]})
    assert result.rc == 0, explain(result)
    assert "0 of 1 client(s) lack target CAs" in result.stdout
    assert changed_tasks(result) == [], explain(result)


def test_verification_names_a_certificate_for_another_name(sim, host):
    wrong = dict(sim.endpoint, name="wrong-name", server_name=sim.address.replace("orders.", "billing."))
    result = run_role(sim, host, {"ca_trust_verify_endpoints": [sim.endpoint, wrong]}, tasks_from="verify")
    assert result.rc != 0
    verify = result.task("ca_trust_verify_result")
    assert verify["failed_endpoints"] == ["wrong-name"]
    assert "the certificate is for %s, not %s" % (sim.address, wrong["server_name"]) in verify["msg"]


def test_wrong_keystore_password_fails_clearly_without_showing_it(sim, host):
    wrong = "not-the-password-42"
    result = run_role(sim, host, base_vars(sim, ca_trust_system_store=False, ca_trust_bundle_files=[],
                                           ca_trust_libpq_users=[], ca_trust_env_files=[],
                                           ca_trust_java_keystores=[{"path": KEYSTORE, "password": wrong}]))
    assert result.rc != 0
    assert "the password of the keystore %s is incorrect" % KEYSTORE in result.stdout, explain(result)
    assert wrong not in result.stdout + result.stderr


# -- removal of expired CAs installed earlier ----------------------------------------------------

def test_remove_expired_cas_installed_earlier(sim, host):
    """Last year the role installed the 2024 bundle, 2019 CAs included; now they have expired."""
    if not os.path.exists(OLD_CRLF):
        pytest.skip("real RDS bundle %s not found (../shared/data/rds-ca next to the repository)" % OLD_CRLF)
    earlier = run_role(sim, host, {"ca_trust_bundle_src": OLD_CRLF, "ca_trust_keep_expired": True})
    assert earlier.rc == 0, explain(earlier)
    old = earlier.task("ca_trust_bundle")
    assert old["line_endings"] == "crlf" and old["count"] == 121
    expired = sorted(c["name"] for c in old["certificates"] if c["expired"])
    assert len(expired) == 28
    assert all(os.path.exists(host.path(ANCHORS + "/%s.crt" % n)) for n in expired)
    old_fingerprints = {c["sha256"] for c in old["certificates"] if c["expired"]}
    assert old_fingerprints <= system_fingerprints(host)
    # An expired RDS CA in the Java truststore under the role's naming, and one under another name.
    stale = expired_rds_pem("Amazon RDS Root 2019 CA")
    host.write("/tmp/stale.pem", stale)
    for alias in ("amazon-rds-root-2019-ca", "legacy-rds-2019"):
        host.run("keytool", "-importcert", "-noprompt", "-alias", alias, "-file", "/tmp/stale.pem",
                 "-keystore", KEYSTORE, "-storepass", KEYSTORE_PASSWORD)
    # An expired file somebody else put there.
    host.write(ANCHORS + "/legacy-rds-2019.crt", stale)

    result = run_role(sim, host, base_vars(sim, ca_trust_remove_expired=True, ca_trust_bundle_files=[],
                                           ca_trust_libpq_users=[], ca_trust_env_files=[]))
    assert result.rc == 0, explain(result)
    stores = result.task("ca_trust_report")["stores"]
    assert sorted(stores["system (debian)"]["removed"]) == expired
    assert stores["Java keystore %s" % KEYSTORE]["removed"] == ["amazon-rds-root-2019-ca"]
    files = host.listdir(ANCHORS)
    assert not any(n[:-4] in expired for n in files)
    assert "legacy-rds-2019.crt" in files
    # The 93 G1 roots of the old bundle are still valid: kept.
    assert sum(1 for n in files if n.endswith("-g1.crt")) >= 93
    assert not old_fingerprints & system_fingerprints(host)
    aliases = keystore_aliases(host)
    assert "amazon-rds-root-2019-ca" not in aliases and "legacy-rds-2019" in aliases
    assert "RUNNING HANDLER [rdsca.rotation.ca_trust : Update the system CA trust store]" in result.stdout

    again = run_role(sim, host, base_vars(sim, ca_trust_remove_expired=True, ca_trust_bundle_files=[],
                                          ca_trust_libpq_users=[], ca_trust_env_files=[]))
    assert changed_tasks(again) == [], explain(again)


# -- the other Linux platforms, with recording stand-ins for their update commands ----------------

FAKE_UPDATE = """#!/bin/sh
# Stand-in for {command}: records how it was called and compiles {anchors} into {bundle}.
echo "$0 $*" >> /var/log/fake-ca-update.log
mkdir -p "$(dirname {bundle})"
cat {anchors}/*{suffix} > {bundle} 2>/dev/null
exit 0
"""


@pytest.mark.parametrize("platform, command_path", [
    ("redhat", "/usr/bin/update-ca-trust"),
    ("suse", "/usr/sbin/update-ca-certificates"),
    ("alpine", "/usr/sbin/update-ca-certificates"),
])
def test_other_linux_platforms_paths_and_commands(sim, host, platform, command_path):
    with open(os.path.join(ROLE, "vars", "main.yml"), encoding="utf-8") as handle:
        settings = yaml.safe_load(handle)["ca_trust_platforms"][platform]
    real = host.path(command_path)
    saved = real + ".real"
    if os.path.exists(real):
        shutil.move(real, saved)
    host.write(command_path, FAKE_UPDATE.format(command=settings["update_command"][0], anchors=settings["anchors_dir"],
                                                bundle=settings["trusted_bundle"], suffix=settings["suffix"]), 0o755)
    managed = [n for n in host.listdir(settings["anchors_dir"]) if n.startswith("amazon-rds-")]
    for name in managed:  # Alpine shares Debian's directory: start from an empty one
        os.remove(host.path(settings["anchors_dir"] + "/" + name))
    log = host.path("/var/log/fake-ca-update.log")
    try:
        host.run(command_path)  # compile the (now RDS-free) anchors, as the platform would have
        os.remove(log)
        role_vars = {"ca_trust_bundle_src": sim.bundle, "ca_trust_regions": ["us-east-1"],
                     "ca_trust_system_store_type": platform}
        result = run_role(sim, host, role_vars)
        assert result.rc == 0, explain(result)
        names = sorted(c["name"] for c in result.task("ca_trust_bundle")["certificates"])
        assert [n for n in host.listdir(settings["anchors_dir"]) if n.startswith("amazon-rds-")] == \
            sorted(n + settings["suffix"] for n in names)
        with open(log, encoding="utf-8") as handle:
            calls = [line.strip() for line in handle.read().splitlines()]
        assert calls == [" ".join([command_path] + settings["update_command"][1:])]
        report = result.task("ca_trust_report")
        assert report["platform"] == platform and report["missing"] == {"system (%s)" % platform: [TARGET]}

        again = run_role(sim, host, role_vars)
        assert changed_tasks(again) == [], explain(again)
        assert again.task("ca_trust_report")["missing"] == {}
    finally:
        os.remove(real)
        if os.path.exists(saved):
            shutil.move(saved, real)
        if platform == "alpine":  # its stand-in rewrote Debian's compiled store: rebuild it
            host.run("update-ca-certificates", "--fresh")


# -- macOS keychain logic, with a recording stand-in for security(1) ------------------------------

FAKE_SECURITY = textwrap.dedent('''\
    #!/usr/bin/python3
    """Stand-in for macOS security(1): a keychain is a PEM file; calls are logged."""
    import base64, hashlib, re, sys
    args = sys.argv[1:]
    with open("/var/log/fake-security.log", "a") as log:
        log.write(" ".join(args) + "\\n")
    def load(path):
        try:
            return re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\\n", open(path).read(), re.S)
        except FileNotFoundError:
            return []
    def sha1(pem):
        body = "".join(pem.strip().splitlines()[1:-1])
        return hashlib.sha1(base64.b64decode(body)).hexdigest().upper()
    if args[0] == "find-certificate":
        for pem in load(args[-1]):
            print("SHA-256 hash: X\\nSHA-1 hash: %s\\nkeychain: \\"%s\\"" % (sha1(pem), args[-1]))
            print(pem, end="")
    elif args[0] == "add-trusted-cert":
        assert args[1:6] == ["-d", "-r", "trustRoot", "-k", args[5]], args
        with open(args[5], "a") as keychain:
            keychain.write(open(args[6]).read())
    elif args[0] == "delete-certificate":
        assert args[1] == "-Z"
        kept = [p for p in load(args[3]) if sha1(p) != args[2]]
        open(args[3], "w").write("".join(kept))
    else:
        sys.exit("unexpected call: %s" % args)
''')


def test_macos_keychain_logic(sim, host):
    keychain = "/Library/Keychains/System.keychain"  # as on macOS: a root-owned directory (a world-writable one is refused)
    stale = expired_rds_pem("Amazon RDS Root 2019 CA")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Corporate Proxy Root")])
    other = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
             .serial_number(1).not_valid_before(dt.datetime(2019, 1, 1, tzinfo=UTC))
             .not_valid_after(dt.datetime(2020, 1, 1, tzinfo=UTC))
             .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode())
    host.write(keychain, stale + other)
    host.write("/usr/local/sbin/security", FAKE_SECURITY, 0o755)
    log = host.path("/var/log/fake-security.log")
    role_vars = {"ca_trust_bundle_src": sim.bundle, "ca_trust_regions": ["us-east-1"],
                 "ca_trust_system_store_type": "macos", "ca_trust_macos_keychain": keychain,
                 "ca_trust_remove_expired": True}
    try:
        audit = run_role(sim, host, role_vars, check=True)
        assert audit.rc == 0, explain(audit)
        assert audit.task("ca_trust_report")["missing"] == {"macOS keychain %s" % keychain: [TARGET]}
        assert host.read(keychain) == stale + other

        result = run_role(sim, host, role_vars)
        assert result.rc == 0, explain(result)
        names = sorted(c["name"] for c in result.task("ca_trust_bundle")["certificates"])
        store = result.task("ca_trust_report")["stores"]["macOS keychain %s" % keychain]
        assert sorted(store["added"]) == names and store["removed"] == ["amazon-rds-root-2019-ca"]
        content = host.read(keychain)
        assert stale not in content and other in content  # expired, but not an RDS CA: kept
        calls = open(log, encoding="utf-8").read().splitlines()
        adds = [c for c in calls if c.startswith("add-trusted-cert")]
        assert len(adds) == len(names)
        assert all(c.startswith("add-trusted-cert -d -r trustRoot -k %s " % keychain) for c in adds)
        assert any(c.startswith("delete-certificate -Z ") for c in calls)

        again = run_role(sim, host, role_vars)
        assert changed_tasks(again) == [], explain(again)
    finally:
        os.remove(host.path("/usr/local/sbin/security"))


# -- issue 14: attacks by a local user, with the real unprivileged user "app" of the chroot ---------

def file_state(host, inside: str) -> tuple | None:
    """(content hash, inode, mode, uid) of a file in the chroot, or None."""
    full = host.path(inside)
    if not os.path.lexists(full):
        return None
    st = os.lstat(full)
    with open(full, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest(), st.st_ino, oct(st.st_mode & 0o7777), st.st_uid


def owned_by(host, directory: str, uid: int) -> list[str]:
    return [n for n in host.listdir(directory) if os.lstat(host.path(directory + "/" + n)).st_uid == uid]


def test_user_symlink_in_home_cannot_steer_root_into_the_system_anchors(sim, host):
    """Hole 1: ~app/.postgresql -> /usr/local/share/ca-certificates; root.crt landed there, owned by app,
    who could then replace it with their own CA (trusted by everyone after update-ca-certificates)."""
    app_uid = int(host.run("id", "-u", "app").stdout)
    host.run("rm", "-rf", "/home/app/.postgresql", user="app")
    host.run("ln", "-s", ANCHORS, "/home/app/.postgresql", user="app")
    before = host.listdir(ANCHORS)
    only_libpq = dict(ca_trust_system_store=False, ca_trust_java_keystores=[], ca_trust_bundle_files=[],
                      ca_trust_env_files=[])
    result = run_role(sim, host, base_vars(sim, **only_libpq))
    assert result.rc != 0, explain(result)
    assert "/home/app/.postgresql is a symbolic link that another user controls" in result.stdout, explain(result)
    assert host.listdir(ANCHORS) == before and owned_by(host, ANCHORS, app_uid) == []
    # The same link made by app to a directory app may not write: refused as well, nothing there.
    host.run("rm", "/home/app/.postgresql", user="app")
    host.run("ln", "-s", "/etc", "/home/app/.postgresql", user="app")
    result = run_role(sim, host, base_vars(sim, **only_libpq))
    assert result.rc != 0 and not os.path.exists(host.path("/etc/root.crt")), explain(result)
    # An environment file in a directory that app made a link: refused as well.
    host.run("rm", "/home/app/.postgresql", user="app")
    host.run("ln", "-s", "/etc/profile.d", "/home/app/env", user="app")
    env_only = dict(only_libpq)
    env_only.update(ca_trust_libpq_users=[], ca_trust_env_files=[{"path": "/home/app/env/rds.sh", "bundle": BUNDLE_FILE,
                                                                  "owner": "app"}])
    result = run_role(sim, host, base_vars(sim, **env_only))
    assert result.rc != 0 and "/home/app/env is a symbolic link that another user controls" in result.stdout, \
        explain(result)
    assert not os.path.exists(host.path("/etc/profile.d/rds.sh"))
    host.run("rm", "/home/app/env", user="app")
    # Without the link, root.crt is written in app's own directory, and given to app.
    result = run_role(sim, host, base_vars(sim, **only_libpq))
    assert result.rc == 0, explain(result)
    st = os.lstat(host.path("/home/app/.postgresql/root.crt"))
    assert st.st_uid == app_uid and oct(st.st_mode & 0o777) == "0o644"
    assert oct(os.lstat(host.path("/home/app/.postgresql")).st_mode & 0o777) == "0o700"
    # app can read its root.crt (and cannot touch the system anchors).
    assert "BEGIN CERTIFICATE" in host.run("cat", "/home/app/.postgresql/root.crt", user="app").stdout
    assert host.run("touch", ANCHORS + "/planted.crt", user="app", check=False).returncode != 0


def test_modes_are_explicit_under_a_loose_umask(sim, host):
    """Hole 3: with umask 000 the anchors, bundle files and keystores came out 0666, new directories 0777."""
    anchor = "%s/%s.crt" % (ANCHORS, TARGET)
    if os.path.exists(host.path(anchor)):
        os.remove(host.path(anchor))
    role_vars = base_vars(sim, ca_trust_libpq_users=[], ca_trust_env_files=[],
                          ca_trust_bundle_files=[{"path": "/srv/umask/ca/bundle.pem"}],
                          ca_trust_java_keystores=[{"path": "/opt/umask/truststore.p12", "password": KEYSTORE_PASSWORD,
                                                    "type": "PKCS12", "create": True}])
    old = os.umask(0)
    try:
        result = run_role(sim, host, role_vars)
    finally:
        os.umask(old)
    assert result.rc == 0, explain(result)
    modes = {path: oct(os.stat(host.path(path)).st_mode & 0o777) for path in
             (anchor, "/srv/umask/ca/bundle.pem", "/srv/umask/ca", "/srv/umask", "/opt/umask/truststore.p12", "/opt/umask")}
    assert modes == {anchor: "0o644", "/srv/umask/ca/bundle.pem": "0o644", "/srv/umask/ca": "0o755",
                     "/srv/umask": "0o755", "/opt/umask/truststore.p12": "0o644", "/opt/umask": "0o755"}
    # app cannot change any of them.
    for path in (anchor, "/srv/umask/ca/bundle.pem", "/opt/umask/truststore.p12"):
        assert host.run("sh", "-c", "echo x >> %s" % path, user="app", check=False).returncode != 0, path
    # A world-writable mode given as an option is refused before anything is written.
    refused = run_role(sim, host, dict(role_vars, ca_trust_bundle_files=[{"path": "/srv/umask/ca/bundle.pem",
                                                                          "mode": "0666"}]))
    assert refused.rc != 0 and "mode 0666 is world-writable: refused" in refused.stdout, explain(refused)
    assert modes["/srv/umask/ca/bundle.pem"] == oct(os.stat(host.path("/srv/umask/ca/bundle.pem")).st_mode & 0o777)


def run_store(sim, host, args: dict[str, Any]):
    """rds_ca_trust_store run directly on the chroot host (its failure saved, not fatal)."""
    inventory = host.inventory(str(sim.tmp), name=HOST)
    plays = [{"name": "rds_ca_trust_store under test", "hosts": "rds_clients", "gather_facts": False,
              "tasks": [{"name": "Trust store", "rdsca.rotation.rds_ca_trust_store": args, "register": "store",
                         "ignore_errors": True}],
              "save": ["store"]}]
    return sim.handle.run_playbook(plays, extra_args=["-i", inventory]).task("store")


def test_failures_leave_the_previous_trust_store_intact(sim, host):
    """Hole 7: a bad owner/mode, a suffix with /../ or a leaf certificate failed after the file was replaced."""
    root_crt = "/home/app/.postgresql/root.crt"
    with open(sim.bundle, encoding="ascii") as handle:
        first = handle.read().split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
    ca = {"name": "amazon-rds-test-ca", "pem": first}
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bank.example.com")])
    leaf = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(leaf_key.public_key())
            .serial_number(1).not_valid_before(dt.datetime(2020, 1, 1, tzinfo=UTC))
            .not_valid_after(dt.datetime(2060, 1, 1, tzinfo=UTC))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(leaf_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode())
    before = {p: file_state(host, p) for p in (root_crt, BUNDLE_FILE)}
    if not all(before.values()):  # run alone: install first
        assert run_role(sim, host, base_vars(sim)).rc == 0
        before = {p: file_state(host, p) for p in (root_crt, BUNDLE_FILE)}
    anchors_before = host.listdir(ANCHORS)
    cases = [
        ({"type": "file", "path": root_crt, "certificates": [ca], "owner": "no-such-user"},
         "owner 'no-such-user' is not a user on this host"),
        ({"type": "file", "path": BUNDLE_FILE, "certificates": [ca], "mode": "0666"}, "world-writable"),
        ({"type": "file", "path": BUNDLE_FILE, "certificates": [ca], "mode": "rw-rw-rw-"}, "is not an octal mode"),
        ({"type": "file", "path": root_crt, "certificates": [ca, {"name": "bank", "pem": leaf}], "owner": "app"},
         "certificate bank is not a CA certificate"),
        ({"type": "directory", "path": ANCHORS, "certificates": [ca], "suffix": "/../../../etc/escaped.crt"},
         "suffix '/../../../etc/escaped.crt' may only hold letters"),
        ({"type": "file", "path": BUNDLE_FILE, "certificates": []}, "certificates is empty: refusing to empty the bundle"),
    ]
    for args, message in cases:
        store = run_store(sim, host, args)
        assert store.get("failed") and message in store["msg"], (args, store)
        assert {p: file_state(host, p) for p in before} == before, args
    assert host.listdir(ANCHORS) == anchors_before
    assert not os.path.exists(host.path("/etc/escaped.crt"))
    assert not any(n.startswith(".") and "rdsca" in n for n in host.listdir("/home/app/.postgresql"))


def test_secrets_never_show(sim, host):
    """Hole 6: a token in the bundle URL showed in msg, invocation and the log; a .pgpass given as src
    showed its first characters; the role's fact gathering cached the client's environment (AWS keys)."""
    from tests.simulator.server import SIM_SECRET_KEY  # pylint: disable=import-outside-toplevel
    token = "tok-%s" % hashlib.sha256(os.urandom(8)).hexdigest()[:20]
    pgpass = sim.tmp / "pgpass"
    pgpass.write_text("db.example.com:5432:*:app:Pgpass-%s\n" % token, encoding="utf-8")
    plays = [{"name": "bundle sources with secrets", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "A URL with credentials", "rdsca.rotation.rds_ca_bundle": {
            "url": "https://deploy:%s@127.0.0.1:9/rds/global-bundle.pem?X-Amz-Security-Token=%s" % (token, token),
            "timeout": 2}, "register": "by_url", "ignore_errors": True},
        {"name": "A secrets file as src", "rdsca.rotation.rds_ca_bundle": {"src": str(pgpass)},
         "register": "by_src", "ignore_errors": True},
    ], "save": ["by_url", "by_src"]}]
    result = sim.handle.run_playbook(plays, extra_args=["-vvv"])
    by_url, by_src = result.task("by_url"), result.task("by_src")
    assert by_url["failed"] and "downloading https://********@127.0.0.1:9/rds/global-bundle.pem" \
        "?X-Amz-Security-Token=******** failed" in by_url["msg"], by_url
    assert by_src["failed"] and "contains no PEM certificate" in by_src["msg"], by_src
    everything = result.stdout + result.stderr + json.dumps(result.results)
    assert token not in everything, "the token shows"
    assert "Pgpass" not in everything and "db.example.com" not in everything, "the file's content shows"

    # The role's own fact gathering: os_family only, no environment (the run's AWS keys are in it).
    facts_run = sim.handle.run_playbook(
        [{"name": "facts", "hosts": "rds_clients", "gather_facts": False, "tasks": [
            {"name": "Apply the role", "ansible.builtin.include_role": {"name": "rdsca.rotation.ca_trust",
                                                                          "tasks_from": "platform"}}],
          "vars": {"ca_trust_system_store": False}, "save": ["ansible_facts"]}],
        extra_args=["-i", host.inventory(str(sim.tmp), name=HOST)])
    assert facts_run.rc == 0, explain(facts_run)
    facts = facts_run.task("ansible_facts")
    assert facts["os_family"] == "Debian"
    assert "env" not in facts and SIM_SECRET_KEY not in json.dumps(facts)
